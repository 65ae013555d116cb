#!/usr/bin/env bash
# tests/integration/115-folder-answer-busy.sh: a block answer that finds the asker's send
# queue full (transport_send: MESH_EBUSY) is kept and sent again on a later turn, not
# dropped (docs/PROTOCOL.md §18.6), with real daemons on 127.0.0.1. A shares an 8 MiB file
# and its first 12 BLOCK answers find the queue full (test hook MESH_TEST_BLOCK_BUSY: what
# more requests in flight than the queue holds did to a 512 MiB transfer). What must hold:
# B gets the file whole (the same bytes as A's), and no request of B ever timed out (B's
# log never says a block "came not in time": a dropped answer costs its asker a 10 s
# timeout).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a block answer that finds the queue full is sent again later, not dropped"

three_devices
FA=$T/fa FB=$T/fb
mkdir -p "$FA" "$FB"
head -c $((8 << 20)) /dev/urandom >"$FA/big.bin"
export MESH_TEST_BLOCK_BUSY=12
with_hooks folder_two_daemons "$FA" "$FB"
unset MESH_TEST_BLOCK_BUSY
wait_for 60 "big.bin whole on B" cmp -s "$FA/big.bin" "$FB/big.bin"
blocks=$(sed -n 's/.*wrote big.bin (\([0-9]*\) blocks, \([0-9]*\) from members).*/\2/p' "$T/b.log" | head -1)
echo "B fetched $blocks blocks"
[ -n "$blocks" ] && [ "$blocks" -gt 12 ] || fail "B fetched ${blocks:-no} blocks: fewer than the answers refused"
if grep -q "came not in time" "$T/b.log"; then
    fail "an answer of A was dropped on a full queue and B timed out: $(grep -c 'came not in time' "$T/b.log") times"
fi
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"
echo "ok"
