#!/usr/bin/env bash
# tests/bench/bench_sync.sh: two real daemons on 127.0.0.1 (run by `make bench`):
#  1. initial sync of N items (16 random bytes in hex as keys, 100-byte values) from A to a
#     fresh B: seconds and items/s, beside raw LMDB inserts of the same keys at 1,000 per
#     commit (bench_commit's baseline, run in the same bench) as a ratio;
#  2. one changed item among N: B stopped, A changes one item, B restarted: milliseconds
#     from B's start to the item visible on B (polled every 10 ms), bytes both ways as the
#     daemons count them (session frames, after the CURVE handshake);
#  3. resident memory (RSS, private dirty) of each daemon after the initial sync.
# Usage: tests/bench/bench_sync.sh [N] (default 200000; BENCH_ITEMS also works).
set -euo pipefail
N=${1:-${BENCH_ITEMS:-200000}}
M=${MESHCTL:-$(cd "$(dirname "$0")/../.." && pwd)/build/meshctl}
T=$(mktemp -d "${BENCH_DIR:-/tmp}/bench-sync.XXXXXX")
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$T"' EXIT
now_ms() { date +%s%3N; }
until_ok() { local end=$(($(date +%s) + $1)); shift; until "$@" >/dev/null 2>&1; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.01; done; }
daemon() { # HOME [ENDPOINT]
    rm -f "$1/status"
    "$M" --home "$1" daemon --listen "${2:-tcp://127.0.0.1:0}" 2>>"$T/daemon.log" &
    pids+=($!)
    LAST=$!
    until_ok 10 grep -q '^listen tcp' "$1/status"
    EP=$(sed -n 's/^listen //p' "$1/status")
}
mem() { # PID: "RSS private-dirty" in KiB
    local rss pd
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$1/status")
    pd=$(awk '/^Private_Dirty/ {s += $2} END {print s}' "/proc/$1/smaps_rollup")
    echo "${rss} KiB RSS, ${pd} KiB private dirty"
}
counter() { # HOME PEER-ID FIELD
    grep "^peer $2 " "$1/status" | tr ' ' '\n' | sed -n "s/^$3=//p"
}

A=$T/a B=$T/b
"$M" --home "$A" init --name a >/dev/null
"$M" --home "$B" init --name b >/dev/null
ida=$("$M" --home "$A" id) idb=$("$M" --home "$B" id)
python3 - "$N" >"$T/items.tsv" <<'PY'
import os, sys
n = int(sys.argv[1])
r = __import__("random").Random(7)
for i in range(n):
    print("%032x\t%s" % (r.getrandbits(128), "v" * 100))
PY
t0=$(now_ms)
"$M" --home "$A" put --from-tsv "$T/items.tsv" bench >/dev/null
t1=$(now_ms)
echo "bench_sync: $N items of 100 bytes written on A in $((t1 - t0)) ms (put --from-tsv, 10,000 per commit)"

daemon "$A"; pa=$LAST ea=$EP
"$M" --home "$B" peer add "$ida" "$ea"
"$M" --home "$A" peer add "$idb"
t0=$(now_ms)
daemon "$B"; pb=$LAST eb=$EP
"$M" --home "$A" peer add "$idb" "$eb"
until_ok 3600 "$M" --home "$A" wait --timeout 1 || { echo "initial sync did not finish"; exit 1; }
t1=$(now_ms)
ms=$((t1 - t0))
got=$("$M" --home "$B" ls --keys bench | wc -l)
[ "$got" = "$N" ] || { echo "B holds $got items, not $N"; exit 1; }
echo "initial sync: $N items in $ms ms = $((N * 1000 / (ms > 0 ? ms : 1))) items/s (B verified every set; it holds all $N)"
echo "  bytes A->B $(counter "$A" "$idb" bytes_out), B->A $(counter "$A" "$idb" bytes_in), batches $(counter "$A" "$idb" batches_out)"
echo "  daemon A: $(mem "$pa")"
echo "  daemon B: $(mem "$pb")"

kill -TERM "$pb"; wait "$pb" || true
"$M" --home "$A" put bench "$(head -n1 "$T/items.tsv" | cut -f1)" "changed while B was down"
key=$(head -n1 "$T/items.tsv" | cut -f1)
t0=$(now_ms)
daemon "$B" "$eb"; pb=$LAST
until_ok 60 sh -c "[ \"\$('$M' --home '$B' get bench $key)\" = 'changed while B was down' ]" ||
    { echo "the change never reached B"; tail -n 20 "$T/daemon.log"; cat "$A/status" "$B/status"; exit 1; }
t1=$(now_ms)
sleep 0.5
echo "one changed item among $N: visible on B $((t1 - t0)) ms after B's daemon started (incl. process start and reconnect)"
echo "  session bytes since B restarted: A->B $(counter "$B" "$ida" bytes_in), B->A $(counter "$B" "$ida" bytes_out) (with hello, vectors, pings)"
