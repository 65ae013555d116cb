#!/usr/bin/env bash
# tests/integration/91-folder-middle-insert.sh: content-defined blocks between two real
# daemons on 127.0.0.1 (docs/PROTOCOL.md §18.1, §18.6), and SIGKILL during a transfer. A
# shares a 6 MiB file of random bytes (about 45 blocks of 128 KiB on average); B gets it.
# Then 1 KiB is inserted in the middle of the file on A, and later one byte is changed in
# place near its start.
# What must hold: B ends with exactly A's file each time, and its log's "wrote big.bin (N
# blocks, M from members)" says that only the blocks around the change moved: after the
# insertion, N is within a few blocks of the original count and M is at most 8 (§18.1
# measured 1 to 6 over 512 random places); after the one-byte change, M is at most 3 (one
# block, a cut moved when the byte sat in the 64-byte window before it). Every other block came from B's own
# copy of the file. Then B is killed (SIGKILL) while it waits for the blocks of a new file
# (A sends only wrong ones, by a test hook): no part of that file is ever under its name,
# and once both run again (A honest) B builds it, again taking the blocks it holds from its
# own disk.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a 1 KiB insertion in the middle of a large file re-sends only the blocks around it; a transfer killed leaves no partial file"

three_devices
FA=$T/fa FB=$T/fb
mkdir -p "$FA" "$FB"
head -c 6291456 /dev/urandom >"$FA/big.bin"
folder_two_daemons "$FA" "$FB"

# wrote K: "N M" of the K-th "wrote big.bin (N blocks, M from members)" in B's log.
wrote() {
    sed -n 's|.*: wrote big.bin (\([0-9]*\) blocks, \([0-9]*\) from members)$|\1 \2|p' \
        "$T/b.log" | sed -n "$1p"
}
# written K: B wrote big.bin K times (the log line comes just after the file is in place).
written() { [ "$(wrote "$1")" ] && cmp -s "$FA/big.bin" "$FB/big.bin"; }
wait_for 30 "big.bin on B" written 1
read -r n0 m0 <<<"$(wrote 1)"
[ "${n0:-0}" -ge 20 ] && [ "$m0" = "$n0" ] ||
    fail "big.bin did not come whole in many blocks: $(grep wrote "$T/b.log")"

# 1 KiB inserted in the middle: written to a new file and renamed over the old one, as an
# editor saves it (made outside the folder, so no half-made file is ever scanned in it).
insert_mid "$FA/big.bin" "$T/big.new"
wait_for 30 "the insertion on B" written 2
read -r n1 m1 <<<"$(wrote 2)"
[ "$n1" -ge $((n0 - 3)) ] && [ "$n1" -le $((n0 + 3)) ] ||
    fail "after the insertion big.bin has $n1 blocks, first $n0"
[ "$m1" -ge 1 ] && [ "$m1" -le 8 ] ||
    fail "the insertion moved $m1 of $n1 blocks (at most 8 expected)"

# One byte changed in place, 100 KiB in: one block moves, at most three when the byte sits
# in the window of a cut.
python3 - "$FA/big.bin" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(102400)
    b = f.read(1)
    f.seek(102400)
    f.write(bytes([b[0] ^ 0xff]))
EOF
wait_for 30 "the changed byte on B" written 3
read -r n2 m2 <<<"$(wrote 3)"
expect_eq "$n2" "$n1" "blocks after a byte changed in place"
[ "$m2" -ge 1 ] && [ "$m2" -le 3 ] ||
    fail "the changed byte moved $m2 of $n2 blocks (at most 3 expected)"
[ -z "$(ls -A "$FB/.meshsync/tmp")" ] || fail "temp files left on B"

# SIGKILL during a transfer: A, now sending only wrong blocks (test hook), writes grown.bin
# (big.bin and 3 MiB more); B starts it in .meshsync/tmp from the blocks it holds and waits
# for the rest. B is killed, A restarted honest, B restarted: grown.bin is never under its
# name half made, and is then built with big.bin's blocks from B's own disk again.
kill "$pa"
wait_pids 10 "$pa"
export MESH_TEST_BAD_BLOCKS=1
with_hooks start_daemon "$A" "$T/a.log" "$ea"
unset MESH_TEST_BAD_BLOCKS
pa=$LAST_PID
{ cat "$FA/big.bin"; head -c 3145728 /dev/urandom; } >"$T/grown.bin"
mv "$T/grown.bin" "$FA/grown.bin"
wait_for 20 "B to start grown.bin in its temp directory" sh -c "[ -n \"\$(ls -A '$FB/.meshsync/tmp')\" ]"
kill -KILL "$pb"
wait "$pb" 2>/dev/null || true
[ ! -e "$FB/grown.bin" ] || fail "grown.bin is under its name on B before its blocks came"
kill "$pa"
wait_pids 10 "$pa"
start_daemon "$A" "$T/a.log" "$ea"
start_daemon "$B" "$T/b.log" "$eb"
wait_for 30 "grown.bin on B" sh -c "grep -q ': wrote grown.bin (' '$T/b.log' && cmp -s '$FA/grown.bin' '$FB/grown.bin'"
read -r n3 m3 <<<"$(sed -n 's|.*: wrote grown.bin (\([0-9]*\) blocks, \([0-9]*\) from members)$|\1 \2|p' "$T/b.log")"
[ "$((n3 - m3))" -ge $((n2 - 3)) ] && [ "$m3" -ge 1 ] ||
    fail "after the restart grown.bin took $m3 of its $n3 blocks from members (big.bin has $n2)"
[ -z "$(ls -A "$FB/.meshsync/tmp")" ] || fail "temp files left on B after the restart"
echo "blocks: $n0 first; insertion: $m1 of $n1 moved; byte: $m2 of $n2 moved; grown.bin after SIGKILL: $m3 of $n3"
echo ok
