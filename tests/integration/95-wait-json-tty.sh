#!/usr/bin/env bash
# tests/integration/95-wait-json-tty.sh: `meshctl status` on a terminal and `wait --json`
# (issue 19: a progress bar on a terminal; every command's --json documented and stable).
# B's daemon receives A's 25,000 items slowly (test hooks: each batch committed alone, 3 s
# of rest after each commit), so that a first sync is under way for several seconds.
# What must hold after each step:
#  1. mid-sync, B's status piped has the "receiving:" figures and no bar; the same command
#     on a pseudo-terminal (script(1)) shows the bar "[###...] NN%";
#  2. `--json wait bulk` exits 0 once in sync with {"in_sync": true, "daemon": true,
#     "connected": 1, "synced": 1}; `--json wait --peers 2` exits 1 at its timeout with
#     "in_sync" false and one peer connected; with the daemon stopped, `--json wait` exits
#     1 with "daemon" false.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "status shows a progress bar on a terminal only; wait --json says what it found"
command -v python3 >/dev/null || skip "no python3"
command -v script >/dev/null || skip "no script(1) for a pseudo-terminal"
N=25000
three_devices
python3 - "$N" >"$T/items.tsv" <<'PY'
import random, sys
r = random.Random(95)
for i in range(int(sys.argv[1])):
    print("%032x\t%s" % (r.getrandbits(128), "v" * 100))
PY
a put --from-tsv "$T/items.tsv" bulk >/dev/null
a peer add "$idb"
b peer add "$ida"
with_hooks start_daemon_env "$A" "$T/a.log" MESH_TEST_TIME_FACTOR=3
ea=$EP
b peer add "$ida" "$ea"
with_hooks start_daemon_env "$B" "$T/b.log" MESH_TEST_GROUP_BYTES=1 MESH_TEST_COMMIT_PAUSE_MS=3000
pb=$LAST_PID

# 1. mid-sync: figures when piped, and a bar only on a terminal
receiving() { "$MESHCTL" --home "$B" status >"$T/pipe.txt" && grep -q "receiving:" "$T/pipe.txt"; }
wait_for 60 "B's status to say it is receiving" receiving
grep -q '\[[#.]*\] *[0-9]*%' "$T/pipe.txt" && fail "a progress bar when piped: $(cat "$T/pipe.txt")"
script -qec "'$MESHCTL' --home '$B' status" /dev/null >"$T/tty.txt" 2>&1 ||
    fail "status on a terminal: $(cat "$T/tty.txt")"
grep -q "receiving:" "$T/tty.txt" || fail "the sync ended before the terminal's status (raise N)"
grep -q '\[[#.]*\] *[0-9]*%' "$T/tty.txt" || fail "no progress bar on a terminal: $(cat "$T/tty.txt")"

# 2. wait --json: in sync; not at the timeout; no daemon
mc --home "$B" --json wait bulk --timeout 120 >"$T/w1.json" || fail "wait bulk: $(b status)"
expect_exit 1 mc --home "$B" --json wait --peers 2 --timeout 1
cp "$T/stdout" "$T/w2.json"
kill "$pb"
wait "$pb" 2>/dev/null || true
expect_exit 1 mc --home "$B" --json wait --timeout 0
cp "$T/stdout" "$T/w3.json"
python3 - "$T/w1.json" "$T/w2.json" "$T/w3.json" <<'PY' || fail "wait --json: $(cat "$T"/w?.json)"
import json, sys
w1, w2, w3 = (json.load(open(p)) for p in sys.argv[1:])
assert list(w1) == ["in_sync", "daemon", "connected", "synced"], w1
assert w1 == {"in_sync": True, "daemon": True, "connected": 1, "synced": 1}, w1
assert w2["in_sync"] is False and w2["daemon"] is True and w2["connected"] == 1, w2
assert w3 == {"in_sync": False, "daemon": False, "connected": 0, "synced": 0}, w3
PY
exit 0
