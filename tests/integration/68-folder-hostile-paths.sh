#!/usr/bin/env bash
# tests/integration/68-folder-hostile-paths.sh: paths from the network are checked
# (docs/PROTOCOL.md §18.3, §18.6). A member (B) writes hostile entries straight into a
# folder's index, signed as its own: a path with "..", an absolute one, one inside
# .meshsync/, one through a symlink A holds to a directory outside the folder, and an entry
# that does not decode. What must hold: A's daemon refuses and logs each, writes nothing
# outside the folder (the outside directory stays empty) and nothing into .meshsync/, and
# goes on syncing: a good file B adds afterwards arrives.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "hostile paths in a folder's index are refused; nothing is written outside"

three_devices
a peer add "$idb"
b peer add "$ida"
FA=$T/fa FB=$T/fb OUT=$T/outside
mkdir -p "$FA" "$FB" "$OUT"
echo "good" >"$FA/good.txt"
ln -s "$OUT" "$FA/ln"
fid=$(a folder add "$FA")
b folder add "$FB" --id "$fid" >/dev/null
start_daemon "$A" "$T/a.log"
ea=$EP
start_daemon "$B" "$T/b.log"
eb=$EP
a peer add "$idb" "$eb"
b peer add "$ida" "$ea"
wait_for 30 "good.txt on B" test -f "$FB/good.txt"

# B copies a valid file entry under hostile keys, signed as its own changes.
b get "folder:$fid" good.txt >"$T/entry"
for key in ../evil "/tmp/evil-$$" sub/../../evil .meshsync/evil ln/pwned; do
    b put "folder:$fid" -- "$key" - <"$T/entry" >/dev/null
done
b put "folder:$fid" broken.txt "not an entry" >/dev/null
wait_for 20 "A to refuse the paths" grep -q "a path in its index refused" "$T/a.log"
wait_for 20 "A to refuse the link in the way" grep -q "a link or a file is in the way" "$T/a.log"
wait_for 20 "A to refuse the broken entry" grep -q "an entry in its index does not decode" "$T/a.log"

# Still syncing: a good file from B arrives, after the hostile entries.
echo "later" >"$FB/later.txt"
wait_for 20 "B's later file on A" test -f "$FA/later.txt"
[ -z "$(ls -A "$OUT")" ] || fail "something was written outside the folder: $(ls -A "$OUT")"
[ ! -e "$T/evil" ] && [ ! -e "/tmp/evil-$$" ] || fail "a file escaped the folder"
[ ! -e "$FA/.meshsync/evil" ] || fail "an entry wrote into .meshsync/"
[ ! -e "$FA/broken.txt" ] || fail "an entry that does not decode was written"
[ -L "$FA/ln" ] || fail "the symlink on A was replaced"
echo ok
