#!/usr/bin/env bash
# tests/integration/71-folder-wait-status.sh: `meshctl folder wait` and the folder lines of
# `meshctl status` (docs/PROTOCOL.md §18.9). Two real daemons on 127.0.0.1 share a small tree.
# What must hold:
#  1. `folder wait ID` on B returns 0, and by then B holds every file of A (same tree), and
#     `status --json` on B lists the folder in sync with nothing needed.
#  2. A restarted with the test hook MESH_TEST_BAD_BLOCKS=1 (every block it sends is wrong)
#     and a 3 MiB file written on A: B gets its entry but never its blocks, so `folder wait
#     --timeout 2` on B exits 1 saying what is still needed, and `status --json` on B shows
#     the folder not in sync, 1 file and 3 MiB needed, 1 waiting for blocks.
#  3. B's marker removed (and a file written, so inotify wakes the scan): the folder stops; `folder wait` exits 1 at once (well before its
#     timeout) saying it is stopped and why; `status` shows "stopped: ..." for it.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "folder wait returns once a folder is on disk, and fails with the reason when it is not; status shows each folder"

three_devices
FA=$T/fa FB=$T/fb
mkdir -p "$FA/sub" "$FB"
for i in 1 2 3 4 5 6; do echo "file $i" >"$FA/f$i.txt"; done
echo "deep" >"$FA/sub/deep.txt"
fid=$(a folder add "$FA")
b folder add "$FB" --id "$fid" >/dev/null

start_daemon "$A" "$T/a.log"
ea=$EP
pa=$LAST_PID
start_daemon "$B" "$T/b.log"
eb=$EP
a peer add "$idb" "$eb"
b peer add "$ida" "$ea"

# folder_json HOME FIELD: FIELD of the folder's object in HOME's `status --json`
folder_json() {
    mc --home "$1" status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
f = [f for f in d["folders"] if f["id"] == sys.argv[1]]
print(f[0][sys.argv[2]] if f else "absent")' "$fid" "$2"
}

# ---- 1. wait returns 0 once B holds every file ----
b folder wait "$fid" --timeout 30 || fail "folder wait failed: $(b status)"
diff -r --no-dereference -x .meshsync "$FA" "$FB" || fail "folder wait returned before B held every file"
expect_eq "$(folder_json "$B" in_sync)" True "B's folder in sync in status --json"
expect_eq "$(folder_json "$B" need_files)" 0 "files B needs"
expect_eq "$(folder_json "$B" state)" ok "B's folder state"
# (the status is published every 250 ms; a scan B's own writes woke, or its records being
# saved, can show "syncing" for a moment after the wait: the text must come back to in sync)
text_in_sync() { b status | grep -q "^folder  $fid  in sync"; }
wait_for 10 "B's status text to show the folder in sync" text_in_sync

# ---- 2. a file whose blocks never come: wait times out with what is needed ----
kill "$pa"
wait_pids 10 "$pa"
export MESH_TEST_BAD_BLOCKS=1
with_hooks start_daemon "$A" "$T/a.log" "$ea"
unset MESH_TEST_BAD_BLOCKS
head -c 3145728 /dev/urandom >"$FA/big.bin"
wait_for 20 "big.bin's entry on B" sh -c "'$MESHCTL' --home '$B' ls 'folder:$fid' | grep -q big.bin"
expect_fail_with "not in sync after" b folder wait "$fid" --timeout 2
grep -q "1 files, 3145728 bytes still needed (1 waiting for blocks)" "$T/stderr" ||
    fail "folder wait does not say what is needed: $(cat "$T/stderr")"
expect_eq "$(folder_json "$B" in_sync)" False "B's folder in sync while big.bin is missing"
expect_eq "$(folder_json "$B" need_files)" 1 "files B needs"
expect_eq "$(folder_json "$B" need_bytes)" 3145728 "bytes B needs"
expect_eq "$(folder_json "$B" waiting)" 1 "files of B waiting for blocks"
[ ! -e "$FB/big.bin" ] || fail "big.bin is on B although every block A sent was wrong"

# ---- 3. a stopped folder: wait fails at once with the reason ----
rm "$FB/.meshsync/folder-id"
# (.meshsync/ is not watched: a change in the root makes the daemon look within a second)
echo poke >"$FB/poke.txt"
wait_for 20 "B to stop the folder" sh -c "'$MESHCTL' --home '$B' status | grep -q '^folder  $fid  stopped: '"
t0=$SECONDS
expect_fail_with "folder $fid is stopped: folder marker missing" b folder wait "$fid" --timeout 20
[ $((SECONDS - t0)) -lt 10 ] || fail "folder wait on a stopped folder waited for its timeout"
expect_eq "$(folder_json "$B" state)" stopped "B's folder state"
for i in 1 2 3 4 5 6; do [ -f "$FB/f$i.txt" ] || fail "f$i.txt was deleted on B"; done
echo ok
