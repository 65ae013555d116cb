#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2034 # $0 "$@" expand in the inner bash; DRIVER, LOGS: read by the harness functions
# tests/bench/files_run.sh: the shared side-by-side harness (../shared/bench/run.sh) with one
# workload it lacks, w_insert: 1 KiB of random bytes inserted in the middle of the w_large
# file (written beside it, flushed, then renamed over it, as an editor saves), timed and
# counted like the harness's own workloads (its `timed`: rescan, sync_s, bytes received).
# The harness's functions are read from run.sh itself (everything from its
# log() to its "main" marker), so its workloads, timing and checks are the
# harness's own; this file only adds w_insert and runs a driver as run.sh's main does.
# Usage: files_run.sh DRIVER WORKLOADS REPS | files_run.sh baseline REPS
#   DRIVER: syncthing (the harness's) or meshsync (tests/bench/files_driver.sh).
#   WORKLOADS: a comma list of the harness's, plus w_insert (which adds w_large).
# Environment: BENCH_HARNESS (default ../shared/bench beside the checkout), BENCH_OUT
# (results, default build/bench-files), and the harness's own (BENCH_COOLDOWN_S, ...).
# SPDX-License-Identifier: MIT
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export MESHCTL=${MESHCTL:-$ROOT/build/meshctl}
HARNESS=${BENCH_HARNESS:-$ROOT/../shared/bench}
[[ -f $HARNESS/run.sh ]] || { echo "files_run.sh: no harness at $HARNESS/run.sh (set BENCH_HARNESS)" >&2; exit 1; }

# The harness's private network namespace (loopback only), entered as run.sh does.
if [[ ${BENCH_NETNS:-1} == 1 && -z ${BENCH_IN_NETNS:-} ]]; then
    for u in "unshare -n" "unshare -rn"; do
        if $u true 2>/dev/null; then
            export BENCH_IN_NETNS="$u"
            exec $u -- bash -c 'ip link set lo up && exec bash "$0" "$@"' "${BASH_SOURCE[0]}" "$@"
        fi
    done
    echo "files_run.sh: WARNING: cannot create a network namespace; running on the host's loopback" >&2
fi

# shellcheck source=/dev/null
source <(sed -n '/^log() /,/^# ---- main/p' "$HARNESS/run.sh")
if ! declare -F timed >/dev/null || ! declare -F run_driver >/dev/null; then
    echo "files_run.sh: $HARNESS/run.sh has not the functions this script uses" >&2
    exit 1
fi

w_insert() { # 1 KiB inserted at the middle of w_large's file: every byte after it moves
    local f=$SHARE_A/w_large/big.bin st=$STAGE/big.insert n mid
    settle
    n=$(count_files "$SHARE_A")
    mid=$((LARGE_MIB * 1024 * 1024 / 2))
    { head -c "$mid" "$f"; rand_bytes 1024; tail -c +"$((mid + 1))" "$f"; } >"$st"
    sync
    timed w_insert rescan "$n" "$LARGE_TIMEOUT" -- mv "$st" "$f"
}
ALL_WL+=(w_insert)

[[ $# -ge 1 ]] || { sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 2; }
NAME=$1; shift
# Drivers by name, from a directory of links: the harness's syncthing and this project's.
BENCH_DIR=$(mktemp -d /tmp/meshbench-drivers.XXXXXX)
mkdir "$BENCH_DIR/drivers"
ln -s "$HARNESS/drivers/syncthing.sh" "$BENCH_DIR/drivers/syncthing.sh"
ln -s "$HERE/files_driver.sh" "$BENCH_DIR/drivers/meshsync.sh"
DRIVER=$NAME
sel=${1:-all}
[[ $sel == *w_insert* && $sel != *w_large* ]] && sel+=,w_large
[[ $NAME == baseline ]] || set -- "$sel" "${2:-3}"

OUT=${BENCH_OUT:-$ROOT/build/bench-files}
mkdir -p "$OUT"
CSV=$OUT/$NAME-$(date +%Y%m%d-%H%M%S).csv
LOGS=${CSV%.csv}.logs
SCR=$(mktemp -d "${BENCH_TMP:-/tmp}/meshbench.XXXXXX")
STARTED=0
cleanup() {
    local rc=$?
    if ((STARTED)); then drv_stop || true; fi
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $SCR"; else rm -rf "$SCR"; fi
    rm -rf "$BENCH_DIR"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log "results: $CSV  scratch: $SCR  netns: ${BENCH_IN_NETNS:-none}"
sync
if [[ ${BENCH_COOLDOWN_S:-65} != 0 ]]; then
    log "cooldown ${BENCH_COOLDOWN_S:-65}s (see BENCH_COOLDOWN_S)"; sleep "${BENCH_COOLDOWN_S:-65}"
fi
if [[ $NAME == baseline ]]; then
    run_baseline "${1:-3}"
else
    run_driver "$@"
fi
log "done: $CSV"
echo "$CSV" >"$OUT/last-$NAME"
