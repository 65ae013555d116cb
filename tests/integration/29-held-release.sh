#!/usr/bin/env bash
# tests/integration/29-held-release.sh: sets held back from a stranger are applied by a
# local `peer add` of that stranger, at once, with no second import: first with no daemon
# (the peer-add process applies them), then with A's daemon running beside the CLI (the
# store is shared: LMDB's one writer at a time, whichever process). `meshctl held` lists
# what is held (origin, sets, bytes, first/last seen) and nothing once it is applied; the
# line peer add prints counts them. Last, a received add record releases them too: B, a
# member, adds the stranger, and A's daemon applies what it held once B's record arrives.
# What must hold after each: the stranger's values readable on A, `held` empty for it.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "held-back sets: released by a local peer add (with and without a daemon) and by a received add"
command -v python3 >/dev/null || skip "no python3"

# start_daemon HOME LOG: a daemon on an ephemeral loopback port, endpoint in $EP.
start_daemon() {
    rm -f "$1/status"
    local home=$1 log=$2
    spawn "$MESHCTL" --home "$home" --log-level info daemon --listen tcp://127.0.0.1:0 2>"$log"
    wait_for 10 "the daemon on $home to listen" grep -q '^listen tcp://127.0.0.1:[0-9]' "$home/status"
    EP=$(sed -n 's/^listen //p' "$home/status")
}

# held_sets HOME ORIGIN: the sets `meshctl held --json` lists for ORIGIN (0 if none).
held_sets() {
    mc --home "$1" --json held | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(o["sets"] for o in d["origins"] if o["origin"] == sys.argv[1]))' "$2"
}

three_devices # A: the victim of the stranger's bundle; B: a member of A's; C: the stranger
a peer add "$idb"
b peer add "$ida"
c put notes k1 one
c put notes k2 two
c put notes k3 three
c export -o "$T/c.bundle" >/dev/null

# 1. No daemon. A imports C's bundle: 4 sets held back (C's genesis and 3 writes).
a import "$T/c.bundle" >"$T/out"
grep -q "^applied 0 sets (0 versions), 0 already known, 4 held back, 0 rejected$" "$T/out" ||
    fail "import of the stranger's bundle: $(cat "$T/out")"
expect_eq "$(held_sets "$A" "$idc")" 4 "held sets of C on A"
a held >"$T/held"
grep -q "^$idc	4 sets	[0-9]* bytes	first 20[0-9-]*T[0-9:.]*Z	last 20[0-9-]*T[0-9:.]*Z$" "$T/held" ||
    fail "meshctl held's line for C: $(cat "$T/held")"
grep -q "^held back: 4 sets, [0-9]* bytes, from 1 device (caps: " "$T/held" ||
    fail "meshctl held's totals: $(cat "$T/held")"
expect_exit 1 a get notes k1
a peer add "$idc" >"$T/out"
grep -q "^applied 4 of the 4 sets held back from $idc ([0-9]* bytes)$" "$T/out" ||
    fail "peer add's line: $(cat "$T/out")"
expect_eq "$(a get notes k1)" one "k1 on A after peer add, no second import"
expect_eq "$(a get notes k3)" three "k3 on A after peer add"
expect_eq "$(held_sets "$A" "$idc")" 0 "held sets of C on A after peer add"
expect_eq "$(a dump notes | tail -n1)" "$(c dump notes | tail -n1)" "A's digest of notes = C's"

# 2. The same with A's daemon running: the import and the peer add are CLI processes beside it.
A2=$(mk_home)
a2() { mc --home "$A2" "$@"; }
a2 init --name alpha2 >/dev/null
start_daemon "$A2" "$T/a2.log"
a2 import "$T/c.bundle" >"$T/out"
grep -q ", 4 held back, 0 rejected$" "$T/out" || fail "import beside the daemon: $(cat "$T/out")"
expect_eq "$(held_sets "$A2" "$idc")" 4 "held sets of C on A2"
a2 --json peer add "$idc" >"$T/out"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["held_released"] == 4 and d["held_left"] == 0, d' "$T/out" ||
    fail "peer add --json beside the daemon: $(cat "$T/out")"
expect_eq "$(a2 get notes k2)" two "k2 on A2 after peer add beside its daemon"
expect_eq "$(held_sets "$A2" "$idc")" 0 "held sets of C on A2 after peer add"

# 3. A received add record: A3 holds C's sets; B (a member of A3's) adds C, and its record
# reaches A3's daemon from B's: A3 applies what it held, with no command on A3.
A3=$(mk_home)
a3() { mc --home "$A3" "$@"; }
ida3=$(a3 init --name alpha3)
a3 import "$T/c.bundle" >/dev/null
expect_eq "$(held_sets "$A3" "$idc")" 4 "held sets of C on A3"
start_daemon "$A3" "$T/a3.log"
ea3=$EP
a3 peer add "$idb"
b peer add "$ida3" "$ea3"
b peer add "$idc"
start_daemon "$B" "$T/b.log"
wait_for 20 "C's k1 on A3 through B's add record" a3 get notes k1
expect_eq "$(a3 get notes k3)" three "k3 on A3"
wait_for 5 "A3's held list to empty" test "$(held_sets "$A3" "$idc")" = 0
