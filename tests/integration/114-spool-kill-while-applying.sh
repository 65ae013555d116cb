#!/usr/bin/env bash
# tests/integration/114-spool-kill-while-applying.sh: a receiver's spool (docs/PROTOCOL.md
# §11.2) holds checked batches in memory and applies them on a worker thread while the next
# are spooled; a spooled batch is acknowledged only once its apply committed. B is SIGKILLed
# while an apply is under way (the worker rests 2 s before each: test hook) and batches
# after it are spooled, after at least one apply ended. Must hold at the kill: no batch
# was acknowledged (A's log) past the last that B logged applied (committed), B's store
# holds the items of those applies, and some batch B had was not acknowledged. After B's restart: every item is on B (A sends again what B's vector
# lacks), the digests are equal, no spool file was written, and a later write reaches B.
# MESH_TEST_SPOOL_CHARGE=1 makes each apply take one group, so 10 batches make several.
# run: alone (tests/run.sh: it counts bytes or times a phase that a test beside it would disturb)
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a receiver killed while its spool applies loses nothing it acknowledged"

N=300000 # thirty batches of 10,000 ops: all but the last come with more behind them
three_devices # A: the sender, B: the fresh device (C is not used)
python3 - "$N" >"$T/items.tsv" <<'PY'
import random, sys
r = random.Random(114)
for i in range(int(sys.argv[1])):
    sys.stdout.write("%032x\t%040x\n" % (r.getrandbits(128), r.getrandbits(160)))
PY
a put --from-tsv "$T/items.tsv" bulk >/dev/null
a peer add "$idb" >/dev/null
DAEMON_LOG_LEVEL=debug start_daemon "$A" "$T/a.log"; pa=$LAST_PID ea=$EP
b peer add "$ida" "$ea" >/dev/null

# an apply ended, the next under way, and batches spooled after the ones it applies
applying_and_more() {
    grep -q "applied batches .*spooled" "$T/b.log" || return 1
    local last_apply
    last_apply=$(grep -n "spool: applying batches" "$T/b.log" | tail -1 | cut -d: -f1)
    [ -n "$last_apply" ] &&
        [ "$(grep -c "applied batches .*spooled" "$T/b.log")" -lt "$(grep -c 'spool: applying batches' "$T/b.log")" ] &&
        tail -n +"$last_apply" "$T/b.log" | grep -q "spool: took batches" &&
        [ "$(acked)" -ge 1 ] # (and A got the ACK of the apply that ended)
}
acked() { # the highest batch id A logged as acknowledged by B (0: none)
    sed -n "s/.*$idb acknowledged batch \([0-9]*\).*/\1/p" "$T/a.log" | sort -n | tail -1 | grep . || echo 0
}

DAEMON_LOG_LEVEL=debug MESH_TEST_SPOOL_CHARGE=1 MESH_TEST_SPOOL_PAUSE_MS=2000 \
    with_hooks start_daemon "$B" "$T/b.log"
pb=$LAST_PID
wait_for 90 "B to spool batches while its worker applies, after an apply A saw acknowledged" applying_and_more
kill -KILL "$pb"
wait "$pb" 2>/dev/null || true
acked_at_kill=$(acked)
applied=$(sed -n "s/.*applied batches [0-9]*\.\.\([0-9]*\) from .*/\1/p" "$T/b.log" | sort -n | tail -1)
ops=$(sed -n "s/.*applied batches .*: [0-9]* sets, \([0-9]*\) ops stored.*/\1/p" "$T/b.log" | awk "{s += \$1} END {print s + 0}")
had=$(sed -n "s/.*took batches [0-9]*\.\.\([0-9]*\).*/\1/p" "$T/b.log" | sort -n | tail -1)
held=$(mc --home "$B" ls --keys bulk 2>/dev/null | wc -l)
echo "at the kill: B applied batches up to $applied ($ops ops), had up to $had, held $held items; A saw acknowledged up to $acked_at_kill"
[ "$acked_at_kill" -ge 1 ] || fail "no batch was acknowledged before the kill (an apply had ended)"
[ "$acked_at_kill" -le "$applied" ] ||
    fail "B acknowledged batch $acked_at_kill before committing it (applied up to $applied)"
[ "$held" -ge $((ops - 10)) ] || fail "B's store holds $held items, its applies stored $ops ops"
[ "$had" -gt "$acked_at_kill" ] || fail "every batch B had was acknowledged: nothing was in flight"
[ -e "$B/spool" ] && fail "B wrote a spool file"

# Restarted (no hooks): A sends again what B's vector lacks.
DAEMON_LOG_LEVEL=debug start_daemon "$B" "$T/b2.log"; pb=$LAST_PID
wait_for 60 "B to hold A's $N items" sh -c "[ \"\$('$MESHCTL' --home '$B' ls --keys bulk 2>/dev/null | wc -l)\" -eq $N ]"
mc --home "$A" wait bulk --timeout 60 || fail "A not in sync with B"
expect_eq "$(coll_digest "$B" bulk)" "$(coll_digest "$A" bulk)" "B's digest after the restart"
a put bulk after-crash "written after the restart" >/dev/null
wait_for 30 "a later write to reach B" sh -c "'$MESHCTL' --home '$B' get bulk after-crash >/dev/null 2>&1"
[ -e "$B/spool" ] && fail "B wrote a spool file"
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"
echo "ok"
