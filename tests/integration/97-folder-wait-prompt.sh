#!/usr/bin/env bash
# tests/integration/97-folder-wait-prompt.sh: `meshctl folder wait` answers in sync once the
# files are there, without waiting out figures counted in a slow turn of the loop (docs/
# PROTOCOL.md §11.4, §18.9). Two real daemons on 127.0.0.1 share a folder; both run the test
# build with MESH_TEST_COMMIT_PAUSE_MS=3000 (each commit of received batches rests 3 s in
# the loop's turn, as a large scan or commit does), and each side writes a new file at once.
# The status writer used to hold a peer's figures for ten times the whole turn they were
# counted in (a 3 s turn: 30 s; a 1 KiB insert into a 128 MiB file: 10-13 s), now for ten times
# the count's own time. This test asserts the order of events only (no timing, so it does
# not catch that lateness by itself; `folder wait`'s latency is measured by hand, see the
# commit): the waits answer in sync, the files are whole by then, and status agrees.
# What must hold:
#  1. `folder wait ID --timeout 20` on A, then on B, then on A again, all exit 0 (in sync;
#     B's answers on A's index, not A's disk: §18.9);
#  2. by then each side holds both new files whole (byte for byte);
#  3. and `status --json` on each side agrees: the folder in sync with nothing needed, the
#     peer in sync with nothing to send or receive.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "folder wait answers in sync once both sides hold the files, not figures held from a slow turn"

three_devices
FA=$T/fa FB=$T/fb
mkdir -p "$FA" "$FB"
echo seed >"$FA/seed.txt"
fid=$(a folder add "$FA")
b folder add "$FB" --id "$fid" >/dev/null
MESH_TEST_COMMIT_PAUSE_MS=3000 with_hooks start_daemon "$A" "$T/a.log"
ea=$EP
MESH_TEST_COMMIT_PAUSE_MS=3000 with_hooks start_daemon "$B" "$T/b.log"
eb=$EP
a peer add "$idb" "$eb"
b peer add "$ida" "$ea"
b folder wait "$fid" --timeout 60 || fail "the first sync: $(b status)"
a folder wait "$fid" --timeout 60 || fail "the first sync on A: $(a status)"
[ -f "$FB/seed.txt" ] || fail "seed.txt is not on B after the first wait"

# ---- both sides write at once ----
head -c 1048576 /dev/urandom >"$T/a.bin"
head -c 1048576 /dev/urandom >"$T/b.bin"
cp "$T/a.bin" "$FA/from-a.bin" &
cp "$T/b.bin" "$FB/from-b.bin"
wait $!

# ---- 1. the waits answer in sync ----
a folder wait "$fid" --timeout 20 || fail "folder wait on A: $(cat "$T/stderr" 2>/dev/null) $(a status)"
b folder wait "$fid" --timeout 20 || fail "folder wait on B: $(b status)"
# (B's wait answers once A holds B's entries, not A's disk: A may still be writing from-b.bin,
# PROTOCOL §18.9; A's own wait answers once its disk has it.)
a folder wait "$fid" --timeout 20 || fail "folder wait on A, after B's: $(a status)"

# ---- 2. the files are whole on both sides ----
for d in "$FA" "$FB"; do
    cmp -s "$T/a.bin" "$d/from-a.bin" || fail "from-a.bin is not whole in $d after the waits"
    cmp -s "$T/b.bin" "$d/from-b.bin" || fail "from-b.bin is not whole in $d after the waits"
done

# ---- 3. status agrees on both sides ----
for h in "$A" "$B"; do
    mc --home "$h" status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
f = [f for f in d["folders"] if f["id"] == sys.argv[1]]
assert f and f[0]["in_sync"] and f[0]["need_files"] == 0 and f[0]["waiting"] == 0, f
p = d["peers"]
assert len(p) == 1 and p[0]["in_sync"] and p[0]["to_send"] == 0 and p[0]["to_receive"] == 0, p
' "$fid" || fail "status on $h after the waits: $(mc --home "$h" status)"
done
echo ok
