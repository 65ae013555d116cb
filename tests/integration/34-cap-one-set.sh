#!/usr/bin/env bash
# tests/integration/34-cap-one-set.sh: a set whose data passes a cap of the store (here the
# 257th version of one key, signed by a lying member with tests/tools/forge) is rejected
# alone, with its reason in the log: the honest sets beside it in the same bundle or the same
# batch are applied, and the session that carried it is never dropped (before, the whole
# batch failed with "too big", again at every resend, and the sender's other data never came).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
DAEMON_LOG_LEVEL=debug # (the test reads its debug lines)
describe "a set past a cap is rejected alone; the batch beside it applies"
[ -x "$FORGE" ] || fail "no forge at $FORGE (make testing builds it)"

three_devices # A: the victim, B: the lying member (never runs), C: an honest member
for h in a b c; do
    for id in "$ida" "$idb" "$idc"; do $h peer add "$id" >/dev/null 2>&1 || true; done
done

# 1. By file: 257 sets from B, each a version of k whose context covers nothing (so none
# supersedes another), and one more set of another key.
args=()
for i in $(seq 1 257); do args+=("put:k:v$i" --); done
"$FORGE" "$B" "$T/all.bundle" x 9 1 "${args[@]}" "put:other:fine"
expect_exit 1 a import "$T/all.bundle"
grep -q "1 set rejected" "$T/stderr" || fail "import did not say one set was rejected: $(cat "$T/stderr")"
grep -q "256 versions of one key" "$T/stdout" "$T/stderr" ||
    fail "the rejection does not name the cap: $(cat "$T/stdout" "$T/stderr")"
expect_eq "$(a get x other)" "fine" "the set beside the one past the cap"
expect_eq "$(a get --all x k 2>/dev/null | wc -l)" 256 "versions of k kept"

# 2. By session: C holds 256 versions of j (B's seqs 1..256 of incarnation 10), A one more
# (B's seq 257), and C has writes of its own. C's pass to A carries them all.
args=()
for i in $(seq 1 256); do args+=("put:j:w$i" --); done
"$FORGE" "$B" "$T/256.bundle" x 10 1 "${args[@]:0:$((${#args[@]} - 1))}"
"$FORGE" "$B" "$T/257.bundle" x 10 257 "put:j:w257"
c import "$T/256.bundle" >/dev/null
a import "$T/257.bundle" >/dev/null
for i in $(seq 1 20); do c put honest "h$i" "from C" >/dev/null; done

start_daemon "$A" "$T/a.log"; ea=$EP
c peer add "$ida" "$ea" >/dev/null
start_daemon "$C" "$T/c.log"
wait_for 60 "A to hold C's honest writes" sh -c "[ \"\$('$MESHCTL' --home '$A' ls --keys honest 2>/dev/null | wc -l)\" -eq 20 ]"
wait_for 30 "A to log the set it left out" grep -q "passes a cap of the store (256 versions of one key)" "$T/a.log"
! grep -q "dropping the session" "$T/a.log" "$T/c.log" ||
    fail "a session was dropped: $(grep -h "dropping the session" "$T/a.log" "$T/c.log")"
expect_eq "$(a get --all x j 2>/dev/null | wc -l)" 256 "versions of j on A"
# C sees that A took none of what it sent again and stops there, until something changes
# (before, it sent the set again at once, for good: hundreds of batches a minute).
wait_for 30 "C to stop sending what A leaves out" grep -q "took none of the last pass" "$T/c.log"
n=$(grep -c "\[warn\] a set of .* passes a cap of the store (256 versions of one key)" "$T/a.log")
[ "$n" -le 3 ] || fail "A left the same set out $n times"
c put honest late "after the cap" >/dev/null
wait_for 30 "A to hold C's write made after" sh -c "'$MESHCTL' --home '$A' get honest late 2>/dev/null | grep -q 'after the cap'"

# 3. Collections: one bundle from B with a set in each of 4,200 new collections. The home
# holds at most 4,096 (_mesh included): the sets of the first 4,095 apply, the rest are
# rejected alone (one round, not one per set), and a local write to a new one says why.
V=$(mk_home)
mc --home "$V" init --name victim >/dev/null
mc --home "$V" peer add "$idb" >/dev/null
FORGE_SECTIONS=4200 "$FORGE" "$B" "$T/colls.bundle" c 3 1 "put:k:v"
expect_exit 1 mc --home "$V" import "$T/colls.bundle"
grep -q "applied 4095 sets" "$T/stdout" || fail "not 4,095 sets applied: $(head -c 300 "$T/stdout")"
grep -q "105 rejected" "$T/stdout" || fail "not 105 sets rejected: $(head -c 300 "$T/stdout")"
expect_eq "$(mc --home "$V" ls | wc -l)" 4095 "collections listed"
expect_exit 1 mc --home "$V" put newcoll k v
grep -q "more than 4096 collections" "$T/stderr" || fail "a new collection past the cap: $(cat "$T/stderr")"
mc --home "$V" put c7 k2 v2 >/dev/null || fail "a write to a collection it has"
echo "ok: the set past the cap left out alone, by file and by session; collections capped"
