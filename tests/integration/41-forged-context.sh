#!/usr/bin/env bash
# tests/integration/41-forged-context.sh: a lying member signs a write of k whose causal
# context claims X's seq 2^64-1 (a dot X never signed). Before, the victim stored it and
# every later write of X to k was "obsolete" there, for good. Now the set waits (causal
# delivery, PROTOCOL §5.3): it is not applied while the victim does not hold the dot it
# names, and X's writes stay visible, by file and by session, and the store is the one the
# honest history gives.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a forged causal context cannot hide another device's writes"
[ -x "$FORGE" ] || fail "no forge at $FORGE (make testing builds it)"

three_devices # A: the victim, B: the lying member (never runs a daemon), C: X, an honest writer
for h in a b c; do
    for id in "$ida" "$idb" "$idc"; do $h peer add "$id" >/dev/null 2>&1 || true; done
done
c put docs k "x1" >/dev/null
c export -o "$T/c1.bundle" >/dev/null
a import "$T/c1.bundle" >/dev/null
expect_eq "$(a get docs k)" "x1" "A before the attack"
incx=$(c dump docs | awk -F'\t' '$1 == "k" { split($2, d, ":"); print d[2] }')
[ -n "$incx" ] || fail "no incarnation of C in its dump"
incx=$((16#$incx))

# 1. By file: B's set names C's seq 2^64-1 (and one honest op beside it in another key).
"$FORGE" "$B" "$T/evil.bundle" docs 5 1 "put:k:evil:$idc/$incx/18446744073709551615" \
    -- "put:other:fine"
a import "$T/evil.bundle" >"$T/out" || fail "import of the forged bundle failed: $(cat "$T/out")"
grep -q ", 1 waiting$" "$T/out" || fail "the forged set does not wait: $(cat "$T/out")"
grep -q "^waiting 'docs' from $idb seq 1..1: waits for seq 18446744073709551615 of $idc" "$T/out" ||
    fail "the waiting set's line: $(cat "$T/out")"
expect_eq "$(a get docs k)" "x1" "A's k after the forged set"
expect_eq "$(a get docs other)" "fine" "the honest set beside it"
a import --json "$T/evil.bundle" >"$T/json" || fail "import --json"
python3 - "$T/json" <<'PY' || fail "import --json: $(cat "$T/json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["waiting"] == 1 and len(d["waiting_sets"]) == 1 and d["rejected"] == 0, d
PY

# C writes k again: A shows it (before, it was obsolete on A for good).
c put docs k "x2" >/dev/null
c export -o "$T/c2.bundle" >/dev/null
a import "$T/c2.bundle" >/dev/null
expect_eq "$(a get docs k)" "x2" "C's later write on A"
expect_eq "$(a get --all docs k | wc -l)" 1 "versions of k on A"

# 2. By session: A and C run daemons; C's next writes reach A while the forged set keeps
# waiting; both end with the same store.
start_daemon "$A" "$T/a.log"; ea=$EP
c peer add "$ida" "$ea" >/dev/null
start_daemon "$C" "$T/c.log"
c put docs k "x3" >/dev/null
wait_for 30 "A to hold C's x3" sh -c "'$MESHCTL' --home '$A' get docs k 2>/dev/null | grep -qx x3"
a import "$T/evil.bundle" >"$T/out" || fail "import into a running daemon's home"
grep -q ", 1 waiting$" "$T/out" || fail "the forged set does not wait (2): $(cat "$T/out")"
# B, a member, sends the forged set to A's daemon in a BATCH of a session of its own
FRAMES=$(dirname "$FORGE")/frames
[ -x "$FRAMES" ] || fail "no frames tool at $FRAMES"
FRAMES_BUNDLE="$T/evil.bundle" "$FRAMES" "$B" "$ea" "$ida" 1 1 >"$T/frames.out" ||
    fail "the lying member's BATCH: $(cat "$T/frames.out")"
c put docs k "x4" >/dev/null
wait_for 30 "A to hold C's x4" sh -c "'$MESHCTL' --home '$A' get docs k 2>/dev/null | grep -qx x4"
wait_for 30 "C to hold B's honest write through A" sh -c "'$MESHCTL' --home '$C' get docs other 2>/dev/null | grep -qx fine"
wait_for 30 "A and C to hold the same docs" sh -c \
    "[ \"\$('$MESHCTL' --home '$A' dump docs)\" = \"\$('$MESHCTL' --home '$C' dump docs)\" ]"
expect_eq "$(a get --all docs k | wc -l)" 1 "versions of k on A at the end"
echo "ok: the forged context waits; C's writes stay visible on A, by file and by session"
