#!/usr/bin/env bash
# tests/integration/24-status-progress.sh: status during a first sync, and right after
# writes (issue 14, items 10 and 11), with real daemons on 127.0.0.1. What must hold after:
# - mid-sync, B's status shows the collection being received with the versions here and to
#   go adding up to what A holds (never a made-up total), bytes to go, the rate and the time
#   left, and the versions and bytes received on A's peer line; piped, no progress bar;
# - after each write to a new collection, once B holds it, neither device's status
#   contradicts itself: a peer "in sync" while a collection is "no member connected" or not
#   in sync (B's snapshot used to predate the commit that brought the collection).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "status shows first-sync progress truthfully and never contradicts itself"
command -v python3 >/dev/null || skip "no python3"
N=${MESH_TEST_ITEMS:-80000}


three_devices
python3 - "$N" >"$T/items.tsv" <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print("k%08d\t%s" % (i, "v" * 100))
PY
a put --from-tsv "$T/items.tsv" big >/dev/null
a peer add --name beta "$idb"
b peer add --name alpha "$ida"
start_daemon "$A" "$T/a.log"
pa=$LAST_PID ea=$EP
# B commits each batch alone and rests 1.5 s after each (test hooks): the sync takes a few
# seconds, long enough to look at it midway.
MESH_TEST_GROUP_BYTES=1 MESH_TEST_COMMIT_PAUSE_MS=1500 with_hooks start_daemon "$B" "$T/b.log"
pb=$LAST_PID
b peer add --name alpha "$ida" "$ea"

midway() { # B holds part of big, and its status says so
    b status --json >"$T/b.json" && python3 - "$N" "$T/b.json" <<'PY'
import json, sys
n, d = int(sys.argv[1]), json.load(open(sys.argv[2]))
big = [c for c in d["collections"] if c["name"] == "big"]
# (and the figures count a batch received: the loop rests 1.5 s in each commit, so the
# figures may lag the store by one commit, which mesh_status waits for only 1 s)
got = any(p["versions_in"] > 0 for p in d["peers"])
sys.exit(0 if big and big[0]["here"] and 0 < big[0]["versions"] < n and big[0]["to_receive"] > 0 and got else 1)
PY
}
wait_for 60 "B midway through the first sync" midway
b status >"$T/b.txt" || fail "status on B mid-sync"
python3 - "$N" "$T/b.json" "$ida" <<'PY' || fail "progress figures: $(cat "$T/b.json")"
import json, sys
n, d, ida = int(sys.argv[1]), json.load(open(sys.argv[2])), sys.argv[3]
big = [c for c in d["collections"] if c["name"] == "big"][0]
total = big["versions"] + big["to_receive"]
# counted no earlier than the versions here (a commit may land in between): never below n,
# and over it by at most the two batches that may have landed meanwhile
assert n <= total <= n + 45000, (n, big)
assert not big["in_sync"] and big["to_send"] == 0, big
assert big["bytes_to_receive"] > 0, big  # estimated from the batches so far
p = [p for p in d["peers"] if p["id"] == ida][0]
assert p["name"] == "alpha" and p["label"] == "alpha", p
assert p["versions_in"] > 0 and p["batch_bytes_in"] > 0 and p["rate_in"] >= -1, p
assert p["to_receive"] > 0 and not p["in_sync"], p
PY
grep -Eq "^coll    big  [0-9]+ keys, [0-9]+ versions, digest [0-9a-f]+  receiving: [0-9]+ of [0-9]+ versions here \([0-9]+%\), [0-9]+ to go \(~[0-9.]+ (B|KiB|MiB)\), ([0-9]+|\?)/s, .* left" "$T/b.txt" ||
    fail "no progress on the collection line: $(cat "$T/b.txt")"
grep -Eq "^peer    alpha  .*receiving: [0-9]+ versions in \([0-9.]+ (B|KiB|MiB)\), [0-9]+ to go" "$T/b.txt" ||
    fail "no progress on the peer line: $(cat "$T/b.txt")"
grep -q '\[#*\.*\]' "$T/b.txt" && fail "a progress bar when piped: $(cat "$T/b.txt")"
if command -v script >/dev/null; then
    script -qec "'$MESHCTL' --home '$B' status" /dev/null >"$T/b.tty" 2>&1 || true
    if grep -q "receiving:" "$T/b.tty"; then
        grep -q '\[[#.]*\] *[0-9]*%' "$T/b.tty" || fail "no bar on a terminal: $(cat "$T/b.tty")"
    fi
fi
mc --home "$B" wait big --timeout 120 || fail "B never finished: $(b status)"
mc --home "$A" wait big --timeout 30 || fail "A never in sync: $(a status)"

# Right after writes: no status contradicts itself.
consistent() { # HOME WHAT: the status of HOME, text and JSON, agrees with itself
    mc --home "$1" status >"$T/s.txt" || fail "status on $2"
    if grep -q "^peer .*  in sync  " "$T/s.txt" && grep -q "no member connected" "$T/s.txt"; then
        fail "$2: a peer in sync and a collection with no member connected: $(cat "$T/s.txt")"
    fi
    mc --home "$1" status --json >"$T/s.json" || fail "status --json on $2"
    python3 - "$T/s.json" <<'PY' || fail "$2 contradicts itself: $(cat "$T/s.json")"
import json, sys
d = json.load(open(sys.argv[1]))
if any(p["in_sync"] for p in d["peers"]):  # one peer here: its collections are in sync too
    assert all(c["in_sync"] for c in d["collections"]), d
if not any(p["connected"] for p in d["peers"]):
    assert not any(c["in_sync"] for c in d["collections"]), d
PY
}
for i in 1 2 3 4 5 6 7 8; do
    a put "new$i" k "value $i"
    consistent "$A" "A after writing new$i"
    wait_for 20 "new$i on B" b get "new$i" k
    consistent "$B" "B once it holds new$i"
    consistent "$A" "A once B holds new$i"
done
mc --home "$A" wait --timeout 30 || fail "A not in sync at the end: $(a status)"
a status | grep -q "^coll    new8  1 key, 1 version, digest [0-9a-f]*  in sync" ||
    fail "new8 not in sync on A: $(a status)"
kill -TERM "$pa" "$pb"
wait_pids 10 "$pa" "$pb"
echo ok
