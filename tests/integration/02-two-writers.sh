#!/usr/bin/env bash
# tests/integration/02-two-writers.sh: two writer processes and a reader on one home at
# once: 2 x 150 meshctl puts of distinct keys into one collection. Every write must land,
# each with its own dot: seqs 1..300 for this device, none lost, none twice.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "two concurrent writer processes and a reader on one home lose and share no dot"

A=$(mk_home)
id=$(mc --home "$A" init)

writer() {
    local i
    for i in $(seq 1 150); do
        "$MESHCTL" --home "$A" put w "$1-$i" "value $1 $i" ||
            { echo "put $1-$i failed" >&2; return 1; }
    done
}

# Reads run throughout; "not found" is fine early on, any other failure is not.
reader() {
    local i=0
    while [ ! -e "$T/stop" ]; do
        i=$((i % 150 + 1))
        if ! "$MESHCTL" --home "$A" get w "a-$i" >/dev/null 2>"$T/reader.err"; then
            grep -q "not found" "$T/reader.err" ||
                { cat "$T/reader.err" >&2; return 1; }
        fi
    done
}

spawn writer a
pa=$LAST_PID
spawn writer b
pb=$LAST_PID
spawn reader
pr=$LAST_PID
wait_pids 300 "$pa" "$pb"
touch "$T/stop"
wait_pids 30 "$pr"

expect_eq "$(mc --home "$A" ls --keys w | wc -l)" 300 "keys listed"
for k in a-1 a-150 b-1 b-150; do
    expect_eq "$(mc --home "$A" get w "$k")" "value ${k%-*} ${k#*-}" "value of $k"
done
mc --home "$A" log w --json | python3 -c '
import json, sys
me = sys.argv[1]
sets = json.load(sys.stdin)["sets"]
dots = [(s["incarnation"], q) for s in sets if s["origin"] == me
        for q in range(s["first_seq"], s["last_seq"] + 1)]
assert len(dots) == len(set(dots)) == 300, "%d dots, %d distinct" % (len(dots), len(set(dots)))
assert len({inc for inc, _ in dots}) == 1, "more than one incarnation"
assert sorted(q for _, q in dots) == list(range(1, 301)), "seqs are not 1..300"
' "$id" || fail "log of the two writers"
mc --home "$A" dump w >"$T/dump"
expect_eq "$(grep -c "	$id:[0-9a-f]*:[0-9]*	put	value " "$T/dump")" 300 "versions in the dump"
exit 0
