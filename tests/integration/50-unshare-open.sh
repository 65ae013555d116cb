#!/usr/bin/env bash
# tests/integration/50-unshare-open.sh: unsharing a device while its sessions are open
# (PROTOCOL.md §8.3). Three real daemons A, B, C, each connected to the other two; A shares
# "team" with B and C, and all three hold the first writes. Then A unshares B with every
# daemon running. After it must hold: B receives nothing of team written from then on (by A
# at once; by C once C holds the record), on the sessions already open, which still carry
# "pub" to B; A and C keep syncing team with each other; B's own later writes to team reach
# nobody; and every device lists A and C as who may hold team.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "an unshared device receives nothing new of the collection, on open sessions; the others keep syncing"

three_devices
start_daemon "$A" "$T/a.log"; pa=$LAST_PID ea=$EP
start_daemon "$B" "$T/b.log"; pb=$LAST_PID eb=$EP
start_daemon "$C" "$T/c.log"; pc=$LAST_PID ec=$EP
a peer add "$idb" "$eb"; a peer add "$idc" "$ec"
b peer add "$ida" "$ea"; b peer add "$idc" "$ec"
c peer add "$ida" "$ea"; c peer add "$idb" "$eb"

a share team "$idb" "$idc"
a put team k0 "before, from A"
c put team c0 "before, from C"
for h in b c; do wait_for 30 "A's first team write on $h" $h get team k0; done
for h in a b; do wait_for 30 "C's first team write on $h" $h get team c0; done

# A unshares B with every daemon running; A's next team write never goes to B
a unshare team "$idb"
a put team k1 "after, from A"
a put pub p1 "public from A, after its team write"
wait_for 30 "A's pub write on B (the open session still carries pub)" b get pub p1
wait_for 30 "A's team write on C" c get team k1
expect_exit 1 b get team k1

# C writes team once it holds the record: C sends it to A, never to B
want=$(printf '%s\n%s\n' "$ida" "$idc" | sort)
same_members() { [ "$(mc --home "$1" members team | sort)" = "$want" ]; }
for home in "$A" "$B" "$C"; do
    wait_for 30 "the unshare on $home" same_members "$home"
done
c put team c1 "after, from C"
c put pub p2 "public from C, after its team write"
wait_for 30 "C's pub write on B" b get pub p2
wait_for 30 "C's team write on A" a get team c1
expect_exit 1 b get team c1

# B's own later team write reaches nobody; B keeps what it held
b put team b1 "after, from B"
b put pub p3 "public from B, after its team write"
for h in a c; do
    wait_for 30 "B's pub write on $h" $h get pub p3
    expect_exit 1 $h get team b1
done
expect_eq "$(b get team k0)" "before, from A" "B keeps what it held"

# the sessions stayed up: none with B was dropped for this
grep -q "dropping the session with $idb" "$T/a.log" "$T/c.log" && fail "a session with B was dropped"
kill -TERM "$pa" "$pb" "$pc"
wait_pids 10 "$pa" "$pb" "$pc"
echo ok
