#!/usr/bin/env bash
# tests/integration/17-names.sh: collection names with spaces, quotes, '=', '%', a
# backslash and non-ASCII UTF-8 sync between two daemons, and `meshctl status` (text and
# --json) and `meshctl wait NAME` work for each (the status file escapes every field); a
# name with a tab, a newline or "\npeer FAKE ..." is refused (docs/PROTOCOL.md §1; test 27
# sends one from a hostile member).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "collection names with spaces, quotes and UTF-8 sync, and status and wait report them"
command -v python3 >/dev/null || skip "no python3"

# start_daemon HOME LOG: run a daemon on an ephemeral loopback port; its endpoint lands in
# $EP once it publishes its status, its PID in $LAST_PID.

fake=$'x\npeer FAKE-PEER addr=tcp://127.0.0.1:9 connected=1 session=1 in_sync=1\ncoll y peer=FAKE-PEER in_sync=1'
names=("my notes" 'say "hi"' "it's" 'back\slash' "naïve ☃ 名前" "a=b%41" "two  spaces")
refused=($'tab\there' $'new\nline' "$fake")

three_devices
start_daemon "$A" "$T/a.log"
pa=$LAST_PID ea=$EP
start_daemon "$B" "$T/b.log"
pb=$LAST_PID eb=$EP
a peer add "$idb" "$eb"
b peer add "$ida" "$ea"

for name in "${refused[@]}"; do
    expect_exit 1 a put "$name" key v
done
i=0
for name in "${names[@]}"; do
    a put "$name" key "value $i" || fail "put in '$name'"
    i=$((i + 1))
done
i=0
for name in "${names[@]}"; do
    wait_for 20 "'$name' on B" b get "$name" key
    expect_eq "$(b get "$name" key)" "value $i" "the value in '$name' on B"
    i=$((i + 1))
done

for name in "${names[@]}"; do
    b wait "$name" --timeout 20 || fail "wait '$name' on B: $(b status)"
    a wait "$name" --timeout 20 || fail "wait '$name' on A: $(a status)"
done

# --json: each name exactly, in sync; one peer (A), no FAKE-PEER.
b status --json >"$T/b.json" || fail "status --json on B"
python3 - "$T/b.json" "$ida" "${names[@]}" <<'PY' || fail "status --json on B: $(cat "$T/b.json")"
import json, sys
st = json.load(open(sys.argv[1]))
ida, names = sys.argv[2], sys.argv[3:]
colls = {c["name"]: c for c in st["collections"]}
for n in names:
    assert n in colls, "missing %r" % n
    assert colls[n]["in_sync"] is True, "%r not in sync: %r" % (n, colls[n])
assert len(st["collections"]) == len(names), st["collections"]
assert [p["id"] for p in st["peers"]] == [ida], st["peers"]
assert st["daemon"] is True
PY

# text: control bytes escaped, the rest as it is; one peer line.
b status >"$T/b.txt" || fail "status on B"
grep -qF 'coll    my notes  1 key' "$T/b.txt" || fail "status text: $(cat "$T/b.txt")"
grep -qF 'coll    back\\slash  1 key' "$T/b.txt" || fail "backslash not escaped: $(cat "$T/b.txt")"
grep -qF 'coll    say "hi"  1 key' "$T/b.txt" || fail "quotes: $(cat "$T/b.txt")"
grep -qF 'coll    naïve ☃ 名前  1 key' "$T/b.txt" || fail "UTF-8: $(cat "$T/b.txt")"
[ "$(grep -c '^peer ' "$T/b.txt")" = 1 ] || fail "B lists more than A: $(cat "$T/b.txt")"
[ "$(grep -c 'in sync' "$T/b.txt")" -ge "${#names[@]}" ] || fail "not all in sync: $(cat "$T/b.txt")"

# the file: one peer line, and no FAKE-PEER anywhere but escaped in a name
[ "$(grep -c '^peer ' "$B/status")" = 1 ] || fail "status file: $(cat "$B/status")"
! grep -q '^coll y ' "$B/status" || fail "the fake coll line: $(cat "$B/status")"

kill -TERM "$pa" "$pb"
wait_pids 10 "$pa" "$pb"
echo "ok"
