#!/usr/bin/env bash
# tests/integration/39-fork-three-headers.sh: three overlapping headers for one incarnation
# (a rollback in place signs S1 = seq 1..5 and S2 = 6..10, then S3 = 1..10; here B's key signs
# them with tests/tools/forge). In every order of arrival, by file, the receiver keeps every
# write of all three, its store stays readable (ls, get, export) and it ends the same as in
# every other order (PROTOCOL.md §5.7); then by session, three live devices that began with
# S1+S2, S3+S1 and S2+S3 all end with the 20 keys and the same dump as every file order. Before, the fork rule compared with one stored set: the store was damaged
# ("an item's version is of another key") and C ended with 5 keys.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "three overlapping headers: every write kept, in every order, on every device"
[ -x "$FORGE" ] || fail "no forge at $FORGE (make testing builds it)"

three_devices # A and C: receivers; B: the forking origin (never runs)
for h in a b c; do
    for id in "$ida" "$idb" "$idc"; do $h peer add "$id" >/dev/null 2>&1 || true; done
done
"$FORGE" "$B" "$T/s1.bundle" x 7 1 put:a1:1 put:a2:2 put:a3:3 put:a4:4 put:a5:5
"$FORGE" "$B" "$T/s2.bundle" x 7 6 put:b6:6 put:b7:7 put:b8:8 put:b9:9 put:b10:10
"$FORGE" "$B" "$T/s3.bundle" x 7 1 put:c1:1 put:c2:2 put:c3:3 put:c4:4 put:c5:5 \
    put:c6:6 put:c7:7 put:c8:8 put:c9:9 put:c10:10

# 1. By file, every order of arrival, on a fresh home each
first=""
for order in "1 2 3" "1 3 2" "2 1 3" "2 3 1" "3 1 2" "3 2 1"; do
    V=$(mk_home)
    mc --home "$V" init --name "v" >/dev/null
    mc --home "$V" peer add "$idb" >/dev/null
    for s in $order; do
        mc --home "$V" import "$T/s$s.bundle" >/dev/null || fail "order $order: import of S$s: $(cat "$T/stderr" 2>/dev/null)"
    done
    keys=$(mc --home "$V" ls --keys x) || fail "order $order: ls failed"
    expect_eq "$(echo "$keys" | wc -l)" 20 "keys after order $order"
    expect_eq "$(mc --home "$V" get x a3)" 3 "a3 after order $order"
    expect_eq "$(mc --home "$V" get x c3)" 3 "c3 after order $order"
    mc --home "$V" export -o "$T/out.bundle" >/dev/null || fail "order $order: export failed"
    dump=$(mc --home "$V" dump x) || fail "order $order: dump failed"
    if [ -z "$first" ]; then
        first="$dump"
    else
        [ "$dump" = "$first" ] || fail "order $order ends unlike order 1 2 3"
    fi
done

# 2. By session, three live devices that each began with another two of the three sets (so
# each takes the third in another order, and from another peer): A holds S1 then S2
# (vector: seq 1..10), C holds S3 then S1 (a fork it moved), D holds S2 then S3. All three
# end with all 20 keys and the same dump, the one every order by file ended with.
D=$(mk_home)
d() { mc --home "$D" "$@"; }
idd=$(d init --name delta)
for id in "$ida" "$idb" "$idc"; do d peer add "$id" >/dev/null 2>&1 || true; done
for h in a c; do $h peer add "$idd" >/dev/null 2>&1 || true; done
a import "$T/s1.bundle" >/dev/null
a import "$T/s2.bundle" >/dev/null
c import "$T/s3.bundle" >/dev/null
c import "$T/s1.bundle" >/dev/null
d import "$T/s2.bundle" >/dev/null
d import "$T/s3.bundle" >/dev/null
start_daemon "$A" "$T/a.log"; ea=$EP
start_daemon "$C" "$T/c.log"; ec=$EP
c peer add "$ida" "$ea" >/dev/null
start_daemon "$D" "$T/d.log"
d peer add "$ida" "$ea" >/dev/null
d peer add "$idc" "$ec" >/dev/null
for h in "$A" "$C" "$D"; do
    wait_for 60 "$h to hold all 20 keys" sh -c "[ \"\$('$MESHCTL' --home '$h' ls --keys x 2>/dev/null | wc -l)\" -eq 20 ]"
done
for h in "$A" "$C" "$D"; do
    wait_for 30 "$h's dump to be the one every order by file ended with" sh -c "[ \"\$('$MESHCTL' --home '$h' dump x 2>/dev/null)\" = \"\$1\" ]" _ "$first"
done
grep -q "fork: " "$T/a.log" "$T/c.log" "$T/d.log" || fail "no device logged the fork"
! grep -q "damaged" "$T/a.log" "$T/c.log" "$T/d.log" || fail "a store was damaged: $(grep -h damaged "$T/a.log" "$T/c.log" "$T/d.log")"
echo "ok: three overlapping headers kept whole in 6 orders by file, and by session on three devices that each began with another two"
