#!/usr/bin/env bash
# tests/integration/120-fork-cap.sh: an origin that signs more overlapping headers for one
# incarnation than the fork cap allows (RULES_FORKS_MAX, 256 derived incarnations, PROTOCOL.md
# §5.7): here B's key signs 257 sets, each at seq 1 with a key of its own (tests/tools/forge).
# What must hold after: the first 256 are kept (each under its own derived incarnation), the
# one past the cap is refused with MESH_EFORK and said so in the import report; the store is
# not damaged (ls, get, dump and export work); the cap is per (origin, incarnation), so B's
# sets of another incarnation, C's sets and A's own writes still apply; and a device that
# receives the kept 256 from A (by file, then by a live session) ends with the same items.
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
set +e
a import "$T/forks.bundle" >"$T/imp.out" 2>"$T/imp.err"
rc=$?
set -e
expect_eq "$rc" 1 "import's exit status with a set refused"
grep -q "applied 256 sets (256 versions), 0 already known, 0 held back, 1 rejected" "$T/imp.out" ||
    fail "import report: $(head -1 "$T/imp.out")"
grep -q "more than 256 forked headers for one incarnation" "$T/imp.out" ||
    fail "the refused set's line does not name the cap: $(cat "$T/imp.out")"

# 2. The store is whole: every kept write readable, the refused one absent
keys=$(a ls --keys x) || fail "ls failed after the cap"
expect_eq "$(echo "$keys" | wc -l)" 256 "keys kept"
expect_eq "$(a get x k1)" v1 "the first fork's write"
expect_eq "$(a get x k256)" v256 "the 256th fork's write"
if a get x k257 >/dev/null 2>&1; then fail "the set past the cap was applied"; fi
a dump x >"$T/a.dump" || fail "dump failed after the cap"
a export -o "$T/a.bundle" >/dev/null || fail "export failed after the cap"

# 3. Again: nothing changes, nothing is damaged
set +e
a import "$T/forks.bundle" >"$T/imp2.out" 2>&1
set -e
grep -q "applied 0 sets" "$T/imp2.out" || fail "a second import: $(head -1 "$T/imp2.out")"
a dump x >"$T/a2.dump"
cmp -s "$T/a.dump" "$T/a2.dump" || fail "a second import changed the collection"

# 4. The cap is B's, for incarnation 7 only: B's incarnation 8, C's sets and A's own apply
"$FORGE" "$B" "$T/b8.bundle" x 8 1 put:other:8
"$FORGE" "$C" "$T/c.bundle" x 9 1 put:cee:9
a import "$T/b8.bundle" | grep -q "applied 1 set" || fail "B's set of another incarnation"
a import "$T/c.bundle" | grep -q "applied 1 set" || fail "C's set"
a put x mine 1 >/dev/null || fail "A cannot write after the cap"
expect_eq "$(a get x other)" 8 "B's write of incarnation 8"
expect_eq "$(a get x cee)" 9 "C's write"
expect_eq "$(a get x mine)" 1 "A's own write"

# 5. What A kept reaches C the same, by file: the same 256 forks, all under the cap
c import "$T/a.bundle" 2>"$T/c.err" | grep -q "0 rejected" || fail "C's import of A's 256 forks"
c dump x >"$T/c.dump"
cmp -s "$T/a.dump" "$T/c.dump" || fail "C, given A's export, holds other items than A did"

# 6. And by a live session: the rest of A's collection reaches C; equal digests after
start_daemon "$A" "$T/a.log"; ea=$EP
start_daemon "$C" "$T/c.log"; ec=$EP
a peer add "$idc" "$ec" >/dev/null
c peer add "$ida" "$ea" >/dev/null
wait_for 30 "C holds A's later writes" sh -c "'$MESHCTL' --home '$C' get x mine >/dev/null 2>&1 &&
    '$MESHCTL' --home '$C' get x cee >/dev/null 2>&1 && '$MESHCTL' --home '$C' get x other >/dev/null 2>&1"
da=$(coll_digest "$A" x)
wait_for 30 "C's digest equal to A's" sh -c "'$MESHCTL' --home '$C' status --json | grep -q '$da'"
expect_eq "$(c ls --keys x | wc -l)" 259 "keys on C (256 forks, B's 8, C's, A's)"
echo ok
