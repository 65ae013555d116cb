#!/usr/bin/env bash
# tests/integration/53-context-cycle-split.sh: two sets that each name a dot only the other's
# header reaches (A's write of y names B's seq 1, B's write of x names A's seq 1, and no other
# header of either origin exists: their first sets were superseded), delivered in separate
# BATCH frames of separate sessions, as a live pass of 1 MiB frames imported a few at a time
# can bring them. Before, each waited for the other at every pass, for good. Now the first
# leaves a "signed up to" record of its header (PROTOCOL §5.3): the second applies, and the
# first, sent again (the sender's next pass), applies too. The same by file, one set a file.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a context cycle split across BATCH frames ends applied"
[ -x "$FORGE" ] || fail "no forge at $FORGE (make testing builds it)"
FRAMES=$(dirname "$FORGE")/frames
[ -x "$FRAMES" ] || fail "no frames tool at $FRAMES"

three_devices # A and B: the writers (their sets made by forge), C: the receiver
for h in a b c; do
    for id in "$ida" "$idb" "$idc"; do $h peer add "$id" >/dev/null 2>&1 || true; done
done
# seq 2 of each, of incarnations 7 (A) and 9 (B): a header reaching seq 2 is all C may see
"$FORGE" "$A" "$T/a2.bundle" docs 7 2 "put:y:a2:$idb/9/1"
"$FORGE" "$B" "$T/b2.bundle" docs 9 2 "put:x:b2:$ida/7/1"

# 1. By file, one set a file: a2 waits, b2 applies, a2 again applies.
W=$(mk_home)
w() { mc --home "$W" "$@"; }
w init --name delta >/dev/null
for id in "$ida" "$idb"; do w peer add "$id" >/dev/null; done
w import "$T/a2.bundle" >"$T/out" || fail "import a2: $(cat "$T/out")"
grep -q ", 1 waiting$" "$T/out" || fail "a2 alone does not wait: $(cat "$T/out")"
w import "$T/b2.bundle" >"$T/out" || fail "import b2: $(cat "$T/out")"
grep -q "^applied 1 set" "$T/out" && ! grep -q waiting "$T/out" ||
    fail "b2 waits after a2 waited: $(cat "$T/out")"
w import "$T/a2.bundle" >"$T/out" || fail "import a2 again: $(cat "$T/out")"
grep -q "^applied 1 set" "$T/out" && ! grep -q waiting "$T/out" ||
    fail "a2 waits again: $(cat "$T/out")"
expect_eq "$(w get docs x)" "b2" "W's x"
expect_eq "$(w get docs y)" "a2" "W's y"

# 2. By session: A's set in a BATCH of A's session, B's in one of B's, then A's again.
start_daemon "$C" "$T/c.log"; ec=$EP
FRAMES_BUNDLE="$T/a2.bundle" "$FRAMES" "$A" "$ec" "$idc" 1 1 >"$T/f1" ||
    fail "A's BATCH: $(cat "$T/f1")"
wait_for 30 "C to log a2 waiting" grep -q "waits for seq 1 of $idb" "$T/c.log"
FRAMES_BUNDLE="$T/b2.bundle" "$FRAMES" "$B" "$ec" "$idc" 1 1 >"$T/f2" ||
    fail "B's BATCH: $(cat "$T/f2")"
wait_for 30 "C to hold b2" sh -c "'$MESHCTL' --home '$C' get docs x 2>/dev/null | grep -qx b2"
FRAMES_BUNDLE="$T/a2.bundle" "$FRAMES" "$A" "$ec" "$idc" 1 1 >"$T/f3" ||
    fail "A's BATCH again: $(cat "$T/f3")"
wait_for 30 "C to hold a2" sh -c "'$MESHCTL' --home '$C' get docs y 2>/dev/null | grep -qx a2"
# the same store as W's: the same versions and digest (dump's last line)
expect_eq "$(c dump docs)" "$(w dump docs)" "C's and W's docs"
grep -q "^digest " <(c dump docs) || fail "no digest line in dump"
echo "ok: the cycle's sets apply across separate batches, by file and by session"
