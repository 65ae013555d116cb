#!/usr/bin/env bash
# tests/integration/04-full-disk.sh: a home on a full file system (a 4 MiB tmpfs): a put
# fails with exit 1 and "no space left on device", what was stored before still reads
# back, and once space is freed the same put succeeds. Needs root (mount); else skips.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a full disk fails a put cleanly; the store works again once space is freed"

[ "$(id -u)" = 0 ] || skip "needs root to mount a tmpfs"
D=$(mk_home)
mount -t tmpfs -o size=4m,mode=0700 meshsync-test "$D" 2>/dev/null || skip "cannot mount a tmpfs"
at_exit "umount '$D'"

H=$D/home
mc --home "$H" init >/dev/null
mc --home "$H" put c before "kept"
head -c 200000 /dev/urandom >"$T/value"

# Fill the file system: big blocks, then page by page for the rest.
dd if=/dev/zero of="$D/fill" bs=64k 2>/dev/null || true
dd if=/dev/zero of="$D/fill2" bs=4k 2>/dev/null || true
[ "$(df -P "$D" | awk 'NR == 2 { print $4 }')" -lt 64 ] || fail "the tmpfs did not fill up"

expect_fail_with "no space left on device" mc --home "$H" put c big - <"$T/value"
grep -q "put 'big' in 'c'" "$T/stderr" || fail "the error does not name the put: $(cat "$T/stderr")"
expect_eq "$(mc --home "$H" get c before)" kept "the earlier value on a full disk"
expect_fail_with "not found" mc --home "$H" get c big

rm -f "$D/fill" "$D/fill2"
mc --home "$H" put c big - <"$T/value"
mc --home "$H" get c big | cmp - "$T/value" || fail "the value put after freeing space"
expect_eq "$(mc --home "$H" get c before)" kept "the earlier value after freeing space"
expect_eq "$(mc --home "$H" ls --keys c | tr '\n' ' ')" "before big " "keys after freeing space"
exit 0
