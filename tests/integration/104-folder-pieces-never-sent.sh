#!/usr/bin/env bash
# tests/integration/104-folder-pieces-never-sent.sh: pieces nobody sends do not hold the
# caps for ever (docs/PROTOCOL.md §25), with real daemons on 127.0.0.1. A member (here A,
# with `put`: any member may write an entry) lists five large files whose 1,536 pieces each
# (16 blocks apiece) no member holds: together more than the 4,096 pieces and the 4 MiB a
# folder may wait for at once (PIECES_MAX, PIECES_BYTES in core/folder/pieces.h), and their paths sort
# before big.bin's, so each of B's passes asks for them first. Then A shares a real 24 MiB
# file (its block list in a few pieces). B runs a full rescan every second (--rescan 1), so
# a piece waited for through a whole rescan period stops holding the caps within seconds;
# and the pieces nobody sends (asked 256 at a time) must not crowd out the requests for
# big.bin's blocks (with a slower A, e.g. under ASan, they did).
# What must hold: big.bin arrives on B whole (before the fix it waited for ever behind the
# pieces nobody sends); nothing is written for the five lying entries; B still runs.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "pieces no member sends stop holding a folder's piece caps: a real large file still arrives"

three_devices
FA=$T/fa FB=$T/fb
mkdir -p "$FA" "$FB"
echo "a folder offered holds something" >"$FA/readme.txt"
fid=$(a folder add "$FA")
start_daemon "$A" "$T/a.log"
pa=$LAST_PID ea=$EP
rm -f "$B/status"
spawn "$MESHCTL" --home "$B" --log-level info daemon --listen tcp://127.0.0.1:0 --rescan 1 2>>"$T/b.log"
pb=$LAST_PID
wait_for 10 "B's daemon to listen" grep -q '^listen tcp://127.0.0.1:[0-9]' "$B/status"
eb=$(sed -n 's/^listen //p' "$B/status")
folder_joins "$B" "$idb" "$eb" "$FB"

# Five layout 2 entries: a file of 24,576 one-byte blocks in 1,536 pieces of 16, named at random.
for i in 0 1 2 3 4; do
    python3 - >"$T/lie$i" <<'EOF'
import os, sys
n = 1536
head = bytes([0x98, 2, 0, 0xcd, 1, 0xa4, 0xcd, 0x60, 0, 0xcd, 3, 0xe8, 0xc4, 0])
names = bytes([0xc5]) + (32 * n).to_bytes(2, "big") + os.urandom(32 * n)
counts = bytes([0xdc]) + n.to_bytes(2, "big") + bytes([16]) * n
sys.stdout.buffer.write(head + names + counts)
EOF
    a put "folder:$fid" "a$i.bin" - <"$T/lie$i" >/dev/null
done
in_b() { "$MESHCTL" --home "$B" get "folder:$fid" "$1" >/dev/null 2>&1; }
wait_for 20 "the five entries in B's index" in_b a4.bin

head -c $((24 << 20)) /dev/urandom >"$T/big.bin"
mv "$T/big.bin" "$FA/big.bin"
wait_for 60 "big.bin whole on B (behind 7,680 pieces nobody sends)" cmp -s "$FA/big.bin" "$FB/big.bin"
for i in 0 1 2 3 4; do
    [ ! -e "$FB/a$i.bin" ] || fail "a$i.bin (no member holds its pieces) was written on B"
done
kill -0 "$pb" || fail "B's daemon is gone"
grep "big.bin" "$T/b.log" | sed 's/^[^ ]* //'
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"
echo "ok"
