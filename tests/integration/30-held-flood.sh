#!/usr/bin/env bash
# tests/integration/30-held-flood.sh: a flood of held-back sets stays under the caps of
# docs/PROTOCOL.md §8.1. A (the victim) holds an honest member M's data, and holds back
# the sets of P, a device it will add later. Then 40 throwaway keys sign 1 MB each and
# their bundles are imported into A, one after another; one of them (X) signs 5 MB in
# five 1 MB sets (and its genesis record). What must hold after:
# - the held bytes (meshctl held --json) are within the total cap (16 MiB), and A's store
#   file is within the cap plus a margin (before the caps it grew by the whole 45 MB);
# - the oldest went first: P's sets and the first throwaway keys' are gone, the last ones
#   are listed; X keeps only its 4 newest sets (4 MiB per device), so once added, its
#   first value is missing and its last four are there;
# - M's data on A is intact: every value and the collection's digest equal M's.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "held-back sets: a 45 MB flood from 41 throwaway keys stays under the caps, oldest dropped"
command -v python3 >/dev/null || skip "no python3"

N=40                  # throwaway keys, 1 MB each
CAP=$((16 << 20))     # HELD_BYTES_MAX
MARGIN=$((12 << 20))  # what LMDB may keep beside the live pages (free pages, the last commit's)

# held_json HOME EXPR: evaluate a Python expression over `meshctl held --json` (as d).
held_json() {
    mc --home "$1" --json held | python3 -c '
import json, sys
d = json.load(sys.stdin)
by = {o["origin"]: o for o in d["origins"]}
print(eval(sys.argv[1]))' "$2"
}

A=$(mk_home) M=$(mk_home) P=$(mk_home)
a() { mc --home "$A" "$@"; }
m() { mc --home "$M" "$@"; }
mc --home "$A" init --name victim >/dev/null
idm=$(m init --name honest)
idp=$(mc --home "$P" init --name pending)
a peer add "$idm"
head -c 1000000 /dev/urandom | base64 -w0 | head -c 1000000 >"$T/big"
for i in 1 2 3; do m put data "k$i" "honest value $i"; done
m put data big - <"$T/big"
m export -o "$T/m.bundle" >/dev/null
a import "$T/m.bundle" | grep -q ", 0 held back, 0 rejected$" || fail "M's bundle on A"
mc --home "$P" put data p1 pending-value
mc --home "$P" export -o "$T/p.bundle" >/dev/null
a import "$T/p.bundle" | grep -q ", 2 held back, 0 rejected$" || fail "P's bundle on A"
expect_eq "$(held_json "$A" "by['$idp']['sets']")" 2 "P's sets held on A"
size0=$(stat -c %s "$A/store/data.mdb")

# The flood: throwaway keys, 1 MB each, imported one bundle at a time; X signs five sets.
X=$(mk_home)
idx=$(mc --home "$X" init --name x)
for i in 1 2 3 4 5; do
    head -c 1000000 /dev/urandom | base64 -w0 | head -c 1000000 | mc --home "$X" put x "v$i" -
done
mc --home "$X" export -o "$T/x.bundle" >/dev/null
a import "$T/x.bundle" | grep -q ", 6 held back, 0 rejected$" || fail "X's bundle on A"
expect_eq "$(held_json "$A" "by['$idx']['sets']")" 4 "X's sets held: its 4 newest"
ids=()
for i in $(seq 1 $N); do
    H=$(mk_home)
    ids+=("$(mc --home "$H" init)")
    head -c 1000000 /dev/urandom | base64 -w0 | head -c 1000000 | mc --home "$H" put junk v -
    mc --home "$H" export -o "$T/j.bundle" >/dev/null
    a import "$T/j.bundle" >"$T/out" || fail "import of flood bundle $i: $(cat "$T/out")"
    rm -rf "$H"
done

# Bounded: the held bytes within the cap, the store file within the cap and a margin.
held=$(held_json "$A" "d['bytes']")
[ "$held" -le "$CAP" ] || fail "held bytes $held over the cap $CAP"
size=$(stat -c %s "$A/store/data.mdb")
echo "store file: $size0 bytes before the flood, $size after; held: $held bytes"
[ "$size" -le $((size0 + CAP + MARGIN)) ] || fail "store file grew from $size0 to $size bytes"
dropped=$(held_json "$A" "d['dropped_sets']")
[ "$dropped" -ge $((N - 16)) ] || fail "only $dropped sets dropped"

# Oldest first: P and X (the oldest) and the first flood keys are gone; the last are held.
expect_eq "$(held_json "$A" "'$idp' in by")" False "P still held after the flood"
expect_eq "$(held_json "$A" "'${ids[0]}' in by")" False "the first flood key still held"
expect_eq "$(held_json "$A" "by['${ids[N - 1]}']['sets']")" 2 "the last flood key's sets"
a held >"$T/held"
grep -q "^${ids[N - 1]}	2 sets	" "$T/held" || fail "meshctl held lacks the last key: $(cat "$T/held")"
grep -q "^held back: .* dropped so far: $dropped sets, " "$T/held" ||
    fail "meshctl held's totals: $(cat "$T/held")"

# M's data is intact: every value, and the digest of the collection.
expect_eq "$(a get data k2)" "honest value 2" "M's k2 on A"
cmp -s <(a get data big) "$T/big" || fail "M's 1 MB value on A changed"
expect_eq "$(a dump data | tail -n1)" "$(m dump data | tail -n1)" "A's digest of M's data"

# X's per-device cap dropped its oldest: after the flood X is gone too (total cap); its
# bundle again, then peer add: the 4 newest values apply, the first was dropped at import.
a import "$T/x.bundle" >/dev/null
expect_eq "$(held_json "$A" "by['$idx']['sets']")" 4 "X's sets held again"
a peer add "$idx" >"$T/out"
grep -q "^applied 4 of the 4 sets held back from $idx " "$T/out" || fail "peer add X: $(cat "$T/out")"
expect_exit 1 a get x v1
for i in 2 3 4 5; do a get x "v$i" >/dev/null || fail "X's v$i on A after peer add"; done
