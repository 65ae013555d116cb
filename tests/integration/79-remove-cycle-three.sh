#!/usr/bin/env bash
# tests/integration/79-remove-cycle-three.sh: a cycle of three removals at once (A removes B,
# B removes C, C removes A, none having heard of the others) in a mesh of five resolves the
# same way on the two members outside it (issue 16; docs/PROTOCOL.md §8.2). With every daemon
# down, D takes the three bundles in the order A, B, C and E in the order C, B, A: each
# counts a different pair removed at first and holds the third removal back (signed by a
# device it counts as removed), publishing a provisional frozen record of the device it
# names. What must hold once daemons D and E have synced: D and E list each of A, B and C
# alike (removed or not), both stay members of each other, and they hold the same dump of
# "notes", with every write made before the removals by a device they do not count as
# removed. The in-process model runs many such cycles (tests/unit/test_model_members.c,
# test_model_members_cycles).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "three members removing each other in a cycle, five members: the two outside agree"

three_devices
D=$(mk_home)
E=$(mk_home)
d() { mc --home "$D" "$@"; }
e() { mc --home "$E" "$@"; }
idd=$(d init --name delta)
ide=$(e init --name epsilon)
# fixed ports, so that the records made now give addresses the daemons will listen on
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ed=tcp://127.0.0.1:$(port) ee=tcp://127.0.0.1:$(port)
# D and E count every other device a member (A, B and C need no records: a removal is
# written whoever the signer counts, and only D and E judge it)
for x in a b c; do
    idv=id$x
    d peer add "${!idv}" >/dev/null
    e peer add "${!idv}" >/dev/null
done
d peer add "$ide" "$ee" >/dev/null
e peer add "$idd" "$ed" >/dev/null
removed() { "$MESHCTL" --home "$1" peer ls | grep "^$2" | grep -q "(removed)"; }
flags() { # HOME: "A:x B:y C:z D:u E:v", 1 where removed there
    local out="" n id
    for n in A B C D E; do
        id=id$(echo "$n" | tr 'A-E' 'a-e')
        out="$out $n:$(removed "$1" "${!id}" && echo 1 || echo 0)"
    done
    echo "${out# }"
}

for x in a b c d e; do $x put notes "${x}1" "$x's" >/dev/null; done
# each of A, B, C exports what it holds, its own write among it, and removes the next
a peer rm "$idb"
b peer rm "$idc"
c peer rm "$ida"
for x in a b c; do $x export -o "$T/$x.bundle" >/dev/null; done
# an import that holds sets back exits 0; one that rejects any exits 1: none may be
for x in a b c; do d import "$T/$x.bundle" >/dev/null; done
for x in c b a; do e import "$T/$x.bundle" >/dev/null; done
expect_eq "$(flags "$D")" "A:1 B:1 C:0 D:0 E:0" "D's view once it took A's, B's, C's bundles"
expect_eq "$(flags "$E")" "A:1 B:0 C:1 D:0 E:0" "E's view once it took C's, B's, A's bundles"

start_daemon "$D" "$T/d.log" "$ed"
pd=$LAST_PID
start_daemon "$E" "$T/e.log" "$ee"
pe=$LAST_PID
settled() {
    [ "$(flags "$D")" = "$(flags "$E")" ] &&
        [ "$("$MESHCTL" --home "$D" dump notes)" = "$("$MESHCTL" --home "$E" dump notes)" ] &&
        d get notes e1 >/dev/null 2>&1 && e get notes d1 >/dev/null 2>&1
}
deadline=$((SECONDS + 30 * TIME_FACTOR))
until settled; do
    [ "$SECONDS" -lt "$deadline" ] || fail "D and E never agree within 30 s: D $(flags "$D"), \
E $(flags "$E") (1: removed); D's dump: $("$MESHCTL" --home "$D" dump notes | tr '\n' ' '); \
E's: $("$MESHCTL" --home "$E" dump notes | tr '\n' ' ')"
    sleep 0.2
done
final=$(flags "$D")
case $final in
*"D:0 E:0") ;;
*) fail "D or E counts a member outside the cycle removed: $final" ;;
esac
# held back no more: every removal that counts was taken, every other rejected
expect_eq "$(d held | grep -c '^[A-Z0-9]\{6\}-' || true)" 0 "D's held-back origins"
expect_eq "$(e held | grep -c '^[A-Z0-9]\{6\}-' || true)" 0 "E's held-back origins"
# the writes from before the removals of every device not removed are there
for n in a b c d e; do
    N=$(echo "$n" | tr 'a-e' 'A-E')
    case $final in *"$N:0"*)
        d get notes "${n}1" >/dev/null || fail "D lacks ${n}1 ($final)"
        e get notes "${n}1" >/dev/null || fail "E lacks ${n}1 ($final)"
        ;;
    esac
done
echo "outcome on D and E: $final"
kill -TERM "$pd" "$pe"
wait_pids 10 "$pd" "$pe"
echo ok
