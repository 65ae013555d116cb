#!/usr/bin/env bash
# tests/integration/43-preauth-big-frames.sh: a stranger, with no key, opens connections and
# sends on each the ZMTP greeting and then one handshake frame announcing 60 MB, which it
# streams. libzmq takes a whole message in before CURVE sees it: with a 64 MiB message cap,
# 8 such connections (the per-address cap) took a daemon to 467 MB in 8 s, and 128 from as
# many addresses would take 8 GiB. Frames now go in pieces of at most 1 MiB (PROTOCOL §10),
# so libzmq's cap is one piece: what must hold after is that V's peak memory (VmHWM, from
# /proc) stays under 64 MiB, V logs the shed connections, and a member's write made after
# the attack still reaches V. Prints V's VmHWM.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a stranger's huge handshake frames cost a daemon at most a piece each"
command -v python3 >/dev/null || skip "no python3"

V=$(mk_home)
A=$(mk_home)
v() { mc --home "$V" "$@"; }
a() { mc --home "$A" "$@"; }
idv=$(v init --name victim)
ida=$(a init --name member)
v peer add "$ida" >/dev/null
start_daemon "$V" "$T/v.log"; pv=$LAST_PID ev=$EP
a peer add "$idv" "$ev" >/dev/null
port=${ev##*:}

cat >"$T/big.py" <<'PY'
import socket, sys, time
port, n, size, secs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
greet = bytes([0xFF] + [0] * 8 + [0x7F, 3, 0]) + b"CURVE" + bytes(15) + bytes(1) + bytes(31)
socks, sent = [], []
for i in range(n):
    # 127.0.0.(2 + i % 8): several source addresses, so the per-address cap is not all
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.%d" % (2 + i % 8), 0))
    s.connect(("127.0.0.1", port))
    s.sendall(greet + bytes([0x06]) + size.to_bytes(8, "big"))
    s.settimeout(0.02)
    socks.append(s)
    sent.append(0)
chunk, end = bytes(1 << 20), time.time() + secs
while time.time() < end:
    for i, s in enumerate(socks):
        if s is None or sent[i] >= size:
            continue
        try:
            sent[i] += s.send(chunk)
        except socket.timeout:
            pass
        except OSError:
            socks[i] = None
print("bytes sent", sum(sent))
PY
python3 "$T/big.py" "$port" 32 60000000 6 >"$T/big.out" || fail "the attack script failed"
hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pv/status")
echo "V's VmHWM after 32 connections of 60 MB handshake frames: $hwm kB ($(cat "$T/big.out"))"
[ "$hwm" -lt 65536 ] || fail "V's peak memory $hwm kB is over 64 MiB"
a put notes after "after the attack" >/dev/null
# and frames of several pieces cross: a set of 3 values of 1 MiB (one change set of ~3 MiB)
head -c 1048576 /dev/urandom >"$T/v1"
python3 - "$T/v1" "$T/tsv" <<'PY'
import sys
v = open(sys.argv[1], "rb").read().hex()[:1048576]
with open(sys.argv[2], "w") as f:
    for k in ("big1", "big2", "big3"):
        f.write("%s\t%s\n" % (k, v))
PY
a put --from-tsv "$T/tsv" notes >/dev/null || fail "the 3 MiB transaction"
start_daemon "$A" "$T/a.log"
wait_for 30 "A's write on V" sh -c "'$MESHCTL' --home '$V' get notes after >/dev/null 2>&1"
wait_for 30 "A's 3 MiB set on V" sh -c "'$MESHCTL' --home '$V' get notes big3 >/dev/null 2>&1"
expect_eq "$(v get notes big2 | md5sum)" "$(a get notes big2 | md5sum)" "a 1 MiB value on V"
kill -0 "$pv" || fail "V is gone"
echo "ok: handshake frames past a piece are refused by libzmq at once; V kept syncing"
