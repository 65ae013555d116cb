#!/usr/bin/env bash
# tests/integration/98-folder-scan-parts.sh: a scan that reads many files does it in parts
# (docs/PROTOCOL.md §18.5): each part reads a few files (here 7, MESH_TEST_SCAN_PART_FILES),
# commits their entries and lets the loop run; the next part goes on at the next turn. Real
# daemons on 127.0.0.1.
# What must hold: A's first scan of 60 files takes several parts and B gets the whole tree;
# then every file changed and 30 new ones at once, scanned in parts again: B never lacks
# any of the old files meanwhile (a part that has not read a file yet keeps its entry: no
# delete is ever sent for it), one file deleted on A is deleted on B, and B ends equal to A.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a large scan goes in parts: each commits what it read, none sends a file it has not read yet as deleted"

three_devices
FA=$T/fa FB=$T/fb
mkdir -p "$FB"
for d in 0 1 2 3; do
    mkdir -p "$FA/d$d"
    for i in $(seq 1 15); do echo "file $d/$i" >"$FA/d$d/f$i.txt"; done
done
MESH_TEST_SCAN_PART_FILES=7 DAEMON_LOG_LEVEL=debug with_hooks folder_two_daemons "$FA" "$FB"

same_tree() {
    diff -r --no-dereference -x .meshsync "$FA" "$FB" >/dev/null 2>&1
}
wait_for 30 "B's tree to equal A's" same_tree
parts=$(grep -c "folder $fid: scan part: 7 file(s) read" "$T/a.log" || true)
[ "$parts" -ge 8 ] || fail "A's first scan of 60 files took $parts parts of 7 (expected 8)"

# Every file changed, one deleted, 30 new: scanned in parts again while B watches.
for d in 0 1 2 3; do
    for i in $(seq 1 15); do echo "changed $d/$i" >"$FA/d$d/f$i.txt"; done
    for i in $(seq 16 23); do echo "new $d/$i" >"$FA/d$d/f$i.txt"; done
done
rm "$FA/d3/f15.txt"
deadline=$((SECONDS + 30 * TIME_FACTOR))
until same_tree; do
    [ "$SECONDS" -lt "$deadline" ] || fail "B's tree did not come to equal A's: $(diff -r -x .meshsync "$FA" "$FB" | head -5)"
    for d in 0 1 2 3; do
        for i in $(seq 1 14); do
            [ -f "$FB/d$d/f$i.txt" ] || fail "B lost d$d/f$i.txt while A scanned in parts"
        done
    done
    sleep 0.05
done
[ ! -e "$FB/d3/f15.txt" ] || fail "the file deleted on A is still on B"
more=$(grep -c "folder $fid: scan part:" "$T/a.log" || true)
[ "$more" -gt "$parts" ] || fail "the second scan was not in parts ($more parts in all)"
echo "ok: $parts parts for the first scan, $((more - parts)) for the changes"
