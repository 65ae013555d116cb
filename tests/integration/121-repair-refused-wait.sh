#!/usr/bin/env bash
# tests/integration/121-repair-refused-wait.sh: a repair the peer does not answer must not
# hold `meshctl wait` back once the two hold the same (PROTOCOL.md §11.4 `busy`, §13).
# A member refuses a repair that starts sooner than 10 s after the last one it answered,
# even when the asker restarted in between; the asker keeps it 30 s before giving it up.
# Here both daemons refuse every repair (test hook MESH_TEST_REPAIR_REFUSE=1). A and B each
# lose a different item behind their vectors' backs (tests/tools/unstore), so at their next
# session the digests differ with equal vectors: the lower key starts a repair, the other
# refuses it. Then each deletes the item the other lost (each held it), so both end with
# the same two tombstones: equal digests, nothing left to move. What must hold: `wait x`
# returns on both well before the refused repair is given up (its 30 s), the digests are
# equal, and a refusal was logged. Before, the refused repair kept the asker busy for 30 s
# and its wait timed out (test 09 met that after a restart, about one run in four).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a refused repair does not hold wait back once the digests agree"
UNSTORE=${UNSTORE:-$(dirname "$FORGE")/unstore}
[ -x "$UNSTORE" ] || fail "no unstore at $UNSTORE (make testing builds it)"

three_devices
a peer add "$idb" >/dev/null
b peer add "$ida" >/dev/null
for k in k1 k2 k3; do a put x "$k" "value of $k" >/dev/null; done
with_hooks start_daemon_env "$A" "$T/a.log" MESH_TEST_REPAIR_REFUSE=1; pa=$LAST_PID ea=$EP
with_hooks start_daemon_env "$B" "$T/b.log" MESH_TEST_REPAIR_REFUSE=1; pb=$LAST_PID eb=$EP
a peer add "$idb" "$eb" >/dev/null
b peer add "$ida" "$ea" >/dev/null
wait_for 20 "k3 on B" b get x k3
mc --home "$B" wait x --timeout 20 >/dev/null || fail "B not in sync before the loss"
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"
na=$(($(wc -l <"$T/a.log") + 1)) nb=$(($(wc -l <"$T/b.log") + 1)) # (the restart's lines from here)

# Each loses another item; the vectors do not move.
"$UNSTORE" "$A" x k1 || fail "unstore k1 on A"
"$UNSTORE" "$B" x k2 || fail "unstore k2 on B"
with_hooks start_daemon_env "$A" "$T/a.log" MESH_TEST_REPAIR_REFUSE=1; pa=$LAST_PID ea=$EP
with_hooks start_daemon_env "$B" "$T/b.log" MESH_TEST_REPAIR_REFUSE=1; pb=$LAST_PID eb=$EP
a peer add "$idb" "$eb" >/dev/null
b peer add "$ida" "$ea" >/dev/null
since() { tail -n +"$na" "$T/a.log"; tail -n +"$nb" "$T/b.log"; }
refused() { since | grep -q "not answered: refused by the test hook"; }
wait_for 20 "a repair refused" refused
since | grep -q "repair with .*: .*digests.*; comparing" ||
    fail "no repair was started: $(since)"

# Each deletes what the other lost: both end with the same two tombstones and k3.
b del x k1 >/dev/null || fail "B's delete of k1"
a del x k2 >/dev/null || fail "A's delete of k2"
start=$SECONDS
mc --home "$A" wait x --timeout 15 >/dev/null || fail "A's wait: $(a status)"
mc --home "$B" wait x --timeout 15 >/dev/null || fail "B's wait: $(b status)"
echo "both in sync $((SECONDS - start)) s after the deletes"
expect_eq "$(coll_digest "$A" x)" "$(coll_digest "$B" x)" "the digests"
expect_eq "$(a ls --keys x)" k3 "A's keys"
expect_eq "$(b ls --keys x)" k3 "B's keys"
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"
echo ok
