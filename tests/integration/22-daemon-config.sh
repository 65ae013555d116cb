#!/usr/bin/env bash
# tests/integration/22-daemon-config.sh: the daemon's settings in HOME/config, and renaming.
#  1. 'listen' in HOME/config is where the daemon listens when no --listen is given; the
#     flag overrides it ('none': no listening); a bad 'listen' there fails with exit 1,
#     naming the file, while a flag given instead still starts the daemon.
#  2. init --name NEW on an existing home renames the device (exit 0, a line saying so), and
#     its members learn the new name over the network while both daemons run.
# Real daemons on 127.0.0.1, each stopped by PID.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "listen and the other daemon settings come from HOME/config; init --name renames"

wait_listen() { # HOME
    wait_for 10 "the daemon on $1 to listen" grep -q '^listen tcp://127.0.0.1:[0-9]' "$1/status"
    EP=$(sed -n 's/^listen //p' "$1/status")
}
wait_running() { # HOME
    wait_for 10 "the daemon on $1 to run" test -f "$1/status"
}

three_devices
a peer add "$idb"
b peer add "$ida"

# ---- 1. listen from the config file, and the flag over it ----
printf '# the daemon settings\nlisten = tcp://127.0.0.1:0\nlog-level = debug\n' >"$A/config"
spawn "$MESHCTL" --home "$A" daemon 2>>"$T/a.log"; pa=$LAST_PID
wait_listen "$A"
grep -q "\[debug\]" "$T/a.log" || fail "log-level = debug in the config did not reach the daemon"
kill -TERM "$pa"
wait_pids 10 "$pa"
# --listen none overrides it: the daemon runs and listens nowhere
spawn "$MESHCTL" --home "$A" daemon --listen none 2>>"$T/a.log"; pa=$LAST_PID
wait_running "$A"
! grep -q '^listen tcp:' "$A/status" || fail "--listen none: A's status says $(grep '^listen' "$A/status")"
kill -TERM "$pa"
wait_pids 10 "$pa"
# a bad listen in the file: refused, the file named; a flag given instead wins
printf 'listen = tcp://127.0.0.1:70000\n' >"$A/config"
expect_fail_with "'listen' in '$A/config'" timeout 10 "$MESHCTL" --home "$A" daemon
grep -q "has port 70000, outside 0..65535" "$T/stderr" || fail "the reason is not named: $(cat "$T/stderr")"
printf 'listen = tcp://127.0.0.1:0\n' >"$B/config"
spawn "$MESHCTL" --home "$B" daemon 2>>"$T/b.log"; pb=$LAST_PID
wait_listen "$B"; eb=$EP
a peer add "$idb" "$eb"
spawn "$MESHCTL" --home "$A" --log-level debug daemon --listen tcp://127.0.0.1:0 2>>"$T/a.log"
pa=$LAST_PID
wait_listen "$A"

# ---- 2. rename, beside the running daemon, and the name syncs ----
wait_for 20 "B to know A as alpha" sh -c "'$MESHCTL' --home '$B' peer ls | grep -q '^$ida	alpha	'"
expect_exit 0 a init --name "alpha laptop"
expect_eq "$(cat "$T/stdout")" "$ida" "init --name prints the device ID"
grep -q "renamed 'alpha' to 'alpha laptop'" "$T/stderr" || fail "init --name: $(cat "$T/stderr")"
expect_eq "$(a --json init | sed 's/.*"name":"\([^"]*\)".*/\1/')" "alpha laptop" "A's name after the rename"
wait_for 20 "B to learn A's new name" sh -c "'$MESHCTL' --home '$B' peer ls | grep -q '^$ida	alpha laptop	'"
# the same name again renames nothing; a bad one is refused and changes nothing
expect_exit 0 a init --name "alpha laptop"
grep -q "already initialised" "$T/stderr" || fail "init with the same name: $(cat "$T/stderr")"
expect_exit 2 a init --name "$(printf 'bad\tname')"
expect_eq "$(a --json init | sed 's/.*"name":"\([^"]*\)".*/\1/')" "alpha laptop" "A's name after a refused rename"

kill -TERM "$pa" "$pb"
wait_pids 10 "$pa" "$pb"
echo "ok"
