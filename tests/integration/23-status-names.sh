#!/usr/bin/env bash
# tests/integration/23-status-names.sh: status and log name devices, count conflicts, and
# name the devices a daemon refuses (issue 14, items 6 and 9), with real daemons on
# 127.0.0.1. What must hold after:
# - A's status shows its peer by name ("beta"), not by its 62-character ID, and log shows
#   the writer of a set by name;
# - a conflict made apart is counted on the collection's line and in a summary line;
# - C, a stranger dialling A, is refused, and A's status (text and --json) names C's device
#   ID among the two its key fits, with a count; A's log names it too, and the warning shows
#   in status; once A adds C, C syncs.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "status and log show names, conflicts, refused devices and the daemon's warnings"
command -v python3 >/dev/null || skip "no python3"


three_devices
a peer add --name beta "$idb"
b peer add --name alpha "$ida"
# A conflict made apart: both write k before they ever meet.
a put notes k "from A"
b put notes k "from B"
b put notes only-b "B's own"

start_daemon "$A" "$T/a.log"
pa=$LAST_PID ea=$EP
start_daemon "$B" "$T/b.log"
pb=$LAST_PID
b peer add --name alpha "$ida" "$ea"
wait_for 20 "B's write on A" a get notes only-b
mc --home "$A" wait notes --timeout 20 || fail "A never in sync: $(a status)"

# Names: the peer line shows "beta", and no 62-character ID anywhere on it.
a status >"$T/a.txt"
grep -q "^peer    beta  " "$T/a.txt" || fail "A's status does not name beta: $(cat "$T/a.txt")"
grep "^peer " "$T/a.txt" | grep -q -- "$idb" && fail "A's peer line shows the whole ID: $(cat "$T/a.txt")"
a log notes >"$T/a.log.txt"
grep -q "^beta inc=" "$T/a.log.txt" || fail "log does not name beta: $(cat "$T/a.log.txt")"
grep -q "^alpha inc=" "$T/a.log.txt" || fail "log does not name alpha: $(cat "$T/a.log.txt")"
a log notes --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
names = {s["origin"]: s["origin_name"] for s in d["sets"]}
assert names == {sys.argv[1]: "alpha", sys.argv[2]: "beta"}, names
' "$ida" "$idb" || fail "log --json names: $(a log notes --json)"

# Conflicts: k has two siblings on A.
grep -q "^coll    notes  2 keys, 3 versions, 1 conflict, " "$T/a.txt" ||
    fail "no conflict count on the collection: $(cat "$T/a.txt")"
grep -q "^conflicts 1 in 1 collection " "$T/a.txt" || fail "no conflict summary: $(cat "$T/a.txt")"

# A stranger dials A: refused, and named.
c peer add "$ida" "$ea"
start_daemon "$C" "$T/c.log"
pc=$LAST_PID
refused_shown() { a status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
r = [r for r in d["refusals"] if sys.argv[1] in (r["id"], r["alt_id"])]
sys.exit(0 if r and r[0]["count"] >= 1 and r[0]["last_seen"] > 0 else 1)' "$idc"; }
wait_for 20 "A's status to name the refused stranger" refused_shown
a status >"$T/a2.txt"
grep -q "^refused .*$idc.*not a member ('meshctl peer add ID' lets it in" "$T/a2.txt" ||
    fail "the refusal is not shown in text: $(cat "$T/a2.txt")"
grep -q "^warning .*refused device .*$idc" "$T/a2.txt" ||
    fail "the daemon's warning is not in status: $(cat "$T/a2.txt")"
grep -q "refused device .*$idc" "$T/a.log" || fail "A's log does not name C: $(cat "$T/a.log")"

# Told whom to add, the user adds C: C's write reaches A.
a peer add --name gamma "$idc"
c put notes from-c "let in"
wait_for 30 "C's write on A once it is a member" a get notes from-c
kill -TERM "$pa" "$pb" "$pc"
wait_pids 10 "$pa" "$pb" "$pc"
echo ok
