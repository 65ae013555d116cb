#!/usr/bin/env bash
# tests/integration/62-peer-exchange.sh: addresses and peer exchange (docs/PROTOCOL.md §17)
# on loopback. A knows only B's address; B knows no address of C (C dials B, and states its
# own listen address to B in a PEX); no membership record gives C's address. What must hold:
#  1. A and C learn each other's addresses from B (peer exchange) and connect directly
#     (whichever dials first): A's status shows C connected, and A holds C's address;
#  2. with B stopped, A and C keep syncing both ways (their own link), and status says each
#     one's data came directly;
#  3. A restarted while B is still down reaches C again: C's address survived in A's store
#     (its address book), the only place A could have it from.
# Real daemons on 127.0.0.1, each stopped by PID.
# run: alone (it timed out beside other tests in session 11, and once alone in session 12: C had dialled A first, and the test wanted A's own link; it now takes either)
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
DAEMON_LOG_LEVEL=debug
describe "peer exchange: A learns C's address from B, keeps syncing with C without B, and after a restart"
command -v python3 >/dev/null || skip "no python3"

peer_field() { # HOME ID FIELD: a field of the peer's line in HOME/status
    { grep "^peer $2 " "$1/status" || true; } | tr ' ' '\n' | sed -n "s/^$3=//p"
}
connected_at() { # HOME ID ADDR: the peer is connected, over our link to ADDR
    [ "$(peer_field "$1" "$2" connected)" = 1 ] && [ "$(peer_field "$1" "$2" session)" = 1 ] &&
        [ "$(peer_field "$1" "$2" addr)" = "$3" ]
}
via_is() { # HOME ID VIA: the peer's latest data came over VIA's session
    [ "$(peer_field "$1" "$2" via)" = "$3" ]
}

three_devices
start_daemon "$B" "$T/b.log"; pb=$LAST_PID eb=$EP
start_daemon "$C" "$T/c.log"; pc=$LAST_PID ec=$EP
start_daemon "$A" "$T/a.log"; pa=$LAST_PID ea=$EP
# B vouches for A and C, with no address for either; A and C know only B's address.
b peer add "$ida"
b peer add "$idc"
a peer add "$idb" "$eb"
c peer add "$idb" "$eb"
a peer ls 2>/dev/null | grep -q "$ec" && fail "a record gives C's address: the test would not test PEX"

# 1. A and C learn each other's addresses from B and one dials the other: whichever dials
# first makes the session, and the other does not dial again (one session is enough).
connected_direct() { # A has a session with C, over A's link to ec or over C's link to A
    [ "$(peer_field "$A" "$idc" connected)" = 1 ] && [ "$(peer_field "$A" "$idc" session)" = 1 ] &&
        { [ "$(peer_field "$A" "$idc" addr)" = "$ec" ] || [ -z "$(peer_field "$A" "$idc" addr)" ]; }
}
told_by_b() { grep -q "$idb says $idc is at $ec" "$T/a.log" || grep -q "$idb says $ida is at $ea" "$T/c.log"; }
wait_for 60 "a direct session between A and C" connected_direct
wait_for 10 "A's or C's log to say B told it the other's address" told_by_b
# (A holds C's address either way: from B, or from C's own PEX over C's link; step 3 needs it)
wait_for 10 "A's log to say it knows C's address" grep -q "says $idc is at $ec" "$T/a.log"
a peer ls 2>/dev/null | grep -q "$ec" && fail "C's address reached A's records, not only its address book"

# 2. B stops: A and C sync over their own link, both ways.
kill -TERM "$pb"
wait_pids 10 "$pb"
a put notes from-a "A without B"
c put notes from-c "C without B"
wait_for 30 "A's write on C without B" c get notes from-a
wait_for 30 "C's write on A without B" a get notes from-c
expect_eq "$(c get notes from-a)" "A without B" "A's value on C"
expect_eq "$(a get notes from-c)" "C without B" "C's value on A"
wait_for 10 "A's status: C's data came directly" via_is "$A" "$idc" "$idc"
a status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
p = [p for p in d["peers"] if p["id"] == sys.argv[1]][0]
assert p["path"] == "direct" and p["via"] == sys.argv[1], p' "$idc" ||
    fail "A's status --json does not say C's data came directly: $(a status --json)"
a status | grep -q "its data: direct" || fail "meshctl status does not show the path: $(a status)"

# 3. A restarts with B still down: it reaches C by the address it kept.
kill -TERM "$pa"
wait_pids 10 "$pa"
start_daemon "$A" "$T/a2.log"; pa=$LAST_PID
wait_for 30 "A's link to C after its restart" connected_at "$A" "$idc" "$ec"
c put notes after-restart "C after A's restart"
wait_for 30 "C's write on the restarted A" a get notes after-restart
kill -TERM "$pa" "$pc"
wait_pids 10 "$pa" "$pc"
echo ok
