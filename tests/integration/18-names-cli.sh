#!/usr/bin/env bash
# tests/integration/18-names-cli.sh: collection names with a space, an '=', quotes, a
# backslash, a percent sign and non-ASCII UTF-8 work in every command that takes a
# collection, without a daemon: put, get (one and --all), ls, del, log, conflicts, dump,
# export of the named collection, vector, import on a second device; --json keeps each name
# byte for byte. What must hold after: every name's dump is the same on both devices, the
# status lists each name once, and no name was confused with another (each holds its own value).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "collection names with spaces, quotes and UTF-8 in every command"
command -v python3 >/dev/null || skip "no python3"

three_devices
a peer add "$idb"
b peer add "$ida"

names=("my notes" 'equals=sign' 'say "hi"' "it's" 'back\slash' '100% sure' "ünïcødé ✓ 日本")

i=0
for n in "${names[@]}"; do
    i=$((i + 1))
    a put "$n" k "value $i"
    a put "$n" gone x
    a del "$n" gone
    expect_eq "$(a get "$n" k)" "value $i" "get in '$n'"
    expect_eq "$(a ls "$n" | cut -f1)" k "ls of '$n' (the deleted key is not listed)"
    a --json ls "$n" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["collection"] == sys.argv[1], (d["collection"], sys.argv[1])
assert [it["key"] for it in d["items"]] == ["k"], d' "$n" || fail "ls --json of '$n'"
    expect_eq "$(a log "$n" | wc -l)" 3 "log of '$n' (three sets)"
    a --json get --all "$n" k | python3 -c '
import json, sys
v = json.load(sys.stdin)["versions"]
assert len(v) == 1 and v[0]["value"] == sys.argv[1], v' "value $i" || fail "get --all of '$n'"
    expect_eq "$(a conflicts "$n" | wc -l)" 0 "conflicts in '$n'"
done

# One bundle per name, each carrying only its own collection; B imports them one by one.
a vector -o "$T/empty.vec" "${names[0]}" >/dev/null
for n in "${names[@]}"; do
    a export -o "$T/one.bundle" "$n" >/dev/null
    b import "$T/one.bundle" >"$T/out" || fail "B's import of '$n': $(cat "$T/out")"
    expect_eq "$(b dump "$n")" "$(a dump "$n")" "B's dump of '$n' against A's"
done
i=0
for n in "${names[@]}"; do
    i=$((i + 1))
    expect_eq "$(b get "$n" k)" "value $i" "B: get in '$n'"
done

# Each name once in status --json, byte for byte, with its digest equal on both devices.
a --json status >"$T/a.json"
b --json status >"$T/b.json"
python3 - "$T/a.json" "$T/b.json" "${names[@]}" <<'EOF' || fail "status --json lists the names wrong"
import json, sys
a = json.load(open(sys.argv[1]))
b = json.load(open(sys.argv[2]))
want = sys.argv[3:]
for doc in (a, b):
    names = [c["name"] for c in doc["collections"]]
    for n in want:
        assert names.count(n) == 1, (n, names)
da = {c["name"]: c["digest"] for c in a["collections"]}
db = {c["name"]: c["digest"] for c in b["collections"]}
for n in want:
    assert da[n] == db[n], (n, da[n], db[n])
EOF

# A vector naming an odd collection limits an export to what it lacks: nothing new.
b vector -o "$T/b.vec" "${names[6]}" >/dev/null
a export --since "$T/b.vec" -o "$T/since.bundle" "${names[6]}" >/dev/null
b import "$T/since.bundle" >"$T/out"
grep -q "^applied 0 sets" "$T/out" || fail "an export --since B's vector of '${names[6]}' was not empty: $(cat "$T/out")"
echo "ok"
