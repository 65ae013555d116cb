#!/usr/bin/env bash
# tests/integration/19-daemon-slow-commit.sh: a receiver whose commits block its loop for
# longer than the 4 s silence timeout (test hook MESH_TEST_COMMIT_PAUSE_MS=5000: it rests 5 s
# after each commit, as a slow disk would keep it) does not take the sender for silent: the
# sender's pings queue behind the commit and are heard right after it. (The sender's own
# silence timeout is stretched to 12 s by MESH_TEST_TIME_FACTOR=3, so that it keeps pinging
# through B's rests.) What must hold: the
# sync completes (B's dump equals A's), and B's log never says that A went silent (before the
# fix it said so after every commit, dropped the session and said HELLO again).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a receiver's long commits do not make the sender look silent"
command -v python3 >/dev/null || skip "no python3"
N=25000 # three batches of about 10,000 items: three commits, each followed by 5 s of rest


three_devices
python3 - "$N" >"$T/items.tsv" <<'PY'
import random, sys
r = random.Random(19)
for i in range(int(sys.argv[1])):
    print("%032x\t%s" % (r.getrandbits(128), "v" * 100))
PY
a put --from-tsv "$T/items.tsv" bulk >/dev/null
a peer add "$idb"
b peer add "$ida"
# A (the sender) waits 12 s before it takes a peer for silent (test hook): B, resting 5 s,
# stays a live peer to A, which goes on pinging; the question is what B makes of A.
with_hooks start_daemon_env "$A" "$T/a.log" MESH_TEST_TIME_FACTOR=3
ea=$EP
b peer add "$ida" "$ea"
with_hooks start_daemon_env "$B" "$T/b.log" MESH_TEST_GROUP_BYTES=1 MESH_TEST_COMMIT_PAUSE_MS=5000
wait_for 120 "B to hold every item" sh -c "[ \"\$(\"$MESHCTL\" --home '$B' ls --keys bulk | wc -l)\" -eq $N ]"
expect_eq "$(b dump bulk)" "$(a dump bulk)" "B's dump against A's"
# each batch committed alone (the status is published once the rest after the last is over)
wait_for 60 "B's status to count 3 batches in" sh -c \
    "[ \"\$(sed -n 's/^peer .* batches_in=\([0-9]*\).*/\1/p' '$B/status' | head -n 1)\" -ge 3 ]"
if grep -q "$ida.* went silent" "$T/b.log"; then
    fail "B took A for silent during its own commits: $(grep 'went silent' "$T/b.log")"
fi
echo "ok"
