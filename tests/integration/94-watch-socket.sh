#!/usr/bin/env bash
# tests/integration/94-watch-socket.sh: `meshctl watch` beside a running daemon follows the
# daemon's commits over the control socket (docs/PROTOCOL.md §21.4): two watchers on B each
# print every write A's daemon sends, exactly once, and a third watcher that never reads
# (stopped with SIGSTOP) does not stall B's daemon: B keeps taking A's writes and answering
# status; once let go, the third prints every change since its start, each once.
# What must hold after: B's daemon logged the three subscriptions; watchers 1 and 2 printed
# k01..k30 each once, in order, with A as origin; watcher 3 printed k01..k31 each once.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "meshctl watch subscribes over the control socket; a watcher that never reads stalls nothing"
command -v python3 >/dev/null || skip "no python3"

three_devices
a peer add "$idb"
b peer add "$ida"
start_daemon "$A" "$T/a.log"
ea=$EP
DAEMON_LOG_LEVEL=debug start_daemon "$B" "$T/b.log"
eb=$EP
a peer add "$idb" "$eb"
b peer add "$ida" "$ea"

secs=$((60 * TIME_FACTOR))
spawn "$MESHCTL" --home "$B" watch notes --json --limit 30 --timeout $secs >"$T/w1" 2>"$T/w1.err"
p1=$LAST_PID
spawn "$MESHCTL" --home "$B" watch notes --json --limit 30 --timeout $secs >"$T/w2" 2>"$T/w2.err"
p2=$LAST_PID
spawn "$MESHCTL" --home "$B" watch notes --json --limit 31 --timeout $secs >"$T/w3" 2>"$T/w3.err"
p3=$LAST_PID
subscribed() { [ "$(grep -c 'control: a watch subscribed' "$T/b.log")" -ge 3 ]; }
wait_for 15 "three watches subscribed on B's control socket" subscribed
kill -STOP "$p3"

for i in $(seq -w 1 30); do
    a put notes "k$i" "v$i"
done
wait_pids 60 "$p1" "$p2"
# B's daemon was not held up by the stopped watcher: status answers, A's next write arrives
b status --json >"$T/status.json" || fail "status on B while a watcher is stopped"
a put notes k31 v31
wait_for 15 "k31 on B" sh -c "'$MESHCTL' --home '$B' get notes k31 | grep -q v31"
kill -CONT "$p3"
wait_pids 30 "$p3"

python3 - "$T/w1" "$T/w2" "$T/w3" "$ida" <<'PY' || fail "watch output: $(head -c 600 "$T/w1" "$T/w3")"
import json, sys
ida = sys.argv[4]
for path, n in ((sys.argv[1], 30), (sys.argv[2], 30), (sys.argv[3], 31)):
    rows = [json.loads(l) for l in open(path)]
    keys = [r["key"] for r in rows]
    assert keys == ["k%02d" % i for i in range(1, n + 1)], (path, keys)
    assert all(r["origin"] == ida and not r["local"] for r in rows), (path, rows[:2])
    cursors = [r["cursor"] for r in rows]
    assert cursors == sorted(set(cursors)), (path, cursors)
PY
exit 0
