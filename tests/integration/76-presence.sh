#!/usr/bin/env bash
# tests/integration/76-presence.sh: presence (docs/PROTOCOL.md §22) between real nodes: two
# applications of the public API (tests/tools/chat, each its home's node) and one meshctl
# daemon, on 127.0.0.1.
#  1. Each sees the others come online (the presence callback), and mesh_presence lists them
#     with the address dialled and the name.
#  2. The daemon stopped by PID (SIGKILL: no goodbye): both applications see it go offline,
#     and the list holds only the other; started again, it comes back online.
#  3. An application that quits is seen offline by the other; a member removed is offline
#     for good (its key refused), though its daemon runs on.
# Real processes, each stopped by PID; waits have deadlines.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "presence: members seen online and offline as their sessions come and go"

CHAT=${CHAT:-$(dirname "$MESHCTL_TESTING")/tests/chat}
[ -x "$CHAT" ] || fail "no chat tool at $CHAT (make testing builds it)"

# start_chat NAME HOME: run chat on HOME, its commands from the FIFO $T/NAME.in (held open
# here on a descriptor: say NAME CMD), its lines in $T/NAME.out; its PID in $LAST_PID, its
# endpoint in $EP.
start_chat() {
    rm -f "$2/status" "$T/$1.in"
    mkfifo "$T/$1.in"
    local fd
    exec {fd}<>"$T/$1.in"
    eval "FD_$1=$fd"
    # (not spawn: a command run with & inside a function reads /dev/null, not the FIFO)
    "$CHAT" --home "$2" <"$T/$1.in" >"$T/$1.out" 2>>"$T/$1.log" &
    LAST_PID=$!
    _pids+=("$LAST_PID")
    wait_for 10 "chat on $2 to listen" grep -q '^listen tcp://127.0.0.1:[0-9]' "$2/status"
    EP=$(sed -n 's/^listen //p' "$2/status")
}
# say NAME LINE: a line to chat NAME.
say() {
    local fd
    eval "fd=\$FD_$1"
    printf '%s\n' "$2" >&"$fd"
}
# count NAME PATTERN: lines of chat NAME's output matching PATTERN (grep -E).
count() {
    grep -cE "$2" "$T/$1.out" || true
}
# has NAME PATTERN N: at least N such lines.
has() {
    [ "$(count "$1" "$2")" -ge "$3" ]
}

three_devices
start_chat a "$A"; pa=$LAST_PID ea=$EP
start_chat b "$B"; pb=$LAST_PID eb=$EP
start_daemon "$C" "$T/c.log"; pc=$LAST_PID ec=$EP
a peer add "$idb" "$eb"
a peer add "$idc" "$ec"
b peer add "$ida" "$ea"
b peer add "$idc" "$ec"
c peer add "$ida" "$ea"
c peer add "$idb" "$eb"

# ---- 1. online: the callback, then the list ----
wait_for 20 "A to see B online" has a "^online $idb\$" 1
wait_for 20 "A to see C online" has a "^online $idc\$" 1
wait_for 20 "B to see A online" has b "^online $ida\$" 1
wait_for 20 "B to see C online" has b "^online $idc\$" 1
# Online comes with the session; a member's name comes with its records, which may be
# applied a moment later (under TSan, after the list was asked): wait for both names.
names_known() { a peer ls 2>/dev/null | grep -q beta && a peer ls 2>/dev/null | grep -q gamma; }
wait_for 20 "A to know B's and C's names" names_known
say a /presence
wait_for 10 "A's presence list" has a "^presence " 1
expect_eq "$(sed -n 's/^presence //p' "$T/a.out")" 2 "members A lists online"
grep -q "^present $idb [0-9]* \\(-\\|$eb\\) beta\$" "$T/a.out" ||
    fail "A's list does not show B with its name: $(grep '^present' "$T/a.out")"
grep -q "^present $idc [0-9]* \\(-\\|$ec\\) gamma\$" "$T/a.out" ||
    fail "A's list does not show C with its name: $(grep '^present' "$T/a.out")"
since=$(sed -n "s/^present $idc \\([0-9]*\\) .*/\\1/p" "$T/a.out")
now=$(date +%s)
[ "$since" -le "$now" ] && [ "$since" -ge $((now - 60)) ] ||
    fail "C online since $since, not within the last minute of $now"

# ---- 2. the daemon killed: offline on both; started again: online ----
kill -KILL "$pc"
wait "$pc" 2>/dev/null || true
wait_for 20 "A to see C offline" has a "^offline $idc\$" 1
wait_for 20 "B to see C offline" has b "^offline $idc\$" 1
say a /presence
wait_for 10 "A's second list" has a "^presence " 2
expect_eq "$(sed -n 's/^presence //p' "$T/a.out" | tail -1)" 1 "members A lists after C stopped"
expect_eq "$(grep '^present' "$T/a.out" | tail -1 | cut -d' ' -f2)" "$idb" "the one A lists"
# B went nowhere: no offline line for it on A
expect_eq "$(count a "^offline $idb\$")" 0 "offline lines for B on A"
start_daemon "$C" "$T/c2.log" "$ec"; pc=$LAST_PID
wait_for 20 "A to see C online again" has a "^online $idc\$" 2
wait_for 20 "B to see C online again" has b "^online $idc\$" 2

# ---- 3. an application quits; a member removed ----
say b /quit
wait_pids 10 "$pb"
wait_for 20 "A to see B offline" has a "^offline $idb\$" 1
a peer rm "$idc"
wait_for 20 "A to see removed C offline" has a "^offline $idc\$" 2
kill -0 "$pc" || fail "C's daemon died"
# C dials A on: it is refused at every frame, so never online again on A
sleep 1
say a /presence
wait_for 10 "A's third list" has a "^presence " 3
expect_eq "$(sed -n 's/^presence //p' "$T/a.out" | tail -1)" 0 "members A lists at the end"
expect_eq "$(count a "^online $idc\$")" 2 "online lines for removed C on A"

say a /quit
kill -TERM "$pc"
wait_pids 10 "$pa" "$pc"
echo "ok"
