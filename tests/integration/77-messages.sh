#!/usr/bin/env bash
# tests/integration/77-messages.sh: ephemeral messages (docs/PROTOCOL.md §22) between three
# applications of the public API (tests/tools/chat), each its home's node, on 127.0.0.1.
#  1. A message to one member arrives there once, and nowhere else; a message on a topic
#     reaches every member subscribed to it once, and one on a topic nobody there subscribed
#     to is handed to no callback (counted).
#  2. Past its size (64 KiB) a message is refused at the sender with a clear error; one of
#     64 KiB exactly arrives whole.
#  3. A flood from A to B: B drops A's messages past A's rate (counted), while C's messages
#     to B all arrive, and a put on A still syncs to B meanwhile.
#  4. A message to a member that is offline fails at once (no queue), and one to a member
#     removed is refused there.
# Real processes, each stopped by PID; waits have deadlines.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "messages: to one member, to a topic, capped in size and rate, never queued"

CHAT=${CHAT:-$(dirname "$MESHCTL_TESTING")/tests/chat}
[ -x "$CHAT" ] || fail "no chat tool at $CHAT (make testing builds it)"

# start_chat NAME HOME [ARGS...]: run chat on HOME, its commands from the FIFO $T/NAME.in
# (held open here: say NAME LINE), its lines in $T/NAME.out; PID in $LAST_PID, endpoint $EP.
start_chat() {
    local name=$1 home=$2 fd
    shift 2
    rm -f "$home/status" "$T/$name.in"
    mkfifo "$T/$name.in"
    exec {fd}<>"$T/$name.in"
    eval "FD_$name=$fd"
    # (not spawn: a command run with & inside a function reads /dev/null, not the FIFO)
    "$CHAT" --home "$home" "$@" <"$T/$name.in" >"$T/$name.out" 2>>"$T/$name.log" &
    LAST_PID=$!
    _pids+=("$LAST_PID")
    wait_for 10 "chat on $home to listen" grep -q '^listen tcp://127.0.0.1:[0-9]' "$home/status"
    EP=$(sed -n 's/^listen //p' "$home/status")
}
say() {
    local fd
    eval "fd=\$FD_$1"
    printf '%s\n' "$2" >&"$fd"
}
count() {
    grep -cE "$2" "$T/$1.out" || true
}
has() {
    [ "$(count "$1" "$2")" -ge "$3" ]
}
# stat NAME FIELD: FIELD of chat NAME's latest stats line (after asking for a new one).
stat() {
    local n
    n=$(count "$1" '^stats ')
    say "$1" /stats
    wait_for 10 "stats of $1" has "$1" '^stats ' $((n + 1))
    grep '^stats ' "$T/$1.out" | tail -1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}

three_devices
start_chat a "$A"; pa=$LAST_PID ea=$EP
start_chat b "$B" --sub room/ --sub flood/; pb=$LAST_PID eb=$EP
start_chat c "$C" --sub room/; pc=$LAST_PID ec=$EP
a peer add "$idb" "$eb" >/dev/null
a peer add "$idc" "$ec" >/dev/null
b peer add "$ida" "$ea" >/dev/null
b peer add "$idc" "$ec" >/dev/null
c peer add "$ida" "$ea" >/dev/null
c peer add "$idb" "$eb" >/dev/null
for x in a b c; do
    for y in "$ida" "$idb" "$idc"; do
        [ "$(eval "echo \$id$x")" = "$y" ] || wait_for 20 "$x to see $y online" has $x "^online $y\$" 1
    done
done

# ---- 1. to one member; to a topic ----
say a "/to $idb room/x for-b-only"
say a "/say room/all to-everyone"
say a "/say elsewhere/x nobody-listens"
wait_for 10 "the topic message on B" has b "^msg $ida room/all all 11 to-everyone\$" 1
wait_for 10 "the topic message on C" has c "^msg $ida room/all all 11 to-everyone\$" 1
# (in order on each session: the direct message went before the topic message)
expect_eq "$(count b "^msg $ida room/x direct 10 for-b-only\$")" 1 "the direct message on B"
expect_eq "$(count c 'for-b-only')" 0 "the direct message on C"
expect_eq "$(count a 'for-b-only|to-everyone')" 0 "A's own messages back on A"
expect_eq "$(count b 'nobody-listens')" 0 "an unsubscribed topic on B"
wait_for 10 "B to count the unsubscribed one" test "$(stat b unsubscribed)" -ge 1
expect_eq "$(stat b delivered)" 2 "callbacks called on B"

# ---- 2. the size cap ----
say a "/big $idb room/big 65537"
wait_for 10 "A's refusal" has a '^error big: ' 1
grep -q "^error big: .*65537 bytes is past the cap of 65536" "$T/a.out" ||
    fail "A's refusal of 65537 bytes: $(grep '^error big' "$T/a.out")"
say a "/big $idb room/big 65536"
wait_for 10 "64 KiB on B" has b "^msg $ida room/big direct 65536 " 1
expect_eq "$(count b '^msg .* room/big ')" 1 "big messages on B"

# ---- 3. a flood from A to B ----
say a "/flood $idb flood/a 3000 16"
say c "/flood $idb room/c 40 16"
a put notes during-flood "still syncs"
wait_for 60 "A's flood sent" has a '^ok flood' 1
wait_for 20 "C's 40 messages on B" has b "^msg $idc room/c direct 16 " 40
wait_for 20 "A's put on B during the flood" b get notes during-flood
expect_eq "$(b get notes during-flood)" "still syncs" "A's put on B"
over=$(stat b over_member)
from_a=$(count b "^msg $ida flood/a ")
[ "$over" -gt 0 ] || fail "B dropped none of A's 3000 flood messages (took $from_a)"
[ "$from_a" -lt 3000 ] || fail "B took all 3000 of A's flood messages"
expect_eq "$(stat b over_total)" 0 "B's drops past the rate of all members"
grep -q "messages from $ida past its rate" "$T/b.log" || fail "B did not log A's flood"
expect_eq "$(count b "^msg $idc room/c ")" 40 "C's messages on B"
# A sees B still online: the flood dropped messages, not the session
expect_eq "$(count a "^offline $idb\$")" 0 "offline lines for B on A"

# ---- 4. offline: no queue; removed: refused ----
say c /quit
wait_pids 10 "$pc"
wait_for 20 "A to see C offline" has a "^offline $idc\$" 1
say a "/to $idc room/x too-late"
wait_for 10 "A's refusal to send to offline C" has a '^error to: ' 1
grep -q "^error to: .*$idc has no session up (messages are never queued for later)" "$T/a.out" ||
    fail "A's refusal: $(grep '^error to' "$T/a.out")"
b peer rm "$ida"
wait_for 20 "B to see removed A offline" has b "^offline $ida\$" 1
n=$(count b "^msg $ida ")
say a "/say room/all after-removal"
say a "/to $idb room/x after-removal"
# B refuses every frame of A's key from now on, these messages (sent within A's next turn)
# and its pings alike; so A hears nothing more from B and sees it go offline, 4 s on
wait_for 20 "A to see B offline (B refuses its frames)" has a "^offline $idb\$" 1
expect_eq "$(count b "^msg $ida ")" "$n" "A's messages on B after its removal"
expect_eq "$(count b 'after-removal')" 0 "A's messages after its removal on B"
say a "/to $idb room/x after-offline"
wait_for 10 "A's refusal to send to B" has a "^error to: .*$idb has no session up" 1

say a /quit
say b /quit
wait_pids 10 "$pa" "$pb"
echo "ok"
