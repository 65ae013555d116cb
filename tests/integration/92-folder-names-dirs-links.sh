#!/usr/bin/env bash
# tests/integration/92-folder-names-dirs-links.sh: file names in any valid UTF-8, empty
# directories and symlinks between two real daemons on 127.0.0.1 (docs/PROTOCOL.md §18.3,
# §18.4, §18.6). A shares a tree whose names hold spaces, a newline, a tab, a backslash,
# quotes, a leading dash, CJK and an emoji, a 255-byte name, and "café" twice (NFC and NFD:
# two names, two files); empty directories (one nested three deep); symlinks to a directory
# outside the folder, to an absolute file and to nothing; and one name that is not UTF-8.
# What must hold: B ends with exactly A's tree (names byte for byte, both cafés, each link
# as a link with its target, the empty directories), except the name that is not UTF-8,
# which A leaves out of its index; nothing under the linked outside directory is in the
# index or on B (links are never followed); an empty directory made on B reaches A; empty
# directories removed or renamed on A, and a link retargeted, are so on B; a file made in a
# directory that is new since the last scan is noticed without waiting for a rescan.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "UTF-8 names, empty directories and symlinks (never followed) sync"

three_devices
FA=$T/fa FB=$T/fb OUT=$T/outside
mkdir -p "$FA/e1" "$FA/e2/nested/deeper" "$FA/e3" "$FA/日本語" "$FB" "$OUT"
echo "secret" >"$OUT/secret.txt"
echo nfc >"$FA/$(printf 'caf\xc3\xa9.txt')"
echo nfd >"$FA/$(printf 'cafe\xcc\x81.txt')"
echo sp >"$FA/with space.txt"
echo nl >"$FA/$(printf 'new\nline.txt')"
echo tab >"$FA/$(printf 'tab\there')"
echo bs >"$FA/back\\slash"
echo q >"$FA/quote\"'s"
echo dash >"$FA/-dash"
echo jp >"$FA/日本語/ファイル.txt"
echo party >"$FA/emoji 🎉.txt"
long=$(python3 -c 'print("é" * 127 + "x")') # 255 bytes
echo long >"$FA/$long"
echo bad >"$FA/$(printf 'bad\xff.txt')"
ln -s "$OUT" "$FA/out"
ln -s /etc/hostname "$FA/abs"
ln -s does/not/exist "$FA/dangling"

# tree DIR: every path under DIR but .meshsync and the non-UTF-8 name, with its type and
# content or target, one repr per line (names byte for byte, a newline in one escaped).
tree() {
    python3 - "$1" <<'EOF'
import os, sys
root = os.fsencode(sys.argv[1])
out = []
for d, dirs, files in os.walk(root):
    dirs[:] = [x for x in dirs if not (d == root and x == b".meshsync")]
    for n in dirs + files:
        p = os.path.join(d, n)
        rel = os.path.relpath(p, root)
        if n == b"bad\xff.txt":
            continue
        if os.path.islink(p):
            out.append((rel, "link", os.readlink(p)))
        elif os.path.isdir(p):
            out.append((rel, "dir", b""))
        else:
            out.append((rel, "file", open(p, "rb").read()))
for e in sorted(out):
    print(repr(e))
EOF
}
same() { [ "$(tree "$FA")" = "$(tree "$FB")" ]; }

folder_two_daemons "$FA" "$FB"
wait_for 30 "B's tree to equal A's" same
# (escaped: \n, \t, \\; paths only, not the folder record under .meshsync/folder, §18.5)
keys=$(mc --home "$B" ls --keys "folder:$fid" | grep -vxF .meshsync/folder)
# 20 paths: 11 files, 6 directories, 3 links (the name that is not UTF-8 left out).
[ "$(tree "$FA" | wc -l)" = 20 ] || fail "A's tree: $(tree "$FA")"
for k in "$(printf 'caf\xc3\xa9.txt')" "$(printf 'cafe\xcc\x81.txt')" "$long" 'new\nline.txt' \
    'tab\there' 'back\\slash' "e2/nested/deeper" out abs dangling; do
    grep -qxF -- "$k" <<<"$keys" || fail "'$k' is not in B's index"
done
case $keys in *outside* | *secret* | *out/*) fail "something under a link is in the index: $keys" ;; esac
case $keys in *bad*) fail "the name that is not UTF-8 is in the index: $keys" ;; esac
expect_eq "$(wc -l <<<"$keys")" 20 "keys in B's index"
[ ! -e "$FB/$(printf 'bad\xff.txt')" ] || fail "the name that is not UTF-8 reached B"
for l in out abs dangling; do [ -L "$FB/$l" ] || fail "B's $l is not a link"; done
expect_eq "$(readlink "$FB/out")" "$OUT" "the target of B's out"
expect_eq "$(cat "$FB/$(printf 'caf\xc3\xa9.txt')")" nfc "B's NFC café"
expect_eq "$(cat "$FB/$(printf 'cafe\xcc\x81.txt')")" nfd "B's NFD café"
expect_eq "$(ls -A "$OUT")" secret.txt "the outside directory"

# Empty directories: one made on B reaches A; on A one removed, one nested removed, one
# renamed; a link retargeted.
mkdir "$FB/from-b"
wait_for 20 "B's empty directory on A" test -d "$FA/from-b"
rmdir "$FA/e1" "$FA/e2/nested/deeper"
mv "$FA/e3" "$FA/e3-renamed"
ln -sfn other/target "$FA/dangling"
wait_for 20 "A's directory changes on B" same
[ ! -e "$FB/e1" ] && [ ! -e "$FB/e2/nested/deeper" ] && [ ! -e "$FB/e3" ] ||
    fail "a removed directory is still on B"
[ -d "$FB/e2/nested" ] && [ -d "$FB/e3-renamed" ] || fail "B lacks e2/nested or e3-renamed"
expect_eq "$(readlink "$FB/dangling")" other/target "B's retargeted link"

# A new directory tree is watched too: a file made in it after it synced is noticed (the
# periodic rescan is 60 s away, past every deadline here).
mkdir -p "$FA/new/sub"
echo one >"$FA/new/sub/one.txt"
wait_for 20 "new/sub/one.txt on B" test -f "$FB/new/sub/one.txt"
echo two >"$FA/new/sub/two.txt"
wait_for 20 "new/sub/two.txt on B" test -f "$FB/new/sub/two.txt"
wait_for 20 "the trees equal at the end" same
expect_eq "$(ls -A "$OUT")" secret.txt "the outside directory at the end"
echo ok
