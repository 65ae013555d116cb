#!/usr/bin/env bash
# tests/integration/27-daemon-names.sh: collection names between real daemons on 127.0.0.1.
# A name with a space and a UTF-8 name sync, and `meshctl wait "a b"` and status --json see
# them in sync (issue 14, item 2). A member that writes under a name the rules refuse (a
# newline and a forged status line in it, written through the test build's
# MESH_TEST_ANY_COLL hook, as a hostile peer would) has that set rejected by the receiver,
# with the reason in its log on one escaped line, while its honest sets sent beside it
# arrive (issue 14, item 1; issue 13, control characters). What must hold after: the
# receiver lists no collection of the refused name, its status shows only its own listen
# address and real peers, and every line of its log is a log line (no line forged by a name).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "names with spaces sync and wait sees them; a refused name is rejected on receive"
command -v python3 >/dev/null || skip "no python3"

# start_daemon HOME LOG: a daemon on an ephemeral loopback port; its endpoint in $EP.

three_devices
start_daemon "$A" "$T/a.log"
pa=$LAST_PID ea=$EP
start_daemon "$B" "$T/b.log"
pb=$LAST_PID eb=$EP
a peer add "$idb" "$eb"
b peer add "$ida" "$ea"

# 1. Names with a space and with UTF-8 sync, and wait and status see them in sync.
a put "a b" k "spaced"
a put "café ✓" k "accented"
wait_for 20 "'a b' on B" b get "a b" k
wait_for 20 "'café ✓' on B" b get "café ✓" k
mc --home "$B" wait "a b" --timeout 20 || fail "wait 'a b' on B never saw it in sync"
mc --home "$B" wait "café ✓" "a b" --timeout 20 || fail "wait on two odd names never in sync"
b --json status | python3 -c '
import json, sys
d = json.load(sys.stdin)
c = {c["name"]: c for c in d["collections"]}
assert c["a b"]["in_sync"] is True, c
assert c["café ✓"]["in_sync"] is True, c' || fail "status --json of B: $(b --json status)"
expect_eq "$(b ls | sort)" "$(printf 'a b\t1 item\ncafé ✓\t1 item')" "B's collections"

# 2. A set under a refused name is rejected by B; A's honest sets beside it arrive.
evil=$(printf 'evil\nlisten tcp://6.6.6.6:1\npeer FAKE addr=x connected=1 in_sync=1\nx')
a put before k "honest 1"
MESH_TEST_ANY_COLL=1 "$MESHCTL_TESTING" --home "$A" put "$evil" k "hostile" ||
    fail "the test hook did not let A write under the refused name"
a put after k "honest 2"
wait_for 20 "the set after the refused one on B" b get after k
expect_eq "$(b get before k)" "honest 1" "the honest set before"
wait_for 20 "B to log the rejection" grep -q 'collection name: byte 5 (0x0a) is a control character' "$T/b.log"
# What B lists and reports about itself is its own: no collection of the refused name, its
# own listen address, and only A as a peer.
b ls >"$T/b.colls"
grep -q evil "$T/b.colls" && fail "B lists the refused collection: $(cat "$T/b.colls")"
b --json status | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["listen"] == sys.argv[1], d["listen"]
assert [p["id"] for p in d["peers"]] == [sys.argv[2]], d["peers"]
assert not any("evil" in c["name"] for c in d["collections"]), d["collections"]' "$eb" "$ida" ||
    fail "B's status was changed by a name: $(b --json status)"
# (Only the warning that quotes the refused name, escaped on one line, may mention it.)
b status | grep -v '^warning .*rejected .evil\\' | grep -q "6.6.6.6" &&
    fail "B's status text shows the forged address: $(b status)"
# Every line of B's log is a log line: the name's newlines were escaped, not written.
bad=$(grep -cv '^\([0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9:.]*Z \)\{0,1\}meshctl: ' "$T/b.log" || true)
expect_eq "$bad" 0 "lines in B's log that are not log lines ($(grep -v 'meshctl: ' "$T/b.log" | head -3))"
grep -q "$(printf '\033')" "$T/b.log" && fail "an escape byte reached B's log"

kill -TERM "$pa" "$pb"
wait_pids 10 "$pa" "$pb"
echo "ok"
