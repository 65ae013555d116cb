#!/usr/bin/env bash
# tests/integration/42-lying-watermarks.sh: watermarks that claim dots never signed. Before,
# an 87-byte bundle holding no set and one watermark (C, inc, 1000000) made A skip C's items,
# and C's later writes, for good; one at 2^64-1 on A's own origin wrapped A's next seq to 0,
# so every later put in that collection failed. Now a watermark is taken only up to the
# latest signed header of its origin that A holds (PROTOCOL §5.5): A keeps every item past
# it, by file and by session, and keeps writing; what a claim can hide below such a header
# (part 2b) A holds again after its next session with an honest member, whose repair its
# log names (PROTOCOL §14).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "watermarks cannot hide data or wrap a seq"
[ -x "$FORGE" ] || fail "no forge at $FORGE (make testing builds it)"

three_devices # A: the victim, B: the liar (its bundles need no key: marks are not signed), C: honest
for h in a b c; do
    for id in "$ida" "$idb" "$idc"; do $h peer add "$id" >/dev/null 2>&1 || true; done
done
inc_of() { # HOME-FUNCTION COLL KEY: the incarnation (decimal) of the version of KEY
    local hex
    hex=$($1 dump "$2" | awk -F'\t' -v k="$3" '$1 == k { split($2, d, ":"); print d[2] }')
    [ -n "$hex" ] || fail "no version of $3 in $2"
    echo $((16#$hex))
}
c put docs e1 one >/dev/null
c export -o "$T/c1.bundle" >/dev/null
a import "$T/c1.bundle" >/dev/null
for i in 2 3 4 5; do c put docs "e$i" "v$i" >/dev/null; done
incc=$(inc_of c docs e1)

# 1. By file: a bundle of no set and one watermark claiming C's seq 1000000.
FORGE_MARKS="$idc/$incc/1000000" "$FORGE" "$B" "$T/lie.bundle" docs 1 1 none
[ "$(stat -c %s "$T/lie.bundle")" -lt 200 ] || fail "the lie is not a small file"
a import "$T/lie.bundle" >/dev/null || fail "import of the lie"
c export -o "$T/c2.bundle" >/dev/null
a import "$T/c2.bundle" >"$T/out" || fail "import of C's writes"
for i in 2 3 4 5; do expect_eq "$(a get docs "e$i")" "v$i" "C's e$i on A after the lie"; done

# 2. A watermark of 2^64-1 on A's own origin: A keeps writing.
a put mine k1 first >/dev/null
inca=$(inc_of a mine k1)
FORGE_MARKS="$ida/$inca/18446744073709551615" "$FORGE" "$B" "$T/wrap.bundle" mine 1 1 none
a import "$T/wrap.bundle" >/dev/null || fail "import of the wrap"
a put mine k2 second >/dev/null || fail "A's put after the wrap: $(a put mine k2 second 2>&1)"
expect_eq "$(a get mine k2)" "second" "A's write after the wrap"
seq2=$(a dump mine | awk -F'\t' '$1 == "k2" { split($2, d, ":"); print d[3] }')
expect_eq "$seq2" "2" "the seq of A's next write"

# 2b. A lie over seqs A never got, below a header A holds: C writes g1..g3 (seqs 1..3 of
# 'gap'), then g4; A gets g4's set alone (an export since B's vector, which holds g1..g3).
# A claim of C's seq 4 is within what A can show was signed (the header of seq 4), so it
# raises A's vector over 1..3, and g1..g3 are hidden from A's delta syncs: what a lying
# member can make A believe until its next session with an honest member (PROTOCOL §14).
# Part 3 checks that that session repairs it by the slow path, and that A's log says so.
for i in 1 2 3; do c put gap "g$i" "w$i" >/dev/null; done
c export gap -o "$T/g3.bundle" >/dev/null
b import "$T/g3.bundle" >/dev/null
b vector -o "$T/b.vec" >/dev/null
c put gap g4 w4 >/dev/null
c export gap --since "$T/b.vec" -o "$T/g4.bundle" >/dev/null
a import "$T/g4.bundle" >/dev/null || fail "import of C's g4 alone"
expect_eq "$(a get gap g4)" "w4" "C's g4 on A"
a get gap g1 >/dev/null 2>&1 && fail "A holds g1 before the lie: the case is not set up"
incg=$(inc_of c gap g1)
FORGE_MARKS="$idc/$incg/4" "$FORGE" "$B" "$T/gap-lie.bundle" gap 1 1 none
a import "$T/gap-lie.bundle" >/dev/null || fail "import of the gap lie"
a import "$T/g3.bundle" >"$T/out" || fail "import of C's g1..g3 after the gap lie"
a get gap g1 >/dev/null 2>&1 &&
    fail "the gap lie hid nothing (A took C's g1..g3 after it): this part tests nothing"

# 3. The same lies reach A while C writes more; after A's next session with C, A holds
# every item of C and both dumps are equal; the gap part 2b hid is repaired, and A's log
# names that repair (warn level: collection, peer, reason, items and bytes).
FORGE_MARKS="$idc/$incc/1000000" "$FORGE" "$B" "$T/lie2.bundle" docs 1 1 none
for i in 6 7 8; do c put docs "e$i" "v$i" >/dev/null; done
a import "$T/lie2.bundle" >/dev/null || fail "import of the second lie"
start_daemon "$A" "$T/a.log"; ea=$EP
c peer add "$ida" "$ea" >/dev/null
start_daemon "$C" "$T/c.log"
# 'wait' says in sync only once the digests agree too (equal vectors are not enough: the
# gap lie left A's vector equal to C's with items missing)
a wait docs gap --peers 1 --timeout 30 >/dev/null || fail "A's wait for docs and gap: $(a status)"
[ "$(a dump gap)" = "$(c dump gap)" ] || fail "A's wait said in sync while A lacks C's gap items: $(a dump gap)"
wait_for 30 "A and C to hold the same docs" sh -c \
    "[ \"\$('$MESHCTL' --home '$A' dump docs)\" = \"\$('$MESHCTL' --home '$C' dump docs)\" ]"
for i in 6 7 8; do expect_eq "$(a get docs "e$i")" "v$i" "C's e$i on A after the session"; done
wait_for 30 "A and C to hold the same gap" sh -c \
    "[ \"\$('$MESHCTL' --home '$A' dump gap)\" = \"\$('$MESHCTL' --home '$C' dump gap)\" ]"
for i in 1 2 3 4; do expect_eq "$(a get gap "g$i")" "w$i" "C's g$i on A after the session"; done
wait_for 10 "A's log to name the repair of gap" grep -Eq \
    "\[warn\] repair of collection \"gap\" with .*: [0-9]+ items in \([0-9]+ bytes\)" "$T/a.log" "$T/c.log"
grep -E "repair of collection \"gap\"" "$T/a.log" "$T/c.log" | grep -Eq ": [1-9][0-9]* items (in|out)" ||
    fail "no repair of gap moved an item: $(grep -h repair "$T/a.log" "$T/c.log")"
# 4. By session: B, a member, says HELLO to A's daemon and sends the claims as BATCHes (at
# 2^64-1 of A's own origin and of C's, and 1000000 of C's); A acknowledges them, and still
# holds every item of C, takes C's next write, and keeps writing its own.
FRAMES=$(dirname "$FORGE")/frames
[ -x "$FRAMES" ] || fail "no frames tool at $FRAMES"
FORGE_MARKS="$idc/$incc/1000000,$idc/$incc/18446744073709551615" \
    "$FORGE" "$B" "$T/lie3.bundle" docs 1 1 none
FORGE_MARKS="$ida/$inca/18446744073709551615" "$FORGE" "$B" "$T/wrap2.bundle" mine 1 1 none
FRAMES_BUNDLE="$T/lie3.bundle" "$FRAMES" "$B" "$ea" "$ida" 2 1 >"$T/frames.out" ||
    fail "the lying member's BATCHes: $(cat "$T/frames.out")"
FRAMES_BUNDLE="$T/wrap2.bundle" "$FRAMES" "$B" "$ea" "$ida" 1 1 >>"$T/frames.out" ||
    fail "the lying member's BATCH on A's own origin: $(cat "$T/frames.out")"
c put docs e9 "v9" >/dev/null
wait_for 30 "A to hold C's e9 after the lies" sh -c "'$MESHCTL' --home '$A' get docs e9 2>/dev/null | grep -qx v9"
for i in 2 3 4 5 6 7 8; do expect_eq "$(a get docs "e$i")" "v$i" "C's e$i on A after the session lies"; done
a put mine k3 third >/dev/null || fail "A's put after the session's wrap"
wait_for 30 "A and C to hold the same docs again" sh -c \
    "[ \"\$('$MESHCTL' --home '$A' dump docs)\" = \"\$('$MESHCTL' --home '$C' dump docs)\" ]"
echo "ok: lying watermarks move nothing past what was signed, by file and by session; A keeps every item and writing"
