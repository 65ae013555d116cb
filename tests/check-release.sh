#!/bin/sh
# tests/check-release.sh: the release build carries no test hook. The hooks
# (core/base/testhook.h) are compiled only into a test build (-DMESH_TESTING), so no
# "MESH_TEST_" string may be in the release libmeshsync.so, libmeshsync.a or meshctl; the
# test build's meshctl must hold them, which shows that the search finds them.
# Usage: tests/check-release.sh [RELEASE_DIR [TESTING_DIR]]   (build, build/testing)
# SPDX-License-Identifier: MIT
rel=${1:-build}
tst=${2:-$rel/testing}
command -v strings >/dev/null 2>&1 || { echo "no strings (binutils)"; exit 1; }
bad=0
for f in "$rel/libmeshsync.so" "$rel/libmeshsync.a" "$rel/meshctl"; do
    [ -f "$f" ] || { echo "no $f"; bad=1; continue; }
    leak=$(strings -a "$f" | grep 'MESH_TEST_' | sort -u)
    [ -z "$leak" ] || { echo "test hooks in the release $f:" $leak; bad=1; }
done
if [ -f "$tst/meshctl" ]; then
    strings -a "$tst/meshctl" | grep -q 'MESH_TEST_TAMPER' ||
        { echo "the test build's $tst/meshctl has no hook names: the search finds nothing"; bad=1; }
fi
[ $bad -eq 0 ] && echo "release: no test hook in $rel"
exit $bad
