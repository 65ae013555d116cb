#!/usr/bin/env bash
# tests/bench/bench_remove.sh: the removal figure of issue 16. Five real daemons on 127.0.0.1
# in a full mesh; `meshctl peer rm` of the fifth on the first; the figure is the ms from the
# start of that command to the last of the four daemons logging that it closed the removed
# device's links (from then on it refuses its key at every frame, docs/PROTOCOL.md §8.2).
# Usage: bench_remove.sh [RUNS] (default 5; each run a new mesh). BENCH_KEEP=1 keeps the homes.
# SPDX-License-Identifier: MIT
set -euo pipefail
export MESHSYNC_NO_DISCOVERY=1 # no LAN beacons from these daemons (docs/PROTOCOL.md §16)
RUNS=${1:-5}
[[ $RUNS =~ ^[1-9][0-9]?$ ]] || { echo "usage: bench_remove.sh [RUNS]" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
M=${MESHCTL:-$ROOT/build/meshctl}
[ -x "$M" ] || { echo "bench_remove: build first: make all" >&2; exit 1; }
T=$(mktemp -d /tmp/meshctl-bench-remove.XXXXXX)
pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }
trap 'stop; [ -n "${BENCH_KEEP:-}" ] && echo "kept $T" >&2 || rm -rf "$T"' EXIT
now_ms() { date +%s%3N; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
best=999999 worst=0 all=""
for run in $(seq "$RUNS"); do
    ids=() eps=() homes=()
    for i in 0 1 2 3 4; do
        h=$T/r$run-$i; mkdir -m 700 "$h"
        ids[i]=$("$M" --home "$h" init --name "n$i")
        eps[i]=tcp://127.0.0.1:$(port)
        homes[i]=$h
    done
    for i in 0 1 2 3 4; do for j in 0 1 2 3 4; do
        [ "$i" = "$j" ] || "$M" --home "${homes[i]}" --quiet peer add "${ids[j]}" "${eps[j]}"
    done; done
    for i in 0 1 2 3 4; do
        "$M" --home "${homes[i]}" --log-level info daemon --listen "${eps[i]}" 2>"${homes[i]}.log" &
        pids+=($!)
    done
    "$M" --home "${homes[4]}" put bench k v >/dev/null
    for i in 0 1 2 3; do # every member connected and in sync with the fifth
        for _ in $(seq 300); do "$M" --home "${homes[i]}" get bench k >/dev/null 2>&1 && break; sleep 0.1; done
    done
    t0=$(now_ms)
    "$M" --home "${homes[0]}" --quiet peer rm "${ids[4]}"
    for _ in $(seq 1000); do
        n=0
        for i in 0 1 2 3; do grep -q "${ids[4]} was removed: its links are closed" "${homes[i]}.log" && n=$((n + 1)); done
        [ "$n" = 4 ] && break
        sleep 0.01
    done
    t1=$(now_ms)
    [ "$n" = 4 ] || { echo "run $run: only $n of 4 members refused the key within 10 s" >&2; exit 1; }
    ms=$((t1 - t0)); all="$all $ms"
    [ "$ms" -lt "$best" ] && best=$ms
    [ "$ms" -gt "$worst" ] && worst=$ms
    stop
done
echo "removal, 5 devices on loopback: peer rm to the key refused by all 4 other members:$all ms (best $best, worst $worst; goal < 2000)"
