#!/usr/bin/env bash
# tests/integration/93-folder-rescan-root.sh: a rescan of an unchanged tree reads no file
# content, and a folder whose root is gone deletes nothing, on either side
# (docs/PROTOCOL.md §18.4, §18.5, §18.7). Real daemons on 127.0.0.1.
#  1. A's daemon alone, with a full rescan every second. Reads are watched with inotify
#     (IN_OPEN, IN_ACCESS on every directory of the folder): one file is changed through a
#     shared mapping (which inotify does not report, so only a periodic rescan can find it);
#     until 2 s (two more rescans) after the daemon read it, only that file is opened or
#     read; then A's daemon is stopped, another file touched, and the daemon started
#     again: until its first scan is done it opens or reads only that one.
#  2. B joins and gets the tree. A's daemon stopped, its root moved away and an empty
#     directory left in its place (a disk not mounted), A's daemon started: the folder stops
#     (marker missing), B keeps every file and every entry, and a file made on B meanwhile
#     is not written into the empty directory; with the root back, that file reaches A.
#  3. B's root renamed while B runs, and a file made on A: B stops the folder, does not
#     make its root again, A keeps every file; B's root back, the file reaches B.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a rescan of an unchanged tree reads no file; a root gone (even an empty mount point, on either side) deletes nothing"

three_devices
FA=$T/fa FB=$T/fb
mkdir -p "$FA/sub/deeper" "$FB"
for i in 1 2 3 4; do head -c 200000 /dev/urandom >"$FA/f$i.bin"; done
echo "deep" >"$FA/sub/deeper/leaf.txt"
head -c 100000 /dev/urandom >"$FA/sub/mapped.bin"
echo "touch me" >"$FA/touched.txt"
fid=$(a folder add "$FA")

# start_a [ENDPOINT]: A's daemon with a full rescan every second ($pa, $ea).
start_a() {
    rm -f "$A/status"
    spawn "$MESHCTL" --home "$A" --log-level info daemon --listen "${1:-tcp://127.0.0.1:0}" \
        --rescan 1 2>>"$T/a.log"
    pa=$LAST_PID
    wait_for 10 "A's daemon to listen" grep -q '^listen tcp://127.0.0.1:[0-9]' "$A/status"
    ea=$(sed -n 's/^listen //p' "$A/status")
}
scanned() { grep -q "^folder $fid state=ok " "$A/status"; }
# watch SECONDS [MAPPED]: watch every directory of $FA but .meshsync for opens and reads of
# files, for at most SECONDS, or until $T/stop exists; "ready" in $T/ready once the watches
# are set. With MAPPED (a path under $FA): first map it, once watching change a byte through
# the mapping, and stop 2 s after MAPPED was first opened by someone. Prints the paths opened
# or read, one a line, sorted. The caller removes $T/ready and $T/stop first.
watch() {
    python3 - "$FA" "$(($1 * TIME_FACTOR))" "${2:-}" "$T/ready" "$T/stop" <<'EOF'
import ctypes, mmap, os, select, struct, sys, time
root, secs, mapped, ready, stop = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
libc = ctypes.CDLL(None, use_errno=True)
IN_ACCESS, IN_OPEN, IN_ISDIR = 0x1, 0x20, 0x40000000
m = None
if mapped:
    f = open(mapped, "r+b")
    m = mmap.mmap(f.fileno(), 0)
    f.close()
fd = libc.inotify_init1(os.O_NONBLOCK)
assert fd >= 0
wds = {}
for d, dirs, _ in os.walk(root):
    dirs[:] = [x for x in dirs if not (d == root and x == ".meshsync")]
    wd = libc.inotify_add_watch(fd, d.encode(), IN_ACCESS | IN_OPEN)
    assert wd >= 0
    wds[wd] = os.path.relpath(d, root)
open(ready, "w").write("ready\n")
seen = set()
end = time.monotonic() + secs
if m is not None:
    time.sleep(0.3)
    m[0] ^= 0xFF  # a write through the mapping: mtime moves, inotify says nothing
    want = os.path.relpath(mapped, root)
last = False
while not last:
    last = time.monotonic() >= end or os.path.exists(stop)
    select.select([fd], [], [], 0.1)
    try:
        buf = os.read(fd, 65536)
    except BlockingIOError:
        continue
    i = 0
    while i < len(buf):
        wd, mask, _, n = struct.unpack_from("iIII", buf, i)
        name = buf[i + 16:i + 16 + n].rstrip(b"\0").decode()
        i += 16 + n
        if name and not mask & IN_ISDIR:
            seen.add(os.path.normpath(os.path.join(wds[wd], name)))
    if m is not None and want in seen:
        end = min(end, time.monotonic() + 2)
for p in sorted(seen):
    print(p)
EOF
}

# ---- 1. rescans of an unchanged tree read nothing ----
start_a
wait_for 20 "A's first scan" scanned
sleep 1.5 # (the first pass of realize and the first rescan past)
rm -f "$T/ready" "$T/stop"
read_paths=$(watch 20 "$FA/sub/mapped.bin")
expect_eq "$(tr "\n" " " <<<"$read_paths")" "sub/mapped.bin " "files A's daemon opened or read while rescanning"

kill "$pa"
wait_pids 10 "$pa"
python3 -c 'import os, sys; os.utime(sys.argv[1])' "$FA/touched.txt" # no open
rm -f "$T/ready" "$T/stop"
watch 30 >"$T/read" &
wpid=$!
wait_for 10 "the watcher" test -f "$T/ready"
start_a "$ea"
wait_for 20 "A's first scan after the restart" scanned
touch "$T/stop"
wait "$wpid" || fail "the watcher failed"
expect_eq "$(tr "\n" " " <"$T/read")" "touched.txt " "files A's daemon opened or read when it started"

# ---- 2. A's root is an empty mount point ----
folder_b_joins "$FB"
same() { diff -r --no-dereference -x .meshsync "$FA" "$FB" >/dev/null 2>&1; }
wait_for 30 "B's copy of the folder" same
# (paths only: not the folder record under .meshsync/folder, §18.5)
keys() { mc --home "$1" ls "folder:$fid" | awk -F'\t' '$1 != ".meshsync/folder"' | wc -l; }
expect_eq "$(keys "$B")" 9 "entries in B's index"

kill "$pa"
wait_pids 10 "$pa"
mv "$FA" "$T/disk"
mkdir "$FA"
start_a "$ea"
wait_for 20 "A to stop the folder" grep -q "folder $fid stopped: folder marker missing" "$T/a.log"
echo "from B" >"$FB/from-b.txt"
wait_for 20 "from-b.txt's entry on A" sh -c "'$MESHCTL' --home '$A' ls --keys 'folder:$fid' | grep -qx from-b.txt"
sleep 1 # (a pass of realize would have written it by now)
[ -z "$(ls -A "$FA")" ] || fail "A wrote into the empty mount point: $(ls -A "$FA")"
for i in 1 2 3 4; do [ -f "$FB/f$i.bin" ] || fail "f$i.bin was deleted on B"; done
[ -f "$FB/sub/deeper/leaf.txt" ] || fail "sub/deeper/leaf.txt was deleted on B"
expect_eq "$(keys "$B")" 10 "entries in B's index while A's root is empty"
rmdir "$FA"
mv "$T/disk" "$FA"
wait_for 20 "A to take the folder up again" grep -q "folder $fid: its root is back" "$T/a.log"
wait_for 20 "from-b.txt on A" test -f "$FA/from-b.txt"
wait_for 20 "the trees equal after A's root came back" same

# ---- 3. B's root renamed while B runs ----
mv "$FB" "$T/fb-moved"
echo "from A" >"$FA/from-a.txt"
wait_for 20 "B to stop the folder" grep -q "folder $fid stopped: folder root missing" "$T/b.log"
wait_for 20 "from-a.txt's entry on B" sh -c "'$MESHCTL' --home '$B' ls --keys 'folder:$fid' | grep -qx from-a.txt"
sleep 1 # (a pass of realize would have made the root by now)
[ ! -e "$FB" ] || fail "B made its missing root again: $(ls -A "$FB")"
for i in 1 2 3 4; do [ -f "$FA/f$i.bin" ] || fail "f$i.bin was deleted on A"; done
expect_eq "$(keys "$A")" 11 "entries in A's index while B's root is gone"
mv "$T/fb-moved" "$FB"
wait_for 20 "B to take the folder up again" grep -q "folder $fid: its root is back" "$T/b.log"
# An entry that came while the root was gone is written once the root is back, with no
# other change needed to reach the store (a full realize pass runs when a folder comes back).
n=12
wait_for 20 "from-a.txt, which came while B's root was gone, on B once it is back" test -f "$FB/from-a.txt"
echo "after" >"$FA/after.txt"
wait_for 20 "from-a.txt and after.txt on B" sh -c "[ -f '$FB/from-a.txt' ] && [ -f '$FB/after.txt' ]"
wait_for 20 "the trees equal at the end" same
expect_eq "$(keys "$B")" "$n" "entries in B's index at the end"
echo ok
