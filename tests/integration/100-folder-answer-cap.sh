#!/usr/bin/env bash
# tests/integration/100-folder-answer-cap.sh: block requests that come past the answering
# member's per-second cap wait for the next second's budget instead of being dropped
# (docs/PROTOCOL.md §18.6), with real daemons on 127.0.0.1. A shares a 4 MiB file and
# answers at most 1 MiB of blocks a second (test hook MESH_TEST_ANSWER_BYTES_S), while B asks
# for every block at once (up to 64 in flight). What must hold: B gets the file whole (the
# same bytes as A's) and no request of B ever timed out (B's log never says a block "came
# not in time": a dropped request costs its asker a 10 s timeout, which is what a 512 MiB
# transfer met at the real cap).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "block requests past the answer cap are answered a second later, not dropped"

three_devices
FA=$T/fa FB=$T/fb
mkdir -p "$FA" "$FB"
head -c $((4 << 20)) /dev/urandom >"$FA/big.bin"
export MESH_TEST_ANSWER_BYTES_S=$((1 << 20))
with_hooks folder_two_daemons "$FA" "$FB"
unset MESH_TEST_ANSWER_BYTES_S
wait_for 60 "big.bin whole on B" cmp -s "$FA/big.bin" "$FB/big.bin"
blocks=$(sed -n 's/.*wrote big.bin (\([0-9]*\) blocks, \([0-9]*\) from members).*/\2/p' "$T/b.log" | head -1)
echo "B fetched $blocks blocks"
[ -n "$blocks" ] && [ "$blocks" -gt 8 ] || fail "B fetched ${blocks:-no} blocks: fewer than 4 MiB needs"
if grep -q "came not in time" "$T/b.log"; then
    fail "a request of B was dropped past A's cap and timed out: $(grep -c 'came not in time' "$T/b.log") times"
fi
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"
echo "ok"
