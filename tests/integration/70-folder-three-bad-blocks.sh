#!/usr/bin/env bash
# tests/integration/70-folder-three-bad-blocks.sh: three real daemons; a member answering
# with wrong blocks (docs/PROTOCOL.md §18.6). A shares a folder with a file of a few MiB; B
# joins and gets it; B then runs with the test hook MESH_TEST_BAD_BLOCKS=1 (every block it
# sends has a byte flipped); C joins while connected to both. What must hold: C refuses
# B's blocks (logged: "does not match its hash"), takes them from A, and ends with exactly
# A's file; no partial file is ever under its name on C (only in .meshsync/tmp).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "three daemons: a block that does not match its hash is refused and fetched elsewhere"

three_devices
for x in a b c; do
    for id in "$ida" "$idb" "$idc"; do $x peer add "$id" >/dev/null 2>&1 || true; done
done
FA=$T/fa FB=$T/fb FC=$T/fc
mkdir -p "$FA" "$FB" "$FC"
head -c 4000000 /dev/urandom >"$FA/big.bin"
echo "small" >"$FA/small.txt"
fid=$(a folder add "$FA")
b folder add "$FB" --id "$fid" >/dev/null

start_daemon "$A" "$T/a.log"
ea=$EP
start_daemon "$B" "$T/b.log"
eb=$EP
pb=$LAST_PID
a peer add "$idb" "$eb"
b peer add "$ida" "$ea"
wait_for 30 "big.bin on B" cmp -s "$FA/big.bin" "$FB/big.bin"

# B again, now sending wrong blocks.
kill "$pb"
wait_pids 10 "$pb"
export MESH_TEST_BAD_BLOCKS=1
with_hooks start_daemon "$B" "$T/b.log" "$eb"
unset MESH_TEST_BAD_BLOCKS
start_daemon "$C" "$T/c.log"
ec=$EP
c peer add "$ida" "$ea"
c peer add "$idb" "$eb"
a peer add "$idc" "$ec"
b peer add "$idc" "$ec"
wait_for 20 "C connected to A and B" sh -c "'$MESHCTL' --home '$C' status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if sum(1 for p in d[\"peers\"] if p[\"connected\"]) >= 2 else 1)'"
c folder add "$FC" --id "$fid" >/dev/null
wait_for 40 "big.bin on C" cmp -s "$FA/big.bin" "$FC/big.bin"
grep -q "a block from .* does not match its hash: refused" "$T/c.log" ||
    fail "C never met B's wrong blocks: $(grep -c 'wrote' "$T/c.log") files written"
expect_eq "$(cat "$FC/small.txt")" "small" "small.txt on C"
[ -z "$(ls -A "$FC/.meshsync/tmp")" ] || fail "temp files left on C"
echo ok
