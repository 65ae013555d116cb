#!/usr/bin/env bash
# tests/integration/09-daemon-sync.sh: real `meshctl daemon` processes on 127.0.0.1 in temp
# homes: two members sync both ways (writes from the CLI beside each daemon reach the
# other, deletions too), status and wait report it, SIGTERM and SIGINT stop a daemon cleanly; a device that is not a
# member is refused even as the very first connection after start; a peer announcing an
# unknown protocol major version is refused, with the reason logged on both sides.
# run: alone (tests/run.sh: it counts bytes or times a phase that a test beside it would disturb)
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "two daemons sync both ways; strangers and unknown protocol versions are refused"
command -v python3 >/dev/null || skip "no python3"

# start_daemon HOME LOG [ENV=VALUE...]: run a daemon on an ephemeral loopback port; its
# endpoint lands in $EP once it writes its status file, its PID in $LAST_PID.
start_daemon() {
    rm -f "$1/status" # a stale file from an earlier daemon must not be taken for this one
    local home=$1 log=$2
    shift 2
    spawn env "$@" "$MESHCTL" --home "$home" --log-level info daemon --listen tcp://127.0.0.1:0 2>"$log"
    wait_for 10 "the daemon on $home to listen" grep -q '^listen tcp://127.0.0.1:[0-9]' "$home/status"
    EP=$(sed -n 's/^listen //p' "$home/status")
}

three_devices
# A and B trust each other; C is a stranger to both.
a peer add "$idb"
b peer add "$ida"

start_daemon "$A" "$T/a.log"
pa=$LAST_PID ea=$EP
# The stranger dials A first of all: refused at the handshake.
c peer add "$ida" "$ea"
start_daemon "$C" "$T/c.log"
pc=$LAST_PID
wait_for 10 "A to refuse the stranger" grep -q "refused .* keys that are not members" "$T/a.log"

start_daemon "$B" "$T/b.log"
pb=$LAST_PID eb=$EP
a peer add "$idb" "$eb"  # the daemons notice membership changes made by the CLI
b peer add "$ida" "$ea"

a put notes from-a "hello from A"
b put notes from-b "hello from B"
wait_for 15 "A's write on B" b get notes from-a
wait_for 15 "B's write on A" a get notes from-b
expect_eq "$(b get notes from-a)" "hello from A" "A's value on B"
expect_eq "$(a get notes from-b)" "hello from B" "B's value on A"
mc --home "$A" wait --timeout 20 || fail "A never in sync"
mc --home "$B" wait --timeout 20 || fail "B never in sync"
a dump notes >"$T/a.dump"
b dump notes >"$T/b.dump"
cmp -s "$T/a.dump" "$T/b.dump" || fail "dumps differ: $(diff "$T/a.dump" "$T/b.dump")"

# A later write is pushed while the sessions stay up.
a put notes later "second write"
wait_for 15 "the second write on B" b get notes later

# status tells the truth: B is connected and in sync with A; C was never let in.
mc --home "$A" wait --timeout 20 || fail "A not in sync after the second write"
a status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["daemon"] is True, d
peers = {p["id"]: p for p in d["peers"]}
b = peers[sys.argv[1]]
assert b["connected"] and b["in_sync"] and b["batches_out"] >= 1, b
assert sys.argv[2] not in peers, d
notes = [c for c in d["collections"] if c["name"] == "notes"]
assert len(notes) == 1 and notes[0]["keys"] == 3 and len(notes[0]["digest"]) == 64, d
' "$idb" "$idc" || fail "status --json: $(a status --json)"
a status | grep -q "in sync" || fail "status text: $(a status)"
b status | grep -q "^coll    notes  3 keys" || fail "status text on B: $(b status)"
a get notes from-c >/dev/null 2>&1 && fail "the stranger's data reached A"
c put notes from-c "sneaky"
sleep 1
a get notes from-c >/dev/null 2>&1 && fail "the stranger's write reached A"

# A deletion from the CLI beside a daemon is pushed like a write.
ack_of() { mc --home "$1" get _mesh "ack/$2" 2>/dev/null | od -An -tx1 | tr -d ' \n'; }
acks_before="$(ack_of "$A" "$ida") $(ack_of "$B" "$idb")"
b put notes doomed "to be deleted"
wait_for 15 "B's doomed key on A" a get notes doomed
b del notes doomed
gone_on_a() { ! a get notes doomed >/dev/null 2>&1; }
wait_for 15 "B's deletion on A" gone_on_a
mc --home "$B" wait notes --timeout 20 || fail "B not in sync after the deletion"
# Both now hold a tombstone above their last acknowledgement, so each publishes a new one
# (within a second, §8.4): wait until both have, and each holds the other's, so that no
# acknowledgement is left to cross in the one-change exchange measured below.
acks_new() {
    local aa ab ba bb
    aa=$(ack_of "$A" "$ida") ab=$(ack_of "$A" "$idb") ba=$(ack_of "$B" "$ida") bb=$(ack_of "$B" "$idb")
    [ -n "$aa" ] && [ -n "$bb" ] && [ "$aa $bb" != "$acks_before" ] &&
        [ "${acks_before%% *}" != "$aa" ] && [ "${acks_before##* }" != "$bb" ] &&
        [ "$aa" = "$ba" ] && [ "$bb" = "$ab" ]
}
wait_for 20 "A's and B's acknowledgements of the deletion, each on the other" acks_new

# Cost follows the difference: B stops, A changes one item, B starts again and gets it
# in one batch, with well under 2 KiB of session frames both ways (HELLOs with vectors,
# the batch, its ack); both sides are in sync again, and wait takes a collection.
kill -TERM "$pb"
wait_pids 10 "$pb"
a put notes while-b-was-down "one change"
start_daemon "$B" "$T/b1.log"
pb=$LAST_PID
wait_for 15 "the change on B after its restart" b get notes while-b-was-down
one_batch() { # the status file is rewritten every 250 ms: wait for it to show the batch
    b status --json | python3 -c '
import json, sys
p = {p["id"]: p for p in json.load(sys.stdin)["peers"]}[sys.argv[1]]
sys.exit(0 if p["batches_in"] >= 1 else 1)' "$ida"
}
wait_for 5 "B's status to count the batch" one_batch
b status --json | python3 -c '
import json, sys
p = {p["id"]: p for p in json.load(sys.stdin)["peers"]}[sys.argv[1]]
assert p["batches_in"] == 1, p
assert 0 < p["bytes_in"] + p["bytes_out"] < 2048, p
' "$ida" || fail "one change cost: $(b status --json)"
mc --home "$B" wait notes --timeout 20 || fail "B not in sync in notes after its restart"
mc --home "$A" wait notes --timeout 20 || fail "A not in sync in notes after B's restart"
expect_eq "$(b get notes while-b-was-down)" "one change" "the change on B"

# SIGTERM and SIGINT stop the daemons cleanly.
kill -TERM "$pb"
kill -INT "$pc"
wait_pids 10 "$pb" "$pc"
grep -q "daemon stopping (SIGTERM)" "$T/b.log" || fail "B's log: $(cat "$T/b.log")"
grep -q "daemon stopping (SIGINT)" "$T/c.log" || fail "C's log: $(cat "$T/c.log")"

# A peer announcing protocol major version 9 (its HELLO in a layout of its own after the four
# elements every version keeps) is refused; both sides say why.
with_hooks start_daemon "$B" "$T/b2.log" MESH_TEST_PROTO_MAJOR=9
pb=$LAST_PID
b peer add "$ida" "$ea"
wait_for 15 "A to refuse version 9" grep -q "protocol major version 9 is not supported" "$T/a.log"
wait_for 15 "B to log the refusal" grep -q "protocol major version" "$T/b2.log"
kill -TERM "$pa" "$pb"
wait_pids 10 "$pa" "$pb"
echo "ok"
