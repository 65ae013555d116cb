#!/usr/bin/env bash
# tests/integration/56-spool-file-replayed.sh: a spool file that an earlier version left in
# a home (it wrote each group of an initial sync's batches to <home>/spool and acknowledged
# them before applying them; a daemon killed then left them there: docs/PROTOCOL.md §11.2)
# is applied when the daemon starts. The file is made here as that version wrote it, from
# A's real bundle (a batch's bytes are a bundle): its header, one whole record, and a
# second record cut short (a crash while appending: never acknowledged). Must hold: B's log
# names the replay (one batch, from a past run), B holds every item and the digest A has,
# no spool file is left, and a later write from A reaches B by sync, with no spool file
# written again.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a spool file an earlier version left is applied at start, then removed"

N=3000
three_devices # A: the writer, B: the device with the old spool file (C is not used)
python3 - "$N" >"$T/items.tsv" <<'PY'
import random, sys
r = random.Random(56)
for i in range(int(sys.argv[1])):
    sys.stdout.write("%032x\t%040x\n" % (r.getrandbits(128), r.getrandbits(160)))
PY
a put --from-tsv "$T/items.tsv" bulk >/dev/null
a export bulk -o "$T/bulk.bundle" >/dev/null
a peer add "$idb" >/dev/null
b peer add "$ida" >/dev/null # (no address yet: B replays alone first)
python3 - "$T/bulk.bundle" "$B/spool" <<'PY'
import struct, sys
batch = open(sys.argv[1], "rb").read()
rec = struct.pack("<II", len(batch), len(batch) ^ 0xffffffff) + batch
with open(sys.argv[2], "wb") as f:
    f.write(b"MSPOOL2\n" + struct.pack("<Q", 16) + rec + rec[: len(rec) // 2])
PY

DAEMON_LOG_LEVEL=debug start_daemon "$B" "$T/b.log"; pb=$LAST_PID
wait_for 30 "B to replay the spool file" grep -q "applied batches 0\.\.0 from a past run" "$T/b.log"
grep -Eq "applied batches 0\.\.0 from a past run: [0-9]+ sets, [1-9][0-9]* ops stored .*spooled, 1 batches" "$T/b.log" ||
    fail "B's log names no replay of one batch: $(grep 'applied batches' "$T/b.log")"
wait_for 20 "the spool file to go" sh -c "[ ! -e '$B/spool' ]"
expect_eq "$(mc --home "$B" ls --keys bulk | wc -l)" "$N" "B's items after the replay"
expect_eq "$(coll_digest "$B" bulk)" "$(coll_digest "$A" bulk)" "B's digest after the replay"

start_daemon "$A" "$T/a.log"; pa=$LAST_PID ea=$EP
b peer add "$ida" "$ea" >/dev/null
a put bulk after-replay "written after the replay" >/dev/null
wait_for 30 "a later write to reach B" sh -c "'$MESHCTL' --home '$B' get bulk after-replay >/dev/null 2>&1"
[ -e "$B/spool" ] && fail "B wrote a spool file again"
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"
echo "ok"
