#!/usr/bin/env bash
# tests/integration/73-watch-resume.sh: an app's watch resumed with --since after a restart
# (of the watch, and of B's daemon) gets exactly what it missed: every key changed since,
# once, in its latest state (k1 written again, k2 deleted, k3 and k4 new, "both" written on
# A and on B while B's daemon was down: a conflict), none of what it printed before, and a
# watch from the last cursor then prints nothing. A cursor beyond B's log is refused.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "watch resumed with --since after a restart gets exactly what was missed, nothing twice"
command -v python3 >/dev/null || skip "no python3"

three_devices
a peer add "$idb"
b peer add "$ida"
start_daemon "$A" "$T/a.log"
ea=$EP
start_daemon "$B" "$T/b.log"
pb=$LAST_PID eb=$EP
a peer add "$idb" "$eb"
b peer add "$ida" "$ea"

# The app's first run: two changes, then it stops (--limit).
a put notes k1 v1
a put notes k2 v2
mc --home "$B" watch notes --since 0 --json --limit 2 --timeout 30 >"$T/first.out" ||
    fail "the first watch: $(cat "$T/first.out")"
since=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[-1])["cursor"])' \
    "$T/first.out")

# While no watch runs: more writes, and B's daemon restarts, with writes on both sides
# while it is down.
a put notes k3 v3
wait_for 15 "k3 on B" b get notes k3
kill -TERM "$pb"
wait_pids 10 "$pb"
a put notes both from-a
b put notes both from-b
a put notes k1 v1-again
a del notes k2
a put notes k4 v4
start_daemon "$B" "$T/b.log"
b peer add "$ida" "$ea" # (its address, as before)
wait_for 15 "k4 on B" b get notes k4
wait_for 15 "k1's new value on B" test "$(b get notes k1)" = v1-again
wait_for 15 "k2 deleted on B" expect_exit 1 b get notes k2
wait_for 15 "the conflict on B" sh -c "'$MESHCTL' --home '$B' conflicts notes | grep -q both"

# The app again, from its saved cursor: what it missed, once each.
mc --home "$B" watch notes --since "$since" --json --timeout 3 >"$T/second.out" ||
    fail "the resumed watch: $(cat "$T/second.out")"
last=$(python3 - "$T/first.out" "$T/second.out" "$ida" "$idb" <<'PY'
import json, sys
first = [json.loads(l) for l in open(sys.argv[1])]
rows = [json.loads(l) for l in open(sys.argv[2])]
ida, idb = sys.argv[3], sys.argv[4]
assert [(r["key"], r["value"]) for r in first] == [("k1", "v1"), ("k2", "v2")], first
keys = [r["key"] for r in rows]
assert sorted(keys) == ["both", "k1", "k2", "k3", "k4"], keys  # each once
by = {r["key"]: r for r in rows}
assert by["k1"]["value"] == "v1-again" and by["k1"]["origin"] == ida, by["k1"]
assert by["k2"]["deleted"] is True and "value" not in by["k2"], by["k2"]
assert by["k3"]["value"] == "v3" and by["k4"]["value"] == "v4", rows
assert by["both"]["conflict"] is True, by["both"]
assert by["both"]["local"] == (by["both"]["origin"] == idb), by["both"]
cursors = [r["cursor"] for r in rows]
assert cursors == sorted(set(cursors)) and cursors[0] > first[-1]["cursor"], cursors
print(cursors[-1])
PY
) || fail "the resumed watch's lines: $(cat "$T/second.out")"

# From its last cursor: nothing more.
mc --home "$B" watch notes --since "$last" --json --timeout 2 >"$T/third.out" || fail "third watch"
[ ! -s "$T/third.out" ] || fail "a watch from the last cursor printed: $(cat "$T/third.out")"
expect_fail_with "beyond this home's change log" mc --home "$B" watch --since 1000000 --timeout 1
exit 0
