#!/usr/bin/env bash
# tests/integration/15-daemon-links.sh: a sender whose own link to the receiver comes up in
# the middle of a pass (the receiver dialled first) keeps its batches in flight on the link
# they went on, so none overtakes another: the sender's log shows no change of link while a
# batch is unacknowledged, nothing is sent twice, the session is never dropped, and the
# receiver ends with every item. The sender is the device with the lower key, whose own link
# is the one both sides prefer (docs/PROTOCOL.md §11). Once quiet, the receiver gives back
# the memory the apply left, and the sender, whose daemon keeps its heap between batches
# (cli/cmd_daemon.c), holds under 64 MiB of private memory though some 48 MiB of batches
# were in flight at once. (MESH_TEST_SETS changes the size.)
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
DAEMON_LOG_LEVEL=debug # (the test reads its debug lines)
describe "batches in flight stay on their link when a second link comes up mid-pass"
command -v python3 >/dev/null || skip "no python3"
SETS=${MESH_TEST_SETS:-64}
N=$((SETS * 1000))


three_devices
# S sends, R receives; S is the one whose key sorts first.
if python3 - "$ida" "$idb" <<'PY'; then
import sys
abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
def data(i):  # the 26 data characters of each group of 27 (the 27th is a check)
    s = i.replace("-", "")
    return [abc.index(c) for k, c in enumerate(s) if k % 27 != 26]
sys.exit(0 if data(sys.argv[1]) < data(sys.argv[2]) else 1)
PY
    S=$A R=$B ids=$ida idr=$idb
else
    S=$B R=$A ids=$idb idr=$ida
fi
s() { mc --home "$S" "$@"; }
r() { mc --home "$R" "$@"; }
# SETS change sets of 1,000 items of 1,000 bytes: one batch each (about 1 MiB), more than
# the receiver's credit, so the pass is still going when S's own link comes up.
python3 - "$SETS" "$T" <<'PY'
import random, sys
r = random.Random(5)
for f in range(int(sys.argv[1])):
    with open("%s/items.%d.tsv" % (sys.argv[2], f), "w") as out:
        for i in range(1000):
            out.write("%032x\t%s\n" % (r.getrandbits(128), "v" * 1000))
PY
for f in $(seq 0 $((SETS - 1))); do s put --from-tsv "$T/items.$f.tsv" bench >/dev/null; done
s peer add "$idr"
start_daemon "$S" "$T/s.log"; es=$EP ps=$LAST_PID
r peer add "$ids" "$es"
start_daemon "$R" "$T/r.log"; er=$EP
# The pass to R has begun on R's link: now S learns R's address and dials it.
deadline=$((SECONDS + 60))
until grep -q "sent batch" "$T/s.log"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "S sent no batch in 60 s"
    sleep 0.02
done
s peer add "$idr" "$er"
wait_for 180 "R to hold every item" sh -c "[ \"\$('$MESHCTL' --home '$R' ls --keys bench | wc -l)\" -eq $N ]"
mc --home "$S" wait --timeout 60 || fail "S not in sync at the end"
s dump bench >"$T/s.dump"
r dump bench >"$T/r.dump"
cmp -s "$T/s.dump" "$T/r.dump" || fail "the dumps differ"
! grep -q "dropping the session" "$T/s.log" "$T/r.log" ||
    fail "a session was dropped: $(grep -h "dropping the session" "$T/s.log" "$T/r.log")"

python3 - "$T/s.log" "$idr" "$N" <<'PY' || fail "batches to R: see above"
import re, sys
log, idr, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
sent = re.compile(r"sent batch (\d+) \(\d+ bytes\) to (\S+) on (\w+ link \d+)")
ack = re.compile(r"(\S+) acknowledged batch (\d+)")
acked, prev, links, ids = 0, None, set(), []
for line in open(log):
    m = ack.search(line)
    if m and m.group(1) == idr:
        acked = max(acked, int(m.group(2)))
    m = sent.search(line)
    if not m or m.group(2) != idr:
        continue
    num, link = int(m.group(1)), m.group(3)
    if prev and link != prev[1] and prev[0] > acked:
        sys.exit(f"batch {num} went on {link} while batch {prev[0]} on {prev[1]} was unacknowledged (acked {acked})")
    prev = (num, link)
    links.add(link)
    ids.append(num)
sets = n // 1000 + 3  # and S's membership records
if len(ids) > sets:
    sys.exit(f"{len(ids)} batches sent for {sets} sets at most: something went twice")
print(f"{len(ids)} batches on {sorted(links)}")
PY
# Quiet now: each side gives back what the sync left.
wait_for 10 "R to give back the memory of what it applied" grep -q "gave back the memory of [0-9]* ops applied" "$T/r.log"
dirty=$(awk '/^Private_Dirty/ {s += $2} END {print s}' "/proc/$ps/smaps_rollup")
# (not under AddressSanitizer or ThreadSanitizer, whose shadow memory and quarantine or
# history take hundreds of MB)
if ! ldd "$MESHCTL" 2>/dev/null | grep -q 'libasan\|libtsan'; then
    [ "$dirty" -lt $((64 << 10)) ] || fail "S holds $dirty KiB of private dirty memory after the sync"
fi
echo "ok: $N items, batches kept to their link, none sent twice, no session dropped; S at $dirty KiB private dirty"
