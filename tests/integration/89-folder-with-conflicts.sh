#!/usr/bin/env bash
# tests/integration/89-folder-with-conflicts.sh: `folder add --with` and `meshctl conflicts`
# for files (docs/PROTOCOL.md §24), three real daemons on 127.0.0.1. A shares a folder with B
# only; C is a member of the mesh too. What must hold: C receives A's other data (a probe key)
# but never the folder (not offered, no folder:ID collection) while B syncs it; then, after
# concurrent edits of f.txt on A and B (each made while the other's daemon was down),
# `meshctl conflicts` on both devices lists the one file conflict: the folder, f.txt, the
# losing device's 7 characters and time, and the copy's name (also in --json); C lists none.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "folder add --with leaves a member out; meshctl conflicts lists file conflicts on both devices"

three_devices
FA=$T/fa FB=$T/fb
mkdir -p "$FA" "$FB"
echo "base" >"$FA/f.txt"
start_daemon "$A" "$T/a.log"; pa=$LAST_PID ea=$EP
start_daemon "$B" "$T/b.log"; pb=$LAST_PID eb=$EP
start_daemon "$C" "$T/c.log"; pc=$LAST_PID ec=$EP
a peer add "$idb" "$eb" >/dev/null
a peer add "$idc" "$ec" >/dev/null
b peer add "$ida" "$ea" >/dev/null
c peer add "$ida" "$ea" >/dev/null
fid=$(a folder add "$FA" --with "$idb")
wait_for 20 "the folder offered on B" sh -c "'$MESHCTL' --home '$B' folder ls | grep -q '^$fid	(offered)\$'"
b folder add "$FB" --id "$fid" >/dev/null
wait_for 30 "f.txt on B" sh -c "[ \"\$(cat '$FB/f.txt' 2>/dev/null)\" = base ]"
a put notes probe yes
wait_for 20 "A's probe on C" sh -c "[ \"\$('$MESHCTL' --home '$C' get notes probe 2>/dev/null)\" = yes ]"
c folder ls >"$T/cls"
[ ! -s "$T/cls" ] || fail "C, left out by --with, sees a folder: $(cat "$T/cls")"
! c ls "folder:$fid" >/dev/null 2>&1 || fail "C holds the folder's index: $(c ls "folder:$fid")"
kill -TERM "$pc"; wait_pids 20 "$pc"

# Concurrent edits: A's while B is away, B's while A is away (as test 85).
folder_edit_apart f.txt
wait_for 40 "a conflict copy on both" sh -c "[ -n \"\$(cd '$FA' && ls f.sync-conflict-*.txt 2>/dev/null)\" ] && [ -n \"\$(cd '$FB' && ls f.sync-conflict-*.txt 2>/dev/null)\" ]"

copy=$(cd "$FA" && ls f.sync-conflict-*.txt)
case $(cat "$FA/$copy") in
"edit on alpha") loser=$ida ;;
"edit on beta") loser=$idb ;;
*) fail "the copy $copy holds '$(cat "$FA/$copy")'" ;;
esac
dev=$(echo "$loser" | tr -d '-' | cut -c1-7)
stamp=$(echo "$copy" | sed -E 's/^f\.sync-conflict-([0-9]{4})([0-9]{2})([0-9]{2})-([0-9]{2})([0-9]{2})([0-9]{2})-.*/\1-\2-\3T\4:\5:\6Z/')
want=$(printf '%s\tf.txt\t%s\t%s\t%s' "$fid" "$dev" "$stamp" "$copy")
for h in "$A" "$B"; do
    expect_eq "$("$MESHCTL" --home "$h" conflicts)" "$want" "meshctl conflicts on $h"
    "$MESHCTL" --home "$h" --json conflicts | grep -q "\"copy\":\"$copy\"" ||
        fail "--json on $h: $("$MESHCTL" --home "$h" --json conflicts)"
done
expect_eq "$(c conflicts)" "" "meshctl conflicts on C"
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"
echo "ok"
