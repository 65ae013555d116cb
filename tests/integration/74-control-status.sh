#!/usr/bin/env bash
# tests/integration/74-control-status.sh: meshctl and the daemon over the control socket
# (docs/PROTOCOL.md §21), real daemons on 127.0.0.1. What must hold after each step:
#  1. with a daemon running, `status --json` comes over its socket ("source": "socket",
#     the daemon's pid) with its live figures (the batches and versions it received from
#     the peer), and `wait` returns once in sync (exit 0), or says "not in sync" at its
#     timeout when more peers are asked for than exist (exit 1); ping names the daemon;
#  2. a daemon killed with SIGKILL leaves its socket file: status does not hang, falls back
#     and says the daemon is not running ("daemon": false, "source": ""), wait says no
#     daemon runs (exit 1); a new daemon replaces the file and answers on it;
#  3. the permission check: a control directory others may enter is refused by meshctl
#     (figures from the status file, "source": "file", and the daemon line says so); made
#     private again, the socket is used again; a daemon starting on such a directory logs
#     the socket off, makes none, and runs on (seen through its status file).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "status and wait over the control socket; a killed daemon's socket; the 0700 check"
command -v python3 >/dev/null || skip "no python3"
CTLSEND=$(dirname "$MESHCTL_TESTING")/tests/ctlsend
[ -x "$CTLSEND" ] || fail "no $CTLSEND (make testing builds it)"

# field JSON EXPR: print a Python expression over the JSON document j.
field() { python3 -c "import json,sys; j=json.loads(sys.argv[1]); print($2)" "$1"; }

three_devices
a peer add "$idb"
b peer add "$ida"
start_daemon "$A" "$T/a.log"
pa=$LAST_PID ea=$EP
start_daemon "$B" "$T/b.log"
pb=$LAST_PID eb=$EP
a peer add "$idb" "$eb"
b peer add "$ida" "$ea"

# 1. Live figures over the socket, and wait.
[ -S "$B/control/socket" ] || fail "no socket file in $B/control"
expect_eq "$(stat -c %a "$B/control")" 700 "the control directory's mode"
a put notes k1 v1
a put notes k2 v2
mc --home "$B" wait notes --timeout 20 || fail "wait: B never in sync in notes"
expect_eq "$(b get notes k2)" v2 "A's write on B after wait"
j=$(b status --json)
expect_eq "$(field "$j" '(j["source"], j["pid"], j["daemon"], j["peers"][0]["connected"],
    j["peers"][0]["in_sync"], j["peers"][0]["versions_in"] >= 2,
    [c["in_sync"] for c in j["collections"] if c["name"] == "notes"])')" \
    "('socket', $pb, True, True, True, True, [True])" \
    "B's status over the socket (source, pid, daemon, A connected, in sync, versions in, notes)"
b status >"$T/status.txt"
grep -q "^daemon  pid $pb, listening on $eb\$" "$T/status.txt" || fail "daemon line: $(cat "$T/status.txt")"
grep -q '^coll    notes  2 keys, 2 versions, .* in sync$' "$T/status.txt" ||
    fail "notes line: $(cat "$T/status.txt")"
expect_exit 1 mc --home "$B" wait --peers 2 --timeout 1
grep -q "not in sync after [0-9]* s (1 of 1 connected peers in sync)" "$T/stderr" ||
    fail "wait --peers 2: $(cat "$T/stderr")"
"$CTLSEND" "$B" ping >"$T/ping"
grep -q "^ping pid=$pb meshsync " "$T/ping" || fail "ping: $(cat "$T/ping")"

# 2. SIGKILL: the socket file stays behind, and misleads nobody.
kill -KILL "$pb"
wait "$pb" 2>/dev/null || true
[ -S "$B/control/socket" ] || fail "the killed daemon's socket file is gone (the test needs it)"
j=$(timeout 20 "$MESHCTL" --home "$B" status --json) || fail "status hung or failed after SIGKILL"
expect_eq "$(field "$j" '(j["daemon"], j["source"], j["pid"])')" "(False, '', 0)" \
    "status after SIGKILL"
timeout 20 "$MESHCTL" --home "$B" status >"$T/status.txt" || fail "status (text) after SIGKILL"
grep -q '^daemon  not running' "$T/status.txt" || fail "after SIGKILL: $(cat "$T/status.txt")"
expect_exit 1 timeout 20 "$MESHCTL" --home "$B" wait --timeout 1
grep -q "no daemon runs on this home" "$T/stderr" || fail "wait after SIGKILL: $(cat "$T/stderr")"
start_daemon "$B" "$T/b2.log" "$eb"
pb2=$LAST_PID
"$CTLSEND" "$B" ping >"$T/ping"
grep -q "^ping pid=$pb2 " "$T/ping" || fail "the new daemon does not answer: $(cat "$T/ping")"
a put notes k3 v3
mc --home "$B" wait notes --timeout 20 || fail "wait after the restart"
expect_eq "$(b get notes k3)" v3 "a write after the restart"
expect_eq "$(field "$(b status --json)" '(j["source"], j["pid"])')" "('socket', $pb2)" \
    "status from the new daemon"

# 3. Permissions: a control directory others may enter is not used, by either end.
chmod 755 "$B/control"
expect_eq "$(field "$(b status --json)" '(j["daemon"], j["source"], j["pid"])')" \
    "(True, 'file', $pb2)" "status with the directory open to others (figures from the file)"
b status | grep -q "^daemon  pid $pb2, .*(figures from its status file: its control socket does not answer)" ||
    fail "the daemon line does not say where the figures came from"
chmod 700 "$B/control"
expect_eq "$(field "$(b status --json)" '(j["source"], j["pid"])')" "('socket', $pb2)" \
    "status once the directory is private again"
mkdir -m 755 "$C/control"
start_daemon "$C" "$T/c.log"
pc=$LAST_PID
grep -q "control socket off .*group or others may use it (mode 0755)" "$T/c.log" ||
    fail "the daemon did not refuse the open directory: $(cat "$T/c.log")"
[ ! -e "$C/control/socket" ] || fail "a socket was made in the open directory"
expect_eq "$(field "$(c status --json)" '(j["daemon"], j["source"], j["pid"])')" \
    "(True, 'file', $pc)" "a daemon without its socket, seen from its status file"
echo "ok"
