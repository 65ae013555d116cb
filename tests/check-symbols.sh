#!/bin/sh
# tests/check-symbols.sh: the shared library exports only mesh_ names, and the 0.2 ABI's.
so=${1:-build/libmeshsync.so}
[ -f "$so" ] || { echo "no $so"; exit 1; }
stray=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^mesh_' | grep -v '^_' )
[ -z "$stray" ] || { echo "non-mesh_ symbols exported: $stray"; exit 1; }
n=$(nm -D --defined-only "$so" | grep -c ' mesh_')
[ "$n" -gt 10 ] || { echo "only $n mesh_ symbols exported"; exit 1; }
# The 0.2 ABI (soname libmeshsync.so.1): results come in opaque lists; 0.1's array calls
# are gone.
for sym in mesh_item_version_list_get mesh_set_list_get mesh_peer_list_get mesh_coll_list_get \
    mesh_item_version_list_free mesh_set_list_free mesh_peer_list_free mesh_coll_list_free; do
    nm -D --defined-only "$so" | grep -q " $sym\$" || { echo "$sym is not exported"; exit 1; }
done
if nm -D --defined-only "$so" | grep -q ' mesh_versions_free$'; then
    echo "mesh_versions_free (0.1) is still exported"
    exit 1
fi
echo "symbols: $n mesh_ symbols, nothing else"
