#!/usr/bin/env bash
# tests/integration/120-fork-cap.sh: an origin that signs more overlapping headers for one
# incarnation than the fork cap allows (RULES_FORKS_MAX, 256 derived incarnations, PROTOCOL.md
# §5.7): here B's key signs 257 sets, each at seq 1 with a key of its own (tests/tools/forge).
# What must hold after: the first 256 are kept (each under its own derived incarnation), the
# one past the cap is refused with MESH_EFORK and said so in the import report; the store is
# not damaged (ls, get, dump and export work); the cap is per (origin, incarnation), so B's
# sets of another incarnation (forked too), C's sets and A's own writes still apply; and a
# device that receives the kept 256 from A, by file, or by a live session only, ends with the
# same items and digest.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "past 256 forks of one incarnation: the one past the cap refused, nothing else lost"
[ -x "$FORGE" ] || fail "no forge at $FORGE (make testing builds it)"

three_devices # A: the receiver; B: the forking origin (never runs); C: a second receiver
for h in a c; do
    for id in "$ida" "$idb" "$idc"; do $h peer add "$id" >/dev/null 2>&1 || true; done
done

ops=()
for i in $(seq 1 257); do
    [ "$i" -gt 1 ] && ops+=(--)
    ops+=("put:k$i:v$i")
done
FORGE_SAME_SEQ=1 "$FORGE" "$B" "$T/forks.bundle" x 7 1 "${ops[@]}"

# 1. All 257 at once: 256 applied, the last refused by the cap; import exits 1 (a set refused)
expect_exit 1 a import "$T/forks.bundle"
grep -q "^applied 256 sets (256 versions), 0 already known, 0 held back, 1 rejected$" "$T/stdout" ||
    fail "import report: $(head -1 "$T/stdout")"
grep -q "more than 256 forked headers for one incarnation" "$T/stdout" ||
    fail "the refused set's line does not name the cap: $(cat "$T/stdout")"

# 2. The store is whole: every kept write readable, the refused one absent
keys=$(a ls --keys x) || fail "ls failed after the cap"
expect_eq "$(echo "$keys" | wc -l)" 256 "keys kept"
expect_eq "$(a get x k1)" v1 "the first fork's write"
expect_eq "$(a get x k256)" v256 "the 256th fork's write"
if a get x k257 >/dev/null 2>&1; then fail "the set past the cap was applied"; fi
a dump x >"$T/a.dump" || fail "dump failed after the cap"
a export -o "$T/a.bundle" >/dev/null || fail "export failed after the cap"

# 3. Again: the 256 known, the one past the cap refused again, nothing changed
expect_exit 1 a import "$T/forks.bundle"
grep -q "^applied 0 sets (0 versions), 256 already known, 0 held back, 1 rejected$" "$T/stdout" ||
    fail "a second import: $(head -1 "$T/stdout")"
a dump x >"$T/a2.dump"
cmp -s "$T/a.dump" "$T/a2.dump" || fail "a second import changed the collection"

# 4. The cap is B's, for incarnation 7 only: a fork of B's incarnation 8 (two overlapping
# headers) keeps both sides, and C's sets and A's own writes apply
FORGE_SAME_SEQ=1 "$FORGE" "$B" "$T/b8.bundle" x 8 1 put:other:8 -- put:other2:8b
"$FORGE" "$C" "$T/c.bundle" x 9 1 put:cee:9
expect_exit 0 a import "$T/b8.bundle"
grep -q "^applied 2 sets (2 versions), 0 already known, 0 held back, 0 rejected$" "$T/stdout" ||
    fail "B's fork of another incarnation: $(cat "$T/stdout")"
expect_exit 0 a import "$T/c.bundle"
a put x mine 1 >/dev/null || fail "A cannot write after the cap"
expect_eq "$(a get x other)" 8 "B's write of incarnation 8"
expect_eq "$(a get x other2)" 8b "the other side of B's fork of incarnation 8"
expect_eq "$(a get x cee)" 9 "C's write"
expect_eq "$(a get x mine)" 1 "A's own write"

# 5. What A kept after the cap reaches C the same, by file: all 256 under the cap
expect_exit 0 c import "$T/a.bundle"
# (the 256 of x, and A's own records in _mesh)
grep -q "^applied [0-9]* sets ([0-9]* versions), 0 already known, 0 held back, 0 rejected$" "$T/stdout" ||
    fail "C's import of A's 256 forks: $(head -1 "$T/stdout")"
c dump x >"$T/c.dump"
cmp -s "$T/a.dump" "$T/c.dump" || fail "C, given A's export, holds other items than A did"

# 6. And by a live session only: a fresh device D, told of A and B, syncs with A and ends
# with all 260 keys (256 forks, B's two of incarnation 8, C's, A's) and A's digest
D=$(mk_home)
d() { mc --home "$D" "$@"; }
idd=$(d init --name delta)
d peer add "$idb" >/dev/null
d peer add "$idc" >/dev/null
start_daemon "$A" "$T/a.log"; pa=$LAST_PID ea=$EP
start_daemon "$D" "$T/d.log"; pd=$LAST_PID ed=$EP
a peer add "$idd" "$ed" >/dev/null
d peer add "$ida" "$ea" >/dev/null
da=$(coll_digest "$A" x)
d_like_a() { [ "$(coll_digest "$D" x)" = "$da" ]; }
wait_for 30 "D's digest of x equal to A's" d_like_a
expect_eq "$(d ls --keys x | wc -l)" 260 "keys on D"
expect_eq "$(d get x k128)" v128 "a fork's write on D"
grep -q "signed more than 256" "$T/a.log" "$T/d.log" && fail "a daemon met the cap: the kept forks alone pass it"
kill -TERM "$pa" "$pd"
wait_pids 20 "$pa" "$pd"
echo ok
