#!/usr/bin/env bash
# tests/integration/05-errors.sh: the home's modes (directory 0700, identity 0600), and
# damaged or misplaced homes refused with exit 1 and one clear line, never repaired by
# overwriting (a damaged identity is not replaced by init).
# (A store with an unknown format version is covered by the store's unit tests.)
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "home modes, and a damaged identity or a bad home refused with a clear error"

A=$(mk_home)/dev
id=$(mc --home "$A" init)
expect_eq "$(stat -c %a "$A")" 700 "mode of the home"
expect_eq "$(stat -c %a "$A/identity")" 600 "mode of the identity (secret key) file"
[ -d "$A/store" ] || fail "no store directory in the home"

# A truncated identity: every command fails, and init does not replace it.
truncate -s 10 "$A/identity"
expect_fail_with "damaged" mc --home "$A" id
grep -q "identity" "$T/stderr" || fail "the error does not name the identity: $(cat "$T/stderr")"
expect_fail_with "damaged" mc --home "$A" get c k
expect_fail_with "damaged" mc --home "$A" init
expect_eq "$(stat -c %s "$A/identity")" 10 "size of the damaged identity after init"

# An empty identity file.
B=$(mk_home)/dev
mc --home "$B" init >/dev/null
: >"$B/identity"
expect_fail_with "damaged" mc --home "$B" id

# A home that is a regular file.
: >"$T/plain"
expect_fail_with "open '$T/plain'" mc --home "$T/plain" id
expect_fail_with "" mc --home "$T/plain" init

# A config file that cannot be parsed names its line.
C=$(mk_home)/dev
mc --home "$C" init >/dev/null
printf 'name = x\nno equals sign here\n' >"$C/config"
expect_fail_with "config '$C/config'" mc --home "$C" id
grep -q "line 2" "$T/stderr" || fail "the config error names no line: $(cat "$T/stderr")"
exit 0
