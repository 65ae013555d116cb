#!/bin/sh
# tests/check-layers.sh: the layer rules of DESIGN.md and docs/ARCHITECTURE.md, checked on the
# #include lines, and the banned calls of STYLE.md. Exit 1 with one line per violation.
cd "$(dirname "$0")/.." || exit 1
bad=0
say() { echo "layers: $*"; bad=1; }
SRC="core/*.[ch] core/*/*.[ch] transport/*.[ch] crypto/*.[ch] store/*.[ch] fs/*.[ch] cli/*.[ch] include/*.h"
only_in() { # header, allowed path prefix
    for f in $(grep -l "#include <$1>" $SRC 2>/dev/null); do
        case $f in "$2"*) ;; *) say "$f includes <$1> (only $2 may)" ;; esac
    done
}
only_in sodium.h crypto/
only_in zmq.h transport/
only_in lmdb.h store/
only_in msgpack.h core/wire/
# core/wire/cursor.h (the msgpack glue) is for core/wire/ alone
for f in $(grep -l '#include "core/wire/cursor.h"' $SRC tests/*/*.c 2>/dev/null); do
    case $f in core/wire/*) ;; *) say "$f includes core/wire/cursor.h (only core/wire/ may)" ;; esac
done
# one-way dependencies between our directories (fs/ is beside store/: core may use it; it
# uses crypto/ alone)
deps() { # dir, forbidden dirs...
    d=$1; shift
    for x in "$@"; do
        grep -n "#include \"\(\.\./\)*$x/" $(ls "$d"/*.[ch] "$d"/*/*.[ch] 2>/dev/null) 2>/dev/null \
            | sed "s|^|layers: $d must not use $x: |" | grep . && bad=1
    done
}
deps store core transport crypto fs cli
deps crypto core transport store fs cli
deps transport core store fs cli
deps fs core transport store cli
deps core cli
# core's own order, bottom first (docs/ARCHITECTURE.md): a module may include only the
# modules of its own room or of the rooms below it; a room's modules have no cycle.
CORE_ORDER="wire base data member apply bundle folder sync"
rank() { # path below core/ -> rank of its room (the top module core/open.c ranks above all)
    r=0
    for room in $CORE_ORDER; do
        case $1 in "$room"/*) echo $r; return ;; esac
        r=$((r + 1))
    done
    echo $r
}
for f in core/*.[ch] core/*/*.[ch]; do
    [ -f "$f" ] || continue
    mine=$(rank "${f#core/}")
    for inc in $(sed -n 's|^#include "core/\([^"]*\)".*|\1|p' "$f"); do
        theirs=$(rank "$inc")
        [ "$theirs" -le "$mine" ] || say "$f includes core/$inc (a room above its own)"
    done
done
# no include cycle among core's modules (module = .c and .h of one base name)
edges=$(for f in core/*.[ch] core/*/*.[ch]; do
    [ -f "$f" ] || continue
    m=${f%.[ch]}
    sed -n 's|^#include "\(core/[^"]*\)\.h".*|\1|p' "$f" | while read -r d; do
        [ "$d" = "$m" ] || echo "$m $d"
    done
done | sort -u)
if ! echo "$edges" | tsort >/dev/null 2>&1; then
    cyc=$(echo "$edges" | tsort 2>&1 >/dev/null | grep -v 'input contains a loop' | sed 's/^tsort: //')
    say "include cycle among core's modules: $(echo $cyc)"
fi
# cli uses only the public header and its own headers (any cli/*.h)
cli_headers=$(cd cli && ls -- *.h 2>/dev/null | sed 's/\.h$//' | paste -sd'|')
grep -n '#include "' cli/*.[ch] 2>/dev/null | grep -v '"meshsync.h"' | grep -v -E "\"(${cli_headers:-cli})\\.h\"" \
    | sed 's|^|layers: cli may include only meshsync.h and cli headers: |' | grep . && bad=1
# banned calls
grep -n -E '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|strtok)\s*\(' \
    $(ls core/*.c core/*/*.c transport/*.c crypto/*.c store/*.c fs/*.c cli/*.c 2>/dev/null) | grep -v snprintf \
    | sed 's|^|banned call: |' | grep . && bad=1
# each module is one .c and one .h
for c in core/*.c core/*/*.c transport/*.c crypto/*.c store/*.c fs/*.c; do
    [ -f "$c" ] || continue
    [ -f "${c%.c}.h" ] || say "$c has no ${c%.c}.h"
done
[ $bad -eq 0 ] && echo "layers: ok"
exit $bad
