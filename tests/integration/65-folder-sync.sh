#!/usr/bin/env bash
# tests/integration/65-folder-sync.sh: the first folder sync between two real daemons on
# 127.0.0.1 (docs/PROTOCOL.md §18): A shares a small tree (files, an empty directory, a
# symlink, a file of a few MiB so that it has several blocks), B joins it by ID and gets the
# same tree; then an edit, a new file and a delete on A reach B, and a file made on B reaches
# A; a copy on A of a file B holds moves no block (B takes it from its own disk); a file
# deleted while A's daemon is down is sent as deleted when it starts again; after B's
# folder rm, nothing of the folder moves either way and no file is deleted.
# What must hold: B's tree equals A's (content, symlink as a link, mode), never a partial file
# in B's folder, and the folder commands say what they did.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "two daemons sync a folder: files, blocks, a symlink, an edit, a delete, both ways"

three_devices
a peer add "$idb"
b peer add "$ida"

FA=$T/fa FB=$T/fb
mkdir -p "$FA/docs/deep" "$FA/empty" "$FB"
echo "hello" >"$FA/hello.txt"
printf 'one\ntwo\n' >"$FA/docs/notes.txt"
echo "deep" >"$FA/docs/deep/leaf"
chmod 600 "$FA/docs/notes.txt"
head -c 3000000 /dev/urandom >"$FA/big.bin"
ln -s docs/notes.txt "$FA/link"

# folder add: a new ID is printed, the marker written; folder ls shows it.
fid=$(a folder add "$FA")
[ -n "$fid" ] || fail "folder add printed no ID"
expect_eq "$(cat "$FA/.meshsync/folder-id")" "$fid" "the root marker"
a folder ls | grep -q "^$fid	$FA\$" || fail "folder ls on A: $(a folder ls)"
expect_fail_with "already synced" a folder add "$FA"
expect_fail_with "not a directory" a folder add "$T/nope"

start_daemon "$A" "$T/a.log"
ea=$EP pa=$LAST_PID
start_daemon "$B" "$T/b.log"
eb=$EP
a peer add "$idb" "$eb"
b peer add "$ida" "$ea"

# B hears of the folder through its index collection: offered, not joined.
wait_for 20 "the folder offered on B" sh -c "'$MESHCTL' --home '$B' folder ls | grep -q '^$fid	(offered)\$'"
b folder add "$FB" --id "$fid" >/dev/null

same_tree() {
    diff -r --no-dereference -x .meshsync "$FA" "$FB" >/dev/null 2>&1
}
wait_for 30 "B's tree to equal A's" same_tree
[ -L "$FB/link" ] || fail "the symlink arrived as something else"
expect_eq "$(readlink "$FB/link")" "docs/notes.txt" "the symlink's target"
expect_eq "$(stat -c %a "$FB/docs/notes.txt")" "600" "the mode of notes.txt"
expect_eq "$(stat -c %Y "$FB/big.bin")" "$(stat -c %Y "$FA/big.bin")" "big.bin's mtime"
[ -d "$FB/empty" ] || fail "the empty directory did not arrive"
[ -z "$(ls -A "$FB/.meshsync/tmp")" ] || fail "temp files left: $(ls -A "$FB/.meshsync/tmp")"

# An edit, a new file and a delete on A: noticed by inotify, sent, realized on B.
echo "edited" >>"$FA/hello.txt"
echo "new" >"$FA/docs/new.txt"
rm "$FA/docs/deep/leaf"
wait_for 20 "A's changes on B" same_tree
[ ! -e "$FB/docs/deep/leaf" ] || fail "the deleted file is still on B"

# A file made on B reaches A.
echo "from B" >"$FB/from-b.txt"
wait_for 20 "B's file on A" test -f "$FA/from-b.txt"
expect_eq "$(cat "$FA/from-b.txt")" "from B" "B's file on A"

# A copy of big.bin on A: B builds it from the blocks it holds, asking A for none.
cp -p "$FA/big.bin" "$FA/copy.bin"
wait_for 20 "the copy on B" same_tree
cmp -s "$FB/copy.bin" "$FA/big.bin" || fail "the copy differs"
# "wrote PATH (N blocks, M from members)": big.bin came in several blocks, all fetched;
# copy.bin in as many, none fetched.
counts() { sed -n "s/.*wrote $1 (\([0-9]*\) blocks, \([0-9]*\) from members).*/\1 \2/p" "$T/b.log" | head -1; }
read -r nb fetched <<<"$(counts big.bin)"
[ "${nb:-0}" -ge 2 ] && [ "$fetched" = "$nb" ] ||
    fail "big.bin was not fetched in several blocks: $(grep wrote "$T/b.log")"
read -r nc fetched <<<"$(counts copy.bin)"
[ "${nc:-0}" = "$nb" ] && [ "$fetched" = 0 ] ||
    fail "the copy moved blocks: $(grep wrote "$T/b.log")"

# A file deleted while A's daemon is down is sent as deleted when it starts again (its scan
# records are kept in the store), and the unchanged rest is not read again.
kill "$pa"
wait_pids 10 "$pa"
rm "$FA/docs/new.txt"
start_daemon "$A" "$T/a2.log" "$ea"
wait_for 20 "the delete made while A was down, on B" test ! -e "$FB/docs/new.txt"
same_tree || fail "the trees differ after A's restart: $(diff -r -x .meshsync "$FA" "$FB")"

# folder rm stops syncing and deletes nothing.
b folder rm "$fid" >/dev/null
b folder ls | grep -q "^$fid	(offered)\$" || fail "after rm, B's folder ls: $(b folder ls)"
[ -f "$FB/hello.txt" ] || fail "folder rm deleted a file"
# ... and stops syncing: A's later changes do not reach B's directory, nor B's A's folder
# (a later write of A's in another collection reaches B: the session goes on; then B's
# loop has had a second and more to realize anything of the folder, and wrote nothing)
hello_b=$(cat "$FB/hello.txt")
echo "after rm" >"$FA/after.txt"
echo "edited after rm" >>"$FA/hello.txt"
echo "made on B after rm" >"$FB/b-after.txt"
wait_for 20 "A's index to take after.txt" sh -c "'$MESHCTL' --home '$A' get 'folder:$fid' after.txt >/dev/null 2>&1"
a put marker k after-rm >/dev/null
wait_for 20 "A's later write on B" sh -c "'$MESHCTL' --home '$B' get marker k 2>/dev/null | grep -qx after-rm"
sleep 1.5
[ ! -e "$FB/after.txt" ] || fail "a file A made after B's folder rm reached B's directory"
expect_eq "$(cat "$FB/hello.txt")" "$hello_b" "B's hello.txt after A's edit that followed B's folder rm"
[ ! -e "$FA/b-after.txt" ] || fail "a file made in B's directory after its folder rm reached A"
a get "folder:$fid" b-after.txt >/dev/null 2>&1 && fail "B's file made after its folder rm is in the index"
echo ok
