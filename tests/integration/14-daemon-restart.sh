#!/usr/bin/env bash
# tests/integration/14-daemon-restart.sh: a daemon that only accepts connections (it knows no
# address of its peers) restarts quicker than its peers notice; their links reconnect by
# themselves, and what they push on them must not be lost: the restarted daemon tells them
# to say HELLO again, and the session and the pushes go on. Real daemons on 127.0.0.1.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a peer restarted behind a reconnected link gets what is pushed to it after"


three_devices
# A knows B without an address: only B dials. (B tells no addresses, its own included:
# a test hook, PROTOCOL §17; or A would learn where B listens and dial it too.)
a peer add "$idb"
start_daemon "$A" "$T/a.log"; pa=$LAST_PID ea=$EP
b peer add "$ida" "$ea"
MESH_TEST_NO_PEX=1 with_hooks start_daemon "$B" "$T/b.log"; pb=$LAST_PID
b put notes first "before the restart"
wait_for 15 "the first write on A" a get notes first

# A restarts on the same endpoint well within the 4 s B would need to notice it was gone.
kill -TERM "$pa"
wait_pids 10 "$pa"
start_daemon "$A" "$T/a2.log" "$ea"; pa=$LAST_PID
b put notes second "after the restart"
wait_for 20 "the second write on A" a get notes second
expect_eq "$(a get notes second)" "after the restart" "the value pushed after A's restart"
grep -q "has no session with us: saying HELLO again" "$T/b.log" || fail "B's log: $(cat "$T/b.log")"
mc --home "$B" wait notes --timeout 20 || fail "B not in sync after A's restart"
a dump notes >"$T/a.dump"
b dump notes >"$T/b.dump"
cmp -s "$T/a.dump" "$T/b.dump" || fail "dumps differ: $(diff "$T/a.dump" "$T/b.dump")"
kill -TERM "$pa" "$pb"
wait_pids 10 "$pa" "$pb"
echo "ok"
