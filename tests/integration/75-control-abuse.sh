#!/usr/bin/env bash
# tests/integration/75-control-abuse.sh: what the control socket (docs/PROTOCOL.md §21)
# takes from a client that is not meshctl, against real daemons on 127.0.0.1. What must
# hold after each step:
#  1. malformed requests (not msgpack, another version, an unknown kind with its id, past
#     the 4 KiB cap, two frames) each get an error reply naming the failure; one past libzmq's
#     64 KiB cap gets none (its connection is dropped); the daemon lives on;
#  2. a flood of 200 connections, each with a wait that cannot be met: the daemon keeps the
#     64 latest and answers each older one "busy" as a newer one comes (136); meanwhile a
#     put on the peer still arrives, and status still answers; once the flood's clients
#     went away, their waits cannot shut new ones out (64 new ones: none told busy, the
#     gone clients' waits dropped instead) and meshctl wait works.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "malformed control requests get error replies; a flood of clients does not stop sync"
CTLSEND=$(dirname "$MESHCTL_TESTING")/tests/ctlsend
[ -x "$CTLSEND" ] || fail "no $CTLSEND (make testing builds it)"

three_devices
a peer add "$idb"
b peer add "$ida"
start_daemon "$A" "$T/a.log"
pa=$LAST_PID ea=$EP
start_daemon "$B" "$T/b.log"
pb=$LAST_PID eb=$EP
a peer add "$idb" "$eb"
b peer add "$ida" "$ea"
a put notes k0 v0
mc --home "$B" wait notes --timeout 20 || fail "B never in sync"

# 1. Malformed requests: an error reply each (6 = MESH_EPROTO, 7 = MESH_ETOOBIG).
reply() { "$CTLSEND" "$B" raw "$1"; }
expect_reply() { # HEX, the line expected (a prefix)
    local got
    got=$(reply "$1")
    case $got in "$2"*) ;; *) fail "request $(echo "$1" | cut -c1-40): got '$got', expected '$2...'" ;; esac
}
expect_reply c1 "reply code=6 id=0 text=malformed request (1 bytes)"
expect_reply 93020101 "reply code=6 id=0 text=malformed request"
expect_reply 93010504 "reply code=6 id=5 text=malformed request"
expect_reply 9301090100 "reply code=6 id=9"
expect_reply "" "reply code=6 id=0"
got=$("$CTLSEND" "$B" zeros 5000)
case $got in "reply code=7 id=0 text=malformed request (5000 bytes)"*) ;; *) fail "5000 bytes: $got" ;; esac
expect_eq "$("$CTLSEND" "$B" zeros 70000 | cut -c1-8)" "no reply" "a request past libzmq's cap"
"$CTLSEND" "$B" frames >"$T/frames"
grep -q "^reply code=6 id=0 text=a request is one frame" "$T/frames" || fail "two frames: $(cat "$T/frames")"
kill -0 "$pb" || fail "B's daemon died of malformed requests"
"$CTLSEND" "$B" ping | grep -q "^ping pid=$pb " || fail "B does not answer a ping after them"

# 2. A flood of clients.
"$CTLSEND" "$B" flood 200 3 >"$T/flood" &
flood=$!
_pids+=("$flood")
wait_for 20 "the flood to be answered" grep -q busy= "$T/flood"
expect_eq "$(cat "$T/flood")" "busy=136 open=200" "older waits told busy past the cap of 64"
a put notes during flood
wait_for 15 "a put on A to reach B during the flood" b get notes during
mc --home "$B" status >"$T/status.txt" || fail "status during the flood"
grep -q "^daemon  pid $pb" "$T/status.txt" || fail "status during the flood: $(cat "$T/status.txt")"
wait "$flood"
"$CTLSEND" "$B" flood 64 0 >"$T/flood2"
expect_eq "$(cat "$T/flood2")" "busy=0 open=64" "new waits displace those of clients gone"
mc --home "$B" wait notes --timeout 20 || fail "wait after the flood"
expect_eq "$(b get notes during)" flood "the write made during the flood"
kill -0 "$pb" || fail "B's daemon died"
echo "ok"
