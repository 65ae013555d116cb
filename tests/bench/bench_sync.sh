#!/usr/bin/env bash
# tests/bench/bench_sync.sh: two real daemons on 127.0.0.1 (run by `make bench`), each figure
# beside a baseline measured in the same run. B dials A through tests/bench/zmtp_proxy.py
# (A knows B without an address), so every byte between them is counted there.
#  1. initial sync of N items (keys of 16 random bytes in hex, 100-byte values) from A to a
#     fresh B: seconds and items/s, beside raw LMDB inserting the same items in the same
#     order with the commit sizes B used, and raw ZeroMQ CURVE carrying messages of the
#     sizes of A's batches (build/tests/baseline); bytes and messages both ways; the bytes B wrote
#     to storage (its store: /proc/PID/io) beside the key-order floor's, and the time
#     B's commits took (from its 'applied batches' lines);
#  2. one changed item among N: B stopped, A changes one item, B restarted: ms from the
#     CURVE handshake of B's new connection (and from B's start) to B's commit of the item,
#     bytes and messages both ways from the handshake through B's acknowledgement (the
#     keep-alives of the next second counted apart), round trips;
#  3. resident memory (RSS, private dirty) of each daemon right after the initial sync, and
#     at rest 2.5 s later (once each has given back what the sync left, PROTOCOL.md §11.3),
#     and B's CPU seconds during the sync (a figure a loaded machine disturbs less);
#  4. live push: ms from `meshctl put` on A to the value readable on B, both daemons up.
# tests/bench/README.md says what each figure measures. Usage: bench_sync.sh [N] (default
# 1000000; BENCH_ITEMS=N also works, the argument wins; BENCH_DIR=dir for the stores;
# BENCH_KEEP=1 keeps the temp dir with the homes and logs; BENCH_PERF=1 records B's daemon during
# the sync with perf into perf.data there: use both).
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2154 # counts and times come from eval of the log analysis' key=value lines
set -euo pipefail
export MESHSYNC_NO_DISCOVERY=1 # no LAN beacons from these daemons (docs/PROTOCOL.md §16)
N=${1:-${BENCH_ITEMS:-1000000}}
[[ $N =~ ^[1-9][0-9]{0,9}$ ]] || { echo "usage: bench_sync.sh [ITEMS]" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
M=${MESHCTL:-$ROOT/build/meshctl}
BL=${BASELINE:-$ROOT/build/tests/baseline}
PROXY=$HERE/zmtp_proxy.py
PER_FALLBACK=10000                 # raw LMDB commit size while B logs no commits
SYNC_S=$((600 + N / 100))          # deadline of the initial sync
[ -x "$M" ] && [ -x "$BL" ] || { echo "bench_sync: build first: make all build/tests/baseline" >&2; exit 1; }
# The daemons run with their heap in transparent huge pages (meshctl daemon adds the tunable
# to GLIBC_TUNABLES and starts again, docs/meshctl.1): the raw LMDB baselines get the same,
# so that the floor is measured like for like (it is ~5-10% faster so on these machines).
case ${GLIBC_TUNABLES:-} in
*glibc.malloc.hugetlb*) BL_TUNABLES=$GLIBC_TUNABLES ;;
"") BL_TUNABLES=glibc.malloc.hugetlb=1 ;;
*) BL_TUNABLES=$GLIBC_TUNABLES:glibc.malloc.hugetlb=1 ;;
esac
bl() { GLIBC_TUNABLES=$BL_TUNABLES "$BL" "$@"; }
T=$(mktemp -d "${BENCH_DIR:-/tmp}/bench-sync.XXXXXX")
pids=()

# Stop one process we started: SIGTERM, then SIGKILL after 10 s.
stop_pid() {
    local end=$((SECONDS + 10))
    kill -TERM "$1" 2>/dev/null || return 0
    while kill -0 "$1" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.05; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
cleanup() {
    for p in "${pids[@]}"; do stop_pid "$p"; done
    if [ -n "${BENCH_KEEP:-}" ]; then echo "bench_sync: kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'echo "bench_sync: failed at line $LINENO" >&2' ERR
fail() {
    echo "bench_sync: $*" >&2
    for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $(basename "$f") (last 15 lines)"; tail -n 15 "$f"; } >&2; done
    exit 1
}
now() { date +%s.%6N; }
# Run a command every 10 ms until it succeeds or S seconds pass: until_ok S CMD...
until_ok() {
    local end=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do [ "$SECONDS" -lt "$end" ] || return 1; sleep 0.01; done
}
# Sleep until the realtime clock passes T (a few seconds at most here).
sleep_until() { local d; d=$(awk -v t="$1" -v n="$(now)" 'BEGIN {d = t - n; print (d > 0 ? d : 0)}'); sleep "$d"; }
# Start a daemon at debug level: daemon HOME LOG [ENDPOINT]; sets LAST (pid), STARTED
# (realtime, just before the exec) and EP (the bound endpoint, or -).
daemon() {
    rm -f "$1/status"
    STARTED=$(now)
    "$M" --home "$1" --log-level debug daemon ${3:+--listen "$3"} 2>>"$2" &
    LAST=$!
    pids+=("$LAST")
    until_ok 30 grep -q "^pid $LAST\$" "$1/status" || fail "the daemon on $1 did not start"
    EP=$(sed -n 's/^listen //p' "$1/status")
}
cpu() { # PID: the user and system CPU seconds the process has used so far, "USER SYSTEM"
    awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); printf "%.2f %.2f", $12 / hz, $13 / hz}' "/proc/$1/stat"
}
mem() { # PID: "RSS private-dirty" in KiB
    local rss pd
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$1/status")
    pd=$(awk '/^Private_Dirty/ {s += $2} END {print s}' "/proc/$1/smaps_rollup")
    echo "${rss} KiB RSS, ${pd} KiB private dirty"
}
counter() { # HOME PEER-ID FIELD: a field of the peer's line in HOME/status
    { grep "^peer $2 " "$1/status" || true; } | tr ' ' '\n' | sed -n "s/^$3=//p"
}
# Start a proxy to 127.0.0.1:PORT logging to LOG: proxy PORT LOG; sets proxy_pid and PPORT.
proxy() {
    python3 "$PROXY" 0 127.0.0.1 "$1" "$2" 2>>"$T/proxy-errors.log" &
    proxy_pid=$!
    pids+=("$proxy_pid")
    until_ok 10 grep -q '^listen ' "$2" || fail "zmtp_proxy.py did not start"
    PPORT=$(awk '/^listen / {print $2; exit}' "$2")
}
# Field F (1-based) of the one line a baseline printed.
field() { awk -v f="$2" '{print $f}' <<<"$1"; }
calc() { awk "BEGIN {printf \"$1\", $2}"; }

# The log analysis, in Python (which zmtp_proxy.py needs anyway).
cat >"$T/logs.py" <<'PY'
import re, sys
from datetime import datetime, timezone

def stamp(line):
    """Epoch seconds of a daemon log line's leading UTC timestamp."""
    t = datetime.strptime(line.split(" ", 1)[0], "%Y-%m-%dT%H:%M:%S.%fZ")
    return t.replace(tzinfo=timezone.utc).timestamp()

def applied(log, peer, first_line=1):
    """(time, ops) of each 'applied batches' line for peer's batches."""
    pat = re.compile(r"applied batches (\d+)\.\.(\d+) from (\S+): (\d+) sets, (\d+) ops stored"
                     r"(?: \((\d+) ms)?")
    out = []
    with open(log, errors="replace") as f:
        for i, line in enumerate(f, 1):
            m = pat.search(line)
            if i >= first_line and m and m.group(3) == peer:
                out.append((stamp(line), int(m.group(5)), int(m.group(6) or 0)))
    return out

def frames(log, first_line=1):
    """Proxy log lines from first_line on: (conn, what, time, bytes)."""
    out = []
    with open(log) as f:
        for i, line in enumerate(f, 1):
            w = line.split()
            if i < first_line or len(w) < 4 or w[0] != "conn":
                continue
            out.append((int(w[1]), w[2], float(w[3]), int(w[4]) if len(w) > 4 else 0))
    return out

def window(rows, start, apply_at, end):
    """key=value lines: the frames in [start, end], and those up to apply_at with the
    c2s->s2c turns among them."""
    data = [r for r in rows if r[1] in ("c2s", "s2c") and start <= r[2] <= end]
    for d in ("c2s", "s2c"):
        print("%s_bytes=%d" % (d, sum(r[3] for r in data if r[1] == d)))
        print("%s_msgs=%d" % (d, sum(1 for r in data if r[1] == d)))
        print("%s_msgs_before=%d" % (d, sum(1 for r in data if r[1] == d and r[2] <= apply_at)))
    turns, last = 0, None
    for r in data:
        if r[2] > apply_at:
            break
        turns += last == "c2s" and r[1] == "s2c"
        last = r[1]
    print("round_trips=%d" % turns)

cmd = sys.argv[1]
if cmd == "commits":  # LOG PEER OUT: write the ops of each commit; print count and sum
    rows = applied(sys.argv[2], sys.argv[3])
    with open(sys.argv[4], "w") as f:
        f.writelines("%d\n" % r[1] for r in rows)
    spooled = sum(1 for line in open(sys.argv[2], errors="replace") if "; spooled, " in line)
    print("commits=%d empty=%d ops=%d last=%.6f apply_ms=%d spooled_commits=%d" % (
        len(rows), sum(1 for r in rows if r[1] == 0), sum(r[1] for r in rows),
        rows[-1][0] if rows else 0, sum(r[2] for r in rows), spooled))
elif cmd == "first-applied":  # LOG PEER: the first commit's time, or 0
    rows = [r for r in applied(sys.argv[2], sys.argv[3]) if r[1] > 0]
    print("%.6f" % (rows[0][0] if rows else 0))
elif cmd == "sizes":  # LOG PEER OUT: write the size of each batch sent to PEER; print count and sum
    pat = re.compile(r"sent batch \d+ \((\d+) bytes\) to (\S+)")
    sizes = [int(m.group(1)) for m in map(pat.search, open(sys.argv[2], errors="replace"))
             if m and m.group(2) == sys.argv[3]]
    with open(sys.argv[4], "w") as f:
        f.writelines("%d\n" % s for s in sizes)
    print("batches=%d batch_bytes=%d" % (len(sizes), sum(sizes)))
elif cmd == "ack-after-last-batch":  # PROXYLOG MIN_BYTES: the c2s frame that follows the
    rows = frames(sys.argv[2])  # last s2c frame of at least MIN_BYTES, or 0
    big = [i for i, r in enumerate(rows) if r[1] == "s2c" and r[3] >= int(sys.argv[3])]
    acks = [r for r in rows[big[-1] + 1:] if r[1] == "c2s"] if big else []
    print("%.6f" % (acks[0][2] if acks else 0))
elif cmd == "handshake":  # PROXYLOG FIRST_LINE: the first handshake from that line on, or 0
    hs = [r for r in frames(sys.argv[2], int(sys.argv[3])) if r[1] == "handshake"]
    print("%.6f" % (hs[0][2] if hs else 0))
elif cmd == "c2s-after":  # PROXYLOG FIRST_LINE T: the first c2s frame at or after T, or 0
    rows = [r for r in frames(sys.argv[2], int(sys.argv[3]))
            if r[1] == "c2s" and r[2] >= float(sys.argv[4])]
    print("%.6f" % (rows[0][2] if rows else 0))
elif cmd == "tail":  # PROXYLOG FIRST_LINE AFTER END: bytes and frames in (AFTER, END]
    rows = [r for r in frames(sys.argv[2], int(sys.argv[3]))
            if r[1] in ("c2s", "s2c") and float(sys.argv[4]) < r[2] <= float(sys.argv[5])]
    print("tail_bytes=%d tail_msgs=%d" % (sum(r[3] for r in rows), len(rows)))
elif cmd == "window":  # PROXYLOG FIRST_LINE START APPLY END
    window(frames(sys.argv[2], int(sys.argv[3])), *map(float, sys.argv[4:7]))
PY
logs() { python3 "$T/logs.py" "$@"; }

# ---- set-up: A holds N items; B is fresh and dials A through the proxy ----
A=$T/a B=$T/b
"$M" --home "$A" init --name a >/dev/null
"$M" --home "$B" init --name b >/dev/null
ida=$("$M" --home "$A" id) idb=$("$M" --home "$B" id)
python3 - "$N" >"$T/items.tsv" <<'PY'
import random, sys
r = random.Random(7)
w = sys.stdout.write
for i in range(int(sys.argv[1])):
    w("%032x\t%0100x\n" % (r.getrandbits(128), r.getrandbits(400)))
PY
t0=$(now)
"$M" --home "$A" put --from-tsv "$T/items.tsv" bench >/dev/null
t1=$(now)
echo "bench_sync: $N items (32-hex-char keys, 100-byte values) written on A in $(calc %.3f "$t1 - $t0") s" \
    "(put --from-tsv); B dials A through zmtp_proxy.py"

"$M" --home "$A" peer add "$idb"
# A's store was just written: its writeback first, or A's first commit (its start writes
# one) waits behind it, seconds on a busy disk, and B's handshake waits for A's loop.
sync
daemon "$A" "$T/a.log" tcp://127.0.0.1:0
pa=$LAST
proxy "${EP##*:}" "$T/proxy.log"
"$M" --home "$B" peer add "$ida" "tcp://127.0.0.1:$PPORT"

# ---- 1. initial sync ----
# From a quiet machine: A started (its loop answers on its control socket: `meshctl status`
# says "source": "socket"), and what it wrote at its start is written back.
until_ok 30 sh -c "'$M' --home '$A' status --json | grep -q '\"source\": *\"socket\"'" ||
    fail "A's daemon does not answer on its control socket"
sync
cpu_a0=$(cpu "$pa") cpu_p0=$(cpu "$proxy_pid")
daemon "$B" "$T/b.log"
pb=$LAST sync_t0=$STARTED
if [ -n "${BENCH_PERF:-}" ]; then # profile B's daemon during the sync into $T/perf.data
    perf record -q --call-graph dwarf,16384 -F ${BENCH_PERF_HZ:-499} -o "$T/perf.data" -p "$pb" 2>"$T/perf.log" &
    perf_pid=$!
fi
"$M" --home "$A" wait --timeout "$SYNC_S" >/dev/null 2>&1 || fail "the initial sync did not finish in $SYNC_S s"
if [ -n "${BENCH_PERF:-}" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
fi
got=$("$M" --home "$B" ls --keys bench | wc -l)
[ "$got" = "$N" ] || fail "B holds $got items, not $N"
eval "$(logs commits "$T/b.log" "$ida" "$T/commits.txt")"   # commits, empty, ops, last
if [ "$commits" -gt 0 ]; then
    sync_end=$last
    end_note="B's last 'applied batches' line"
    lmdb_args=(--commits "$T/commits.txt")
    lmdb_note="committed as B did: B logged $commits commits ($empty of them storing nothing) of $ops ops"
    [ "$ops" -le "$N" ] || lmdb_note+=" (the $((ops - N)) beyond N: A's records in _mesh)"
else
    sync_end=$(logs ack-after-last-batch "$T/proxy.log" 4096)
    end_note="B's ack of the last batch at the proxy (B logs no 'applied batches' yet)"
    lmdb_args=(--per "$PER_FALLBACK")
    lmdb_note="a commit every $PER_FALLBACK items: B logs no 'applied batches' lines yet"
fi
[ "${sync_end%.*}" != 0 ] || fail "cannot tell when the initial sync ended"
sync_hs=$(logs handshake "$T/proxy.log" 1)
sync_s=$(calc %.3f "$sync_end - $sync_t0")
mem_a=$(mem "$pa") mem_b=$(mem "$pb") cpu_b=$(cpu "$pb") cpu_a=$(cpu "$pa") cpu_p=$(cpu "$proxy_pid")
io_b=$(awk '/^write_bytes/ {print $2}' "/proc/$pb/io") # bytes B sent to storage so far
sleep_until "$(calc %.6f "$sync_end + 1.05")"
eval "$(logs window "$T/proxy.log" 1 "$sync_hs" "$sync_end" "$(calc %.6f "$sync_end + 1")")"
# At rest: a daemon gives back what a large sync left once quiet for a second (§11.3).
sleep_until "$(calc %.6f "$sync_end + 2.5")"
rest_a=$(mem "$pa") rest_b=$(mem "$pb")
eval "$(logs sizes "$T/a.log" "$idb" "$T/sizes.txt")"         # batches, batch_bytes
payload_ab=$(counter "$A" "$idb" bytes_out) payload_ba=$(counter "$A" "$idb" bytes_in)

# baselines, with the daemons idle and B's store written back
sync
lmdb=$(bl lmdb --tsv "$T/items.tsv" --dir "$T/raw" "${lmdb_args[@]}") || fail "baseline lmdb failed"
rm -rf "$T/raw"
lmdb_s=$(field "$lmdb" 6)
# The floor the issue sets the sync beside: the same items in key order, the same commits.
sync
keyed=$(/usr/bin/time -f %O -o "$T/keyed.io" env GLIBC_TUNABLES="$BL_TUNABLES" "$BL" lmdb --tsv "$T/items.tsv" --dir "$T/raw" \
    "${lmdb_args[@]}" --key-order) || fail "baseline lmdb --key-order failed"
io_keyed=$(($(tail -n1 "$T/keyed.io") * 512)) # its file system outputs, 512-byte blocks
rm -rf "$T/raw"
keyed_s=$(field "$keyed" 9)
keyed1k=$(bl lmdb --tsv "$T/items.tsv" --dir "$T/raw" --per 1000 --key-order) ||
    fail "baseline lmdb --key-order --per 1000 failed"
rm -rf "$T/raw"
if [ "$batches" -gt 0 ]; then
    curve=$("$BL" curve --sizes "$T/sizes.txt" --timeout 600) || fail "baseline curve failed"
    curve_s=$(field "$curve" 9)
    free_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    proxy "$free_port" "$T/proxy-curve.log"
    curve_px=$("$BL" curve --sizes "$T/sizes.txt" --timeout 600 --listen-port "$free_port" \
        --connect-port "$PPORT") || fail "baseline curve through the proxy failed"
    stop_pid "$proxy_pid"
    curve_px_s=$(field "$curve_px" 9)
fi

echo
echo "initial sync of $N items, A -> fresh B (from B's start to $end_note):"
echo "  meshsync: $sync_s s = $(calc %.0f "$N / $sync_s") items/s; CURVE handshake done at +$(calc %.3f "$sync_hs - $sync_t0") s"
echo "  baseline $lmdb"
echo "           same keys, values and order; $lmdb_note"
echo "           ratio meshsync/raw LMDB: $(calc %.3f "$lmdb_s / $sync_s")"
echo "  baseline $keyed"
echo "           the key-order floor: the same items sorted by key (untimed), the same commits," \
    "GLIBC_TUNABLES=$BL_TUNABLES as the daemons"
echo "           meshsync/floor: $(calc %.2f "$sync_s / $keyed_s") times the floor's time (issue 15: within 3)"
echo "  written to storage: B $(calc %.0f "$io_b / 1e6") MB during the sync (its store);" \
    "the floor $(calc %.0f "$io_keyed / 1e6") MB"
echo "  B's commits: $commits ($spooled_commits of them from its spool, PROTOCOL §11.2) took" \
    "$(calc %.3f "$apply_ms / 1000") s of the $sync_s s (the rest: handshake, receiving, checking," \
    "spooling)"
echo "  baseline $keyed1k (for reference: a commit every 1,000 items)"
if [ "$batches" -gt 0 ]; then
    echo "  baseline $curve"
    echo "           one message per batch A sent, of its size ($batches batches, $batch_bytes bytes)"
    echo "           ratio meshsync/raw CURVE: $(calc %.3f "$curve_s / $sync_s");" \
        "through zmtp_proxy.py the same took $curve_px_s s ($(field "$curve_px" 12) MB/s)"
else
    echo "  baseline raw ZeroMQ CURVE: not run: A logged no 'sent batch' lines to B"
fi
echo "  wire bytes after the handshake, until 1 s after the end: A->B $s2c_bytes in $s2c_msgs messages," \
    "B->A $c2s_bytes in $c2s_msgs; $(calc %.1f "$s2c_bytes / $N") B per item"
echo "  session bytes (A's counters, before CURVE): A->B $payload_ab, B->A $payload_ba"
echo "  daemon A right after the sync: $mem_a; at rest 2.5 s after: $rest_a"
echo "  daemon B right after the sync: $mem_b; at rest 2.5 s after: $rest_b"
echo "  daemon B's CPU from its start to the end of the sync (all its threads): $(field "$cpu_b" 1) s user," \
    "$(field "$cpu_b" 2) s system"
echo "  during the sync, daemon A's CPU: $(calc %.2f "$(field "$cpu_a" 1) - $(field "$cpu_a0" 1)") s user," \
    "$(calc %.2f "$(field "$cpu_a" 2) - $(field "$cpu_a0" 2)") s system; the byte-counting proxy's:" \
    "$(calc %.2f "$(field "$cpu_p" 1) + $(field "$cpu_p" 2) - $(field "$cpu_p0" 1) - $(field "$cpu_p0" 2)") s"

# ---- 2. one changed item among N ----
key=$(head -n1 "$T/items.tsv" | cut -f1)
stop_pid "$pb"
"$M" --home "$A" put bench "$key" "changed while B was down"
proxy_line=$(($(wc -l <"$T/proxy.log") + 1))
daemon "$B" "$T/b2.log"
pb=$LAST change_t0=$STARTED
until_ok 60 sh -c "[ \"\$('$M' --home '$B' get bench $key)\" = 'changed while B was down' ]" ||
    fail "the change never reached B"
visible=$(now)
apply_at=$(logs first-applied "$T/b2.log" "$ida")
if [ "${apply_at%.*}" != 0 ]; then
    apply_note="B's first 'applied batches' line"
else
    apply_at=$visible
    apply_note="the item seen by 'meshctl get' polled every 10 ms (B logs no 'applied batches' yet)"
fi
change_hs=$(logs handshake "$T/proxy.log" "$proxy_line")
[ "${change_hs%.*}" != 0 ] || fail "no handshake at the proxy after B's restart"
sleep_until "$(calc %.6f "$apply_at + 1.05")"
# The exchange ends with B's acknowledgement, its first frame after the apply; what follows
# within the second (keep-alive PINGs and PONGs, 45 bytes each) is counted apart.
ack_at=$(logs c2s-after "$T/proxy.log" "$proxy_line" "$apply_at")
[ "${ack_at%.*}" != 0 ] || ack_at=$(calc %.6f "$apply_at + 1")
eval "$(logs window "$T/proxy.log" "$proxy_line" "$change_hs" "$apply_at" "$ack_at")"
eval "$(logs tail "$T/proxy.log" "$proxy_line" "$ack_at" "$(calc %.6f "$apply_at + 1")")"
hs_ms=$(calc %.1f "($apply_at - $change_hs) * 1000")
rt_text="$round_trips round trip$([ "$round_trips" = 1 ] || echo s)"
start_ms=$(calc %.1f "($apply_at - $change_t0) * 1000")

echo
echo "one changed item among $N, B restarted (to $apply_note):"
echo "  $hs_ms ms after the CURVE handshake of B's new connection;" \
    "$start_ms ms after B's start (handshake at +$(calc %.1f "($change_hs - $change_t0) * 1000") ms)"
echo "  before the apply: B->A $c2s_msgs_before messages, A->B $s2c_msgs_before; $rt_text" \
    "(B->A then A->B turns, after the TCP connect and the 2 of the CURVE handshake)"
echo "  wire bytes after the handshake, through B's acknowledgement: A->B $s2c_bytes in $s2c_msgs" \
    "messages, B->A $c2s_bytes in $c2s_msgs; then, until 1 s after the apply, $tail_bytes bytes" \
    "in $tail_msgs messages (keep-alives)"

# ---- 4. live push: a put on A while both daemons run ----
# From the start of `meshctl put` on A to the value readable with `meshctl get` on B (polled
# every 10 ms, so each figure includes up to 10 ms of polling and a process start), 5 times.
push_ms=()
for i in 1 2 3 4 5; do
    t0=$(now)
    "$M" --home "$A" put bench "live-$i" "pushed $i" >/dev/null
    until_ok 30 sh -c "[ \"\$('$M' --home '$B' get bench live-$i)\" = 'pushed $i' ]" ||
        fail "live push $i never reached B"
    push_ms+=("$(calc %.1f "($(now) - $t0) * 1000")")
done
push_sorted=$(printf '%s\n' "${push_ms[@]}" | sort -n | tr '\n' ' ')

echo
echo "live push, both daemons up: 'meshctl put' on A to the value readable on B, 5 puts (ms, sorted):"
echo "  $push_sorted"

echo
echo "sync: $N items in $sync_s s = $(calc %.0f "$N / $sync_s") items/s;" \
    "ratio to raw LMDB $(calc %.3f "$lmdb_s / $sync_s")${curve_s:+, to raw ZeroMQ CURVE $(calc %.3f "$curve_s / $sync_s")};" \
    "$(calc %.2f "$sync_s / $keyed_s")x the key-order floor ($keyed_s s)"
echo "change: 1 item among $N in $hs_ms ms from the handshake ($start_ms ms from B's start)," \
    "$((s2c_bytes + c2s_bytes)) bytes both ways, $rt_text"
echo "push: $push_sorted ms from put on A to readable on B (5 puts)"
echo "memory at rest after the sync: A $rest_a; B $rest_b"
