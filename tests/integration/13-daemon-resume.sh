#!/usr/bin/env bash
# tests/integration/13-daemon-resume.sh: an initial sync of 200,000 items to a receiver that
# is killed with SIGKILL when 25-75% have been applied (asserted) resumes from what it holds:
# after its restart the sender sends only about what was missing (counted in bytes), and
# nothing acknowledged is lost: it holds at least every batch the sender saw acknowledged
# before the kill, and ends with every item, its dump equal to the sender's.
# The sender wrote one item over a quarter of the way in, before the sync.
# (MESH_TEST_ITEMS changes the count.)
# run: alone (tests/run.sh: it counts bytes or times a phase that a test beside it would disturb)
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a receiver killed mid-sync resumes without re-sending what it applied"
command -v python3 >/dev/null || skip "no python3"
N=${MESH_TEST_ITEMS:-200000}

field() { # HOME FIELD: the first peer line's FIELD in the status file
    sed -n "s/^peer .* $2=\([0-9]*\).*/\1/p" "$1/status" | head -n 1
}

three_devices
python3 - "$N" >"$T/items.tsv" <<'PY'
import random, sys
r = random.Random(3)
for i in range(int(sys.argv[1])):
    print("%032x\t%s" % (r.getrandbits(128), "v" * 100))
PY
a put --from-tsv "$T/items.tsv" bench >/dev/null
# One item written over a quarter of the way in: its first dot is superseded, a gap in the
# middle of the pass that only a range watermark closes (without one, the receiver's vector
# filled with 65,536 extras above the gap and the sync never ended).
a put bench "$(sed -n "$((N / 4 + 1))p" "$T/items.tsv" | cut -f1)" "written over" >/dev/null
a peer add "$idb"
b peer add "$ida"
start_daemon "$A" "$T/a.log"; pa=$LAST_PID ea=$EP
b peer add "$ida" "$ea"
# B commits each batch alone and rests 200 ms after each commit (test hooks): with 32 MiB
# groups, a fast receiver's first commit may already hold most of the 200,000 items, and at
# full speed it applies a batch every few tens of ms, while the status file that the wait
# below reads is written every 250 ms.
MESH_TEST_GROUP_BYTES=1 MESH_TEST_COMMIT_PAUSE_MS=200 with_hooks start_daemon "$B" "$T/b.log"
pb=$LAST_PID eb=$EP

# Kill B once it has applied a quarter of the batches (each ~10,000 items), well before
# the end; then count what it really holds.
total_batches=$(( (N + 9999) / 10000 ))
wait_for 120 "B to apply a quarter" sh -c "[ \"\$(sed -n 's/^peer .* batches_in=\([0-9]*\).*/\1/p' '$B/status' | head -n1)\" -ge $((total_batches / 4 + 1)) ]"
# Mid-sync, status says how far along each side is, in both directions and per collection.
b status --json >"$T/b.status" || fail "status on B mid-sync"
a status --json >"$T/a.status" || fail "status on A mid-sync"
kill -KILL "$pb"
wait "$pb" 2>/dev/null || true
python3 - "$T/b.status" "$T/a.status" "$ida" "$idb" "$N" <<'PY' || fail "status mid-sync: $(cat "$T/b.status" "$T/a.status")"
import json, sys
b, a = (json.load(open(p)) for p in sys.argv[1:3])
ida, idb, n = sys.argv[3], sys.argv[4], int(sys.argv[5])
pa = {p["id"]: p for p in b["peers"]}[ida]
assert pa["connected"] and not pa["in_sync"], pa
assert 0 < pa["to_receive"] < n and pa["bytes_to_receive"] > 0, pa
coll = {c["name"]: c for c in b["collections"]}["bench"]
assert not coll["in_sync"] and coll["to_receive"] == pa["to_receive"], coll
assert coll["keys"] + coll["to_receive"] >= n, coll  # what it holds and what is coming
pb = {p["id"]: p for p in a["peers"]}[idb]
assert pb["to_send"] > 0 and not pb["in_sync"], pb
assert {c["name"]: c for c in a["collections"]}["bench"]["to_send"] > 0, a
PY
# Batches B had acknowledged when A wrote its status (before the kill): each carries
# 10,000 items (one of them fewer: the item written over goes last, in its new version),
# and B must hold every one of them.
acked=$(python3 -c 'import json, sys; p = {p["id"]: p for p in json.load(open(sys.argv[1]))["peers"]}[sys.argv[2]]; print(p["batches_out"] - p["in_flight"])' "$T/a.status" "$idb")
held=$(b ls --keys bench | wc -l)
lo=$((N / 4)) hi=$((N * 3 / 4))
[ "$held" -ge "$lo" ] && [ "$held" -le "$hi" ] || fail "B held $held of $N when killed: not within 25-75%"
[ "$acked" -gt 0 ] && [ "$held" -ge $((acked * 10000 - 1)) ] ||
    fail "B acknowledged $acked batches (at least $((acked * 10000 - 1)) items) but holds $held after the kill"
sent_before=$(field "$A" bytes_out)

start_daemon "$B" "$T/b.log" "$eb"; pb=$LAST_PID
wait_for 180 "B to hold every item" sh -c "[ \"\$('$MESHCTL' --home '$B' ls --keys bench | wc -l)\" -eq $N ]"
mc --home "$A" wait --timeout 60 || fail "A not in sync at the end"
mc --home "$B" wait bench --timeout 60 || fail "B not in sync in 'bench' at the end"
b status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
c = {c["name"]: c for c in d["collections"]}["bench"]
assert c["in_sync"] and c["to_send"] == 0 and c["to_receive"] == 0, c
assert all(p["in_sync"] and p["to_receive"] == 0 for p in d["peers"] if p["connected"]), d
' || fail "status at the end: $(b status --json)"
sent_after=$(field "$A" bytes_out)
resent=$((sent_after - sent_before))
full=$(stat -c %s "$T/items.tsv")
# What was missing is (N - held) items of ~182 bytes on the wire; allow one batch extra
# for the one in flight at the kill, and fail if anything near a full resend happened.
budget=$(( (N - held) * 190 + 2000000 ))
[ "$resent" -le "$budget" ] || fail "A sent $resent bytes after B's restart for $((N - held)) missing items (budget $budget)"
a dump bench >"$T/a.dump"
b dump bench >"$T/b.dump"
cmp -s "$T/a.dump" "$T/b.dump" || fail "dumps differ after the resume"
echo "B held $held of $N at the kill ($acked batches acknowledged); $resent bytes sent after its restart (file of $full bytes)"
kill -TERM "$pa" "$pb"
wait_pids 10 "$pa" "$pb"
echo ok
