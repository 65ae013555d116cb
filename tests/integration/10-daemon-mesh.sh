#!/usr/bin/env bash
# tests/integration/10-daemon-mesh.sh: three real daemons on 127.0.0.1, full mesh, under
# concurrent writes from all three, end with byte-identical dumps and equal digests; then
# two of them, cut off from each other, write the same key: once they meet again both
# show the two siblings (get --all, conflicts), and a new put resolves it everywhere.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "three daemons converge under concurrent writes; a conflict made apart is shown, then resolved"
command -v python3 >/dev/null || skip "no python3"


three_devices
start_daemon "$A" "$T/a.log"; pa=$LAST_PID ea=$EP
start_daemon "$B" "$T/b.log"; pb=$LAST_PID eb=$EP
start_daemon "$C" "$T/c.log"; pc=$LAST_PID ec=$EP
a peer add "$idb" "$eb"; a peer add "$idc" "$ec"
b peer add "$ida" "$ea"; b peer add "$idc" "$ec"
c peer add "$ida" "$ea"; c peer add "$idb" "$eb"

# Concurrent writers on all three, on shared and own keys.
writer() { # NAME HOME
    local i
    for i in $(seq 1 25); do
        "$MESHCTL" --home "$2" put notes "own-$1-$i" "$1 $i" || return 1
        "$MESHCTL" --home "$2" put notes "shared-$((i % 5))" "$1 wrote $i" || return 1
    done
}
writer a "$A" & w1=$!
writer b "$B" & w2=$!
writer c "$C" & w3=$!
wait_pids 120 "$w1" "$w2" "$w3"
for h in "$A" "$B" "$C"; do
    mc --home "$h" wait --peers 2 --timeout 60 || fail "$h never in sync: $(mc --home "$h" status)"
done
# A second round of waits: what one learned last may still be on its way to the others.
for h in "$A" "$B" "$C"; do mc --home "$h" wait --peers 2 --timeout 60 || fail "$h not in sync"; done
a dump notes >"$T/a.dump"; b dump notes >"$T/b.dump"; c dump notes >"$T/c.dump"
cmp -s "$T/a.dump" "$T/b.dump" || fail "A and B differ: $(diff "$T/a.dump" "$T/b.dump" | head)"
cmp -s "$T/b.dump" "$T/c.dump" || fail "B and C differ: $(diff "$T/b.dump" "$T/c.dump" | head)"
[ "$(grep -c '^own-' "$T/a.dump")" = 75 ] || fail "expected 75 own keys, dump: $(head "$T/a.dump")"

# Cut A and B off (C too, so nothing relays), write the same key on both, reconnect.
kill -TERM "$pa" "$pb" "$pc"
wait_pids 10 "$pa" "$pb" "$pc"
a put notes clash "from A, apart"
b put notes clash "from B, apart"
start_daemon "$A" "$T/a.log"; pa=$LAST_PID
start_daemon "$B" "$T/b.log"; pb=$LAST_PID
a peer add "$idb" "$EP"   # B's new port
b peer add "$ida" "$(sed -n 's/^listen //p' "$A/status")"
wait_for 30 "the siblings on A" sh -c "'$MESHCTL' --home '$A' get --all notes clash | grep -c . | grep -qx 2"
wait_for 30 "the siblings on B" sh -c "'$MESHCTL' --home '$B' get --all notes clash | grep -c . | grep -qx 2"
a get --all notes clash >"$T/a.all"; b get --all notes clash >"$T/b.all"
cmp -s "$T/a.all" "$T/b.all" || fail "A and B show different siblings: $(cat "$T/a.all" "$T/b.all")"
a conflicts notes >"$T/conflicts" || fail "conflicts exited non-zero"
grep -q "from B, apart" "$T/conflicts" || fail "conflicts on A: $(cat "$T/conflicts")"
b conflicts notes --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
clash = [c for c in d["conflicts"] if c["key"] == "clash"]
assert len(clash) == 1 and len(clash[0]["versions"]) == 2, d
assert sorted(v["value"] for v in clash[0]["versions"]) == ["from A, apart", "from B, apart"], d' \
    || fail "conflicts --json on B"
# A new put over both siblings resolves it everywhere.
a put notes clash "resolved on A"
wait_for 30 "the resolution on B" sh -c "[ \"\$('$MESHCTL' --home '$B' get notes clash)\" = 'resolved on A' ]"
[ "$(b get --all notes clash | grep -c .)" = 1 ] || fail "B still has siblings: $(b get --all notes clash)"
b conflicts notes | grep -q "^clash" && fail "B still lists clash as a conflict"
kill -TERM "$pa" "$pb"
wait_pids 10 "$pa" "$pb"
echo ok
