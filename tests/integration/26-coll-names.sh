#!/usr/bin/env bash
# tests/integration/26-coll-names.sh: which collection names meshctl accepts, and that no
# byte of a name or a value acts on a terminal (issue 14, items 1 and 8; issue 13, control
# characters). Refused on write, with the bad byte's position: control characters (ESC,
# newline, tab, DEL, C1), bytes that are not UTF-8, a leading '_'; accepted: spaces, UTF-8,
# 200 bytes. Refused on receive: a bundle carrying a set under a refused name (written
# through the test build's MESH_TEST_ANY_COLL hook, as a hostile member would) has that set
# rejected and the honest sets beside it applied. Output: ls, get --all, dump, conflicts,
# import's report and get on a terminal show control bytes as \xNN, UTF-8 as text; ls --json
# and status --json encode a name that is not UTF-8 the same way. What must hold after: no
# refused name is stored, and no output line holds a raw control byte.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "collection names: refused on write and on receive, escaped on output"
command -v python3 >/dev/null || skip "no python3"
[ -x "$MESHCTL_TESTING" ] || fail "no test-build meshctl at $MESHCTL_TESTING (make testing)"

three_devices
a peer add "$idb"
b peer add "$ida"
ESC=$(printf '\033')

# 1. Refused on write, one clear line naming the byte; nothing is stored.
refused() { # refused NAME WHAT: put under NAME fails, saying WHAT
    expect_fail_with "$2" a put "$1" k v
    grep -q "$ESC" "$T/stderr" && fail "an escape byte reached stderr: $(cat -v "$T/stderr")"
    true
}
refused "$(printf 'ev\033[31mil')" "byte 3 (0x1b) is a control character"
refused "$(printf 'two\nlines')" "byte 4 (0x0a) is a control character"
refused "$(printf 'a\tb')" "byte 2 (0x09) is a control character"
refused "$(printf 'del\177')" "byte 4 (0x7f) is a control character"
refused "$(printf 'c1\302\233x')" "bytes 3-4 (U+009B) are a control character"
refused "$(printf 'bad\377utf8')" "byte 4 (0xff) is not valid UTF-8"
refused "_mine" "reserved"
expect_eq "$(a ls)" "" "collections after refused writes"

# Accepted: spaces, UTF-8, 200 bytes.
long=$(printf 'n%.0s' $(seq 200))
for n in "a b" "café ✓" "$long"; do
    a put "$n" k v || fail "put under '$n' refused"
done
expect_fail_with "201 bytes" a put "${long}x" k v
expect_eq "$(a ls | cut -f1 | sort)" "$(printf '%s\n' "a b" "café ✓" "$long" | sort)" "A's collections"

# 2. Refused on receive: B rejects the set under the refused name, applies the rest.
evil=$(printf 'evil\033]0;pwned\007\nrejected nothing')
a put honest one 1
MESH_TEST_ANY_COLL=1 "$MESHCTL_TESTING" --home "$A" put "$evil" k v ||
    fail "the test hook did not let A write under a refused name"
a put honest two 2
a export -o "$T/a.bundle" >/dev/null
expect_exit 1 b import "$T/a.bundle"
out=$(cat "$T/stdout")
grep -q "$ESC" "$T/stdout" && fail "an escape byte in import's report: $(cat -v "$T/stdout")"
grep -q "^applied [0-9]* sets .*, 1 rejected$" "$T/stdout" || fail "import's counts: $out"
grep -q "^rejected 'evil\\\\x1b]0;pwned\\\\x07\\\\nrejected nothing' from $ida .*collection name: byte 5 (0x1b) is a control character$" \
    "$T/stdout" || fail "import's rejected line: $out"
expect_eq "$(wc -l <"$T/stdout")" 2 "lines of import's report (a name adds none)"
expect_eq "$(b get honest two)" 2 "the honest set after the refused one"
expect_eq "$(b ls | cut -f1 | sort)" "$(printf '%s\n' "a b" "café ✓" honest "$long" | sort)" \
    "B's collections (none under the refused name)"

# 3. Output: control bytes escaped, UTF-8 as text, in every command that shows data.
a put show k "$(printf 'caf\303\251 \033[2J')"
expect_eq "$(a ls show)" "$(printf 'k\tcafé \\x1b[2J')" "ls of a value with UTF-8 and ESC"
a get --all show k | grep -q 'put café \\x1b\[2J$' || fail "get --all: $(a get --all show k | cat -v)"
a dump show | grep -q 'put	café \\x1b\[2J$' || fail "dump: $(a dump show | cat -v)"
expect_eq "$(a get show k | od -An -tx1 | tr -d ' \n')" "636166c3a9201b5b324a" "get piped: the bytes exactly"
if command -v script >/dev/null; then
    script -qec "'$MESHCTL' --home '$A' get show k" /dev/null >"$T/tty" || fail "get on a terminal"
    grep -q "$ESC" "$T/tty" && fail "get on a terminal wrote an escape byte: $(cat -v "$T/tty")"
    grep -q 'café \\x1b\[2J' "$T/tty" || fail "get on a terminal: $(cat -v "$T/tty")"
fi

# ls --json and status --json write a name that is not UTF-8 the same way (name_hex).
MESH_TEST_ANY_COLL=1 "$MESHCTL_TESTING" --home "$C" put "$(printf 'x\377')" k v
expect_eq "$(c ls)" "$(printf 'x\\xff\t1 item')" "ls of a name that is not UTF-8"
c --json ls >"$T/ls.json"
c --json status >"$T/status.json"
python3 - "$T/ls.json" "$T/status.json" <<'EOF' || fail "ls --json and status --json differ"
import json, sys
ls = json.load(open(sys.argv[1]))["collections"]
st = json.load(open(sys.argv[2]))["collections"]
assert [c.get("name_hex") for c in ls] == ["78ff"], ls
assert [c.get("name_hex") for c in st] == ["78ff"], st
assert "name" not in ls[0] and "name" not in st[0], (ls, st)
EOF
echo "ok"
