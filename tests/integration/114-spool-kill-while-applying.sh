#!/usr/bin/env bash
# tests/integration/114-spool-kill-while-applying.sh: a receiver's spool (docs/PROTOCOL.md
# §11.2) is applied on a worker thread while the next batches are spooled and acknowledged;
# B is SIGKILLed while one apply is under way (the worker rests first: test hook) and
# batches after it are in the spool file, acknowledged. Must hold after its restart: both
# lots are replayed from the file (nothing acknowledged is lost), every item is on B, the
# spool file is back to its header, the digests are equal, and a later write reaches B.
# MESH_TEST_SPOOL_CHARGE=1 makes each apply take one group, so 10 batches make several.
# run: alone (tests/run.sh: it counts bytes or times a phase that a test beside it would disturb)
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a receiver killed while its spool applies and the next batches are spooled loses nothing acknowledged"

N=100000 # ten batches of 10,000 ops: all but the last come with more behind them
three_devices # A: the sender, B: the fresh device (C is not used)
python3 - "$N" >"$T/items.tsv" <<'PY'
import random, sys
r = random.Random(114)
for i in range(int(sys.argv[1])):
    sys.stdout.write("%032x\t%040x\n" % (r.getrandbits(128), r.getrandbits(160)))
PY
a put --from-tsv "$T/items.tsv" bulk >/dev/null
a peer add "$idb" >/dev/null
start_daemon "$A" "$T/a.log"; pa=$LAST_PID ea=$EP
b peer add "$ida" "$ea" >/dev/null

digest() { # digest HOME: collection bulk's digest as status --json gives it
    mc --home "$1" status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(next((c["digest"] for c in d["collections"] if c["name"] == "bulk"), ""))'
}
records() { # records HOME: the whole records of the spool file from where its header says
    # they start ("MSPOOL2\n", then that place, le64; each record a length, its complement
    # and the bytes)
    python3 - "$1/spool" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
at, n = (struct.unpack("<Q", d[8:16])[0] if d[:8] == b"MSPOOL2\n" else 8), 0
while at + 8 <= len(d):
    ln, check = struct.unpack("<II", d[at:at + 8])
    if check != ln ^ 0xffffffff or at + 8 + ln > len(d):
        break
    at, n = at + 8 + ln, n + 1
print(n)
PY
}
# the worker's apply under way, and batches spooled after the ones it applies
applying_and_more() {
    grep -q "spool: applying batches .* on its worker" "$T/b.log" &&
        [ "$(grep -c 'spool: applying batches' "$T/b.log")" -eq 1 ] &&
        [ "$(records "$B")" -gt "$(sed -n 's/.*on its worker (\([0-9]*\) batches).*/\1/p' "$T/b.log" | head -1)" ]
}

DAEMON_LOG_LEVEL=debug MESH_TEST_SPOOL_CHARGE=1 MESH_TEST_SPOOL_PAUSE_MS=10000 \
    with_hooks start_daemon "$B" "$T/b.log"
pb=$LAST_PID
wait_for 60 "B to spool batches while its worker applies" applying_and_more
kill -KILL "$pb"
wait "$pb" 2>/dev/null || true
grep -q "applied batches" "$T/b.log" && fail "B applied a batch before the kill: $(grep 'applied batches' "$T/b.log")"
spooled=$(records "$B")
held=$(mc --home "$B" ls --keys bulk 2>/dev/null | wc -l)
[ "$held" -eq 0 ] || fail "B held $held items before the kill: nothing was left to replay"

# Restarted (no hooks): the spool first (every record in it), then whatever A sends again.
DAEMON_LOG_LEVEL=debug start_daemon "$B" "$T/b2.log"; pb=$LAST_PID
wait_for 60 "B to replay its spool" grep -q "applied batches 0\.\.0 from a past run" "$T/b2.log"
replayed=$(sed -n 's/.*applied batches 0\.\.0 from a past run: .*spooled, \([0-9]*\) batches.*/\1/p' "$T/b2.log" | head -1)
echo "B spooled $spooled batches (its worker applied the first of them) and replayed $replayed"
expect_eq "$replayed" "$spooled" "batches replayed from the spool (all that were in it)"
wait_for 60 "B to hold A's $N items" sh -c "[ \"\$('$MESHCTL' --home '$B' ls --keys bulk 2>/dev/null | wc -l)\" -eq $N ]"
mc --home "$A" wait bulk --timeout 60 || fail "A not in sync with B"
wait_for 20 "B's spool to be empty" sh -c "[ \"\$(stat -c %s '$B/spool')\" -eq 16 ]"
expect_eq "$(digest "$B")" "$(digest "$A")" "B's digest after the replay"
a put bulk after-crash "written after the replay" >/dev/null
wait_for 30 "a later write to reach B" sh -c "'$MESHCTL' --home '$B' get bulk after-crash >/dev/null 2>&1"
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"
echo "ok"
