#!/usr/bin/env bash
# tests/integration/35-daemon-refused-redial.sh: one-sided trust, then the other side adds.
# B trusts A and dials it; A does not know B yet and refuses it, naming it in its log. B
# cannot tell a refusal from a peer that is down, so a member never heard from is dialled
# again every 3 s, never on the growing backoff (the first sync once waited 9.7 s after the
# user added B on A): B's log says each redial comes again in 3000 ms. Once A adds B
# (without an address: B is the one that dials), they sync.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
DAEMON_LOG_LEVEL=debug # (the test reads its debug lines)
describe "a member never heard from is redialled every 3 s, so trust added later syncs soon"


three_devices
start_daemon "$A" "$T/a.log"; ea=$EP
b peer add "$ida" "$ea" >/dev/null
b put notes k "from B" >/dev/null
start_daemon "$B" "$T/b.log"
# Three redials of A: each after 3 s, none on a longer wait.
wait_for 30 "B to redial A three times" sh -c "[ \"\$(grep -c 'no session with $ida yet: dialling' '$T/b.log')\" -ge 3 ]"
! grep "no session with $ida yet: dialling" "$T/b.log" | grep -qv "again in 3000 ms" ||
    fail "a redial of a member never heard from waited longer: $(grep "no session with $ida" "$T/b.log")"
wait_for 10 "A to log the refusal" grep -q "refused" "$T/a.log"
a peer add "$idb" >/dev/null
wait_for 30 "A to hold B's write" sh -c "'$MESHCTL' --home '$A' get notes k 2>/dev/null | grep -q 'from B'"
echo "ok: refused B redialled every 3 s; synced once A added it"
