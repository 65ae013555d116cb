#!/usr/bin/env bash
# tests/integration/16-daemon-redial.sh: links that give no session are dialled again.
#  1. B dials A before A trusts B: A's ZAP handler refuses it (and libzmq does not retry a
#     refused handshake); once A adds B, B's next dial gets the session, and B's write
#     reaches A, although A knows no address of B and never dials.
#  2. B knows two addresses of C, the first with nobody listening: B dials the next one;
#     when C's addresses change but keep the one in use, the link stays.
#  3. A frozen (SIGSTOP) is noticed as gone within a few seconds by the protocol's own ping;
#     thawed, the session comes back and a write goes through.
# Before any session, status lists members without a daemon, and calls no collection in
# sync with nobody connected. Real daemons on 127.0.0.1, each stopped by PID.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
DAEMON_LOG_LEVEL=debug # (the test reads its debug lines)
describe "refused, dead and unanswered links are dialled again"

peer_field() { # HOME ID FIELD: a field of the peer's line in HOME/status
    { grep "^peer $2 " "$1/status" || true; } | tr ' ' '\n' | sed -n "s/^$3=//p"
}
session_up() { [ "$(peer_field "$1" "$2" session)" = 1 ]; }
connected_is() { [ "$(peer_field "$1" "$2" connected)" = "$3" ]; }
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

three_devices

# ---- 1. refused first, admitted later ----
start_daemon "$A" "$T/a.log"; pa=$LAST_PID ea=$EP
b peer add "$ida" "$ea"
# Status before any session: B, with no daemon, lists its member; A's daemon, with nobody
# connected, does not call a collection in sync.
b status >"$T/b.status"
grep -q "^peer  *${ida:0:6}[^ ]*  $ea  (no daemon here: not connected)" "$T/b.status" ||
    fail "B's status without a daemon: $(cat "$T/b.status")"
a put notes alone "before anyone connected"
a status >"$T/a.status"
grep -q "^coll  *notes .* no member connected" "$T/a.status" || fail "A's status: $(cat "$T/a.status")"
start_daemon "$B" "$T/b.log"; pb=$LAST_PID
wait_for 10 "A to refuse B, not yet a member" grep -q "refused .* not members" "$T/a.log"
b put notes early "written before A trusted B"
a peer add "$idb" # no address: A never dials B
wait_for 30 "B's write on A after A added B" a get notes early
expect_eq "$(a get notes early)" "written before A trusted B" "the value B wrote"
grep -q "no session with $ida yet: dialling $ea" "$T/b.log" ||
    fail "B never dialled A again: $(tail -n 20 "$T/b.log")"

# ---- 2. the first known address has nobody listening ----
dead=tcp://127.0.0.1:$(free_port)
c peer add "$idb"
start_daemon "$C" "$T/c.log"; pc=$LAST_PID ec=$EP
b peer add "$idc" "$dead" "$ec"
wait_for 30 "B's session with C over C's second address" session_up "$B" "$idc"
grep -q "no session with $idc yet: dialling $ec" "$T/b.log" ||
    fail "B did not move on to C's second address: $(tail -n 20 "$T/b.log")"
b put notes second "over the second address"
wait_for 15 "B's second write on C" c get notes second
# C's addresses change but still hold the one in use: the link stays (no new session).
sessions=$(grep -c "session with $idc" "$T/b.log")
b peer add "$idc" "$ec" "$dead"
b put notes third-c "after C's addresses changed"
wait_for 15 "B's write on C after the address change" c get notes third-c
[ "$(grep -c "session with $idc" "$T/b.log")" = "$sessions" ] ||
    fail "B hung up a working link to C when C's addresses changed: $(tail -n 20 "$T/b.log")"

# ---- 3. a frozen peer is noticed, and comes back when thawed ----
wait_for 15 "B connected to A" connected_is "$B" "$ida" 1
kill -STOP "$pa"
at_exit "kill -CONT $pa 2>/dev/null"
wait_for 10 "B to notice A is gone (silent past LOOP_DEAD_MS, 4 s)" connected_is "$B" "$ida" 0
grep -q "$ida.* went silent" "$T/b.log" || fail "B's log does not say A went silent"
kill -CONT "$pa"
b put notes third "after A thawed"
wait_for 40 "B's write on A after A thawed" a get notes third
expect_eq "$(a get notes third)" "after A thawed" "the value written while A was frozen"

kill -TERM "$pa" "$pb" "$pc"
wait_pids 10 "$pa" "$pb" "$pc"
echo "ok"
