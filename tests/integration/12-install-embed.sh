#!/usr/bin/env bash
# tests/integration/12-install-embed.sh: `make install PREFIX=... DESTDIR=...` installs the
# libraries (the .so with its soname), the header, meshsync.pc, meshctl and its man page;
# a small program built with `pkg-config --cflags --libs meshsync` against the installed
# files opens a node, commits a transaction, reads it back (the value, its versions and the
# collection list, through the opaque result lists), and meshctl sees the same data.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "make install, then a program embeds libmeshsync through pkg-config"
command -v pkg-config >/dev/null || skip "no pkg-config"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# Always the plain build: a program built without sanitizers cannot load an ASan library
# (under make asan-test, B names build-asan).
make -C "$ROOT" --no-print-directory -s B=build install PREFIX=/opt/meshsync DESTDIR="$T/dest" \
    >"$T/install.log" 2>&1 || fail "make install: $(tail -n 5 "$T/install.log")"
P=$T/dest/opt/meshsync
for f in lib/libmeshsync.a lib/libmeshsync.so.1 include/meshsync.h lib/pkgconfig/meshsync.pc \
    bin/meshctl share/man/man1/meshctl.1; do
    [ -e "$P/$f" ] || fail "not installed: $f"
done
if command -v readelf >/dev/null; then
    readelf -d "$P/lib/libmeshsync.so" | grep -q 'SONAME.*\[libmeshsync\.so\.1\]' ||
        fail "soname: $(readelf -d "$P/lib/libmeshsync.so" | grep SONAME)"
fi
grep -qx 'prefix=/opt/meshsync' "$P/lib/pkgconfig/meshsync.pc" || fail "meshsync.pc: $(head -n 1 "$P/lib/pkgconfig/meshsync.pc")"
cat >"$T/embed.c" <<'C'
#include <meshsync.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    mesh_options_t o = {.size = sizeof o, .home = argv[1], .create = true, .offline = true};
    mesh_t *m; mesh_txn_t *t; void *v = NULL; size_t n = 0;
    if (argc < 2 || mesh_open(&o, &m) != MESH_OK) return 1;
    if (mesh_txn_begin(m, "app", &t) != MESH_OK || mesh_put(t, "k", 1, "embedded", 8) != MESH_OK ||
        mesh_txn_commit(&t, NULL) != MESH_OK) return 2;
    if (mesh_get(m, "app", "k", 1, &v, &n) != MESH_OK || n != 8 || memcmp(v, "embedded", 8)) return 3;
    mesh_free(v);
    mesh_item_version_list_t *vl = NULL; mesh_coll_list_t *cl = NULL;
    if (mesh_get_versions(m, "app", "k", 1, &vl) != MESH_OK ||
        mesh_item_version_list_count(vl) != 1 ||
        mesh_item_version_list_get(vl, 0)->size < sizeof(mesh_item_version_t) ||
        !mesh_item_version_list_get(vl, 0)->is_winner) return 4;
    mesh_item_version_list_free(vl);
    if (mesh_collections(m, &cl) != MESH_OK || mesh_coll_list_count(cl) != 1 ||
        strcmp(mesh_coll_list_get(cl, 0)->name, "app") || mesh_coll_list_get(cl, 1) != NULL)
        return 5;
    mesh_coll_list_free(cl);
    printf("%s\n", mesh_version());
    mesh_close(m);
    return 0;
}
C
# Compile against the installed tree: pkg-config prints /opt/meshsync paths, which live
# under DESTDIR here, so point -I/-L there.
flags=$(PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --cflags --libs meshsync) || fail "pkg-config"
case $flags in *-lmeshsync*) ;; *) fail "pkg-config flags: $flags" ;; esac
cc -o "$T/embed" "$T/embed.c" -I"$P/include" -L"$P/lib" -lmeshsync >"$T/cc.log" 2>&1 ||
    fail "cc: $(cat "$T/cc.log")"
home=$(mk_home)/app
out=$(LD_LIBRARY_PATH="$P/lib" "$T/embed" "$home") || fail "the embedding program exited $?"
expect_eq "$out" "$(mc --version | sed -n 's/.*libmeshsync \([0-9.]*\).*/\1/p' | head -n 1)" "mesh_version"
expect_eq "$(mc --home "$home" get app k)" "embedded" "meshctl reads what the program wrote"
echo ok
