#!/usr/bin/env bash
# tests/integration/49-share-priv.sh: sharing per collection (PROTOCOL.md §8.3) on three real
# daemons A, B, C, each connected to the other two. A shares "priv" with B only. After it
# must hold: B receives A's writes to priv and A receives B's; C receives nothing of priv,
# neither from A nor relayed through B (which holds it), while "pub" keeps syncing to C;
# C's own local writes to priv reach nobody; a set of priv signed by C (tests/tools/forge)
# is rejected by A and by B (counted, never applied); C may not share priv; members lists
# who may hold it on every device.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a collection shared with B only never reaches C, directly or relayed; C's sets of it are refused"
[ -x "$FORGE" ] || fail "no forge at $FORGE (make testing builds it)"

three_devices
start_daemon "$A" "$T/a.log"; pa=$LAST_PID ea=$EP
start_daemon "$B" "$T/b.log"; pb=$LAST_PID eb=$EP
start_daemon "$C" "$T/c.log"; pc=$LAST_PID ec=$EP
a peer add "$idb" "$eb"; a peer add "$idc" "$ec"
b peer add "$ida" "$ea"; b peer add "$idc" "$ec"
c peer add "$ida" "$ea"; c peer add "$idb" "$eb"

a share priv "$idb"
a put priv k1 "from A"
a put pub p1 "public from A"
wait_for 30 "A's priv write on B" b get priv k1
b put priv k2 "from B"
b put pub p2 "public from B, after its priv write"
wait_for 30 "B's priv write on A" a get priv k2
# pub's writes were made after priv's, by the same devices, on the same sessions: once they
# are on C, anything of priv sent to C would be there too.
wait_for 30 "A's pub write on C" c get pub p1
wait_for 30 "B's pub write on C" c get pub p2
expect_exit 1 c get priv k1
expect_exit 1 c get priv k2
c ls | grep -qx priv && fail "C lists the collection priv: $(c ls)"

# every device holds the list: A and B may hold priv, C may not, and may not share it
want=$(printf '%s\n%s\n' "$ida" "$idb" | sort)
same_members() { [ "$(mc --home "$1" members priv | sort)" = "$want" ]; }
for home in "$A" "$B" "$C"; do
    wait_for 30 "the access list on $home" same_members "$home"
done
expect_eq "$(a members | wc -l)" 3 "members of the mesh"
a --json members pub | grep -q '"restricted":false' || fail "pub has a list: $(a --json members pub)"
expect_eq "$(a members pub | wc -l)" 3 "who may hold pub"
expect_fail_with "not in the access list" c share priv "$idc"

# C writes priv locally: nobody receives it (no export carries a non-member's sets)
c put priv local "C's own"
c put pub p3 "public from C, after its priv write"
wait_for 30 "C's pub write on A" a get pub p3
wait_for 30 "C's pub write on B" b get pub p3
expect_exit 1 a get priv local
expect_exit 1 b get priv local

# a set of priv signed by C, well signed, is rejected by A and by B
"$FORGE" "$C" "$T/forged.bundle" priv 777 1 "put:evil:forged by C"
for h in a b; do
    expect_exit 1 $h import "$T/forged.bundle"
    grep -q "1 set rejected" "$T/stderr" || fail "$h: import did not say one set was rejected: $(cat "$T/stderr")"
    grep -q "access list of \"priv\" does not hold" "$T/stdout" "$T/stderr" ||
        fail "$h: the rejection does not say why: $(cat "$T/stdout" "$T/stderr")"
    expect_exit 1 $h get priv evil
done
expect_eq "$(a get priv k2)" "from B" "A keeps B's write"
expect_eq "$(b get priv k1)" "from A" "B keeps A's write"

kill -TERM "$pa" "$pb" "$pc"
wait_pids 10 "$pa" "$pb" "$pc"
echo ok
