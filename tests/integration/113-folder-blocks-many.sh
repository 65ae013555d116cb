#!/usr/bin/env bash
# tests/integration/113-folder-blocks-many.sh: BLOCK_REQ and BLOCK of layout 2 (docs/PROTOCOL.md
# §18.6, session minor version 5): one request asks several blocks and one frame answers
# them, with a real daemon A on 127.0.0.1 and tests/tools/frames playing member B (B's key).
# What must hold: 20 small files' blocks asked in one BLOCK_REQ come back whole in one BLOCK;
# a folder A never joined gives "not held" for each, in one frame too; a malformed request of
# layout 2 (33 hashes, one past the cap) drops the session and A logs it, and the next
# session is answered as before; then B's own daemon joins the folder and gets every file.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "one BLOCK_REQ asks several blocks, one BLOCK answers them; a malformed one is refused"
FRAMES_TOOL=$(dirname "$FORGE")/frames
[ -x "$FRAMES_TOOL" ] || fail "no frames tool at $FRAMES_TOOL (make testing builds it)"

three_devices # A: the daemon; B: the member the tool plays, then a daemon
a peer add "$idb" >/dev/null
FA=$T/fa FB=$T/fb
mkdir -p "$FA/d1" "$FA/d2" "$FB"
files=
for i in $(seq 1 20); do
    f=$FA/d$((i % 2 + 1))/f$i
    head -c $((1000 + i * 37)) /dev/urandom >"$f"
    files=$files${files:+:}$f
done
fid=$(a folder add "$FA")
start_daemon "$A" "$T/a.log"
ea=$EP pa=$LAST_PID
wait_for 20 "A's index to hold the 20 files" sh -c "'$MESHCTL' --home '$A' get 'folder:$fid' d1/f20 \
    >/dev/null 2>&1 && '$MESHCTL' --home '$A' get 'folder:$fid' d2/f19 >/dev/null 2>&1"
many() { # many FOLDER_ID: B's BLOCK_REQ of layout 2 for the 20 files' blocks
    FRAMES_BLOCK_REQ=$1 FRAMES_BLOCK_FILE=$files "$FRAMES_TOOL" "$B" "$ea" "$ida" 1 1
}

expect_eq "$(many "$fid")" "blocks 20 of 20 here in 1 frame(s)" "20 blocks asked in one request"
expect_eq "$(many nosuchfolder)" "blocks 0 of 20 here in 1 frame(s)" \
    "20 blocks of a folder A never joined"
expect_eq "$(FRAMES_BLOCK_BAD=1 many "$fid")" "no answer" "a request of 33 blocks"
wait_for 10 "A's log to say it dropped the malformed request" \
    grep -q "a block message that is malformed" "$T/a.log"
expect_eq "$(many "$fid")" "blocks 20 of 20 here in 1 frame(s)" "the next session's request"

# B's own daemon (this version: it asks several blocks per request) gets every file.
start_daemon "$B" "$T/b.log"
eb=$EP
folder_joins "$B" "$idb" "$eb" "$FB"
wait_for 30 "B to hold the 20 files" sh -c "diff -r -x .meshsync '$FA' '$FB' >/dev/null"
grep -q "does not match its hash" "$T/b.log" && fail "B refused a block: $(grep 'does not match' "$T/b.log")"
kill -0 "$pa" || fail "A's daemon died"
echo "ok"
