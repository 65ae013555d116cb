#!/usr/bin/env bash
# tests/integration/28-cli-friction.sh: what a new user meets first in meshctl (issue 14,
# items 7, 8, 13, 14). `ls` alone lists the collections with item counts ("1 item");
# ls, log, export and conflicts of a missing collection say "no such collection" and exit
# 1; ls prints UTF-8 as text; no error line repeats itself; a pasted ID with blanks around
# it is taken, a mistyped one says which groups fail their check; an unknown command gets
# "did you mean"; an empty KEY is a usage error (exit 2); put, del and peer add confirm on a
# terminal only (not piped, not with --quiet); the help column is aligned. What must hold
# after: every refused command left the store as it was.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "ls of collections, no such collection, clear errors, did you mean, confirmations"
command -v python3 >/dev/null || skip "no python3"

three_devices

# 1. ls alone: the collections with their item counts (deleted keys are not items).
expect_eq "$(a ls)" "" "ls of a new device"
a put notes one 1
a put notes two 2
a put notes gone x
a del notes gone
a put "café" k "crème brûlée"
expect_eq "$(a ls)" "$(printf 'café\t1 item\nnotes\t2 items')" "ls alone"
a --json ls | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d == {"collections": [
    {"name": "café", "items": 1, "keys": 1, "versions": 1},
    {"name": "notes", "items": 2, "keys": 3, "versions": 3}]}, d' || fail "ls --json alone"
# UTF-8 as text (it was \xc3\xa9 before).
expect_eq "$(a ls "café")" "$(printf 'k\tcrème brûlée')" "ls of UTF-8"

# 2. A missing collection is an error, not an empty one.
digest=$(a dump notes | tail -n 1)
expect_fail_with "no such collection 'nosuch'" a ls nosuch
expect_fail_with "no such collection 'nosuch'" a log nosuch
expect_fail_with "no such collection 'nosuch'" a export nosuch -o "$T/x.bundle"
[ ! -e "$T/x.bundle" ] || fail "a failed export wrote a file"
expect_fail_with "no such collection 'nosuch'" a conflicts nosuch
expect_fail_with "no such collection 'note'" a export notes note -o "$T/x.bundle"

# 3. Error lines say each thing once.
printf 'not a bundle' >"$T/junk"
expect_fail_with "import '$T/junk': not a bundle, or a damaged one (malformed encoding)" a import "$T/junk"
grep -c "malformed encoding" "$T/stderr" | grep -qx 1 || fail "repeated: $(cat "$T/stderr")"
expect_fail_with "peer add: 'X' is not a valid device ID: 1 character where an ID has 54" a peer add X
[ "$(grep -o "not a valid device ID" "$T/stderr" | wc -l)" = 1 ] || fail "repeated: $(cat "$T/stderr")"

# 4. IDs: blanks around a pasted one are dropped; a typo says where.
a peer add "  $idb
" || fail "an ID with blanks around it was refused"
a peer ls | grep -q "^$idb	" || fail "B is not a member after the pasted add: $(a peer ls)"
typo1=${idc:0:8}$([ "${idc:8:1}" = A ] && echo B || echo A)${idc:9}   # in group 2
typo2=${idc:0:50}$([ "${idc:50:1}" = A ] && echo B || echo A)${idc:51} # in group 8
expect_fail_with "groups 1-4 and the first 3 characters of group 5 fail their check" a peer add "$typo1"
expect_fail_with "the last 3 characters of group 5 and groups 6-9 fail their check" a peer add "$typo2"
expect_fail_with "character 7 is '!'" a peer add "${idc:0:6}!${idc:7}"
a peer ls | grep -q "^$idc" && fail "a mistyped ID added C"

# 5. Unknown commands, empty keys.
expect_exit 2 a stauts
grep -q "did you mean 'status'" "$T/stderr" || fail "no suggestion: $(cat "$T/stderr")"
expect_exit 2 a xyzzy
grep -q "did you mean" "$T/stderr" && fail "a suggestion for a word close to nothing: $(cat "$T/stderr")"
expect_exit 2 a put notes "" v
expect_exit 2 a del notes one ""
expect_exit 2 a get notes ""
expect_exit 2 a put "" k v
expect_exit 2 a get "" k
expect_exit 2 a del "" k
expect_eq "$(a dump notes | tail -n 1)" "$digest" "the digest after the refused commands"

# 6. Confirmations on a terminal only.
expect_eq "$(a put notes three 3)" "" "put piped prints nothing"
expect_eq "$(a del notes three)" "" "del piped prints nothing"
if command -v script >/dev/null; then
    on_tty() { script -qec "$1" /dev/null | tr -d '\r'; }
    expect_eq "$(on_tty "'$MESHCTL' --home '$A' put notes four 4")" "wrote 'four' in 'notes'" "put on a terminal"
    expect_eq "$(on_tty "'$MESHCTL' --home '$A' del notes four two")" "deleted 2 keys from 'notes'" "del on a terminal"
    expect_eq "$(on_tty "'$MESHCTL' --home '$A' --quiet put notes five 5")" "" "put --quiet on a terminal"
    on_tty "'$MESHCTL' --home '$A' peer add --name gamma $idc" | grep -q "^added $idc ('gamma') to the mesh" ||
        fail "peer add on a terminal: $(on_tty "'$MESHCTL' --home '$A' peer add $idc")"
fi

# 7. The help's summaries start in one column.
mc help | sed -n '/^commands:/,/^$/p' | sed -n 's/^  \([a-z]*\) *\(.*\)/\1|\2/p' >"$T/help"
[ "$(wc -l <"$T/help")" -ge 16 ] || fail "help lists too few commands: $(cat "$T/help")"
cols=$(mc help | sed -n '/^commands:/,/^$/p' | grep '^  [a-z]' | while IFS= read -r line; do
    rest=${line#  *  }
    while [ "${rest# }" != "$rest" ]; do rest=${rest# }; done
    echo $((${#line} - ${#rest}))
done | sort -u)
expect_eq "$(echo "$cols" | wc -l)" 1 "columns where the help's summaries start ($cols)"
echo "ok"
