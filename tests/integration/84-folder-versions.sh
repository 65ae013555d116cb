#!/usr/bin/env bash
# tests/integration/84-folder-versions.sh: a file a member's change replaces or deletes is
# kept in .meshsync/versions/ first (docs/PROTOCOL.md §19.2), between two real daemons on
# 127.0.0.1. What must hold: after A edits notes.txt, B holds A's new content at the path
# and its old content as .meshsync/versions/docs/notes~YYYYMMDD-HHMMSS.txt; after A deletes
# it, B no longer has the path and holds the content it last had as a second version; the
# versions are never synced back (A's versions directory stays empty).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a file replaced or deleted by a member's change is kept as a version first"

three_devices
FA=$T/fa FB=$T/fb
mkdir -p "$FA/docs" "$FB"
echo "first" >"$FA/docs/notes.txt"
folder_two_daemons "$FA" "$FB"
wait_for 30 "notes.txt on B" sh -c "[ \"\$(cat '$FB/docs/notes.txt' 2>/dev/null)\" = first ]"

versions() { ls "$FB/.meshsync/versions/docs" 2>/dev/null | grep -E '^notes~[0-9]{8}-[0-9]{6}\.txt$' | sort; }
echo "second" >"$FA/docs/notes.txt"
wait_for 20 "A's edit on B" sh -c "[ \"\$(cat '$FB/docs/notes.txt')\" = second ]"
[ "$(versions | wc -l)" = 1 ] || fail "B kept $(versions | wc -l) versions after the edit: $(ls -R "$FB/.meshsync")"
expect_eq "$(cat "$FB/.meshsync/versions/docs/$(versions | head -1)")" "first" "the kept version's content"

# (in the same second, the next version takes the next free stamp: the names still sort in order)
rm "$FA/docs/notes.txt"
wait_for 20 "A's delete on B" sh -c "[ ! -e '$FB/docs/notes.txt' ]"
[ "$(versions | wc -l)" = 2 ] || fail "B kept $(versions | wc -l) versions after the delete: $(versions)"
expect_eq "$(cat "$FB/.meshsync/versions/docs/$(versions | tail -1)")" "second" "the deleted file's version"
[ -z "$(ls -A "$FA/.meshsync/versions" 2>/dev/null)" ] || fail "versions reached A: $(ls -R "$FA/.meshsync/versions")"
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"
echo "ok"
