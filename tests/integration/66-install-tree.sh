#!/usr/bin/env bash
# tests/integration/66-install-tree.sh: `make install DESTDIR=$D PREFIX=/usr/local` and
# `make uninstall`, file by file. What must hold after:
#  1. every file is installed with its mode: the .so (its soname libmeshsync.so.SOVERSION,
#     its file named by the header's version, the soname and dev links pointing to it), the
#     .a, meshsync.h, meshsync.pc, meshctl, meshctl(1), meshsync(3), the bash completion,
#     the system and user units and the sysusers.d file; the installed library and meshctl
#     are the release build's (no MESH_TEST_ string in them, the .so the same bytes);
#  2. pkg-config, pointed into $D (PKG_CONFIG_SYSROOT_DIR), gives the flags that build a
#     program against the installed tree alone; it runs on the installed .so (the loader
#     finds it by its soname), opens a node in a temp home, puts and gets an item, and the
#     versions agree: the header's MESH_VERSION_NUMBER, mesh_version_number(), mesh_version(),
#     meshsync.pc's Version and the installed `meshctl --version`;
#  3. `make install` of a test build refuses, installing nothing; an install with another
#     PREFIX before writes that PREFIX in its units, and leaves this one's unchanged;
#  4. `make uninstall` removes every file it installed, and nothing else.
# The release build is reused (make only copies); a missing one is built first.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "make install into a DESTDIR: every file, the soname, pkg-config, a program on it; make uninstall"
command -v pkg-config >/dev/null || skip "no pkg-config"
command -v readelf >/dev/null || skip "no readelf (binutils)"
# Always the plain build: a program built without sanitizers cannot load an ASan library.
D=$T/dest
P=$D/usr/local
mkdir -p "$D"
touch "$D/not-ours" # uninstall must leave what it did not install
# An install with another PREFIX first: each install writes its own paths in (the units).
make -C "$ROOT" --no-print-directory -s B=build install PREFIX=/opt/other DESTDIR="$T/other" \
    >"$T/install.log" 2>&1 || fail "make install PREFIX=/opt/other: $(tail -n 5 "$T/install.log")"
grep -q "^ExecStart=/opt/other/bin/meshctl daemon\$" "$T/other/opt/other/lib/systemd/system/meshsync.service" ||
    fail "the system unit of PREFIX=/opt/other does not run /opt/other/bin/meshctl"
make -C "$ROOT" --no-print-directory -s B=build install PREFIX=/usr/local DESTDIR="$D" \
    >"$T/install.log" 2>&1 || fail "make install: $(tail -n 5 "$T/install.log")"

# 1. The files.
ver=$(sed -n 's/^#define MESH_VERSION_\(MAJOR\|MINOR\|PATCH\) *\([0-9]*\).*/\2/p' \
    "$ROOT/include/meshsync.h" | paste -sd. -)
sover=$(sed -n 's/^SOVERSION *:= *\([0-9]*\).*/\1/p' "$ROOT/Makefile")
[ -n "$ver" ] && [ -n "$sover" ] || fail "no version ('$ver') or SOVERSION ('$sover')"
want="lib/libmeshsync.so.$ver 755
lib/libmeshsync.a 644
include/meshsync.h 644
lib/pkgconfig/meshsync.pc 644
bin/meshctl 755
share/man/man1/meshctl.1 644
share/man/man3/meshsync.3 644
share/bash-completion/completions/meshctl 644
lib/systemd/system/meshsync.service 644
lib/systemd/user/meshsync.service 644
lib/sysusers.d/meshsync.conf 644"
while read -r f mode; do
    [ -f "$P/$f" ] && [ ! -L "$P/$f" ] || fail "not installed as a file: $f"
    expect_eq "$(stat -c %a "$P/$f")" "$mode" "the mode of $f"
done <<<"$want"
expect_eq "$(readlink "$P/lib/libmeshsync.so.$sover")" "libmeshsync.so.$ver" "the soname link"
expect_eq "$(readlink "$P/lib/libmeshsync.so")" "libmeshsync.so.$sover" "the dev link"
soname=$(readelf -d "$P/lib/libmeshsync.so.$ver" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
expect_eq "$soname" "libmeshsync.so.$sover" "the soname (readelf -d)"
cmp -s "$P/lib/libmeshsync.so.$ver" "$ROOT/build/libmeshsync.so.$ver" ||
    fail "the installed .so is not build/'s (the release build)"
for f in lib/libmeshsync.so.$ver lib/libmeshsync.a bin/meshctl; do
    ! strings -a "$P/$f" | grep -q 'MESH_TEST_' || fail "test hooks in the installed $f"
done
cmp -s "$P/include/meshsync.h" "$ROOT/include/meshsync.h" || fail "the installed header differs"
cmp -s "$P/share/man/man3/meshsync.3" "$ROOT/docs/meshsync.3" || fail "meshsync.3 differs"
grep -q "^ExecStart=/usr/local/bin/meshctl daemon\$" "$P/lib/systemd/system/meshsync.service" ||
    fail "the system unit does not run /usr/local/bin/meshctl daemon"
grep -q "^ExecStart=/usr/local/bin/meshctl daemon\$" "$P/lib/systemd/user/meshsync.service" ||
    fail "the user unit does not run /usr/local/bin/meshctl daemon"
! grep -q '@[A-Z]*@' "$P/lib/systemd/system/meshsync.service" "$P/lib/pkgconfig/meshsync.pc" ||
    fail "an @VAR@ left unreplaced"

# 2. A program built through pkg-config against the installed tree only.
export PKG_CONFIG_PATH=$P/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D
flags=$(pkg-config --cflags --libs meshsync) || fail "pkg-config --cflags --libs meshsync"
for want_flag in "-I$P/include" "-L$P/lib" "-lmeshsync"; do
    case " $flags " in *" $want_flag "*) ;;
    *) fail "pkg-config flags have no $want_flag (into the install): $flags" ;; esac
done
expect_eq "$(pkg-config --modversion meshsync)" "$ver" "meshsync.pc's Version"
cat >"$T/prog.c" <<'C'
#include <meshsync.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
    mesh_options_t o = {.size = sizeof o, .home = argv[1], .create = true, .offline = true};
    mesh_t *m;
    mesh_txn_t *t;
    void *v = NULL;
    size_t n = 0;
    if (argc < 2 || mesh_open(&o, &m) != MESH_OK)
        return 1;
    if (mesh_txn_begin(m, "installed", &t) != MESH_OK || mesh_put(t, "k", 1, "v66", 3) != MESH_OK ||
        mesh_txn_commit(&t, NULL) != MESH_OK)
        return 2;
    if (mesh_get(m, "installed", "k", 1, &v, &n) != MESH_OK || n != 3 || memcmp(v, "v66", 3) != 0)
        return 3;
    mesh_free(v);
    printf("%s %d %d\n", mesh_version(), mesh_version_number(), MESH_VERSION_NUMBER);
    mesh_close(m);
    return 0;
}
C
# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror -o "$T/prog" "$T/prog.c" $flags >"$T/cc.log" 2>&1 ||
    fail "cc with the pkg-config flags: $(cat "$T/cc.log")"
readelf -d "$T/prog" | grep -q "(NEEDED).*\[libmeshsync.so.$sover\]" ||
    fail "the program does not need libmeshsync.so.$sover: $(readelf -d "$T/prog" | grep NEEDED)"
LD_LIBRARY_PATH=$P/lib ldd "$T/prog" | grep -q "libmeshsync.so.$sover => $P/lib/" ||
    fail "the loader does not take the installed .so: $(LD_LIBRARY_PATH=$P/lib ldd "$T/prog")"
home=$(mk_home)/app
out=$(LD_LIBRARY_PATH=$P/lib "$T/prog" "$home") || fail "the program exited $?"
IFS=. read -r maj min pat <<<"$ver"
num=$((maj * 10000 + min * 100 + pat))
expect_eq "$out" "$ver $num $num" "mesh_version, mesh_version_number, MESH_VERSION_NUMBER"
expect_eq "$("$P/bin/meshctl" --version)" "meshctl $ver (libmeshsync $ver)" "installed meshctl --version"
expect_eq "$("$P/bin/meshctl" --home "$home" get installed k)" "v66" "meshctl reads what the program wrote"

# 3. A test build is never installed.
expect_exit 2 make -C "$ROOT" --no-print-directory -s B=build/testing install PREFIX=/usr/local \
    DESTDIR="$T/dest-testing"
grep -q "test build" "$T/stdout" "$T/stderr" || fail "no reason given: $(cat "$T/stdout" "$T/stderr")"
[ ! -e "$T/dest-testing" ] || fail "a test build's install left files: $(find "$T/dest-testing")"

# 4. Uninstall: nothing of ours left; the file that was there before stays.
make -C "$ROOT" --no-print-directory -s B=build uninstall PREFIX=/usr/local DESTDIR="$D" \
    >"$T/uninstall.log" 2>&1 || fail "make uninstall: $(tail -n 5 "$T/uninstall.log")"
left=$(find "$D" ! -type d | sort)
expect_eq "$left" "$D/not-ours" "what uninstall leaves"
echo ok
