#!/usr/bin/env bash
# tests/integration/45-restart-short-hello.sh: after a restart, a dialler that still holds what
# both devices last held says HELLO without its vector (PROTOCOL.md §11.2), and the answerer takes
# the state of that summary as its view; the change goes as one compact batch (CBATCH, §11.1).
# What must hold after: B restarted with nothing new gets A's change, A's log says B's HELLO named
# the state they agreed on and that the batch went compact; B written offline (its summary moved)
# sends its vector again, and both end with each other's writes; with both restarted (the agreed
# state read back from the store on both sides) the short HELLO is taken again; an answerer that
# does not know the state named (it died before keeping it) asks for the vector, and the change
# still comes. Each time the dumps are equal. Real daemons on 127.0.0.1.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a restarted dialler names the agreed state instead of sending its vector"

DAEMON_LOG_LEVEL=debug
three_devices
# A knows B without an address: only B dials (as in the bench).
a peer add "$idb"
start_daemon "$A" "$T/a.log"; pa=$LAST_PID ea=$EP
b peer add "$ida" "$ea"
a put notes k1 "one" >/dev/null
a put notes k2 "two" >/dev/null
start_daemon "$B" "$T/b.log"; pb=$LAST_PID
wait_for 20 "k2 on B" b get notes k2
mc --home "$B" wait notes --timeout 20 || fail "B not in sync before its restart"
same_dumps() {
    a dump notes >"$T/a.dump"
    b dump notes >"$T/b.dump"
    cmp -s "$T/a.dump" "$T/b.dump" || fail "$1: dumps differ: $(diff "$T/a.dump" "$T/b.dump")"
}
same_dumps "before the restart"
# Let a SUMMARY go both ways, so that each side has seen the other's summary equal its own.
sleep 6

# 1. B stops, A changes one item, B starts again: B's HELLO names the state, the item comes.
kill -TERM "$pb"
wait_pids 10 "$pb"
a put notes k1 "changed while B was down" >/dev/null
lines=$(wc -l <"$T/a.log")
start_daemon "$B" "$T/b2.log"; pb=$LAST_PID
wait_for 20 "the change on B" sh -c "[ \"\$('$MESHCTL' --home '$B' get notes k1)\" = 'changed while B was down' ]"
tail -n +"$lines" "$T/a.log" | grep -q "names the state we last agreed on" ||
    fail "A did not take B's short HELLO: $(tail -n +"$lines" "$T/a.log")"
tail -n +"$lines" "$T/a.log" | grep -q "sent batch .*compact in [0-9]* bytes" ||
    fail "A's batch did not go compact: $(tail -n +"$lines" "$T/a.log")"
mc --home "$B" wait notes --timeout 20 || fail "B not in sync after its restart"
same_dumps "after B's restart"
sleep 6

# 2. B stops and writes offline: its summary moved, so its HELLO carries its vector again.
kill -TERM "$pb"
wait_pids 10 "$pb"
b put notes k3 "written offline on B" >/dev/null
a put notes k4 "written on A meanwhile" >/dev/null
lines=$(wc -l <"$T/a.log")
start_daemon "$B" "$T/b3.log"; pb=$LAST_PID
wait_for 20 "k4 on B" b get notes k4
wait_for 20 "k3 on A" a get notes k3
tail -n +"$lines" "$T/a.log" | grep -q "HELLO from $idb on its link: with its vector" ||
    fail "B's HELLO after an offline write had no vector: $(tail -n +"$lines" "$T/a.log")"
mc --home "$B" wait notes --timeout 20 || fail "B not in sync after the offline write"
same_dumps "after the offline write"
sleep 6

# 3. Both stop; A changes an item offline; both start: A reads the agreed state back from its
# store, so B's short HELLO is still taken, and A's change still reaches B.
kill -TERM "$pb" "$pa"
wait_pids 10 "$pb" "$pa"
a put notes k2 "changed while both were down" >/dev/null
start_daemon "$A" "$T/a4.log" "$ea"; pa=$LAST_PID
start_daemon "$B" "$T/b4.log"; pb=$LAST_PID
wait_for 20 "A's offline change on B" sh -c "[ \"\$('$MESHCTL' --home '$B' get notes k2)\" = 'changed while both were down' ]"
grep -q "names the state we last agreed on" "$T/a4.log" ||
    fail "restarted A did not take B's short HELLO: $(cat "$T/a4.log")"
mc --home "$B" wait notes --timeout 20 || fail "B not in sync after both restarted"
same_dumps "after both restarted"
sleep 6

# 4. A dies without keeping the newest agreed state (SIGKILL), B stops as usual: B's HELLO names
# a state A does not know, so A asks for B's vector (one round trip more), and A's change made
# meanwhile still reaches B.
kill -TERM "$pb"
wait_pids 10 "$pb"
kill -KILL "$pa"
wait "$pa" 2>/dev/null || true
a put notes k5 "written after A died" >/dev/null
start_daemon "$A" "$T/a5.log" "$ea"; pa=$LAST_PID
start_daemon "$B" "$T/b5.log"; pb=$LAST_PID
wait_for 20 "k5 on B" b get notes k5
grep -q "HELLO from $idb on its link: no vector; asked for its vector" "$T/a5.log" ||
    fail "A did not ask for the vector of a HELLO naming a state it does not know: $(cat "$T/a5.log")"
mc --home "$B" wait notes --timeout 20 || fail "B not in sync after A died"
same_dumps "after A died"
kill -TERM "$pa" "$pb"
wait_pids 10 "$pa" "$pb"
echo "ok"
