#!/usr/bin/env bash
# tests/integration/48-remove-concurrent.sh: concurrent membership changes resolve the same
# way on every member (issue 16; docs/PROTOCOL.md §8.2). First, with every daemon down, A
# adds D again while B removes D: once daemons A, B, C sync, all three list D removed (remove
# wins), none can add it back, and D is refused. Then A and B remove each other, again with
# the daemons down: after the mesh settles, at least one of them is removed on C, and each
# of A and B that C still counts as a member lists A and B exactly as C does and holds C's
# dump (the removed one is cut off: it cannot sync).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "concurrent add and remove, and two members removing each other: the same result on all"

three_devices
D=$(mk_home)
idd=$(mc --home "$D" init --name delta)
# fixed ports, so that the records made now give addresses the daemons will listen on
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ea=tcp://127.0.0.1:$(port) eb=tcp://127.0.0.1:$(port) ec=tcp://127.0.0.1:$(port) ed=tcp://127.0.0.1:$(port)
for x in a b c; do
    for y in a b c d; do
        [ $x = $y ] && continue
        idv=id$y epv=e$y
        $x peer add "${!idv}" "${!epv}"
    done
done
mc --home "$D" peer add "$ida" "$ea"
removed() { "$MESHCTL" --home "$1" peer ls | grep "^$2" | grep -q "(removed)"; }
flags() { # HOME: "A:x B:y" where x, y are 1 when removed there
    echo "A:$(removed "$1" "$ida" && echo 1 || echo 0) B:$(removed "$1" "$idb" && echo 1 || echo 0)"
}

# Concurrent add and remove of D, daemons down.
a peer add --name "again" "$idd" "$ed"
b peer rm "$idd"
start_daemon "$A" "$T/a.log" "$ea"; pa=$LAST_PID
start_daemon "$B" "$T/b.log" "$eb"; pb=$LAST_PID
start_daemon "$C" "$T/c.log" "$ec"; pc=$LAST_PID
start_daemon "$D" "$T/d.log" "$ed"; pd=$LAST_PID
for h in A B C; do wait_for 30 "$h to list D removed" removed "${!h}" "$idd"; done
expect_fail_with "removed" a peer add "$idd" "$ed"
expect_fail_with "removed" c peer add "$idd" "$ed"
mc --home "$D" put notes d1 "after its removal"
sleep 3
for h in a b c; do $h get notes d1 >/dev/null 2>&1 && fail "D's write reached $h"; done
kill -TERM "$pa" "$pb" "$pc" "$pd"
wait_pids 10 "$pa" "$pb" "$pc" "$pd"

# A and B remove each other at once, daemons down.
c put notes c1 "C's"
a peer rm "$idb"
b peer rm "$ida"
start_daemon "$A" "$T/a.log" "$ea"; pa=$LAST_PID
start_daemon "$B" "$T/b.log" "$eb"; pb=$LAST_PID
start_daemon "$C" "$T/c.log" "$ec"; pc=$LAST_PID
wait_for 30 "C to hear of a removal" sh -c "'$MESHCTL' --home '$C' peer ls | grep -q '(removed)' && '$MESHCTL' --home '$C' peer ls | grep -v '^$idd' | grep -q '(removed)'"
sleep 3 # settle
fc=$(flags "$C")
[ "$fc" = "A:0 B:0" ] && fail "neither removal counts on C"
for h in A B; do
    case $fc in *"$h:0"*)
        fh=$(flags "${!h}")
        expect_eq "$fh" "$fc" "$h's view of A and B against C's"
        wait_for 30 "$h to hold C's dump" sh -c "[ \"\$('$MESHCTL' --home '${!h}' dump notes)\" = \"\$('$MESHCTL' --home '$C' dump notes)\" ]"
        ;;
    esac
done
echo "mutual removal: on C, $fc (1: removed)"
kill -TERM "$pa" "$pb" "$pc"
wait_pids 10 "$pa" "$pb" "$pc"
echo ok
