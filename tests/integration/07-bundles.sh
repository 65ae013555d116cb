#!/usr/bin/env bash
# tests/integration/07-bundles.sh: sync by file between real meshctl processes and homes.
# B adds A and C, A and C add only B; A's writes reach C only through B's bundle and keep
# A as their origin. A bundle holds no superseded value; a byte flipped in one value gets
# that set alone rejected (exit 1, the reason named) and the rest applied; a second import
# changes nothing (dump and digest byte-identical); a malformed bundle changes nothing.
# Then --since: B holds 100,000 items of A's (put --from-tsv; MESH_TEST_ITEMS=N for
# another count), exported within a deadline; A changes one; the bundle for what B's
# vector lacks is under 2048 bytes, and after it B's dump equals A's.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
N=${MESH_TEST_ITEMS:-100000} # items for the --since part
EXPORT_DEADLINE=60           # seconds for exporting them (well under a minute)
describe "bundles: relay through a third device, tampering, re-import, --since on $N items"
command -v python3 >/dev/null || skip "no python3"

three_devices
b peer add "$ida" tcp://127.0.0.1:7401
b peer add "$idc"
a peer add "$idb"
c peer add "$idb"

# A's writes: a superseded value, a deletion, and the value the tamper case damages.
a put c k1 one
a put c k2 two
a put c k3 SUPERSEDED-0123456789
a put c k3 three
a put c t TAMPERME-0123456789
a del c k2

# A -> B.
a export -o "$T/a.bundle" >"$T/out"
expect_eq "$(cat "$T/out")" "wrote $(wc -c <"$T/a.bundle") bytes to '$T/a.bundle'" "export's line"
if grep -qa SUPERSEDED "$T/a.bundle"; then fail "the bundle holds a superseded value"; fi
grep -qa TAMPERME "$T/a.bundle" || fail "the bundle lacks a live value"
b import "$T/a.bundle" >"$T/out"
grep -q "^applied [1-9][0-9]* sets ([0-9]* versions), 0 already known, 0 held back, 0 rejected$" \
    "$T/out" || fail "B's import of A's bundle: $(cat "$T/out")"
expect_eq "$(b get c k1)" one "B: k1"

# B -> C: C never sees a bundle of A's, and trusts A only through B's add record.
b export -o "$T/b.bundle" >/dev/null
c import "$T/b.bundle" --json >"$T/out"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["applied"] > 0 and d["known"] == 0 and d["held"] == 0 and d["rejected"] == 0, d
assert d["held_sets"] == [] and d["rejected_sets"] == [], d' "$T/out" ||
    fail "C's import of B's bundle: $(cat "$T/out")"
for k in k1 k3 t; do
    expect_eq "$(c get c "$k")" "$(a get c "$k")" "C: $k"
done
expect_fail_with "'k2' not found in 'c'" c get c k2
c get --all --json c k1 | python3 -c '
import json, sys
v = json.load(sys.stdin)["versions"]
assert len(v) == 1 and v[0]["origin"] == sys.argv[1] and v[0]["value"] == "one", v' "$ida" ||
    fail "C: k1's origin is not A"
expect_eq "$(c dump c)" "$(a dump c)" "C's dump against A's"
c peer ls | grep -q "^$ida	alpha	tcp://127.0.0.1:7401$" || fail "C does not list A: $(c peer ls)"

# The same bundle again: nothing applied, the store byte for byte the same.
c dump c >"$T/dump1"
c dump _mesh >"$T/mesh1"
c import "$T/b.bundle" >"$T/out"
grep -q "^applied 0 sets (0 versions), [1-9][0-9]* already known, 0 held back, 0 rejected$" \
    "$T/out" || fail "second import: $(cat "$T/out")"
c dump c >"$T/dump2"
c dump _mesh >"$T/mesh2"
cmp -s "$T/dump1" "$T/dump2" || fail "C's dump changed on a second import"
cmp -s "$T/mesh1" "$T/mesh2" || fail "C's membership changed on a second import"
expect_eq "$(tail -n 1 "$T/dump2")" "$(tail -n 1 "$T/dump1")" "digest line after a second import"

# Export to stdout, import from stdin.
a export c -o - >"$T/a-c.bundle"
[ -s "$T/a-c.bundle" ] || fail "export -o - wrote nothing"
D=$(mk_home)
d() { mc --home "$D" "$@"; }
d init >/dev/null
d peer add "$ida"
d import - <"$T/a-c.bundle" >"$T/out"
grep -q ", 0 rejected$" "$T/out" || fail "import from stdin: $(cat "$T/out")"
expect_eq "$(d dump c)" "$(a dump c)" "D's dump after importing from stdin"

# Tampering: one byte of one value flipped; a fresh node that trusts A gets the rest.
python3 -c '
import sys
data = bytearray(open(sys.argv[1], "rb").read())
at = data.find(b"TAMPERME-0123456789")
assert at > 0 and data.count(b"TAMPERME") == 1
data[at + 9] ^= 0x01
open(sys.argv[2], "wb").write(data)' "$T/a.bundle" "$T/bad.bundle"
E=$(mk_home)
e() { mc --home "$E" "$@"; }
e init >/dev/null
e peer add "$ida"
expect_exit 1 e import "$T/bad.bundle"
grep -q "^applied [1-9][0-9]* sets ([0-9]* versions), 0 already known, 0 held back, 1 rejected$" \
    "$T/stdout" || fail "tampered import's counts: $(cat "$T/stdout")"
grep -q "^rejected 'c' from $ida seq [0-9]*\.\.[0-9]*: .*does not match" "$T/stdout" ||
    fail "tampered import's report names no reason: $(cat "$T/stdout")"
tail -n 1 "$T/stderr" | grep -q "^meshctl: import '.*bad.bundle': 1 set rejected$" ||
    fail "tampered import's error line: $(cat "$T/stderr")"
expect_fail_with "'t' not found in 'c'" e get c t
expect_eq "$(e get c k1)$(e get c k3)" onethree "the untampered sets of the bundle"
expect_eq "$(e ls --keys c)" "$(printf 'k1\nk3')" "E's keys"
e import --json "$T/bad.bundle" >"$T/out" 2>/dev/null && fail "second tampered import exited 0"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["applied"] == 0 and d["rejected"] == 1 and len(d["rejected_sets"]) == 1, d
assert "does not match" in d["rejected_sets"][0], d' "$T/out" ||
    fail "tampered import --json: $(cat "$T/out")"

# A bundle that does not decode is refused whole.
e dump c >"$T/dump1"
head -c 200 "$T/a.bundle" >"$T/short.bundle"
expect_fail_with "import '$T/short.bundle': not a bundle, or a damaged one (malformed encoding)" e import "$T/short.bundle"
printf 'not a bundle' >"$T/junk"
expect_fail_with "malformed encoding" e import "$T/junk"
e dump c >"$T/dump2"
cmp -s "$T/dump1" "$T/dump2" || fail "a malformed bundle changed the store"
expect_fail_with "not found" e import "$T/missing.bundle"
expect_exit 2 e import
expect_exit 2 e export c
expect_exit 2 e vector

# --since: B holds N items of A's; A changes one; the bundle B lacks is small.
python3 -c '
import sys
n = int(sys.argv[2])
with open(sys.argv[1], "w") as f:
    f.writelines("item%06d\tvalue of item %d\n" % (i, i) for i in range(n))' "$T/big.tsv" "$N"
a put --from-tsv "$T/big.tsv" big --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
n = int(sys.argv[1])
assert d["count"] == n and d["sets"] == (n + 9999) // 10000, d' "$N" || fail "put --from-tsv"
expect_eq "$(a get big item000042)" "value of item 42" "A: item000042"
start=$SECONDS
status=0
timeout "$EXPORT_DEADLINE" "$MESHCTL" --home "$A" export big -o "$T/big.bundle" >/dev/null ||
    status=$?
[ "$status" = 0 ] || fail "export of $N items: status $status (124: not done in $EXPORT_DEADLINE s)"
echo "export of $N items: $((SECONDS - start)) s, $(wc -c <"$T/big.bundle") bytes"
b import "$T/big.bundle" >"$T/out"
grep -q "^applied [0-9]* sets\? ($N versions), [0-9]* already known, 0 held back, 0 rejected$" \
    "$T/out" || fail "B's import of $N items: $(cat "$T/out")"
mid=$(printf "item%06d" $((N / 2)))
a put big "$mid" changed
b vector -o "$T/b.vec" >/dev/null
a export --since "$T/b.vec" -o "$T/small.bundle" >/dev/null
size=$(wc -c <"$T/small.bundle")
echo "--since bundle after one change to $N items: $size bytes"
[ "$size" -lt 2048 ] || fail "--since bundle of $size bytes (expected under 2048)"
b import "$T/small.bundle" >"$T/out"
grep -q "^applied 1 set (1 version), 0 already known, 0 held back, 0 rejected$" "$T/out" ||
    fail "B's import of the --since bundle: $(cat "$T/out")"
expect_eq "$(b get big "$mid")" changed "B: the changed item"
a dump big >"$T/dump-a"
b dump big >"$T/dump-b"
cmp -s "$T/dump-a" "$T/dump-b" || fail "B's dump of big differs from A's"
expect_eq "$(tail -n 1 "$T/dump-b" | sed 's/.* keys //')" "$N" "B's key count"

# A vector file that does not decode is refused.
expect_fail_with "malformed encoding" a export --since "$T/junk" -o "$T/x.bundle"
[ ! -e "$T/x.bundle" ] || fail "a failed export left a file"
exit 0
