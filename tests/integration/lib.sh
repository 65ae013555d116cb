# tests/integration/lib.sh: helpers for the integration tests; sourced, never run.
# Owns: finding meshctl ($MESHCTL, default build/meshctl under the repo root: the release
# build) and the test build's ($MESHCTL_TESTING, default testing/meshctl beside it; with_hooks),
# a temp tree and background processes that end with the test (trap EXIT), three initialised
# devices (three_devices), a daemon on a home (start_daemon), and the checks: fail, skip,
# expect_eq, expect_exit, expect_fail_with, wait_for, wait_pids.
# Tests: tests/integration/NN-name.sh, bash, exit 0 pass, 1 fail, 77 skip.
# SPDX-License-Identifier: MIT
set -eu

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MESHCTL=${MESHCTL:-build/meshctl}
case $MESHCTL in /*) ;; *) MESHCTL=$ROOT/$MESHCTL ;; esac
# The test build's meshctl (-DMESH_TESTING): the only one that reads the MESH_TEST_* hooks.
MESHCTL_TESTING=${MESHCTL_TESTING:-$(dirname "$MESHCTL")/testing/meshctl}
case $MESHCTL_TESTING in /*) ;; *) MESHCTL_TESTING=$ROOT/$MESHCTL_TESTING ;; esac
export MESHCTL MESHCTL_TESTING
# tests/tools/forge of the test build: signs sets of a test's choosing (a lying member).
FORGE=${FORGE:-$(dirname "$MESHCTL_TESTING")/tests/forge}

# Never touch the user's own home: the defaults point into the test's temp tree.
T=$(mktemp -d "${TMPDIR:-/tmp}/meshctl-test.XXXXXX")
export HOME=$T/user
mkdir -p "$HOME"
unset MESH_HOME XDG_DATA_HOME
# No LAN beacons from any daemon a test starts (docs/PROTOCOL.md §16): the daemon refuses to
# send or hear them while this is set. Only a test inside network namespaces of its own
# (54-lan-discovery.sh) lifts it, for the daemons it starts there.
export MESHSYNC_NO_DISCOVERY=1

_pids=()
_at_exit=()

_cleanup() {
    local status=$? pid c
    trap - EXIT
    for pid in "${_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    for c in "${_at_exit[@]}"; do
        eval "$c" || true
    done
    if [ -n "${MESH_TEST_KEEP:-}" ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
    exit "$status"
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

# describe TEXT: the test's one-line description.
describe() {
    echo "$(basename "$0" .sh): $*"
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

skip() {
    echo "SKIP: $*"
    exit 77
}

# at_exit COMMAND: run COMMAND (a string) when the test ends, before the temp tree goes.
at_exit() {
    _at_exit+=("$1")
}

# ---- network namespaces (tests 54, 63, 64: addresses that exist only inside them) ----

# netcmd ARGS: run a command that sets namespaces up; on failure skip the test, naming it.
netcmd() {
    "$@" >/dev/null 2>"$T/ip.err" ||
        skip "cannot make network namespaces: '$*' failed: $(cat "$T/ip.err")"
}

# netns_bridge TAG PREFIX COUNT: a hub namespace holding a bridge, and COUNT namespaces on
# it, the i-th with eth0 at PREFIX.i/24 (PREFIX: three octets, e.g. 10.77.0); their names
# in NS (NS[0] is .1), the hub's in HUB. Each is deleted when the test ends.
netns_bridge() {
    local tag=$1 prefix=$2 count=$3 i n
    [ "$(id -u)" = 0 ] || skip "network namespaces need root (uid $(id -u))"
    command -v ip >/dev/null 2>&1 || skip "no 'ip' command (iproute2)"
    HUB=${tag}hub$$
    NS=()
    netcmd ip netns add "$HUB"
    at_exit "ip netns del $HUB"
    netcmd ip -n "$HUB" link add br0 type bridge
    netcmd ip -n "$HUB" link set br0 up
    for i in $(seq 1 "$count"); do
        n=${tag}n$i-$$
        netcmd ip netns add "$n"
        at_exit "ip netns del $n"
        NS+=("$n")
        netcmd ip -n "$n" link add eth0 type veth peer name p$i netns "$HUB"
        netcmd ip -n "$HUB" link set p$i master br0 up
        netcmd ip -n "$n" addr add "$prefix.$i/24" brd + dev eth0
        netcmd ip -n "$n" link set eth0 up
        netcmd ip -n "$n" link set lo up
    done
}

# beacon_capture NS FILE: capture every UDP datagram to the beacon port (47474) in namespace
# NS, a line "SOURCE HEX" each, appended to FILE (spawned: its PID in LAST_PID).
beacon_capture() {
    cat >"$T/listen.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 47474))
with open(sys.argv[1], "a") as out:
    while True:
        data, src = s.recvfrom(65536)
        out.write("%s %s\n" % (src[0], data.hex()))
        out.flush()
EOF
    : >"$2"
    spawn ip netns exec "$1" python3 "$T/listen.py" "$2"
}

# beacons_keep_secret FILE HOME...: fail unless no datagram of FILE (beacon_capture's lines)
# holds 8 bytes in a row of the Ed25519 or the CURVE public key of the device of any HOME,
# or its ID text (with or without its dashes).
beacons_keep_secret() {
    local file=$1 h
    shift
    for h in "$@"; do tail -c 32 "$h/identity" | od -An -tx1 | tr -d ' \n'; echo; done >"$T/keys"
    for h in "$@"; do "$MESHCTL" --home "$h" id; done >"$T/ids"
    python3 - "$file" "$T/keys" "$T/ids" <<'EOF' || fail "the captured beacons give a key or an ID away (above)"
import sys
P = 2**255 - 19
def curve(ed):  # the X25519 key of an Ed25519 public key: u = (1 + y) / (1 - y)
    y = int.from_bytes(ed, "little") & ((1 << 255) - 1)
    return ((1 + y) * pow(1 - y, P - 2, P) % P).to_bytes(32, "little")
keys = [bytes.fromhex(k) for k in open(sys.argv[2]).read().split()]
secrets = keys + [curve(k) for k in keys]
ids = open(sys.argv[3]).read().split()
bad = 0
for line in open(sys.argv[1]):
    src, hexdata = line.split()
    b = bytes.fromhex(hexdata)
    for k in secrets:
        if any(k[i:i + 8] in b for i in range(25)):
            print("%s: a beacon holds 8 bytes of a key" % src); bad = 1
    for t in ids:
        if t.encode() in b or t.replace("-", "").encode() in b:
            print("%s: a beacon holds an ID" % src); bad = 1
sys.exit(bad)
EOF
}

[ -x "$MESHCTL" ] || fail "no meshctl at $MESHCTL (run make, or set MESHCTL)"

# Deadlines stretch by MESH_TEST_TIME_FACTOR (a whole number, default 1; tests/run.sh sets it
# for slow builds such as ThreadSanitizer's): wait_for, wait_pids and, through mc, meshctl
# wait's --timeout. What a test asserts stays the same; it only gets longer to happen.
TIME_FACTOR=${MESH_TEST_TIME_FACTOR:-1}

# mc ARGS: run meshctl (a --timeout N is stretched by TIME_FACTOR).
mc() {
    local a args=() stretch=0
    for a in "$@"; do
        if [ "$stretch" = 1 ]; then a=$((a * TIME_FACTOR)); fi
        stretch=0
        [ "$a" = --timeout ] && stretch=1
        args+=("$a")
    done
    "$MESHCTL" "${args[@]}"
}

# coll_digest HOME COLL: collection COLL's digest as `status --json` gives it ("" if none).
coll_digest() {
    mc --home "$1" status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(next((c["digest"] for c in d["collections"] if c["name"] == sys.argv[1]), ""))' "$2"
}

# with_hooks COMMAND...: run COMMAND (e.g. the test's start_daemon, given MESH_TEST_*
# settings) with $MESHCTL naming the test build's meshctl, the only one with test hooks
# (docs/PROTOCOL.md §11.2); everything else runs the release build, the one that ships.
with_hooks() {
    [ -x "$MESHCTL_TESTING" ] ||
        fail "no test-build meshctl at $MESHCTL_TESTING (make testing builds it, or set MESHCTL_TESTING)"
    local MESHCTL=$MESHCTL_TESTING
    "$@"
}

# mk_home: print the path of a new, empty directory (mode 0700) in the temp tree.
mk_home() {
    mktemp -d "$T/home.XXXXXX"
}

# three_devices: new homes $A, $B and $C, initialised as alpha, beta and gamma, with their
# device IDs in $ida, $idb and $idc; defines a, b and c, which run meshctl on each home.
three_devices() {
    A=$(mk_home)
    B=$(mk_home)
    C=$(mk_home)
    a() { mc --home "$A" "$@"; }
    b() { mc --home "$B" "$@"; }
    c() { mc --home "$C" "$@"; }
    ida=$(a init --name alpha)
    idb=$(b init --name beta)
    idc=$(c init --name gamma)
}

# folder_two_daemons FA FB: A shares the folder at FA (its ID in $fid); daemons on A and B
# (PIDs in $pa and $pb, endpoints in $ea and $eb, logs $T/a.log and $T/b.log), each told
# the other's address; B joins the folder at FB once it sees it offered. After three_devices.
folder_two_daemons() {
    fid=$(a folder add "$1")
    start_daemon "$A" "$T/a.log"; pa=$LAST_PID ea=$EP
    folder_b_joins "$2"
}

# folder_b_joins FB: a daemon on B (PID in $pb, endpoint in $eb, log $T/b.log) that joins
# folder $fid at FB (folder_joins). A's daemon runs on $ea.
folder_b_joins() {
    start_daemon "$B" "$T/b.log"; pb=$LAST_PID eb=$EP
    folder_joins "$B" "$idb" "$eb" "$1"
}

# folder_joins HOME ID EP F: A (its daemon on $ea) and the device of HOME (device ID ID, its
# daemon on EP) told of each other; that device joins folder $fid at F once it sees it offered.
folder_joins() {
    a peer add "$2" "$3" >/dev/null
    mc --home "$1" peer add "$ida" "$ea" >/dev/null
    wait_for 20 "the folder offered on $(basename "$1")" sh -c "'$MESHCTL' --home '$1' folder ls | grep -q '^$fid	(offered)\$'"
    mc --home "$1" folder add "$4" --id "$fid" >/dev/null
}

# folder_entry HOME PATH: the bytes (hex) of PATH's entry in folder $fid's index on HOME.
folder_entry() {
    "$MESHCTL" --home "$1" get "folder:$fid" "$2" 2>/dev/null | od -An -tx1 | tr -d ' \n'
}

# folder_edit_apart PATH: a conflict on PATH of folder $fid, as folder_two_daemons left it:
# A edits while B's daemon is stopped ("edit on alpha"), then B while A's is ("edit on
# beta", scanned at B's start); both daemons then run again (new $pa, $pb; A on $ea; logs
# $T/a2.log and $T/b2.log). $FA and $FB are the two roots.
folder_edit_apart() {
    local p=$1 base
    wait_for 20 "B's index to hold $p" sh -c "[ -n \"\$('$MESHCTL' --home '$B' get 'folder:$fid' '$p' 2>/dev/null | od -An -tx1)\" ]"
    kill -TERM "$pb"; wait_pids 20 "$pb"
    base=$(folder_entry "$A" "$p")
    echo "edit on alpha" >"$FA/$p"
    wait_for 20 "A's index to take its edit" sh -c "[ \"\$('$MESHCTL' --home '$A' get 'folder:$fid' '$p' 2>/dev/null | od -An -tx1 | tr -d ' \n')\" != '$base' ]"
    kill -TERM "$pa"; wait_pids 20 "$pa"
    echo "edit on beta" >"$FB/$p"
    start_daemon "$B" "$T/b2.log"; pb=$LAST_PID
    wait_for 20 "B's index to take its edit" sh -c "[ \"\$('$MESHCTL' --home '$B' get 'folder:$fid' '$p' 2>/dev/null | od -An -tx1 | tr -d ' \n')\" != '$base' ]"
    start_daemon "$A" "$T/a2.log" "$ea"; pa=$LAST_PID
}

# tmp_held_kib ROOT: KiB held in the temp files of transfers under ROOT/.meshsync/tmp (blocks
# are written where they go, so this is what a cut transfer has so far).
tmp_held_kib() {
    find "$1/.meshsync/tmp" -name 'r*' -type f -exec du -k {} + 2>/dev/null | awk '{s += $1} END {print s + 0}'
}

# kill_b_mid_transfer KIB PATH: SIGKILL B's daemon ($pb) once its temp files under $FB hold
# KIB KiB of a transfer; PATH (in $FB) must not be visible then (a half-written file never is).
kill_b_mid_transfer() {
    local want=$1
    held_enough() { [ "$(tmp_held_kib "$FB")" -ge "$want" ]; }
    wait_for 60 "part of $2 in B's temp file" held_enough
    kill -KILL "$pb"
    wait "$pb" 2>/dev/null || true
    echo "held when killed: $(tmp_held_kib "$FB") KiB"
    [ ! -e "$FB/$2" ] || fail "a partial $2 is visible in B's folder after the kill"
}

# insert_mid FILE TMP: 1 KiB of random bytes inserted in the middle of FILE, saved as an
# editor saves it: written whole to TMP (outside the folder, so no half-made file is ever
# scanned in it), then renamed over FILE.
insert_mid() {
    python3 - "$1" "$2" <<'EOF'
import os, sys
d = open(sys.argv[1], "rb").read()
mid = len(d) // 2
with open(sys.argv[2], "wb") as f:
    f.write(d[:mid] + os.urandom(1024) + d[mid:])
os.rename(sys.argv[2], sys.argv[1])
EOF
}

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
    [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}

# expect_exit STATUS COMMAND...: COMMAND exits with STATUS; its stderr is in $T/stderr.
expect_exit() {
    local want=$1 got=0
    shift
    "$@" >"$T/stdout" 2>"$T/stderr" || got=$?
    [ "$got" = "$want" ] ||
        fail "'$*' exited $got, expected $want; stderr: $(cat "$T/stderr")"
}

# expect_fail_with SUBSTRING COMMAND...: COMMAND exits 1 and prints one line on stderr,
# "meshctl: ...", containing SUBSTRING.
expect_fail_with() {
    local want=$1
    shift
    expect_exit 1 "$@"
    local err lines
    err=$(cat "$T/stderr")
    lines=$(wc -l <"$T/stderr")
    [ "$lines" = 1 ] || fail "'$*': expected one stderr line, got $lines: $err"
    case $err in
    "meshctl: "*"$want"*) ;;
    *) fail "'$*': stderr '$err' does not say '$want'" ;;
    esac
}

# spawn COMMAND...: run COMMAND in the background, killed at exit; its PID is in $LAST_PID.
spawn() {
    "$@" &
    LAST_PID=$!
    _pids+=("$LAST_PID")
}

# wait_for SECONDS WHAT COMMAND...: poll COMMAND until it succeeds, or fail at the deadline.
wait_for() {
    local secs=$(($1 * TIME_FACTOR)) what=$2
    local deadline=$((SECONDS + secs))
    shift 2
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || fail "timed out after $secs s waiting for $what"
        sleep 0.1
    done
}

# wait_pids SECONDS PID...: wait until every PID has exited, or fail at the deadline;
# fail too if any of them exited non-zero.
wait_pids() {
    local deadline=$((SECONDS + $1 * TIME_FACTOR)) pid status
    shift
    for pid in "$@"; do
        while kill -0 "$pid" 2>/dev/null; do
            [ "$SECONDS" -lt "$deadline" ] || fail "process $pid still running at the deadline"
            sleep 0.1
        done
        status=0
        wait "$pid" || status=$?
        [ "$status" = 0 ] || fail "process $pid exited $status"
    done
}

# start_daemon HOME LOG [ENDPOINT]: start `meshctl daemon` on HOME (its stderr appended to
# LOG, at $DAEMON_LOG_LEVEL: info unless the test sets it), listening on ENDPOINT (default
# an ephemeral port on 127.0.0.1), and wait until its status file names the endpoint it
# bound: that in $EP, its PID in $LAST_PID (stopped with the test, by PID). A stale status
# file from an earlier daemon on HOME is removed first, so it is never taken for this one.
# Under with_hooks, the test build's meshctl runs.
start_daemon() {
    rm -f "$1/status"
    spawn "$MESHCTL" --home "$1" --log-level "${DAEMON_LOG_LEVEL:-info}" daemon \
        --listen "${3:-tcp://127.0.0.1:0}" 2>>"$2"
    wait_for 10 "the daemon on $1 to listen" grep -q '^listen tcp://127.0.0.1:[0-9]' "$1/status"
    EP=$(sed -n 's/^listen //p' "$1/status")
}

# start_daemon_env HOME LOG [ENV=VALUE...]: as start_daemon on 127.0.0.1:0, with these
# variables in the daemon's environment (test hooks: call it through with_hooks).
start_daemon_env() {
    local home=$1 log=$2
    shift 2
    rm -f "$home/status" # a stale file from an earlier daemon must not be taken for this one
    spawn env "$@" "$MESHCTL" --home "$home" --log-level "${DAEMON_LOG_LEVEL:-info}" daemon \
        --listen tcp://127.0.0.1:0 2>>"$log"
    wait_for 10 "the daemon on $home to listen" grep -q '^listen tcp://127.0.0.1:[0-9]' \
        "$home/status"
    EP=$(sed -n 's/^listen //p' "$home/status")
}
