#!/bin/sh
# tests/check-symbols.sh: the shared library's ABI. Its dynamic symbols (nm -D) are the
# public calls of include/meshsync.h and nothing else: every name it exports is mesh_ and
# declared MESH_EXPORT there, and every call declared there is exported (the library is
# compiled -fvisibility=hidden; MESH_EXPORT opens a call). Its soname is
# libmeshsync.so.SOVERSION (the Makefile's), its file libmeshsync.so.MAJOR.MINOR.PATCH of
# the header's MESH_VERSION_*, and it has no text relocations (built PIC).
# Usage: tests/check-symbols.sh [build/libmeshsync.so]
# SPDX-License-Identifier: MIT
so=${1:-build/libmeshsync.so}
root=$(cd "$(dirname "$0")/.." && pwd)
hdr=$root/include/meshsync.h
[ -f "$so" ] || { echo "no $so"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-symbols.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$so" | awk '{print $3}' | sort -u >"$tmp/exported"
stray=$(grep -v '^mesh_' "$tmp/exported" | grep -v '^_')
[ -z "$stray" ] || { echo "non-mesh_ symbols exported:" $stray; exit 1; }
# The calls the header declares: the name before the first '(' of each MESH_EXPORT
# declaration (which may wrap after its return type).
awk '/^MESH_EXPORT/ { decl = $0; while (decl !~ /\(/ && (getline line) > 0) decl = decl " " line;
                      sub(/\(.*/, "", decl); n = split(decl, w, /[ *]+/); print w[n] }' "$hdr" |
    sort -u >"$tmp/declared"
n=$(grep -c '^mesh_' "$tmp/exported")
[ "$(wc -l <"$tmp/declared")" -gt 10 ] || { echo "found no MESH_EXPORT calls in $hdr"; exit 1; }
missing=$(comm -13 "$tmp/exported" "$tmp/declared")
[ -z "$missing" ] || { echo "declared in meshsync.h, not exported:" $missing; exit 1; }
extra=$(grep '^mesh_' "$tmp/exported" | comm -23 - "$tmp/declared")
[ -z "$extra" ] || { echo "exported, not declared MESH_EXPORT in meshsync.h:" $extra; exit 1; }
# The 0.2 ABI (soname libmeshsync.so.1): results come in opaque lists; 0.1's array calls
# are gone.
if grep -qx 'mesh_versions_free' "$tmp/exported"; then
    echo "mesh_versions_free (0.1) is still exported"
    exit 1
fi
if command -v readelf >/dev/null 2>&1; then
    sover=$(sed -n 's/^SOVERSION *:= *\([0-9]*\).*/\1/p' "$root/Makefile")
    soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    [ "$soname" = "libmeshsync.so.$sover" ] ||
        { echo "soname '$soname', not libmeshsync.so.$sover"; exit 1; }
    ! readelf -d "$so" | grep -q 'TEXTREL' || { echo "$so has text relocations (not PIC)"; exit 1; }
fi
ver=$(sed -n 's/^#define MESH_VERSION_\(MAJOR\|MINOR\|PATCH\) *\([0-9]*\).*/\2/p' "$hdr" | paste -sd. -)
real=$(readlink -f "$so")
[ "${real##*/}" = "libmeshsync.so.$ver" ] ||
    { echo "$so is ${real##*/}, not libmeshsync.so.$ver (the header's version)"; exit 1; }
echo "symbols: $n mesh_ symbols, each declared in meshsync.h, nothing else; soname ${soname:-?}"
