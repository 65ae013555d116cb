#!/usr/bin/env bash
# tests/integration/57-remove-mutual-four.sh: two members removing each other at once in a
# mesh of four resolve the same way on the two that remain (issue 16; docs/PROTOCOL.md §8.2,
# the provisional frozen record). With every daemon down, A removes B and B removes A; C takes
# A's bundle first (B is removed there, B's rm of A held back) and D takes B's first (A is
# removed there, A's rm of B held back). Each of C and D then holds a removal signed by a
# device it counts as removed, and publishes a provisional frozen record of the device that
# removal names. What must hold once daemons C and D have synced: C and D list A and B alike
# (both removed), and hold the same dump of "notes", with A's and B's writes made before
# the removals on both. Before the rule, C waited for D's frozen record of B and D for C's of
# A, for good: their views of A and B, and their dumps, stayed apart.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "two members removing each other, four members: the two that remain agree"

three_devices
D=$(mk_home)
d() { mc --home "$D" "$@"; }
idd=$(d init --name delta)
# fixed ports, so that the records made now give addresses the daemons will listen on
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ea=tcp://127.0.0.1:$(port) eb=tcp://127.0.0.1:$(port) ec=tcp://127.0.0.1:$(port) ed=tcp://127.0.0.1:$(port)
for x in a b c d; do
    for y in a b c d; do
        [ $x = $y ] && continue
        idv=id$y epv=e$y
        $x peer add "${!idv}" "${!epv}" >/dev/null
    done
done
removed() { "$MESHCTL" --home "$1" peer ls | grep "^$2" | grep -q "(removed)"; }
flags() { # HOME: "A:x B:y" where x, y are 1 when removed there
    echo "A:$(removed "$1" "$ida" && echo 1 || echo 0) B:$(removed "$1" "$idb" && echo 1 || echo 0)"
}

for x in a b c d; do $x put notes "${x}1" "$x's" >/dev/null; done
a peer rm "$idb"
b peer rm "$ida"
a export -o "$T/a.bundle" >/dev/null
b export -o "$T/b.bundle" >/dev/null
# C takes A's removal of B first, D takes B's removal of A first; the other's is held back
# (an import that holds sets back exits 0; one that rejects any exits 1: none may be)
c import "$T/a.bundle" >/dev/null
c import "$T/b.bundle" >/dev/null
d import "$T/b.bundle" >/dev/null
d import "$T/a.bundle" >/dev/null
expect_eq "$(flags "$C")" "A:0 B:1" "C's view once it took A's bundle first"
expect_eq "$(flags "$D")" "A:1 B:0" "D's view once it took B's bundle first"

start_daemon "$C" "$T/c.log" "$ec"; pc=$LAST_PID
start_daemon "$D" "$T/d.log" "$ed"; pd=$LAST_PID
settled() {
    [ "$(flags "$C")" = "A:1 B:1" ] && [ "$(flags "$D")" = "A:1 B:1" ] &&
        [ "$("$MESHCTL" --home "$C" dump notes)" = "$("$MESHCTL" --home "$D" dump notes)" ]
}
deadline=$((SECONDS + 30 * TIME_FACTOR))
until settled; do
    [ "$SECONDS" -lt "$deadline" ] || fail "C and D never agree within 30 s: C $(flags "$C"), \
D $(flags "$D") (1: removed); C's dump: $("$MESHCTL" --home "$C" dump notes | tr '\n' ' '); \
D's: $("$MESHCTL" --home "$D" dump notes | tr '\n' ' ')"
    sleep 0.2
done
# A's and B's writes from before the removals are valid everywhere: each is within a
# frozen cut (C's provisional record of A covers a1, D's of B covers b1)
for k in a1 b1 c1 d1; do
    c get notes "$k" >/dev/null || fail "C lacks $k"
    d get notes "$k" >/dev/null || fail "D lacks $k"
done
kill -TERM "$pc" "$pd"
wait_pids 10 "$pc" "$pd"
echo ok
