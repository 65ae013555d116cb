# shellcheck shell=bash disable=SC2034 # sourced by the harness, which reads DRV_* and calls drv_*
# tests/bench/files_driver.sh: the meshsync driver of the side-by-side file benchmark
# (../shared/bench/run.sh, whose header defines the drv_* interface; tests/bench/README.md,
# "Folder sync beside Syncthing"). Sourced by the harness (or by tests/bench/files_run.sh).
# Two daemons, a and b, with homes under the run's work directory, listening on
# 127.0.0.1 only, LAN discovery off (MESHSYNC_NO_DISCOVERY=1); each knows the other by
# `peer add ID ADDRESS`. The folder: `meshctl folder add DIR_A --id bench` on a (which
# creates it), then the same on b with DIR_B (which joins it); in sync when `meshctl folder
# wait bench` returns on both sides and b holds the expected number of files.
# Knobs (environment): MESHCTL (default build/meshctl of this checkout), MS_PORT_BASE
# (default 22200: a listens on BASE, b on BASE+10), MS_LOG_LEVEL (default info), MS_PERF
# (a directory: each daemon is profiled there by `perf record -g`, perf-a.data, perf-b.data;
# MS_PERF_EVENTS: perf record's options in place of -F 499, e.g. "-e syscalls:sys_enter_poll
# -c 10 --call-graph dwarf,16384" to see where the polls come from),
# MS_TRACE (a file: the times of the trigger and of each wait's return, _ms_trace), MS_STAT
# (a directory: each daemon's system calls, context switches and CPU counted there by
# `perf stat`, stat-a.txt, stat-b.txt, for the whole run; MS_STAT_EVENTS: other events,
# e.g. syscalls:sys_enter_openat,syscalls:sys_enter_close).
# SPDX-License-Identifier: MIT

MS_BIN=${MESHCTL:-$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)/build/meshctl}
MS_PORT_BASE=${MS_PORT_BASE:-22200}
MS_FOLDER=bench
export MESHSYNC_NO_DISCOVERY=1 # no LAN beacons (docs/PROTOCOL.md §16)

# What meshsync keeps inside a shared folder: its own directory (the root marker, versions,
# temporaries; docs/PROTOCOL.md §18.3-18.4, §19) and the ignore file.
DRV_EXCLUDE_NAMES=(.meshsync .meshignore)
DRV_SETTLE_S=2 # inotify notices within a second (issue 18)

declare -A MS_HOME MS_ID MS_PID MS_PORT MS_PERF_PID MS_STAT_PID

# ms_folder_missing: true (and says why on stderr) when this meshctl has no `folder`
# command yet, or lacks `folder add` / `folder wait`. Used by drv_start and by files.sh.
ms_folder_missing() {
    local help
    if [[ ! -x $MS_BIN ]]; then
        echo "meshsync driver: no meshctl at $MS_BIN (make all, or set MESHCTL)" >&2
        return 0
    fi
    help=$("$MS_BIN" folder --help 2>&1 || true)
    if [[ $help == *"not a meshctl command"* || $help != *add* || $help != *wait* ]]; then
        echo "meshsync driver: $MS_BIN has no 'folder add' / 'folder wait' command yet" \
            "(issue 18: the folder engine is not in this build); meshsync not measured" >&2
        return 0
    fi
    return 1
}

drv_version() { echo "meshsync $("$MS_BIN" --version 2>/dev/null | head -n1)"; }

_ms() { local n=$1; shift; "$MS_BIN" --home "${MS_HOME[$n]}" "$@"; }

# The peer line of node n's status for its peer: key=value words.
_ms_peer_line() {
    local n=$1 p
    [[ $n == a ]] && p=b || p=a
    grep "^peer ${MS_ID[$p]} " "${MS_HOME[$n]}/status" 2>/dev/null || true
}

drv_start() {
    local work=$1 n i=0 t
    ms_folder_missing && return 1
    for n in a b; do
        MS_HOME[$n]=$work/$n.home
        MS_PORT[$n]=$((MS_PORT_BASE + 10 * i))
        mkdir -p "${MS_HOME[$n]}"
        chmod 700 "${MS_HOME[$n]}"
        MS_ID[$n]=$(_ms "$n" init --name "bench-$n") || return 1
        # (meshctl itself in the background, not a subshell running _ms: $! must be the
        # daemon's PID, or drv_stop stops the subshell and leaves the daemon running)
        "$MS_BIN" --home "${MS_HOME[$n]}" --log-level "${MS_LOG_LEVEL:-info}" daemon \
            --listen "tcp://127.0.0.1:${MS_PORT[$n]}" 2>>"${MS_HOME[$n]}/daemon.log" &
        MS_PID[$n]=$!
        if [[ -n ${MS_PERF:-} ]]; then
            mkdir -p "$MS_PERF"
            perf record -q ${MS_PERF_EVENTS:--F 499} -g -p "${MS_PID[$n]}" -o "$MS_PERF/perf-$n.data" 2>/dev/null &
            MS_PERF_PID[$n]=$!
        fi
        if [[ -n ${MS_STAT:-} ]]; then
            mkdir -p "$MS_STAT"
            perf stat -e "${MS_STAT_EVENTS:-raw_syscalls:sys_enter,context-switches,task-clock}" -p "${MS_PID[$n]}" \
                -o "$MS_STAT/stat-$n.txt" 2>/dev/null &
            MS_STAT_PID[$n]=$!
        fi
        i=$((i + 1))
    done
    for n in a b; do
        t=0
        until grep -q "^listen tcp://127.0.0.1:${MS_PORT[$n]}" "${MS_HOME[$n]}/status" 2>/dev/null; do
            kill -0 "${MS_PID[$n]}" 2>/dev/null || { echo "meshsync $n died" >&2; return 1; }
            sleep 0.1; t=$((t + 1)); ((t < 300)) || return 1
        done
    done
}

drv_pair() {
    _ms a peer add "${MS_ID[b]}" "tcp://127.0.0.1:${MS_PORT[b]}" >/dev/null &&
        _ms b peer add "${MS_ID[a]}" "tcp://127.0.0.1:${MS_PORT[a]}" >/dev/null
}

# a creates the folder, b joins it by its ID (tried again for up to 60 s, in case b must
# first hear of a's offer over their session).
drv_share() {
    local deadline=$((SECONDS + 60))
    _ms a folder add "$1" --id "$MS_FOLDER" >/dev/null || return 1
    until _ms b folder add "$2" --id "$MS_FOLDER" >"${MS_HOME[b]}/folder-add.log" 2>&1; do
        ((SECONDS < deadline)) || { cat "${MS_HOME[b]}/folder-add.log" >&2; return 1; }
        sleep 0.5
    done
}

# Connected (a session up both ways) and the folder in sync on both sides.
drv_wait_ready() {
    local deadline=$((SECONDS + ${1:-60})) n
    while ((SECONDS < deadline)); do
        local ok=1
        for n in a b; do
            [[ $(_ms_peer_line "$n") == *" session=1 "* ]] || ok=0
        done
        if ((ok)) && _ms a folder wait "$MS_FOLDER" --timeout 5 >/dev/null 2>&1 &&
            _ms b folder wait "$MS_FOLDER" --timeout 5 >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    echo "meshsync: not ready after ${1:-60}s" >&2
    return 1
}

# With MS_TRACE=FILE: a line "UTC-TIME what" there at each step of the trigger and the wait
# (beside the daemons' logs, where the time of each file written is).
_ms_trace() {
    [[ -z ${MS_TRACE:-} ]] || echo "$(date -u +%H:%M:%S.%N) $*" >>"$MS_TRACE"
}

drv_pid() { echo "${MS_PID[$1]}"; }
drv_peer_ports() { echo "${MS_PORT[a]} ${MS_PORT[b]}"; }
drv_mark() { :; }

# A `folder scan ID` when this meshctl has one; otherwise inotify picks the change up
# (drv_wait_synced waits for it either way).
drv_trigger() {
    _ms_trace "trigger $1"
    if "$MS_BIN" folder --help 2>&1 | grep -q 'meshctl folder scan'; then
        _ms "$1" folder scan "$MS_FOLDER" >/dev/null
    fi
}

# In sync by meshsync's own account: `folder wait` returns on a (its change scanned and
# taken by b) and on b, and b's share holds N regular files (so a wait that returned
# before a noticed the change does not count).
drv_wait_synced() {
    local want=$1 deadline=$((SECONDS + ${2:-600})) left
    while ((SECONDS < deadline)); do
        left=$((deadline - SECONDS))
        if _ms a folder wait "$MS_FOLDER" --timeout "$left" >/dev/null 2>&1 &&
            _ms_trace "a in sync" &&
            _ms b folder wait "$MS_FOLDER" --timeout "$left" >/dev/null 2>&1 &&
            _ms_trace "b in sync" &&
            [[ $(count_files "$SHARE_B") == "$want" ]]; then
            return 0
        fi
        [[ -z ${MS_TRACE:-} ]] || _ms_trace "not yet: b holds $(count_files "$SHARE_B") of $want files"
        sleep 0.05
    done
    return 1
}

# "IN OUT": the bytes of node n's session with its peer as the daemon counts them
# (status bytes_in / bytes_out, docs/PROTOCOL.md §11.4).
drv_bytes() {
    local l i o
    l=$(_ms_peer_line "$1")
    i=$(tr ' ' '\n' <<<"$l" | sed -n 's/^bytes_in=//p')
    o=$(tr ' ' '\n' <<<"$l" | sed -n 's/^bytes_out=//p')
    echo "${i:--} ${o:--}"
}

drv_logs() {
    local n
    mkdir -p "$1"
    for n in a b; do cp "${MS_HOME[$n]}/daemon.log" "$1/meshsync-$n.log" 2>/dev/null || true; done
}

# Only what drv_start launched, by PID: SIGTERM, then SIGKILL after 10 s.
drv_stop() {
    local n t pid
    for n in a b; do # (the profiles first: perf writes its file on SIGINT)
        for pid in "${MS_PERF_PID[$n]:-}" "${MS_STAT_PID[$n]:-}"; do
            [[ -n $pid ]] || continue
            kill -INT "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        done
        MS_PERF_PID[$n]= MS_STAT_PID[$n]=
    done
    for n in a b; do
        [[ -n ${MS_PID[$n]:-} ]] || continue
        kill -TERM "${MS_PID[$n]}" 2>/dev/null || true
    done
    for n in a b; do
        [[ -n ${MS_PID[$n]:-} ]] || continue
        for t in $(seq 100); do kill -0 "${MS_PID[$n]}" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "${MS_PID[$n]}" 2>/dev/null || true
        wait "${MS_PID[$n]}" 2>/dev/null || true
        MS_PID[$n]=
    done
    return 0
}
