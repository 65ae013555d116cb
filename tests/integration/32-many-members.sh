#!/usr/bin/env bash
# tests/integration/32-many-members.sh: session slots follow membership, whatever its size
# (docs/PROTOCOL.md, Resource budget). A member (B) adds 64 junk device IDs whose keys sort
# below those of a real member (C); V learns them from B, and so has 66 other members, C
# the last by key. What must hold after: C, V's 66th member, is admitted and syncs with V
# both ways (before, V kept 64 session slots, the junk took them, and ZAP refused C).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a member's 64 junk IDs shut no real member out; a 66th member syncs"
command -v python3 >/dev/null || skip "no python3"


# 65 fresh devices: the one whose key sorts last becomes C, the other 64 are the junk.
for i in $(seq 1 65); do
    h=$T/cand$i
    mc --home "$h" init --name "cand$i" >"$h.id" 2>/dev/null || fail "init cand$i"
done
order=$(for i in $(seq 1 65); do printf '%s %s\n' "$(cat "$T/cand$i.id")" "$T/cand$i"; done |
    python3 -c '
import sys
abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
def data(i):  # the key order: the 26 data characters of each group of 27
    s = i.replace("-", "")
    return [abc.index(c) for k, c in enumerate(s) if k % 27 != 26]
rows = [l.split() for l in sys.stdin if l.strip()]
for id_, home in sorted(rows, key=lambda r: data(r[0])):
    print(id_, home)')
C=$(printf '%s\n' "$order" | tail -n 1 | cut -d' ' -f2)
idc=$(printf '%s\n' "$order" | tail -n 1 | cut -d' ' -f1)
junk=$(printf '%s\n' "$order" | head -n 64 | cut -d' ' -f1)
[ "$(printf '%s\n' "$junk" | grep -c .)" = 64 ] || fail "expected 64 junk IDs"
# (And an identity file that others may read is refused, with what to do about it.)
chmod 640 "$T/cand1/identity"
expect_fail_with "run chmod 600 on it" mc --home "$T/cand1" id
chmod 600 "$T/cand1/identity"
expect_eq "$(mc --home "$T/cand1" id)" "$(cat "$T/cand1.id")" "id after chmod 600"

V=$(mk_home)
B=$(mk_home)
v() { mc --home "$V" "$@"; }
b() { mc --home "$B" "$@"; }
c() { mc --home "$C" "$@"; }
idv=$(v init --name victim)
idb=$(b init --name hostile)

start_daemon "$V" "$T/v.log"; pv=$LAST_PID ev=$EP
start_daemon "$B" "$T/b.log"; pb=$LAST_PID eb=$EP
v peer add "$idb" "$eb"
b peer add "$idv" "$ev"
# B adds the junk: 64 members that never answer (no address), all sorting below C.
for id in $junk; do b peer add "$id"; done
wait_for 60 "V to learn B's 64 junk members" \
    sh -c "[ \$('$MESHCTL' --home '$V' peer ls | grep -c .) -ge 66 ]"

# Now C joins: V's 66th other member, the last by key.
start_daemon "$C" "$T/c.log"; pc=$LAST_PID ec=$EP
v peer add "$idc" "$ec"
c peer add "$idv" "$ev"
[ "$(v peer ls | grep -vc 'this device')" = 66 ] || fail "V has $(v peer ls | grep -vc 'this device') other members, expected 66"

c put notes from-c "written on C"
wait_for 30 "C's write on V" sh -c "[ \"\$('$MESHCTL' --home '$V' get notes from-c 2>/dev/null)\" = 'written on C' ]"
v put notes from-v "written on V"
wait_for 30 "V's write on C" sh -c "[ \"\$('$MESHCTL' --home '$C' get notes from-v 2>/dev/null)\" = 'written on V' ]"
grep -q "syncs with 64 at most" "$T/v.log" && fail "V still caps its sessions: $(grep 'at most' "$T/v.log" | head -1)"
grep -q "session with $idc" "$T/v.log" || fail "V's log shows no session with C"

kill -TERM "$pv" "$pb" "$pc"
wait_pids 10 "$pv" "$pb" "$pc"
echo ok
