#!/usr/bin/env bash
# tests/integration/85-folder-conflict.sh: concurrent edits of one file on two devices
# (docs/PROTOCOL.md §19.3), with real daemons on 127.0.0.1. A and B share f.txt; A edits it
# while B's daemon is down, then B edits it while A's daemon is down, so each index holds an
# edit the other never saw. What must hold once both run: both devices end with the same
# tree; f.txt holds one of the two edits (the winner, the same on both), and beside it
# f.sync-conflict-YYYYMMDD-HHMMSS-DEVICE.txt holds the other (DEVICE: the first 7 characters
# of the losing device's ID); nothing else was added, and no conflict copy of a copy.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "concurrent edits of one file: the winner keeps the name, the loser is kept beside it on both"

three_devices
FA=$T/fa FB=$T/fb
mkdir -p "$FA" "$FB"
echo "base" >"$FA/f.txt"
folder_two_daemons "$FA" "$FB"
wait_for 30 "f.txt on B" sh -c "[ \"\$(cat '$FB/f.txt' 2>/dev/null)\" = base ]"
folder_edit_apart f.txt

copies() { (cd "$1" && ls f.sync-conflict-*.txt 2>/dev/null); }
wait_for 40 "a conflict copy on both" sh -c "[ -n \"\$(cd '$FA' && ls f.sync-conflict-*.txt 2>/dev/null)\" ] && [ -n \"\$(cd '$FB' && ls f.sync-conflict-*.txt 2>/dev/null)\" ]"
same_tree() { diff -r --no-dereference -x .meshsync "$FA" "$FB" >/dev/null 2>&1; }
wait_for 30 "the two trees to agree" same_tree
[ "$(copies "$FA" | wc -l)" = 1 ] || fail "A holds $(copies "$FA" | wc -l) conflict copies: $(ls -A "$FA")"
win=$(cat "$FA/f.txt") copy=$(copies "$FA") lose=$(cat "$FA/$copy")
case "$win/$lose" in
"edit on alpha/edit on beta") loser=$idb ;;
"edit on beta/edit on alpha") loser=$ida ;;
*) fail "f.txt holds '$win' and the copy '$lose'" ;;
esac
dev=$(echo "$loser" | tr -d '-' | cut -c1-7)
[[ $copy =~ ^f\.sync-conflict-[0-9]{8}-[0-9]{6}-$dev\.txt$ ]] || fail "the copy's name $copy (loser $dev)"
[ "$(ls -A "$FA" | grep -v '^\.meshsync$' | sort | tr '\n' ' ')" = "$copy f.txt " ] ||
    fail "A's folder holds: $(ls -A "$FA")"
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"
echo "ok"
