#!/usr/bin/env bash
# tests/integration/107-wait-never-early.sh: a wait that comes after a long quiet time is
# credited with it (docs/PROTOCOL.md §21.3), but never answers before the change made just
# before it is in sync (§18.9). Two real daemons on 127.0.0.1 share a folder and a key/value
# collection and stay idle for 2 s (longer than any wait's window); A answers each block 30 ms
# late (test hook MESH_TEST_BLOCK_PAUSE_MS), so B takes seconds to fetch the 60 files that
# then come into A's folder with one rename (as the side-by-side benchmark does).
# What must hold (order only, no timing):
#  1. `folder wait` on A, right after the rename, returns 0 only once B's index holds the
#     entries of all 60 files (A's wait answers on B having A's index, §18.9);
#  2. `folder wait` on B then returns 0 only once B's disk holds all 60 files, byte for byte;
#  3. after another 2 s idle, `put` on A then `wait` on A at once: 0 only once B holds the
#     value.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a wait after a quiet time answers at once only when nothing changed: never before a change made just before it is in sync"

three_devices
FA=$T/fa FB=$T/fb
mkdir -p "$FA" "$FB" "$T/stage/new"
echo seed >"$FA/seed.txt" # (an index with an entry: offered to B)
export MESH_TEST_BLOCK_PAUSE_MS=30
with_hooks folder_two_daemons "$FA" "$FB"
a folder wait "$fid" --timeout 30 || fail "the first sync on A: $(a status)"
b folder wait "$fid" --timeout 30 || fail "the first sync on B: $(b status)"

for i in $(seq -w 1 60); do head -c 3000 /dev/urandom >"$T/stage/new/f$i"; done
sleep 2 # (quiet: each side's figures the same for longer than a wait's window)

# ---- 1. A's wait, right after the change: B's index holds it all ----
mv "$T/stage/new" "$FA/new"
a folder wait "$fid" --timeout 60 || fail "folder wait on A: $(a status)"
n=$(b ls --keys "folder:$fid" new/f | grep -c .)
expect_eq "$n" 60 "entries of new/ in B's index once A's folder wait returned"

# ---- 2. B's wait: B's disk holds it all ----
b folder wait "$fid" --timeout 60 || fail "folder wait on B: $(b status)"
diff -r --no-dereference -x .meshsync "$FA" "$FB" || fail "B's folder wait returned before B held every file"

# ---- 3. a key/value write, then wait at once ----
sleep 2
a put notes k1 "written just before the wait"
a wait --timeout 30 || fail "wait on A: $(a status)"
expect_eq "$(b get notes k1)" "written just before the wait" "A's write on B once A's wait returned"
echo ok
