#!/usr/bin/env bash
# tests/integration/109-folder-large-scan-live.sh: a large file is scanned a round at a time
# (docs/PROTOCOL.md §18.5), the daemon's loop served between rounds: its sessions and its
# control socket never wait for the whole file. Real daemons on 127.0.0.1.
# What must hold: A scans one 96 MiB file whose every 8 MiB round is made slow
# (MESH_TEST_SCAN_ROUND_MS, 500 ms: 6 s for the file, past the 4 s after which a silent peer
# is dropped); meanwhile `meshctl status` on A is answered by the daemon itself over its
# socket, again and again; the scan went in several parts; neither daemon logs that the
# other went silent; B ends with the same bytes. Then the file changes while A reads it: A
# reads it again, and B ends with the new bytes.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a large file is scanned in rounds: the loop answers status and keeps its session meanwhile"

field() { python3 -c "import json,sys; j=json.loads(sys.argv[1]); print($2)" "$1"; }

three_devices
FA=$T/fa FB=$T/fb
mkdir -p "$FA" "$FB"
echo small >"$FA/small.txt"
pause=$((500 * TIME_FACTOR))
MESH_TEST_SCAN_ROUND_MS=$pause DAEMON_LOG_LEVEL=debug with_hooks folder_two_daemons "$FA" "$FB"
wait_for 30 "B to hold small.txt" cmp -s "$FA/small.txt" "$FB/small.txt"

# the file is made outside the folder and moved in: the scan sees it whole
head -c $((96 << 20)) /dev/urandom >"$T/big.bin"
mv "$T/big.bin" "$FA/big.bin"
answered=0
deadline=$((SECONDS + 120 * TIME_FACTOR))
until cmp -s "$FA/big.bin" "$FB/big.bin"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "B never got big.bin"
    j=$(timeout $((10 * TIME_FACTOR)) "$MESHCTL" --home "$A" status --json) ||
        fail "A's status was not answered while A scanned big.bin"
    [ "$(field "$j" 'j["source"]')" = socket ] ||
        fail "A's status did not come from its daemon while it scanned big.bin"
    answered=$((answered + 1))
    sleep 0.2
done
parts=$(grep -c "folder $fid: scan part: 1 file(s) read, 1 for the next" "$T/a.log" || true)
[ "$parts" -ge 3 ] || fail "A read big.bin in $parts part(s), expected several"
[ "$answered" -ge 3 ] || fail "only $answered status answers while A read big.bin"
! grep -q "went silent" "$T/a.log" "$T/b.log" || fail "a session dropped: $(grep -h "went silent" "$T/a.log" "$T/b.log")"

# a change while A reads it: read again, and B gets the new bytes
head -c $((40 << 20)) /dev/urandom >"$T/big2.bin"
cp "$T/big2.bin" "$FA/big.bin.new" && mv "$FA/big.bin.new" "$FA/big.bin"
sleep 1
printf 'tail' >>"$FA/big.bin" # (while its first rounds are read: seen as changing)
cat "$T/big2.bin" >"$T/want.bin" && printf 'tail' >>"$T/want.bin"
wait_for 120 "B to hold the changed big.bin" cmp -s "$T/want.bin" "$FB/big.bin"
! grep -q "went silent" "$T/a.log" "$T/b.log" || fail "a session dropped: $(grep -h "went silent" "$T/a.log" "$T/b.log")"
echo "ok: $answered status answers during the scan of 96 MiB in $parts parts"
