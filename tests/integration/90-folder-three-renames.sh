#!/usr/bin/env bash
# tests/integration/90-folder-three-renames.sh: three real daemons on 127.0.0.1 share one
# folder (docs/PROTOCOL.md §18.5, §18.6); renames, a directory rename, a copy and a delete
# reach every device, and a rename or a copy moves no block. A shares a tree with a file of
# a few MiB (several blocks); B and C join and get it. Then A renames big.bin, renames the
# directory dir/ (two files in it) and deletes small.txt, and C copies dir's a.bin.
# What must hold: all three trees end equal; on B and on C every file written for those
# changes ("wrote PATH (N blocks, M from members)" in the log) was built from blocks the
# device already held: M is 0 for each, and N is what the original had (moved.bin in as many
# blocks as big.bin came in), and no daemon asked a block of another or was asked one for
# them (status --json: blocks_asked, blocks_asked_in unchanged); the old names are gone
# everywhere and no temp file is left.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "three daemons: renames and copies reach everyone and move no block; deletes too"

three_devices
FA=$T/fa FB=$T/fb FC=$T/fc
mkdir -p "$FA/dir" "$FB" "$FC"
head -c 3000000 /dev/urandom >"$FA/big.bin"
head -c 700000 /dev/urandom >"$FA/dir/a.bin"
echo "beside a.bin" >"$FA/dir/b.txt"
echo "small" >"$FA/small.txt"

folder_two_daemons "$FA" "$FB"
start_daemon "$C" "$T/c.log"
ec=$EP
for x in a b; do $x peer add "$idc" "$ec" >/dev/null; done
c peer add "$ida" "$ea" >/dev/null
c peer add "$idb" "$eb" >/dev/null
wait_for 20 "the folder offered on C" sh -c "'$MESHCTL' --home '$C' folder ls | grep -q '^$fid	(offered)\$'"
c folder add "$FC" --id "$fid" >/dev/null

same() { diff -r --no-dereference -x .meshsync "$FA" "$1" >/dev/null 2>&1; }
wait_for 30 "B's tree to equal A's" same "$FB"
wait_for 30 "C's tree to equal A's" same "$FC"

# written LOG PATH: "N M" of the last "wrote PATH (N blocks, M from members)" in LOG.
written() {
    sed -n "s|.*: wrote $2 (\([0-9]*\) blocks, \([0-9]*\) from members)\$|\1 \2|p" "$1" | tail -1
}
for p in big.bin dir/a.bin; do wait_for 10 "B's log to say it wrote $p" grep -q ": wrote $p (" "$T/b.log"; done
read -r nbig _ <<<"$(written "$T/b.log" big.bin)"
[ "${nbig:-0}" -ge 2 ] || fail "big.bin did not come in several blocks: $(grep wrote "$T/b.log")"
read -r na _ <<<"$(written "$T/b.log" dir/a.bin)"
[ "${na:-0}" -ge 2 ] || fail "dir/a.bin did not come in several blocks: $(grep wrote "$T/b.log")"

# asked HOME: the file blocks HOME's daemon asked of its peers, and they of it (status --json)
asked() {
    "$MESHCTL" --home "$1" status --json | python3 -c "
import json, sys
ps = json.load(sys.stdin)['peers']
print(sum(p['blocks_asked'] for p in ps), sum(p['blocks_asked_in'] for p in ps))"
}
read -r b_asked _ <<<"$(asked "$B")"
[ "${b_asked:-0}" -ge $((nbig + na)) ] || fail "B asked $b_asked blocks for the first sync (at least $((nbig + na)) expected)"
# The counters before the changes, once every transfer of the first sync has ended: each
# folder in sync, and the three daemons' counters the same at two readings 0.6 s apart
# (each status file is published at least every 0.25 s).
for h in "$A" "$B" "$C"; do
    mc --home "$h" folder wait "$fid" --timeout 30 >/dev/null || fail "$h's folder not in sync before the changes"
done
all_asked() { for h in "$A" "$B" "$C"; do asked "$h"; done | tr '\n' ' '; }
steady() { local r1; r1=$(all_asked); sleep 0.6; [ "$r1" = "$(all_asked)" ]; }
wait_for 20 "the block counters to hold still" steady
declare -A before
for h in "$A" "$B" "$C"; do before[$h]=$(asked "$h"); done

# The changes: renames and a delete on A, a copy on C.
mv "$FA/big.bin" "$FA/moved.bin"
mv "$FA/dir" "$FA/dir2"
rm "$FA/small.txt"
cp -p "$FC/dir/a.bin" "$FC/a-copy.bin"
wait_for 30 "A's changes and C's copy on B" sh -c "[ -f '$FB/a-copy.bin' ] && [ -f '$FB/moved.bin' ] && [ -f '$FB/dir2/b.txt' ] && [ ! -e '$FB/small.txt' ] && [ ! -e '$FB/dir' ]"
wait_for 30 "C's copy on A" test -f "$FA/a-copy.bin"
wait_for 30 "B's tree to equal A's again" same "$FB"
wait_for 30 "C's tree to equal A's again" same "$FC"

# Every file those changes wrote was built from local blocks: none from members.
for dev in b c; do
    log=$T/$dev.log
    for p in moved.bin:$nbig dir2/a.bin:$na dir2/b.txt:1 a-copy.bin:$na; do
        path=${p%%:*} want=${p#*:}
        [ "$dev:$path" = c:a-copy.bin ] && continue # made there
        # (the log line comes just after the file is in place)
        wait_for 10 "$dev's log to say it wrote $path" grep -q ": wrote $path (" "$log"
        read -r n m <<<"$(written "$log" "$path")"
        expect_eq "$n $m" "$want 0" "$dev: $path's blocks and blocks from members"
    done
done
wait_for 10 "A's log to say it wrote a-copy.bin" grep -q ": wrote a-copy.bin (" "$T/a.log"
read -r n m <<<"$(written "$T/a.log" a-copy.bin)"
expect_eq "$n $m" "$na 0" "A: a-copy.bin's blocks and blocks from members"
# ... and no daemon asked any block of another for them, nor was asked one
for h in "$A" "$B" "$C"; do
    expect_eq "$(asked "$h")" "${before[$h]}" "blocks asked by and of $h's daemon during the renames and the copy"
done
for f in big.bin small.txt dir; do
    for d in "$FA" "$FB" "$FC"; do [ ! -e "$d/$f" ] || fail "$d/$f is still there"; done
done
for d in "$FB" "$FC"; do
    [ -z "$(ls -A "$d/.meshsync/tmp")" ] || fail "temp files left in $d: $(ls -A "$d/.meshsync/tmp")"
done
expect_eq "$(mc --home "$C" ls --keys "folder:$fid" | sort | tr '\n' ' ')" \
    ".meshsync/folder a-copy.bin dir2 dir2/a.bin dir2/b.txt moved.bin " "C's index (and the folder record, §18.5)"
echo ok
