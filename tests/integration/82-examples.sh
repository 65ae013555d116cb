#!/usr/bin/env bash
# tests/integration/82-examples.sh: docs/examples/ built by `make examples` against a
# DESTDIR install of the library through pkg-config (nothing of the build tree), and run.
# Must hold:
#  - settings (a settings sync on the change feed): a setting written by the example on A
#    beside A's daemon shows on B in the example's output once B's daemon has it; the
#    example on B, started again, resumes from its saved cursor and prints nothing it
#    printed before; a change made on A while it was closed is printed once, latest value;
#  - chat (a chat-like feed on presence and messages): two copies, each its own node, see
#    each other come online; a line typed in one arrives in the other as a message.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "the examples, built against the installed library with pkg-config, sync settings and chat"
command -v pkg-config >/dev/null || skip "no pkg-config"
D=$T/dest
make -C "$ROOT" --no-print-directory -s B=build install PREFIX=/usr/local DESTDIR="$D" \
    >"$T/install.log" 2>&1 || fail "make install: $(tail -n 5 "$T/install.log")"
EX=$T/ex
PKG_CONFIG_PATH=$D/usr/local/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D \
    make -C "$ROOT" --no-print-directory -s B="$EX" examples >"$T/examples.log" 2>&1 ||
    fail "make examples: $(tail -n 5 "$T/examples.log")"
[ -x "$EX/examples/settings" ] && [ -x "$EX/examples/chat" ] || fail "make examples built: $(ls "$EX/examples")"
export LD_LIBRARY_PATH=$D/usr/local/lib
ldd "$EX/examples/settings" | grep -q "$D/usr/local/lib/libmeshsync.so" ||
    fail "settings does not load the installed library: $(ldd "$EX/examples/settings")"

# settings, beside two daemons.
three_devices
a peer add "$idb" >/dev/null
start_daemon "$A" "$T/a.log"; pa=$LAST_PID ea=$EP
b peer add "$ida" "$ea" >/dev/null
start_daemon "$B" "$T/b.log"; pb=$LAST_PID
spawn "$EX/examples/settings" "$A" theme=dark >"$T/sa.out" 2>&1; psa=$LAST_PID
spawn "$EX/examples/settings" "$B" >"$T/sb1.out" 2>&1; psb=$LAST_PID
wait_for 30 "A's setting in B's settings example" grep -q "^theme = dark" "$T/sb1.out"
kill -TERM "$psa" "$psb"
wait_pids 10 "$psa" "$psb"
[ -s "$B/settings.cursor" ] || fail "the example saved no cursor on B"
a put settings theme light >/dev/null # while B's example is closed
wait_for 30 "the change to reach B" sh -c "[ \"\$('$MESHCTL' --home '$B' get settings theme 2>/dev/null)\" = light ]"
spawn "$EX/examples/settings" "$B" >"$T/sb2.out" 2>&1; psb=$LAST_PID
wait_for 10 "the missed change in B's example" grep -q "^theme = light" "$T/sb2.out"
sleep 1
kill -TERM "$psb"
wait_pids 10 "$psb"
[ "$(grep -c '^theme' "$T/sb2.out")" = 1 ] || fail "resumed from its cursor, B's example printed: $(cat "$T/sb2.out")"
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"

# chat: two nodes of their own (no daemon), each on a fixed port the other dials.
ports=$(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
set -- $ports
p1=$1 p2=$2
H1=$(mk_home) H2=$(mk_home)
id1=$(mc --home "$H1" init --name one) id2=$(mc --home "$H2" init --name two)
mc --home "$H1" peer add "$id2" "tcp://127.0.0.1:$p2" >/dev/null
mc --home "$H2" peer add "$id1" "tcp://127.0.0.1:$p1" >/dev/null
# Their input: fifos this shell holds open (read-write, so no open blocks).
mkfifo "$T/in1" "$T/in2"
exec 7<>"$T/in1" 8<>"$T/in2"
at_exit "exec 7>&- 8>&-"
spawn sh -c 'exec "$0" "$1" "$2" <"$3" >"$4" 2>&1' "$EX/examples/chat" "$H1" "tcp://127.0.0.1:$p1" "$T/in1" "$T/c1.out"
pc1=$LAST_PID
spawn sh -c 'exec "$0" "$1" "$2" <"$3" >"$4" 2>&1' "$EX/examples/chat" "$H2" "tcp://127.0.0.1:$p2" "$T/in2" "$T/c2.out"
pc2=$LAST_PID
wait_for 20 "the chats to see each other" sh -c "grep -q 'is here' '$T/c1.out' && grep -q 'is here' '$T/c2.out'"
echo "hello from one" >&7
wait_for 10 "one's line to reach two" grep -q "> hello from one\$" "$T/c2.out"
kill -TERM "$pc1" "$pc2"
wait "$pc1" "$pc2" 2>/dev/null || true
echo "ok"
