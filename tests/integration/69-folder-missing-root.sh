#!/usr/bin/env bash
# tests/integration/69-folder-missing-root.sh: never a mass deletion (docs/PROTOCOL.md §18.7).
# Two real daemons share a folder; then A's root goes away (renamed, as an unmounted disk
# looks), and later its marker alone. What must hold: A's daemon stops the folder with a
# clear error in its log and in `status`, sends no delete, and B keeps every file; when the
# root and marker are back, A goes on (a new file reaches B) and still nothing was deleted
# anywhere.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a folder whose root or marker is missing stops; nothing is deleted anywhere"

three_devices
a peer add "$idb"
b peer add "$ida"
FA=$T/fa FB=$T/fb
mkdir -p "$FA/sub" "$FB"
for i in 1 2 3 4 5; do echo "file $i" >"$FA/f$i.txt"; done
echo "deep" >"$FA/sub/deep.txt"
fid=$(a folder add "$FA")
b folder add "$FB" --id "$fid" >/dev/null

start_daemon "$A" "$T/a.log"
ea=$EP
start_daemon "$B" "$T/b.log"
eb=$EP
a peer add "$idb" "$eb"
b peer add "$ida" "$ea"
same_tree() { diff -r --no-dereference -x .meshsync "$FA" "$FB" >/dev/null 2>&1; }
wait_for 30 "B's copy of the folder" same_tree
# (paths only: not the folder record under .meshsync/folder, §18.5)
keys() { mc --home "$1" ls "folder:$fid" | awk -F'\t' '$1 != ".meshsync/folder"' | wc -l; }
expect_eq "$(keys "$B")" 7 "entries in B's index"

# The root goes away (an unmounted disk): stopped, with the reason, and nothing deleted.
mv "$FA" "$FA.gone"
wait_for 20 "A to stop the folder" grep -q "folder $fid stopped: folder root missing" "$T/a.log"
# (the status text is refreshed every 250 ms: wait for it to say so)
wait_for 10 "status to say it" sh -c "'$MESHCTL' --home '$A' status | grep -Eq 'folder +$fid +stopped'"
# The root comes back without its marker: stopped again, for that reason.
mv "$FA.gone" "$FA"
mv "$FA/.meshsync/folder-id" "$T/marker"
wait_for 20 "A to see the marker missing" grep -q "folder $fid stopped: folder marker missing" "$T/a.log"
# Whatever A scanned meanwhile, B still holds every file and every entry.
for i in 1 2 3 4 5; do [ -f "$FB/f$i.txt" ] || fail "f$i.txt was deleted on B"; done
[ -f "$FB/sub/deep.txt" ] || fail "sub/deep.txt was deleted on B"
expect_eq "$(keys "$A")" 7 "entries in A's index while stopped"

# The marker is back: the folder goes on; a new file is the barrier after which any delete
# sent meanwhile would have arrived.
mv "$T/marker" "$FA/.meshsync/folder-id"
wait_for 20 "A to take the folder up again" grep -q "folder $fid: its root is back" "$T/a.log"
echo "after" >"$FA/after.txt"
wait_for 20 "the new file on B" test -f "$FB/after.txt"
same_tree || fail "the trees differ: $(diff -r -x .meshsync "$FA" "$FB")"
expect_eq "$(keys "$B")" 8 "entries in B's index at the end"
echo ok
