#!/usr/bin/env bash
# tests/bench/bench_pair.sh: the pairing figure of issue 17, on loopback. A (a daemon running,
# an item written) shows a code with `meshctl pair`; B (a daemon running, no member yet) runs
# `meshctl pair CODE --addr`. The figure is the ms from the start of that command to the
# item readable on B, split into steps: B's process start, connection up and START sent
# ("connected"); CPace, tags, signatures, A's records and A's daemon taking them ("knew the
# code": RESULT received); B's record written ("paired", the command's exit); then B's
# daemon noticing the record, dialling A and syncing the item. Each step is
# stamped as B's progress line or the item arrives (lines read as they come, polled every 5 ms).
# Usage: bench_pair.sh [RUNS] (default 5; new homes each run). BENCH_KEEP=1 keeps the homes.
# SPDX-License-Identifier: MIT
set -euo pipefail
export MESHSYNC_NO_DISCOVERY=1 # no LAN beacons from these daemons (docs/PROTOCOL.md §16)
RUNS=${1:-5}
[[ $RUNS =~ ^[1-9][0-9]?$ ]] || { echo "usage: bench_pair.sh [RUNS]" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
M=${MESHCTL:-$ROOT/build/meshctl}
[ -x "$M" ] || { echo "bench_pair: build first: make all" >&2; exit 1; }
T=$(mktemp -d /tmp/meshctl-bench-pair.XXXXXX)
pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }
trap 'stop; [ -n "${BENCH_KEEP:-}" ] && echo "kept $T" >&2 || rm -rf "$T"' EXIT
now_ms() { date +%s%3N; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
printf '%-4s %10s %10s %10s %10s %10s\n' run connected code-ok paired synced total
for run in $(seq "$RUNS"); do
    a=$T/r$run-a b=$T/r$run-b
    mkdir -m 700 "$a" "$b"
    "$M" --home "$a" init --name alpha >/dev/null
    "$M" --home "$b" init --name beta >/dev/null
    ea=tcp://127.0.0.1:$(port) pp=$(port)
    "$M" --home "$a" daemon --listen "$ea" 2>"$a.log" & pids+=($!)
    "$M" --home "$b" daemon --listen "tcp://127.0.0.1:$(port)" 2>"$b.log" & pids+=($!)
    "$M" --home "$a" put bench k from-a >/dev/null
    for h in "$a" "$b"; do # both daemons up (their status files name their endpoints)
        for _ in $(seq 200); do grep -q "^listen tcp" "$h/status" 2>/dev/null && break; sleep 0.05; done
    done
    "$M" --home "$a" pair --listen "tcp://127.0.0.1:$pp" >"$a.pair" 2>"$a.pair.err" & pids+=($!)
    for _ in $(seq 200); do [ -s "$a.pair" ] && break; sleep 0.02; done
    code=$(head -1 "$a.pair")
    t0=$(now_ms) tc="" tk="" tp="" ts=""
    # B's progress lines, stamped as they come; then poll for the item
    while IFS= read -r line; do
        case $line in
        *"connected: exchanging"*) tc=$(now_ms) ;;
        *"knew the code"*) tk=$(now_ms) ;;
        *"paired with"*) tp=$(now_ms) ;;
        esac
    done < <("$M" --home "$b" pair "$code" --addr "127.0.0.1:$pp" 2>&1)
    [ -n "$tp" ] || { echo "bench_pair: run $run did not pair" >&2; exit 1; }
    for _ in $(seq 2000); do
        "$M" --home "$b" get bench k >/dev/null 2>&1 && { ts=$(now_ms); break; }
        sleep 0.005
    done
    [ -n "$ts" ] || { echo "bench_pair: run $run: the item did not reach B in 10 s" >&2; exit 1; }
    printf '%-4s %10s %10s %10s %10s %10s\n' "$run" "$((tc - t0))" "$((tk - tc))" \
        "$((tp - tk))" "$((ts - tp))" "$((ts - t0))"
    stop
done
echo "(ms: connected = command start to START sent; code-ok = CPace, tags, signatures, A's records;"
echo " paired = B's record written, command exit; synced = B's daemon dials A, item arrives)"
