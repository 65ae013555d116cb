#!/usr/bin/env bash
# tests/integration/103-folder-resume-pieces.sh: a layout 2 file's transfer (its block list
# in pieces, docs/PROTOCOL.md §25) cut by SIGKILL goes on after a restart (§18.6), with real
# daemons on 127.0.0.1. A shares a 24 MiB file of random bytes (~190 blocks: more than the
# 128 an entry lists itself) and answers each block and piece 25 ms late (test hook
# MESH_TEST_BLOCK_PAUSE_MS); B is killed with SIGKILL once part of the file is in its temp
# file. What must hold: no partial file is visible under the name in B's folder; after B's
# restart the block list is read from pieces again, the file arrives whole (A's bytes), B's
# log says it went on from the cut transfer (K of N blocks kept, N the blocks the pieces
# listed), and B fetched exactly the N - K blocks it did not hold; no temp file is left.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a large file's transfer (block list in pieces) cut by SIGKILL goes on after a restart"

three_devices
FA=$T/fa FB=$T/fb
mkdir -p "$FA" "$FB"
head -c $((24 << 20)) /dev/urandom >"$FA/big.bin"
export MESH_TEST_BLOCK_PAUSE_MS=25
with_hooks folder_two_daemons "$FA" "$FB"

kill_b_mid_transfer 4096 big.bin
grep -q "wrote big.bin" "$T/b.log" && fail "big.bin was whole before the kill (the test needs a cut transfer)"
entry=$(folder_entry "$A" big.bin)
[ "${entry:0:4}" = 9802 ] || fail "big.bin's entry is not layout 2: ${entry:0:16}..."

start_daemon "$B" "$T/b2.log"
pb=$LAST_PID
[ ! -e "$FB/big.bin" ] || cmp -s "$FA/big.bin" "$FB/big.bin" || fail "a partial big.bin is visible after the restart"
wait_for 60 "big.bin whole on B" cmp -s "$FA/big.bin" "$FB/big.bin"
listed=$(sed -n 's|.*: big.bin: \([0-9]*\) blocks listed in \([0-9]*\) pieces, \([0-9]*\) from members$|\1 \2 \3|p' "$T/b2.log" | head -1)
read -r n p f <<<"$listed"
[ "${n:-0}" -gt 128 ] && [ "${p:-0}" -ge 1 ] ||
    fail "B did not read big.bin's block list from pieces after the restart: $(grep big.bin "$T/b2.log")"
line=$(grep -m1 "resumed big.bin:" "$T/b2.log") || fail "B's log does not say it went on from the cut transfer: $(grep big.bin "$T/b2.log")"
kept=$(echo "$line" | sed -n 's/.*resumed big.bin: \([0-9]*\) of \([0-9]*\) blocks.*/\1/p')
total=$(echo "$line" | sed -n 's/.*resumed big.bin: \([0-9]*\) of \([0-9]*\) blocks.*/\2/p')
fetched=$(sed -n 's/.*wrote big.bin (\([0-9]*\) blocks, \([0-9]*\) from members).*/\2/p' "$T/b2.log" | head -1)
echo "after the restart: $n blocks in $p pieces ($f from members), $kept of $total blocks kept, $fetched fetched"
expect_eq "$total" "$n" "blocks in the resumed transfer against blocks the pieces list"
[ -n "$kept" ] && [ "$kept" -gt 0 ] || fail "no block kept: $line"
[ -n "$fetched" ] && [ "$fetched" -lt "$total" ] || fail "B fetched $fetched of $total blocks after the restart"
[ "$((kept + fetched))" = "$total" ] || fail "kept $kept + fetched $fetched != $total"
[ -z "$(find "$FB/.meshsync/tmp" -name 'r*' -type f)" ] || fail "a temp file is left: $(ls -A "$FB/.meshsync/tmp")"
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"
echo "ok"
