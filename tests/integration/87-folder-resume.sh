#!/usr/bin/env bash
# tests/integration/87-folder-resume.sh: a transfer cut by SIGKILL goes on after a restart
# (docs/PROTOCOL.md §18.6), with real daemons on 127.0.0.1. A shares a 16 MiB file and
# answers each block 40 ms late (test hook MESH_TEST_BLOCK_PAUSE_MS), so B's transfer takes
# seconds; B is killed with SIGKILL once part of the file is in its temp file. What must
# hold: no partial file is ever visible under the name in B's folder; after B's restart the
# file arrives whole (the same bytes as A's), B's log says it went on from the cut transfer
# (K blocks kept, checked), and B asked A for fewer blocks than the file has (N - K).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a transfer cut by SIGKILL goes on from its temp file after a restart"

three_devices
FA=$T/fa FB=$T/fb
mkdir -p "$FA" "$FB"
head -c $((16 << 20)) /dev/urandom >"$FA/big.bin"
export MESH_TEST_BLOCK_PAUSE_MS=40
with_hooks folder_two_daemons "$FA" "$FB"

kill_b_mid_transfer 3072 big.bin

start_daemon "$B" "$T/b2.log"
pb=$LAST_PID
wait_for 60 "big.bin whole on B" cmp -s "$FA/big.bin" "$FB/big.bin"
line=$(grep -m1 "resumed big.bin:" "$T/b2.log") || fail "B's log does not say it went on from the cut transfer: $(grep big.bin "$T/b2.log")"
kept=$(echo "$line" | sed -n 's/.*resumed big.bin: \([0-9]*\) of \([0-9]*\) blocks.*/\1/p')
total=$(echo "$line" | sed -n 's/.*resumed big.bin: \([0-9]*\) of \([0-9]*\) blocks.*/\2/p')
fetched=$(sed -n 's/.*wrote big.bin (\([0-9]*\) blocks, \([0-9]*\) from members).*/\2/p' "$T/b2.log" | head -1)
echo "after the restart: $kept of $total blocks kept, $fetched fetched"
[ -n "$kept" ] && [ "$kept" -gt 0 ] || fail "no block kept: $line"
[ -n "$fetched" ] && [ "$fetched" -lt "$total" ] || fail "B fetched $fetched of $total blocks after the restart"
[ "$((kept + fetched))" = "$total" ] || fail "kept $kept + fetched $fetched != $total"
[ -z "$(find "$FB/.meshsync/tmp" -name 'r*' -type f)" ] || fail "a temp file is left: $(ls -A "$FB/.meshsync/tmp")"
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"
echo "ok"
