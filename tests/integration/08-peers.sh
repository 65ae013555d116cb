#!/usr/bin/env bash
# tests/integration/08-peers.sh: membership through meshctl: init's ID, peer ls on a new
# device (itself only), peer add (malformed IDs exit 1, bad names and addresses exit 2, a
# good ID in any accepted form with addresses and a name, re-adding updates), peer ls in
# text and JSON (eight addresses of 200 bytes: all listed, whole), and membership that
# becomes transitive through a relayed bundle.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "peer add and peer ls, their errors, and transitive membership through a bundle"
command -v python3 >/dev/null || skip "no python3"

# init prints the ID: 9 groups of 6 base32 characters.
three_devices
for id in "$ida" "$idb" "$idc"; do
    printf '%s\n' "$id" | grep -qx '[A-Z2-7]\{6\}\(-[A-Z2-7]\{6\}\)\{8\}' || fail "init printed '$id'"
done

# A new device's view holds only itself.
expect_eq "$(a peer ls)" "$ida	alpha		(this device)" "peer ls after init"
a peer ls --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d == {"peers": [{"id": sys.argv[1], "name": "alpha", "addrs": [], "self": True, "removed": False}]}, d' \
    "$ida" || fail "peer ls --json after init"

# Malformed IDs fail with exit 1 and one line; bad usage exits 2; nothing is added.
expect_fail_with "peer add: 'NOT-AN-ID' is not a valid device ID" a peer add NOT-AN-ID
flipped=$(printf '%s' "$idb" | python3 -c '
import sys
s = sys.stdin.read()
c = "A" if s[3] != "A" else "B"
print(s[:3] + c + s[4:])')
expect_fail_with "not a valid device ID" a peer add "$flipped"
expect_fail_with "not a valid device ID" a peer add "${idb%??????}"
expect_exit 2 a peer
expect_exit 2 a peer frob
expect_exit 2 a peer add
expect_exit 2 a peer ls extra
expect_exit 2 a peer add "$idb" "two words"
expect_exit 2 a peer add "$idb" ""
expect_exit 2 a peer add --name "" "$idb"
expect_exit 2 a peer add --name "$(head -c 65 /dev/zero | tr '\0' n)" "$idb"
expect_exit 0 a peer --help
grep -q "^usage: meshctl peer add" "$T/stdout" || fail "peer --help"
expect_exit 0 mc help peer
expect_eq "$(a peer ls | wc -l)" 1 "members after failed adds"

# A good ID, in lower case without dashes, with two addresses and a name.
lower=$(printf '%s' "$idb" | tr -d - | tr 'A-Z' 'a-z')
a peer add --json "$lower" tcp://127.0.0.1:7401 'tcp://[::1]:7401' --name bee >"$T/out"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d == {"id": sys.argv[2], "name": "bee",
             "addrs": ["tcp://127.0.0.1:7401", "tcp://[::1]:7401"],
             "held_released": 0, "held_left": 0}, d' "$T/out" "$idb" ||
    fail "peer add --json: $(cat "$T/out")"
a --json peer ls | python3 -c '
import json, sys
peers = {p["id"]: p for p in json.load(sys.stdin)["peers"]}
a, b = sys.argv[1], sys.argv[2]
assert set(peers) == {a, b}, peers
assert peers[a] == {"id": a, "name": "alpha", "addrs": [], "self": True, "removed": False}, peers[a]
assert peers[b] == {"id": b, "name": "bee", "addrs": ["tcp://127.0.0.1:7401", "tcp://[::1]:7401"],
                    "self": False, "removed": False}, peers[b]' "$ida" "$idb" || fail "peer ls --json with two members"
a peer ls | grep -qxF "$idb	bee	tcp://127.0.0.1:7401 tcp://[::1]:7401" ||
    fail "peer ls line of B: $(a peer ls)"

# Adding again replaces the name and addresses that this device gave.
a peer add "$idb" tcp://10.0.0.2:7401 --name bee2
a peer ls | grep -qxF "$idb	bee2	tcp://10.0.0.2:7401" || fail "re-added B: $(a peer ls)"
expect_eq "$(a peer ls | wc -l)" 2 "members after re-adding"

# Eight addresses of 200 bytes each (the most a record takes): peer ls lists all eight,
# whole and in order, in text and JSON; a ninth is refused, not dropped.
long=()
letters=abcdefgh
for i in 0 1 2 3 4 5 6 7; do
    # tcp://host-I.<letters, a dot every 61st byte: labels of 60>:740I, 200 bytes in all
    pre="tcp://host-$i." post=":740$i" fill=""
    while [ $((${#pre} + ${#fill} + ${#post})) -lt 200 ]; do
        if [ $(((${#fill} + 1) % 61)) -eq 0 ]; then fill+=.; else fill+=${letters:i:1}; fi
    done
    long+=("$pre$fill$post")
done
[ "${#long[7]}" -eq 200 ] || fail "a long address has ${#long[7]} bytes"
E=$(mk_home)
mc --home "$E" init >/dev/null
e() { mc --home "$E" "$@"; }
e peer add "$ida" "${long[@]}"
expect_eq "$(e peer ls | grep -F "$ida" | cut -f 3)" "${long[*]}" \
    "peer ls lists all 8 long addresses"
e peer ls --json | python3 -c '
import json, sys
want = sys.argv[2:]
peers = {p["id"]: p for p in json.load(sys.stdin)["peers"]}
assert peers[sys.argv[1]]["addrs"] == want, peers[sys.argv[1]]["addrs"]
assert all(len(a) == 200 for a in want)' "$ida" "${long[@]}" ||
    fail "peer ls --json lists all 8 long addresses"
expect_fail_with "more than 8 addresses" e peer add "$ida" "${long[@]}" tcp://127.0.0.1:7499
expect_eq "$(e peer ls | grep -F "$ida" | cut -f 3)" "${long[*]}" \
    "the record after a refused ninth address"

# Transitive: B adds A and C; C adds only B. After C imports B's bundle, C's view holds A,
# with the name A gave itself (carried by B, which imported A's bundle) and B's address
# for it.
b peer add "$ida" tcp://127.0.0.1:7400
b peer add "$idc"
c peer add "$idb"
expect_eq "$(c peer ls | cut -f 1 | sort)" "$(printf '%s\n%s' "$idb" "$idc" | sort)" \
    "C's members before the exchange"
a export -o "$T/a.bundle" >/dev/null
b import "$T/a.bundle" >/dev/null
b export -o "$T/b.bundle" >/dev/null
c import "$T/b.bundle" >"$T/out"
grep -q ", 0 held back, 0 rejected$" "$T/out" || fail "C's import: $(cat "$T/out")"
c peer ls >"$T/peers"
expect_eq "$(wc -l <"$T/peers")" 3 "C's members after the exchange"
grep -qxF "$ida	alpha	tcp://127.0.0.1:7400" "$T/peers" || fail "C does not list A: $(cat "$T/peers")"
# B's own name wins over the one A gave it; the address comes from A's record of B.
grep -qxF "$idb	beta	tcp://10.0.0.2:7401" "$T/peers" || fail "C's line for B: $(cat "$T/peers")"
grep -qxF "$idc	gamma		(this device)" "$T/peers" || fail "C's own line: $(cat "$T/peers")"

# A device that trusts no one holds A's and B's sets back, then applies them once it
# trusts B and B's records arrive.
D=$(mk_home)
mc --home "$D" init >/dev/null
mc --home "$D" import "$T/a.bundle" >"$T/out"
grep -q "^applied 0 sets (0 versions), 0 already known, [1-9][0-9]* held back, 0 rejected$" \
    "$T/out" || fail "held-back import: $(cat "$T/out")"
grep -q "^held back '_mesh' from $ida seq [0-9]*\.\.[0-9]*: " "$T/out" ||
    fail "held-back import's lines: $(cat "$T/out")"
expect_eq "$(mc --home "$D" peer ls | wc -l)" 1 "D's members while A is held back"
mc --home "$D" peer add "$idb"
mc --home "$D" import "$T/b.bundle" >/dev/null
expect_eq "$(mc --home "$D" peer ls | wc -l)" 4 "D's members after B's bundle"
exit 0
