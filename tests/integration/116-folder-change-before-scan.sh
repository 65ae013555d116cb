#!/usr/bin/env bash
# tests/integration/116-folder-change-before-scan.sh: a change made here meets a member's
# newer change of the same file before this device's scan sees it
# (docs/PROTOCOL.md §19.3, "A local change against a member's"). Real daemons on 127.0.0.1.
# A and B share f, g, h and k. B's daemon runs with its folder's scans held after the
# first (test hook MESH_TEST_SCAN_HOLD_MS): on B, f is edited, g rewritten with the bytes A
# will write too, h deleted, k edited; then A edits f, g and h. So A's entries are in B's
# index before B's scan reads its own changes (B's log says realize kept them), the order
# a member's change within the 100 ms a scan settles for, or a scan in parts, can take.
# What must hold once both run: f: both edits on both devices, one as f.txt and the other
# as its conflict copy (never B's edit written over A's, nor A's lost); g: the same bytes on
# both sides are no conflict (no copy); h: A's edit wins over B's delete (back on B, no
# copy); k, which only B changed: B's edit on A; the two trees equal, nothing else added.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a change here meets a member's newer change before the scan: conflict copy, never an overwrite"

three_devices
FA=$T/fa FB=$T/fb
mkdir -p "$FA" "$FB"
for n in f g h k; do echo "base $n" >"$FA/$n.txt"; done
folder_two_daemons "$FA" "$FB"
for n in f g h k; do
    wait_for 30 "$n.txt on B" sh -c "[ \"\$(cat '$FB/$n.txt' 2>/dev/null)\" = 'base $n' ]"
done
wait_for 20 "B's index to hold k.txt" sh -c "[ -n \"\$('$MESHCTL' --home '$B' get 'folder:$fid' k.txt 2>/dev/null | od -An -tx1)\" ]"
kill -TERM "$pb"
wait_pids 20 "$pb"
# B again, its folder's scans after the first held for 6 s (test hook): B's own changes
# wait unscanned while A's come, as they may within the 100 ms a scan settles for
with_hooks start_daemon_env "$B" "$T/b2.log" MESH_TEST_SCAN_HOLD_MS=6000
pb=$LAST_PID
wait_for 10 "B's session with A" grep -q "session with .* (alpha) up" "$T/b2.log"

echo "edit on beta" >"$FB/f.txt"
echo "same bytes" >"$FB/g.txt"
rm "$FB/h.txt"
echo "edit on beta k" >"$FB/k.txt"
sleep 0.05 # (A's g.txt gets another mtime than B's: the same bytes only)
declare -A before
for n in f g h; do before[$n]=$(folder_entry "$A" "$n.txt"); done
echo "edit on alpha" >"$FA/f.txt"
echo "same bytes" >"$FA/g.txt"
echo "edit on alpha h" >"$FA/h.txt"
# A's entries reach B's index first: realize keeps B's changes on disk for the scan
for n in f g h; do
    wait_for 5 "B's index to take A's edit of $n.txt" sh -c "x=\$('$MESHCTL' --home '$B' get 'folder:$fid' $n.txt 2>/dev/null | od -An -tx1 | tr -d ' \n'); [ \"\$x\" != '${before[$n]}' ] && [ \"\$x\" = \"\$('$MESHCTL' --home '$A' get 'folder:$fid' $n.txt 2>/dev/null | od -An -tx1 | tr -d ' \n')\" ]"
done
wait_for 3 "B's realize to keep its own changes for its scan" grep -q "keeping a local change not scanned yet" "$T/b2.log"
grep -q "changed here while" "$T/b2.log" && fail "B scanned before its hold ended (the test proves nothing)"

copies() { (cd "$1" && ls -A | grep -- '\.sync-conflict-' || true); }
wait_for 40 "f's conflict copy on both" sh -c "ls '$FA' | grep -q '^f\.sync-conflict-' && ls '$FB' | grep -q '^f\.sync-conflict-'"
same_tree() { diff -r --no-dereference -x .meshsync "$FA" "$FB" >/dev/null 2>&1; }
wait_for 30 "the two trees to agree" same_tree
for r in "$FA" "$FB"; do
    copy=$(copies "$r")
    [ "$(echo "$copy" | wc -l)" = 1 ] && [[ $copy =~ ^f\.sync-conflict-[0-9]{8}-[0-9]{6}-[A-Z2-7]{7}\.txt$ ]] ||
        fail "$r: conflict copies '$copy' (one of f.txt only was due)"
    both=$( (cat "$r/f.txt"; cat "$r/$copy") | sort | tr '\n' '|')
    [ "$both" = "edit on alpha|edit on beta|" ] || fail "$r: f.txt and its copy hold '$both'"
    expect_eq "$(cat "$r/g.txt")" "same bytes" "$r/g.txt"
    expect_eq "$(cat "$r/h.txt" 2>/dev/null)" "edit on alpha h" "$r/h.txt"
    expect_eq "$(cat "$r/k.txt")" "edit on beta k" "$r/k.txt"
    [ "$(ls -A "$r" | grep -v '^\.meshsync$' | sort | tr '\n' ' ')" = "$copy f.txt g.txt h.txt k.txt " ] ||
        fail "$r holds: $(ls -A "$r")"
done
grep -q "f.txt changed here while a member's change of it came: both kept" "$T/b2.log" ||
    fail "B's log does not name the conflict of f.txt"
grep -q "h.txt deleted here while a member's change of it came: the change is kept" "$T/b2.log" ||
    fail "B's log does not say that A's edit of h.txt wins over B's delete"
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"
echo "ok"
