#!/usr/bin/env bash
# tests/integration/86-folder-block-access.sh: a daemon answers BLOCK_REQ for a folder only
# to members that may read the folder's index collection (docs/PROTOCOL.md §18.6, §8.3),
# with a real daemon on 127.0.0.1 and tests/tools/frames playing member B (B's key, its own
# BLOCK_REQ). What must hold: while folder:ID was never shared, every member gets the block;
# once A shares it with C only, B gets "not held" (the block's bytes never leave A); once
# B is in the list too, B gets it again; a folder A never joined gives nothing either way.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "BLOCK_REQ is answered only to members allowed to read the folder"
FRAMES_TOOL=$(dirname "$FORGE")/frames
[ -x "$FRAMES_TOOL" ] || fail "no frames tool at $FRAMES_TOOL (make testing builds it)"

three_devices # A: the daemon; B: the member the tool plays (never runs); C: another member
a peer add "$idb" >/dev/null
a peer add "$idc" >/dev/null
FA=$T/fa
mkdir -p "$FA"
echo "bytes only members that may read this folder get" >"$FA/small.txt"
fid=$(a folder add "$FA")
start_daemon "$A" "$T/a.log"
ea=$EP
wait_for 20 "A's index to hold small.txt" \
    sh -c "'$MESHCTL' --home '$A' get 'folder:$fid' small.txt >/dev/null 2>&1"
ask() { # ask FOLDER_ID: B's BLOCK_REQ for small.txt's block, the answer printed
    FRAMES_BLOCK_REQ=$1 FRAMES_BLOCK_FILE=$FA/small.txt "$FRAMES_TOOL" "$B" "$ea" "$ida" 1 1
}

expect_eq "$(ask "$fid")" "block here" "B's request while folder:$fid was never shared"
expect_eq "$(ask nosuchfolder)" "block not held" "B's request for a folder A never joined"

a share "folder:$fid" "$idc" >/dev/null
a members "folder:$fid" | grep -q "$idc" || fail "folder:$fid not shared with C: $(a members "folder:$fid")"
expect_eq "$(ask "$fid")" "block not held" "B's request once folder:$fid is shared with C only"

a share "folder:$fid" "$idb" >/dev/null
expect_eq "$(ask "$fid")" "block here" "B's request once B is in folder:$fid's list"
echo "ok"
