#!/usr/bin/env bash
# tests/integration/06-docs.sh: the man page matches meshctl: each command's --help usage
# line is its heading in docs/meshctl.1.md, each option in --help is documented there,
# and docs/meshctl.1 is what md2man.py makes of the source today.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "the man page documents every command and option, and its roff is current"

MD=$ROOT/docs/meshctl.1.md
MAN=$ROOT/docs/meshctl.1
cmds=$(mc help | sed -n 's/^  \([a-z]\{2,\}\)  .*/\1/p')
[ -n "$cmds" ] || fail "meshctl help lists no command"
grep -qxF "## help [COMMAND]" "$MD" || fail "no '## help [COMMAND]' heading in docs/meshctl.1.md"
for cmd in $cmds; do
    [ "$cmd" != help ] || continue
    mc help "$cmd" >"$T/help"
    usage=$(sed -n '1s/^usage: meshctl //p' "$T/help")
    grep -qxF "## $usage" "$MD" || fail "no '## $usage' heading in docs/meshctl.1.md"
    for opt in $(grep -o -- '--[a-z][a-z-]*' "$T/help" | sort -u); do
        grep -qF -- "**$opt**" "$MD" || fail "'$cmd --help' names $opt; the man page does not"
    done
done
for opt in $(mc --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    grep -qF -- "**$opt**" "$MD" || fail "'meshctl --help' names $opt; the man page does not"
done

command -v python3 >/dev/null || skip "no python3 to rebuild the roff"
python3 "$ROOT/scripts/md2man.py" "$MD" >"$T/meshctl.1"
cmp -s "$T/meshctl.1" "$MAN" ||
    fail "docs/meshctl.1 is stale: run scripts/md2man.py docs/meshctl.1.md > docs/meshctl.1"
if command -v groff >/dev/null; then
    groff -man -Tutf8 -ww -z "$MAN" 2>"$T/groff" || true
    [ ! -s "$T/groff" ] || fail "groff warns about docs/meshctl.1: $(cat "$T/groff")"
fi
exit 0
