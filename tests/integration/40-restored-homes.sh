#!/usr/bin/env bash
# tests/integration/40-restored-homes.sh: a home restored from a backup, then written again
# offline before any contact. A writes e1; its home is backed up; A writes e2, which B gets;
# the backup is put back, as a new file (rm, then cp -a) or in place (cp -r backup/. home/,
# so the store file keeps its inode); A writes e3, which it signs with the dot e2 had (in
# place: the store cannot tell it was rolled back). Before, in place, A ended with e1, e3 and
# B with e1, e2, for good: equal vectors, unequal digests, nothing moved. What must hold
# after the devices meet again, in any order (A with C first, B with C first, or A with B,
# the holder of the clashing e2, alone first): every write of both epochs (e1, e2, e3) on A,
# B and C, and the three dumps equal; then A writes under a new incarnation, and the next
# writes of A and B reach all three.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "restored homes, in a new file and in place: every write of both epochs everywhere"
command -v python3 >/dev/null || skip "no python3"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
has_all() { # HOME: e1, e2 and e3 are there
    for k in e1 e2 e3; do "$MESHCTL" --home "$1" get docs "$k" >/dev/null 2>&1 || return 1; done
}
same_dump() {
    [ "$("$MESHCTL" --home "$1" dump docs)" = "$("$MESHCTL" --home "$2" dump docs)" ]
}

run_case() { # MODE ORDER
    local mode=$1 order=$2
    three_devices
    local pa pb pc
    pa=$(free_port) pb=$(free_port) pc=$(free_port)
    a peer add "$idb" "tcp://127.0.0.1:$pb" >/dev/null; a peer add "$idc" "tcp://127.0.0.1:$pc" >/dev/null
    b peer add "$ida" "tcp://127.0.0.1:$pa" >/dev/null; b peer add "$idc" "tcp://127.0.0.1:$pc" >/dev/null
    c peer add "$ida" "tcp://127.0.0.1:$pa" >/dev/null; c peer add "$idb" "tcp://127.0.0.1:$pb" >/dev/null
    a put docs e1 "one" >/dev/null
    a export -o "$T/x.bundle" >/dev/null && b import "$T/x.bundle" >/dev/null
    cp -a "$A" "$T/backup"
    a put docs e2 "two" >/dev/null
    a export -o "$T/x.bundle" >/dev/null && b import "$T/x.bundle" >/dev/null
    expect_eq "$(b get docs e2)" "two" "B holds e2 before the restore ($mode)"
    if [ "$mode" = newfile ]; then
        rm -rf "$A" && cp -a "$T/backup" "$A"
    else
        local ino
        ino=$(stat -c %i "$A/store/data.mdb")
        cp -r "$T/backup/." "$A/"
        expect_eq "$(stat -c %i "$A/store/data.mdb")" "$ino" "the store file's inode"
    fi
    rm -rf "$T/backup"
    a put docs e3 "three" >/dev/null
    if [ "$order" = a-first ]; then
        start_daemon "$A" "$T/a.log" "tcp://127.0.0.1:$pa"
        start_daemon "$C" "$T/c.log" "tcp://127.0.0.1:$pc"
        wait_for 60 "C to hold A's e1 and e3 ($mode, $order)" sh -c \
            "'$MESHCTL' --home '$C' get docs e3 >/dev/null 2>&1"
        start_daemon "$B" "$T/b.log" "tcp://127.0.0.1:$pb"
    elif [ "$order" = ab-first ]; then # A meets B, the holder of the clashing e2, alone first
        start_daemon "$A" "$T/a.log" "tcp://127.0.0.1:$pa"
        start_daemon "$B" "$T/b.log" "tcp://127.0.0.1:$pb"
        wait_for 60 "A and B to hold e1, e2 and e3 ($mode, $order)" sh -c \
            "'$MESHCTL' --home '$A' get docs e2 >/dev/null 2>&1 && '$MESHCTL' --home '$B' get docs e3 >/dev/null 2>&1"
        start_daemon "$C" "$T/c.log" "tcp://127.0.0.1:$pc"
    else
        start_daemon "$B" "$T/b.log" "tcp://127.0.0.1:$pb"
        start_daemon "$C" "$T/c.log" "tcp://127.0.0.1:$pc"
        wait_for 60 "C to hold B's e2 ($mode, $order)" sh -c \
            "'$MESHCTL' --home '$C' get docs e2 >/dev/null 2>&1"
        start_daemon "$A" "$T/a.log" "tcp://127.0.0.1:$pa"
    fi
    for h in "$A" "$B" "$C"; do
        wait_for 60 "every write on $(basename "$h") ($mode, $order)" has_all "$h"
    done
    wait_for 60 "equal dumps ($mode, $order)" sh -c \
        "[ \"\$('$MESHCTL' --home '$A' dump docs)\" = \"\$('$MESHCTL' --home '$B' dump docs)\" ] &&
         [ \"\$('$MESHCTL' --home '$A' dump docs)\" = \"\$('$MESHCTL' --home '$C' dump docs)\" ]"
    expect_eq "$(b get docs e2)" "two" "e2 on B ($mode, $order)"
    expect_eq "$(c get docs e3)" "three" "e3 on C ($mode, $order)"
    # after meeting, A writes under a new incarnation (it learnt of the restore), and later
    # writes of A and B reach everyone
    a put docs e4 "four" >/dev/null
    b put docs e5 "five" >/dev/null
    for h in "$A" "$B" "$C"; do
        wait_for 60 "e4 and e5 on $(basename "$h") ($mode, $order)" sh -c \
            "'$MESHCTL' --home '$h' get docs e4 >/dev/null 2>&1 && '$MESHCTL' --home '$h' get docs e5 >/dev/null 2>&1"
    done
    local inc1 inc4
    inc1=$(a dump docs | awk -F'\t' '$1 == "e1" { split($2, d, ":"); print d[2] }')
    inc4=$(a dump docs | awk -F'\t' '$1 == "e4" { split($2, d, ":"); print d[2] }')
    [ -n "$inc1" ] && [ -n "$inc4" ] && [ "$inc1" != "$inc4" ] ||
        fail "A's write after meeting again is in the incarnation of before the restore ($inc1, $inc4; $mode, $order)"
    for pid in "${_pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    _pids=()
}

for mode in newfile inplace; do
    for order in a-first b-first ab-first; do
        run_case "$mode" "$order"
    done
done
echo "ok: restored homes, both ways, in three orders of meeting: e1, e2, e3 on every device, then later writes"
