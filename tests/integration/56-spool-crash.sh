#!/usr/bin/env bash
# tests/integration/56-spool-crash.sh: an initial sync whose batches the receiver spools
# (acknowledged once synced to <home>/spool, applied later in one large transaction:
# docs/PROTOCOL.md §11.2), SIGKILLed while batches it acknowledged sit in the spool, not yet
# applied. Must hold after its restart: the spool is replayed (the log says so, with the ops
# it stored), every item is on B, the spool file is back to its header, both digests are
# equal, and B keeps syncing (a later write reaches it). B's commits pause 4 s each (test
# hook) so that the kill lands while the spool holds batches.
# run: alone (tests/run.sh: it counts bytes or times a phase that a test beside it would disturb)
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a receiver killed with acknowledged batches in its spool applies them after restart"

N=50000 # five batches of 10,000 ops: the first ones come with more behind them
three_devices # A: the sender, B: the fresh device (C is not used)
python3 - "$N" >"$T/items.tsv" <<'PY'
import random, sys
r = random.Random(56)
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
spooled() { # spooled HOME: does the spool file hold one whole batch? (Its 16-byte header,
    # "MSPOOL2\n" and where the records start, then records of a length, its complement and
    # the bytes. A size past the header alone is not enough: the kill could land while the
    # first record is half written, and a half record was never acknowledged, so a restart
    # rightly drops it.)
    [ -f "$1/spool" ] && python3 - "$1/spool" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
if len(d) < 24:
    sys.exit(1)
at = struct.unpack("<Q", d[8:16])[0]
n, check = struct.unpack("<II", d[at:at + 8]) if len(d) >= at + 8 else (0, 0)
sys.exit(0 if n and check == n ^ 0xffffffff and len(d) >= at + 8 + n else 1)
PY
}

DAEMON_LOG_LEVEL=debug MESH_TEST_COMMIT_PAUSE_MS=4000 with_hooks start_daemon "$B" "$T/b.log"
pb=$LAST_PID
wait_for 60 "B to spool a batch" spooled "$B"
kill -KILL "$pb"
wait "$pb" 2>/dev/null || true
spooled "$B" || fail "the spool was emptied before the kill"
grep -q "applied batches .* (spooled" "$T/b.log" && fail "B applied its spool before the kill"
held=$(mc --home "$B" ls --keys bulk 2>/dev/null | wc -l)
[ "$held" -lt "$N" ] || fail "B held all $N items before the kill: nothing was left to replay"

# Restarted (no hooks): the spool first, then whatever A sends again.
DAEMON_LOG_LEVEL=debug start_daemon "$B" "$T/b2.log"; pb=$LAST_PID
wait_for 60 "B to hold A's $N items" sh -c "[ \"\$('$MESHCTL' --home '$B' ls --keys bulk 2>/dev/null | wc -l)\" -eq $N ]"
grep -Eq "applied batches 0\.\.0 from a past run: [0-9]+ sets, [1-9][0-9]* ops stored" "$T/b2.log" ||
    fail "B's log names no replay of its spool: $(grep 'applied batches' "$T/b2.log")"
mc --home "$A" wait bulk --timeout 60 || fail "A not in sync with B"
wait_for 20 "B's spool to be empty" sh -c "[ \"\$(stat -c %s '$B/spool')\" -eq 16 ]"
expect_eq "$(digest "$B")" "$(digest "$A")" "B's digest after the replay"
a put bulk after-crash "written after the replay" >/dev/null
wait_for 30 "a later write to reach B" sh -c "'$MESHCTL' --home '$B' get bulk after-crash >/dev/null 2>&1"
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"
echo "ok"
