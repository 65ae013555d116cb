#!/bin/sh
# tests/check-symbols.sh: the shared library exports only mesh_ names.
so=${1:-build/libmeshsync.so}
[ -f "$so" ] || { echo "no $so"; exit 1; }
stray=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^mesh_' | grep -v '^_' )
[ -z "$stray" ] || { echo "non-mesh_ symbols exported: $stray"; exit 1; }
n=$(nm -D --defined-only "$so" | grep -c ' mesh_')
[ "$n" -gt 10 ] || { echo "only $n mesh_ symbols exported"; exit 1; }
echo "symbols: $n mesh_ symbols, nothing else"
