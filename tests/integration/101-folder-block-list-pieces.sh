#!/usr/bin/env bash
# tests/integration/101-folder-block-list-pieces.sh: a large file's block list in pieces
# between real daemons on 127.0.0.1 (docs/PROTOCOL.md §25). A shares a 24 MiB file of random
# bytes (about 190 blocks: more than the 128 an entry lists itself), so its entry is layout
# 2, naming the pieces of its block list, which B fetches with BLOCK_REQ like blocks.
# What must hold: the entry in the index is layout 2 and small (under 1 KiB where the block
# list alone is ~7 KiB); B's log says it read the block list from pieces, all from members
# the first time; after 1 KiB is inserted in the middle on A, B fetches at most 2 pieces
# (the others are its own file's, cut from its records) and at most 8 blocks, and ends with
# A's exact file. A lying entry (any member may write one) whose piece is named by the hash
# of a block longer than the piece may be is refused on B when A answers with that block's
# bytes (logged; nothing written). Then A is stopped and a third device C joins: it has no
# earlier version,
# fetches every piece and every block from B alone (B answers pieces from its own records),
# and ends with the same file.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a large file's block list travels in pieces: an insertion re-sends one or two pieces, and a member that only received the file serves them"

three_devices
FA=$T/fa FB=$T/fb FC=$T/fc
mkdir -p "$FA" "$FB" "$FC"
printf 'small.bin\n.meshignore\n' >"$FB/.meshignore" # (B holds no copy of small.bin's block)
head -c 25165824 /dev/urandom >"$FA/big.bin"
folder_two_daemons "$FA" "$FB"

# listed LOG K: "N P F" of the K-th "big.bin: N blocks listed in P pieces, F from members".
listed() {
    sed -n 's|.*: big.bin: \([0-9]*\) blocks listed in \([0-9]*\) pieces, \([0-9]*\) from members$|\1 \2 \3|p' \
        "$1" | sed -n "$2p"
}
# wrote LOG K: "N M" of the K-th "wrote big.bin (N blocks, M from members)".
wrote() {
    sed -n 's|.*: wrote big.bin (\([0-9]*\) blocks, \([0-9]*\) from members)$|\1 \2|p' "$1" |
        sed -n "$2p"
}
written() { [ "$(wrote "$1" "$2")" ] && cmp -s "$FA/big.bin" "$3/big.bin"; }
wait_for 60 "big.bin on B" written "$T/b.log" 1 "$FB"

entry=$(folder_entry "$A" big.bin)
[ "${entry:0:4}" = 9802 ] || fail "big.bin's entry is not layout 2: ${entry:0:16}..."
[ "${#entry}" -lt 2048 ] || fail "big.bin's entry is $((${#entry} / 2)) bytes (under 1 KiB expected)"
read -r n0 p0 f0 <<<"$(listed "$T/b.log" 1)"
# (one piece: about 1 file of random bytes in 12 has no cut among its ~170 blocks, §25)
[ "${n0:-0}" -gt 128 ] && [ "${p0:-0}" -ge 1 ] && [ "$f0" = "$p0" ] ||
    fail "B did not read big.bin's block list from members' pieces: $(grep 'pieces' "$T/b.log")"

# 1 KiB inserted in the middle, saved as an editor does (a new file renamed over the old).
insert_mid "$FA/big.bin" "$T/big.new"
wait_for 60 "the insertion on B" written "$T/b.log" 2 "$FB"
read -r n1 p1 f1 <<<"$(listed "$T/b.log" 2)"
[ "${f1:-99}" -ge 1 ] && [ "$f1" -le 2 ] ||
    fail "the insertion fetched ${f1:-?} of ${p1:-?} pieces (1 or 2 expected)"
read -r _ m1 <<<"$(wrote "$T/b.log" 2)"
[ "$m1" -ge 1 ] && [ "$m1" -le 8 ] || fail "the insertion moved $m1 of $n1 blocks (at most 8 expected)"

# The lying entry: layout 2, one piece of 129 blocks (at most 4,789 bytes) named by the hash
# of small.bin's only block (8 KiB). B asks A for it (B ignores small.bin), gets 8 KiB under
# that name, and refuses the entry; A refuses it from its own copy of the block.
head -c 8192 /dev/urandom >"$FA/small.bin"
wait_for 20 "small.bin in A's index" sh -c "[ -n \"\$('$MESHCTL' --home '$A' get 'folder:$fid' small.bin 2>/dev/null | od -An -tx1)\" ]"
python3 - "$FA/small.bin" >"$T/hostile" <<'EOF'
import hashlib, sys
h = hashlib.blake2b(b"\x05" + open(sys.argv[1], "rb").read(), digest_size=32).digest()
head = bytes([0x98, 2, 0, 0xcd, 1, 0xa4, 0xcd, 3, 0xe8, 0, 0xc4, 0, 0xc4, 32])
sys.stdout.buffer.write(head + h + bytes([0x91, 0xcc, 129]))
EOF
a put "folder:$fid" hostile.bin - <"$T/hostile" >/dev/null
refused="hostile.bin: a piece of its block list does not fit its entry: refused"
wait_for 30 "B to refuse hostile.bin" grep -q "$refused" "$T/b.log"
wait_for 10 "A to refuse hostile.bin" grep -q "$refused" "$T/a.log"
[ ! -e "$FB/hostile.bin" ] && [ ! -e "$FA/hostile.bin" ] || fail "hostile.bin was written"
cmp -s "$FA/big.bin" "$FB/big.bin" || fail "big.bin changed on B"
a del "folder:$fid" hostile.bin >/dev/null
rm "$FA/small.bin"
gone() { ! "$MESHCTL" --home "$B" get "folder:$fid" "$1" >/dev/null 2>&1; }
both_gone() { gone hostile.bin && gone small.bin; }
wait_for 20 "B's index to lose hostile.bin and small.bin" both_gone

# A stops; C joins and gets everything from B, which only ever received the file.
kill "$pa"
wait_pids 10 "$pa"
start_daemon "$C" "$T/c.log"
ec=$EP
b peer add "$idc" "$ec" >/dev/null
c peer add "$idb" "$eb" >/dev/null
wait_for 20 "the folder offered on C" sh -c "'$MESHCTL' --home '$C' folder ls | grep -q '^$fid	(offered)\$'"
c folder add "$FC" --id "$fid" >/dev/null
wait_for 60 "big.bin on C" written "$T/c.log" 1 "$FC"
read -r n2 p2 f2 <<<"$(listed "$T/c.log" 1)"
expect_eq "$n2 $p2 $f2" "$n1 $p1 $p1" "C's block list of big.bin (blocks, pieces, from members)"
[ -z "$(ls -A "$FC/.meshsync/tmp")" ] || fail "temp files left on C"
echo "first: $n0 blocks in $p0 pieces; insertion: $f1 of $p1 pieces and $m1 blocks fetched; C from B: $f2 pieces"
echo ok
