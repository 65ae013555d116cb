#!/usr/bin/env bash
# tests/integration/88-folder-restore.sh: kept versions listed and restored by the user
# (meshctl folder versions / restore, docs/PROTOCOL.md §24), and the retention setting (0:
# none kept), between two real daemons on 127.0.0.1. What must hold: after A's edit, B lists
# one version of notes.txt (time, size, also in --json); `folder restore` on B brings the old
# content back at the path and keeps B's current file as a version (listed in its place); the
# restored content reaches A as a normal change (A keeps what it replaced); --at before every
# version restores nothing (exit 1, file unchanged); once B's retention is 0 (folder set),
# a member's edit replaces B's file and no new version is kept.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "folder versions lists kept versions, folder restore brings one back and syncs it; retention 0 keeps none"

three_devices
FA=$T/fa FB=$T/fb
mkdir -p "$FA/docs" "$FB"
echo "first" >"$FA/docs/notes.txt"
folder_two_daemons "$FA" "$FB"
content() { cat "$1/docs/notes.txt" 2>/dev/null; }
wait_for 30 "notes.txt on B" sh -c "[ \"\$(cat '$FB/docs/notes.txt' 2>/dev/null)\" = first ]"

echo "second" >"$FA/docs/notes.txt"
wait_for 20 "A's edit on B" sh -c "[ \"\$(cat '$FB/docs/notes.txt')\" = second ]"
b folder versions "$fid" docs/notes.txt >"$T/v1"
[ "$(wc -l <"$T/v1")" = 1 ] || fail "B lists $(wc -l <"$T/v1") versions: $(cat "$T/v1")"
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z	6$' "$T/v1" ||
    fail "the version line: $(cat "$T/v1")"
b --json folder versions "$fid" docs/notes.txt | grep -q '"size":6' || fail "--json lacks the size"
expect_eq "$(a folder versions "$fid" docs/notes.txt | wc -l)" 0 "versions on A (it made the edit)"

# --at before every version: nothing restored, nothing changed
expect_fail_with "none kept at or before" b folder restore "$fid" docs/notes.txt --at 2000-01-01T00:00:00Z
expect_eq "$(content "$FB")" second "B's file after a refused restore"

b folder restore "$fid" docs/notes.txt --at "$(cut -f1 "$T/v1")" >/dev/null
expect_eq "$(content "$FB")" first "B's file after the restore"
# (the version restored left the versions; the file it replaced took its place there)
b folder versions "$fid" docs/notes.txt >"$T/v2"
[ "$(wc -l <"$T/v2")" = 1 ] && [ "$(cut -f2 "$T/v2")" = 7 ] ||
    fail "B's current file was not kept before the restore: $(cat "$T/v2")"
wait_for 20 "the restored content on A" sh -c "[ \"\$(cat '$FA/docs/notes.txt')\" = first ]"
expect_eq "$(a folder versions "$fid" docs/notes.txt | wc -l | tr -d ' ')" 1 "versions A kept of what the restore replaced"

# retention 0 on B: a member's edit is kept nowhere on B
b folder set "$fid" --versions 0 >/dev/null
echo "third" >"$FA/docs/notes.txt"
wait_for 20 "A's next edit on B" sh -c "[ \"\$(cat '$FB/docs/notes.txt')\" = third ]"
expect_eq "$(b folder versions "$fid" docs/notes.txt)" "$(cat "$T/v2")" "versions on B with retention 0"
expect_exit 2 b folder set "$fid" --versions 36501
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"
echo "ok"
