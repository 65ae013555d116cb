#!/usr/bin/env bash
# tests/integration/81-daemon-notify-reload.sh: `meshctl daemon` under a service manager's
# notify protocol ($NOTIFY_SOCKET: a datagram socket this test listens on, as systemd does
# for Type=notify) and its reload on SIGHUP. Must hold:
#  - READY=1 (with a STATUS line) is sent once the daemon runs, and STOPPING=1 at SIGTERM;
#  - SIGHUP after the config file's 'listen' changed restarts the node on the new endpoint
#    (status names it), sends RELOADING=1 (with MONOTONIC_USEC) then READY=1, and the node
#    still syncs: a write on the peer arrives after it;
#  - SIGHUP with an unparsable config keeps the running settings (said in the log), the
#    daemon keeps running and syncing, and READY=1 follows again;
#  - SIGHUP with nothing changed restarts nothing (the endpoint stays).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "the daemon tells its service manager it is ready, reloads its config on SIGHUP"

three_devices # A: the daemon under test; B: its peer, which A dials (C is not used)
a peer add "$idb" >/dev/null
start_daemon "$B" "$T/b.log"; pb=$LAST_PID eb=$EP
a peer add "$idb" "$eb" >/dev/null
b peer add "$ida" >/dev/null

# The "service manager": one line per datagram in $T/notify.log.
python3 - "$T/notify.sock" "$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(120)
with open(sys.argv[2], "a", buffering=1) as out:
    try:
        while True:
            out.write(s.recv(4096).decode().replace("\n", " | ") + "\n")
    except socket.timeout:
        pass
PY
pn=$!
_pids+=("$pn")
wait_for 10 "the notify socket" test -S "$T/notify.sock"

printf 'listen = tcp://127.0.0.1:0\n' >"$A/config"
rm -f "$A/status"
NOTIFY_SOCKET=$T/notify.sock spawn "$MESHCTL" --home "$A" --log-level "${DAEMON_LOG_LEVEL:-info}" daemon 2>>"$T/a.log"
pa=$LAST_PID
wait_for 10 "READY=1" grep -q '^READY=1 | STATUS=syncing, listening on tcp://127.0.0.1:0$' "$T/notify.log"
wait_for 10 "A's status" grep -q '^listen tcp://127.0.0.1:[0-9]' "$A/status"
ep1=$(sed -n 's/^listen //p' "$A/status")

# A changed endpoint: the node restarts on it, and syncs.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'listen = tcp://127.0.0.1:%s\n' "$port" >"$A/config"
kill -HUP "$pa"
wait_for 15 "A to listen on port $port" grep -q "^listen tcp://127.0.0.1:$port\$" "$A/status"
wait_for 10 "RELOADING=1 then READY=1" sh -c "grep -q '^RELOADING=1 | MONOTONIC_USEC=[0-9]*\$' '$T/notify.log' &&
    [ \$(grep -c '^READY=1' '$T/notify.log') -ge 2 ]"
grep -q "reload: restarted with the new settings, listening on tcp://127.0.0.1:$port" "$T/a.log" ||
    fail "A's log does not say it restarted on the new endpoint: $(tail -5 "$T/a.log")"
b put notes after-reload "sent after the reload" >/dev/null
wait_for 20 "B's write to reach A after the reload" sh -c "'$MESHCTL' --home '$A' get notes after-reload >/dev/null 2>&1"

# An unparsable config: the running settings stay, and so does the daemon.
printf 'listen = tcp://127.0.0.1:%s\nthis is not a setting\n' "$port" >"$A/config"
readies=$(grep -c '^READY=1' "$T/notify.log")
kill -HUP "$pa"
wait_for 10 "the daemon to keep its settings" grep -q "reload: .*config' has an error (above); kept the running settings" "$T/a.log"
wait_for 10 "READY=1 after the refused reload" sh -c "[ \$(grep -c '^READY=1' '$T/notify.log') -gt $readies ]"
kill -0 "$pa" || fail "the daemon exited on a config with an error"
grep -q "^listen tcp://127.0.0.1:$port\$" "$A/status" || fail "the endpoint changed on a refused reload"
b put notes after-bad "sent after the refused reload" >/dev/null
# (the same settings again, so that meshctl commands on A read its config file)
printf 'listen = tcp://127.0.0.1:%s\n' "$port" >"$A/config"
wait_for 20 "B's write to reach A after the refused reload" sh -c "'$MESHCTL' --home '$A' get notes after-bad >/dev/null 2>&1"

# Nothing changed: nothing restarts.
kill -HUP "$pa"
wait_for 10 "the unchanged reload" grep -q "reload: the node's settings are unchanged" "$T/a.log"
[ "$(grep -c 'reload: restarted' "$T/a.log")" = 1 ] || fail "an unchanged config restarted the node"
[ "$ep1" != "tcp://127.0.0.1:$port" ] || fail "the first endpoint was already port $port"

kill -TERM "$pa"
wait_pids 20 "$pa"
wait_for 10 "STOPPING=1" grep -q '^STOPPING=1$' "$T/notify.log"
kill -TERM "$pb"
wait_pids 20 "$pb"
echo "ok"
