#!/usr/bin/env bash
# tests/integration/111-folder-empty-offered.sh: a folder shared while empty is offered to
# members (docs/PROTOCOL.md §18.5): `folder add` on the device that creates a folder writes
# the folder record under the reserved key .meshsync/folder of its index collection, which
# syncs like any entry. A adds an empty directory; B's `folder ls` lists it as offered; B
# joins it; a file and a subdirectory A then makes reach B. A member's malformed record (B
# writes garbage under the key) is logged once where it is realized and breaks nothing: a
# later file still syncs, and no file named by the key appears on either disk.
# What must hold: offered within the deadline with no entry in the index; B's join writes
# no record of its own; the record is never a path (no refusal logged for a good one).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "an empty folder is offered, joined, and then syncs; a malformed folder record breaks nothing"

three_devices
a peer add "$idb" >/dev/null
b peer add "$ida" >/dev/null
FA=$T/fa FB=$T/fb
mkdir -p "$FA" "$FB"

# A's index holds the record alone: no path yet (before the record, such a folder was never
# offered: B's folder ls stayed empty).
folder_two_daemons "$FA" "$FB"
expect_eq "$(a ls "folder:$fid" | wc -l)" "1" "entries in A's index of an empty folder"
b folder ls | grep -q "^$fid	$FB\$" || fail "B did not join: $(b folder ls)"
# B joined a folder it held: one change set in the index, A's (B wrote none).
expect_eq "$(b log "folder:$fid" | grep -c .)" "1" "change sets of the index on B after the join"

# A makes a file and a subdirectory (with a file in it): both reach B.
mkdir "$FA/sub"
echo "first" >"$FA/first.txt"
echo "deep" >"$FA/sub/deep.txt"
same_tree() {
    diff -r --no-dereference -x .meshsync "$FA" "$FB" >/dev/null 2>&1
}
wait_for 30 "A's file and subdirectory on B" same_tree
[ -d "$FB/sub" ] || fail "the subdirectory did not arrive"
mc --home "$B" folder wait "$fid" --timeout 20 >/dev/null || fail "folder wait on B: not in sync"

# A good record is never taken as a path: nothing refused, nothing on disk under its key.
! grep -q "a path in its index refused" "$T/a.log" "$T/b.log" ||
    fail "a path refused: $(grep -h "refused" "$T/a.log" "$T/b.log")"
[ ! -e "$FA/.meshsync/folder" ] && [ ! -e "$FB/.meshsync/folder" ] ||
    fail "the record's key was made on disk"

# B, a member, writes garbage under the reserved key: it reaches A, where realize logs it
# once and goes on; a later file still syncs both ways.
b put "folder:$fid" .meshsync/folder "not a record" >/dev/null
wait_for 20 "B's malformed record on A" sh -c "'$MESHCTL' --home '$A' get 'folder:$fid' .meshsync/folder | grep -q 'not a record'"
wait_for 20 "A to log the malformed record" grep -q "folder record (.meshsync/folder) does not decode" "$T/a.log"
echo "later" >"$FA/later.txt"
echo "from B" >"$FB/from-b.txt"
wait_for 30 "the later files on both" same_tree
expect_eq "$(grep -c "folder record (.meshsync/folder) does not decode" "$T/a.log")" "1" \
    "times A logged the malformed record"
[ ! -e "$FA/.meshsync/folder" ] && [ ! -e "$FB/.meshsync/folder" ] ||
    fail "the malformed record's key was made on disk"
b folder ls | grep -q "^$fid	$FB\$" || fail "B's folder after the bad record: $(b folder ls)"
echo ok
