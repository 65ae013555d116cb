#!/usr/bin/env bash
# tests/integration/31-preauth-flood.sh: a stranger floods a daemon with TCP connections, no
# key needed (docs/PROTOCOL.md, Resource budget: connection). V runs with 1,024 descriptors
# (systemd's default); a script holds 2,000 idle connections to it from 127.0.0.2-9, dialling
# again each one V closes. Meanwhile its member A restarts on a new port, so both links must
# be made anew during the flood. What must hold after: A's write arrives on V, and V's on A
# (before, V's descriptors ran out, it could neither accept A nor dial it, and logged
# nothing); V logs the flood with a count, once per 10 s, not once per connection; V's peak
# memory stays under 256 MiB. Prints the write's latency and V's VmHWM.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a stranger's 2,000 idle connections do not stop a member's sync"
command -v python3 >/dev/null || skip "no python3"

start_daemon() { # HOME LOG [NOFILE]: daemon on an ephemeral port; $EP, $LAST_PID
    rm -f "$1/status"
    spawn bash -c 'ulimit -n "$0" && exec "$@"' "${3:-4096}" \
        "$MESHCTL" --home "$1" --log-level info daemon --listen tcp://127.0.0.1:0 2>>"$2"
    wait_for 10 "the daemon on $1 to listen" grep -q '^listen tcp://127.0.0.1:[0-9]' "$1/status"
    EP=$(sed -n 's/^listen //p' "$1/status")
}

V=$(mk_home)
A=$(mk_home)
v() { mc --home "$V" "$@"; }
a() { mc --home "$A" "$@"; }
idv=$(v init --name victim)
ida=$(a init --name member)
start_daemon "$V" "$T/v.log" 1024; pv=$LAST_PID ev=$EP
[ "$(sed -n 's/^Max open files *\([0-9]*\).*/\1/p' "/proc/$pv/limits")" = 1024 ] ||
    fail "V does not run with 1024 descriptors: $(grep 'open files' "/proc/$pv/limits")"
start_daemon "$A" "$T/a.log"; pa=$LAST_PID
v peer add "$ida" "$EP"
a peer add "$idv" "$ev"
a put notes before "before the flood"
wait_for 30 "A's first write on V" sh -c "'$MESHCTL' --home '$V' get notes before >/dev/null 2>&1"

# The stranger: 2,000 connections from 8 source addresses, each one closed dialled again.
cat >"$T/flood.py" <<'PY'
import os, resource, selectors, socket, sys, time
port, n, secs, countfile = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 64)), hard))
sel = selectors.DefaultSelector()
attempts = 0
def dial(i):
    global attempts
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.bind(("127.0.0.%d" % (2 + i % 8), 0))
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    except OSError:
        s.close()
        return
    attempts += 1
    sel.register(s, selectors.EVENT_READ, i)
for i in range(n):
    dial(i)
end, last = time.time() + secs, 0
while time.time() < end:
    for key, _ in sel.select(timeout=0.2):
        try:
            data = key.fileobj.recv(4096)
        except OSError:
            data = b""
        if not data:  # V closed it: dial again
            sel.unregister(key.fileobj)
            key.fileobj.close()
            dial(key.data)
    if time.time() - last > 0.5:
        last = time.time()
        with open(countfile + ".tmp", "w") as f:
            f.write("%d\n" % attempts)
        os.replace(countfile + ".tmp", countfile)
PY
flood_start=$SECONDS
spawn python3 "$T/flood.py" "${ev##*:}" 2000 $((60 * TIME_FACTOR)) "$T/attempts"
pf=$LAST_PID
wait_for 20 "the stranger's 2,000 connections" \
    sh -c "[ -s '$T/attempts' ] && [ \$(cat '$T/attempts') -ge 2000 ]"
sleep 2 # the flood is on: V's descriptors would be gone by now without the caps

# A restarts on a new port: both links are made anew, under the flood.
kill -TERM "$pa"
wait_pids 10 "$pa"
start_daemon "$A" "$T/a.log"; pa=$LAST_PID
v peer add "$ida" "$EP"
t0=$(date +%s%N)
a put notes during "written during the flood"
wait_for 20 "A's write on V during the flood" \
    sh -c "[ \"\$('$MESHCTL' --home '$V' get notes during 2>/dev/null)\" = 'written during the flood' ]"
t1=$(date +%s%N)
v put notes back "V's write during the flood"
wait_for 30 "V's write on A during the flood" \
    sh -c "[ \"\$('$MESHCTL' --home '$A' get notes back 2>/dev/null)\" = \"V's write during the flood\" ]"
kill -0 "$pf" 2>/dev/null || fail "the stranger's script ended early"
echo "member write latency under the flood: $(((t1 - t0) / 1000000)) ms;" \
    "stranger's connection attempts: $(cat "$T/attempts");" \
    "V's descriptors: $(ls "/proc/$pv/fd" | wc -l); V's $(grep VmHWM "/proc/$pv/status" | tr -s ' \t' ' ')"

# Logged with a count, once per interval (10 s): never a line per connection.
wait_for 15 "V to log the flood" grep -q 'pre-auth flood: shut down [1-9]' "$T/v.log"
lines=$(grep -c 'pre-auth flood' "$T/v.log")
most=$(((SECONDS - flood_start) / 10 + 1))
[ "$lines" -le "$most" ] || fail "V logged the flood $lines times in $((SECONDS - flood_start)) s"
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pv/status")
[ "$hwm" -lt $((256 * 1024)) ] || fail "V's peak memory is $hwm kB"
kill -TERM "$pf" "$pv" "$pa"
wait "$pf" 2>/dev/null || true
wait_pids 10 "$pv" "$pa"
echo ok
