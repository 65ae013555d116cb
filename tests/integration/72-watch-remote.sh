#!/usr/bin/env bash
# tests/integration/72-watch-remote.sh: `meshctl watch --json` on B, a process of its own
# beside B's daemon, prints the writes A's daemon sends, each once, with A as their origin
# (local false), and a write made on B by a third process with B as origin (local true);
# deletions say deleted; the cursors rise; --prefix and the collection filter hold.
# What must hold after: exactly the four expected lines, in the order B took them.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a remote write appears in meshctl watch --json on the other side, with its origin"
command -v python3 >/dev/null || skip "no python3"

three_devices
a peer add "$idb"
b peer add "$ida"
start_daemon "$A" "$T/a.log"
ea=$EP
start_daemon "$B" "$T/b.log"
eb=$EP
a peer add "$idb" "$eb"
b peer add "$ida" "$ea"

# From the start of B's log: only notes' changes come, and there are none yet.
spawn "$MESHCTL" --home "$B" watch notes --since 0 --json --limit 4 --timeout $((30 * TIME_FACTOR)) \
    >"$T/watch.out" 2>"$T/watch.err"
pw=$LAST_PID
spawn "$MESHCTL" --home "$B" watch notes --prefix k2 --since 0 --json --limit 1 \
    --timeout $((30 * TIME_FACTOR)) >"$T/prefix.out" 2>"$T/prefix.err"
pp=$LAST_PID
lines() { [ "$(wc -l <"$T/watch.out")" -ge "$1" ]; }

a put notes k1 "one from A"
wait_for 15 "A's first write in B's watch" lines 1
a put other x "not notes" # another collection: never printed
a put notes k2 "two from A"
wait_for 15 "A's second write in B's watch" lines 2
b put notes k3 "from B itself"
wait_for 15 "B's own write in B's watch" lines 3
a del notes k1
wait_pids 20 "$pw" "$pp"

python3 - "$T/watch.out" "$T/prefix.out" "$ida" "$idb" <<'PY' || fail "watch output: $(cat "$T/watch.out")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
pre = [json.loads(l) for l in open(sys.argv[2])]
ida, idb = sys.argv[3], sys.argv[4]
want = [("k1", False, "one from A", ida, False), ("k2", False, "two from A", ida, False),
        ("k3", False, "from B itself", idb, True), ("k1", True, None, ida, False)]
assert len(rows) == 4, rows
for r, (k, deleted, value, origin, local) in zip(rows, want):
    assert r["collection"] == "notes", r
    assert r["key"] == k and r["deleted"] == deleted and r.get("value") == value, r
    assert r["origin"] == origin and r["local"] == local and r["conflict"] is False, r
    assert list(r)[:3] == ["cursor", "collection", "key"], r
    assert len(r["incarnation"]) == 16 and r["seq"] >= 1 and "time" in r, r
cursors = [r["cursor"] for r in rows]
assert cursors == sorted(set(cursors)), cursors
assert len(pre) == 1 and pre[0]["key"] == "k2" and pre[0]["origin"] == ida, pre
PY
exit 0
