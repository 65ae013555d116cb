#!/usr/bin/env bash
# tests/integration/118-folder-blocks-across-folders.sh: a file copied from one synced folder
# into another moves no block (docs/PROTOCOL.md §18.6: the receiver takes the blocks it holds
# in any file of any folder), with real daemons on 127.0.0.1. A shares two folders, B joins
# both; a 3 MB file of random bytes syncs in the first; then A copies it into the second.
# What must hold: B writes the copy whole (A's bytes) with 0 of its blocks from members (its
# log's "wrote PATH (N blocks, 0 from members)", N > 1), and B asked A for no block for it
# (status --json: blocks_asked as it was after the first transfer).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a copy into another folder is built from blocks held in the first"

three_devices
FA=$T/fa FB=$T/fb FA2=$T/fa2 FB2=$T/fb2
mkdir -p "$FA" "$FB" "$FA2" "$FB2"
head -c 3000000 /dev/urandom >"$FA/big.bin"
echo "two" >"$FA2/readme.txt"
folder_two_daemons "$FA" "$FB"
fid1=$fid
fid2=$(a folder add "$FA2")
wait_for 20 "the second folder offered on B" sh -c "'$MESHCTL' --home '$B' folder ls | grep -q '^$fid2	(offered)\$'"
b folder add "$FB2" --id "$fid2" >/dev/null
wait_for 30 "big.bin on B" cmp -s "$FA/big.bin" "$FB/big.bin"
wait_for 30 "readme.txt on B" cmp -s "$FA2/readme.txt" "$FB2/readme.txt"
first=$(sed -n 's/.*wrote big.bin (\([0-9]*\) blocks, \([0-9]*\) from members).*/\1 \2/p' "$T/b.log" | head -1)
read -r n1 m1 <<<"$first"
[ "${n1:-0}" -gt 1 ] && [ "${m1:-0}" = "$n1" ] || fail "the first transfer: '$first' (all blocks from A expected)"

asked() { "$MESHCTL" --home "$B" status --json | python3 -c "import json, sys; print(sum(p['blocks_asked'] for p in json.load(sys.stdin)['peers']))"; }
asked1=$(asked)
[ "$asked1" -ge "$n1" ] || fail "B asked $asked1 blocks for big.bin's $n1"
cp "$FA/big.bin" "$FA2/copy.bin"
wait_for 30 "copy.bin on B" cmp -s "$FA2/copy.bin" "$FB2/copy.bin"
line=$(grep "wrote copy.bin (" "$T/b.log" | head -1)
n=$(echo "$line" | sed -n 's/.*wrote copy.bin (\([0-9]*\) blocks, \([0-9]*\) from members).*/\1/p')
m=$(echo "$line" | sed -n 's/.*wrote copy.bin (\([0-9]*\) blocks, \([0-9]*\) from members).*/\2/p')
echo "copy.bin: $n blocks, $m from members (big.bin: $n1 blocks, $m1 from members)"
expect_eq "$n" "$n1" "copy.bin's blocks against big.bin's"
expect_eq "$m" "0" "copy.bin's blocks from members"
cmp -s "$FB/big.bin" "$FA/big.bin" || fail "B's big.bin changed"
expect_eq "$(asked)" "$asked1" "blocks B asked of A, before and after the copy"
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"
echo "ok"
