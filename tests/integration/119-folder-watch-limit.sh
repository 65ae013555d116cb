#!/usr/bin/env bash
# tests/integration/119-folder-watch-limit.sh: past inotify's watch limit, changes are still
# seen, by the periodic full rescan (docs/PROTOCOL.md §18.7), with real daemons on
# 127.0.0.1. A's daemon meets the limit at 2 watches (test hook MESH_TEST_WATCH_MAX: the
# root and d1 are watched, d2 and d3 not) and rescans every 2 s (--rescan 2); B joins A's
# folder. What must hold: A's log warns that changes past the limit are seen by the rescan
# only; a file made in the unwatched d3 and one edited in d2 reach B, as does one made in
# the watched d1; the trees end equal.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "past inotify's watch limit, the periodic rescan still sees every change"

three_devices
FA=$T/fa FB=$T/fb
mkdir -p "$FA/d1" "$FA/d2" "$FA/d3" "$FB"
for d in d1 d2 d3; do echo "in $d" >"$FA/$d/first.txt"; done
fid=$(a folder add "$FA")
rm -f "$A/status"
spawn env MESH_TEST_WATCH_MAX=2 "$MESHCTL_TESTING" --home "$A" --log-level info daemon \
    --listen tcp://127.0.0.1:0 --rescan 2 2>>"$T/a.log"
pa=$LAST_PID
wait_for 10 "A's daemon to listen" grep -q '^listen tcp://127.0.0.1:[0-9]' "$A/status"
ea=$(sed -n 's/^listen //p' "$A/status")
folder_b_joins "$FB"
same_tree() { diff -r --no-dereference -x .meshsync "$FA" "$FB" >/dev/null 2>&1; }
wait_for 30 "B's tree to equal A's" same_tree
wait_for 10 "A's warning about the watch limit" grep -q "the inotify watch limit is reached: changes past it are seen by the periodic rescan only" "$T/a.log"

# changes in unwatched directories only (no event: a scan wakes for none of them)
echo "new in d3" >"$FA/d3/new.txt"
echo "edited in d2" >>"$FA/d2/first.txt"
wait_for 30 "d3/new.txt on B" sh -c "[ \"\$(cat '$FB/d3/new.txt' 2>/dev/null)\" = 'new in d3' ]"
wait_for 30 "d2's edit on B" cmp -s "$FA/d2/first.txt" "$FB/d2/first.txt"
echo "new in d1" >"$FA/d1/new.txt"
wait_for 30 "d1/new.txt on B" cmp -s "$FA/d1/new.txt" "$FB/d1/new.txt"
wait_for 30 "the trees to agree" same_tree
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"
echo "ok"
