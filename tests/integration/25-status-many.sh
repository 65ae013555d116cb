#!/usr/bin/env bash
# tests/integration/25-status-many.sh: the status a daemon publishes every 250 ms grows with
# what is left to sync, not with the number of collections (issue 13: 150,000 collections
# made the writer count O(N^2) every 250 ms). Real daemons on 127.0.0.1, N collections
# (MESH_TEST_COLLS, default 300). What must hold after: once in sync, the status file holds
# no collection line and stays small, status shows every collection in sync, wait takes any
# of them.
# (bench_status measures the CPU: tests/bench/README.md.)
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "with many collections, the status holds only what is left to sync"
N=${MESH_TEST_COLLS:-300}


three_devices
for i in $(seq -w 1 "$N"); do
    a put "c$i" k "v$i"
done
a peer add "$idb"
b peer add "$ida"
start_daemon "$A" "$T/a.log"
pa=$LAST_PID ea=$EP
start_daemon "$B" "$T/b.log"
pb=$LAST_PID
b peer add "$ida" "$ea"
mc --home "$B" wait --timeout 120 || fail "B never in sync: $(b status | tail -5)"
mc --home "$A" wait --timeout 60 || fail "A never in sync: $(a status | tail -5)"
expect_eq "$(b status | grep -c "^coll    c[0-9]*  1 key, 1 version, digest [0-9a-f]*  in sync$")" \
    "$N" "collections in sync on B"
# In sync: no collection line at all in either status file, which stays small.
sleep 1 # (a publication or more after the wait)
for h in "$A" "$B"; do
    lines=$(grep -c "^coll " "$h/status" || true)
    expect_eq "$lines" 0 "collection lines in $h/status once in sync"
    size=$(wc -c <"$h/status")
    [ "$size" -lt 4096 ] || fail "$h/status is $size bytes once in sync: $(head -c 2000 "$h/status")"
done
mc --home "$B" wait "c$(seq -w 1 "$N" | sed -n 2p)" --timeout 20 || fail "wait on one collection"
kill -TERM "$pa" "$pb"
wait_pids 10 "$pa" "$pb"
echo ok
