#!/usr/bin/env bash
# tests/integration/117-folder-status-bar.sh: `meshctl status` shows a folder's progress
# while it syncs (docs/PROTOCOL.md §18.9), with real daemons on 127.0.0.1. A shares a 12 MiB
# file of random bytes and answers each block 40 ms late (test hook
# MESH_TEST_BLOCK_PAUSE_MS), so B takes seconds to fetch it. What must hold while B syncs:
# on a pseudo-terminal (script(1)) the folder's line "N file(s), SIZE still needed" is
# followed by a bar "[###...] NN%" whose percentage goes up while the one large file
# arrives (need_bytes counts the blocks its temp file already holds as done), at least once
# strictly between 0 and 100; --json's total_bytes is at least its need_bytes; not on a
# terminal, no bar. Once in sync: "in sync", no bar, total_bytes 0. Then, while a second
# large file arrives, `folder wait --timeout 1` fails saying the files and bytes still
# needed; and a wait for a folder the daemon does not sync fails saying it is not joined.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "status shows a folder's progress bar on a terminal while it syncs"
command -v script >/dev/null || skip "no script(1) for a pseudo-terminal"

three_devices
FA=$T/fa FB=$T/fb
mkdir -p "$FA" "$FB"
head -c $((12 << 20)) /dev/urandom >"$FA/big.bin"
export MESH_TEST_BLOCK_PAUSE_MS=40
with_hooks folder_two_daemons "$FA" "$FB"
unset MESH_TEST_BLOCK_PAUSE_MS

pcts=() piped_bar=0 json_bad=""
end=$((SECONDS + 60))
while ! cmp -s "$FA/big.bin" "$FB/big.bin" && [ "$SECONDS" -lt "$end" ]; do
    script -qec "'$MESHCTL' --home '$B' status" /dev/null >"$T/tty.txt" 2>&1 || true
    if grep -q "^folder  $fid  .* still needed" "$T/tty.txt"; then
        p=$(grep -A1 "^folder  $fid  " "$T/tty.txt" | sed -n 's/^ *\[[#.]*\] *\([0-9]*\)%.*/\1/p' | head -1)
        [ -n "$p" ] && pcts+=("$p")
        b status >"$T/pipe.txt" 2>&1 || true
        grep -A1 "^folder  $fid  " "$T/pipe.txt" | grep -q '\[[#.]*\]' && piped_bar=1
        b status --json >"$T/st.json" 2>/dev/null || true
        json_bad=$(python3 -c "
import json, sys
for f in json.load(open('$T/st.json'))['folders']:
    if f['id'] == '$fid' and not f['in_sync'] and f['total_bytes'] < f['need_bytes']:
        print(f)" 2>&1) || true
        [ -z "$json_bad" ] || break
    fi
    sleep 0.2
done
wait_for 30 "big.bin whole on B" cmp -s "$FA/big.bin" "$FB/big.bin"
echo "bar percentages seen: ${pcts[*]:-none}"
[ -z "$json_bad" ] || fail "--json total_bytes under need_bytes: $json_bad"
[ "$piped_bar" = 0 ] || fail "a bar on a pipe: $(cat "$T/pipe.txt")"
[ "${#pcts[@]}" -ge 2 ] || fail "fewer than 2 bars seen while B synced: $(cat "$T/tty.txt")"
mid=0
for p in "${pcts[@]}"; do [ "$p" -gt 0 ] && [ "$p" -lt 100 ] && mid=1; done
[ "$mid" = 1 ] || fail "no bar strictly between 0% and 100%: ${pcts[*]}"
[ "${pcts[-1]}" -gt "${pcts[0]}" ] || fail "the bar did not move up: ${pcts[*]}"
wait_for 30 "B's folder in sync" sh -c "'$MESHCTL' --home '$B' status | grep -q '^folder  $fid  in sync\$'"
script -qec "'$MESHCTL' --home '$B' status" /dev/null >"$T/tty.txt" 2>&1 || true
grep -A1 "^folder  $fid  " "$T/tty.txt" | grep -q '\[[#.]*\]' && fail "a bar once in sync: $(cat "$T/tty.txt")"
b status --json | python3 -c "
import json, sys
f = [f for f in json.load(sys.stdin)['folders'] if f['id'] == '$fid'][0]
sys.exit(0 if f['in_sync'] and f['total_bytes'] == 0 and f['need_bytes'] == 0 else 1)" ||
    fail "in sync, yet --json says: $(b status --json)"
# folder wait at its timeout, while another large file arrives slowly: it says the files and
# bytes still needed (tried until it does; the status may have moved on by a timeout)
head -c $((12 << 20)) /dev/urandom >"$FA/big2.bin"
wait_for 30 "big2.bin needed on B" sh -c "'$MESHCTL' --home '$B' status | grep -q '^folder  $fid  .* still needed'"
waited=0 end=$((SECONDS + 60 * TIME_FACTOR))
while [ "$waited" = 0 ] && [ "$SECONDS" -lt "$end" ]; do
    {
        wrc=0
        b folder wait "$fid" --timeout 1 >"$T/stdout" 2>"$T/stderr" || wrc=$?
        if [ "$wrc" = 0 ]; then # (in sync within its second, as under TSan: B holds all)
            cmp -s "$FA/big2.bin" "$FB/big2.bin" || fail "folder wait said in sync before big2.bin was whole"
            waited=2
        else
            [ "$wrc" = 1 ] || fail "folder wait exited $wrc: $(cat "$T/stderr")"
            grep -q "^meshctl: folder wait: not in sync after [0-9]* s: " "$T/stderr" ||
                fail "folder wait at its timeout: $(cat "$T/stderr")"
            # (the status may have moved on by the timeout: the index not yet in sync)
            if grep -q "^meshctl: folder wait: not in sync after [0-9]* s: [0-9]* files, [0-9]* bytes still needed ([0-9]* waiting for blocks)\$" "$T/stderr"; then
                waited=1
            fi
        fi
    }
    sleep 0.2
done
[ "$waited" != 0 ] || fail "folder wait never said the files and bytes still needed while B synced"
wait_for 60 "big2.bin whole on B" cmp -s "$FA/big2.bin" "$FB/big2.bin"
expect_exit 1 b folder wait nosuch --timeout 1
grep -q "^meshctl: folder wait: not in sync after [0-9]* s: the daemon does not sync folder nosuch (not joined on this device, or not taken up yet)\$" "$T/stderr" ||
    fail "folder wait for a folder not joined: $(cat "$T/stderr")"
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"
echo "ok"
