#!/bin/sh
# tests/check-layers.sh: the layer rules of DESIGN.md, checked on the #include lines, and the
# banned calls of STYLE.md. Exit 1 with one line per violation.
cd "$(dirname "$0")/.." || exit 1
bad=0
say() { echo "layers: $*"; bad=1; }
only_in() { # header, allowed directory
    for f in $(grep -l "#include <$1>" core/*.[ch] transport/*.[ch] crypto/*.[ch] store/*.[ch] \
        cli/*.[ch] include/*.h 2>/dev/null); do
        case $f in "$2"/*) ;; *) say "$f includes <$1> (only $2/ may)" ;; esac
    done
}
only_in sodium.h crypto
only_in zmq.h transport
only_in lmdb.h store
only_in msgpack.h core
# msgpack only in core/wire.c
for f in $(grep -l '#include <msgpack.h>' core/*.[ch] 2>/dev/null); do
    [ "$f" = core/wire.c ] || say "$f includes <msgpack.h> (only core/wire.c may)"
done
# one-way dependencies between our directories
deps() { # dir, forbidden dirs...
    d=$1; shift
    for x in "$@"; do
        grep -n "#include \"\(\.\./\)\?$x/" "$d"/*.[ch] 2>/dev/null | sed "s|^|layers: $d must not use $x: |" | grep . \
            && bad=1
    done
}
deps store core transport crypto cli
deps crypto core transport store cli
deps transport core store cli
deps core cli
# cli uses only the public header
grep -n '#include "' cli/*.[ch] 2>/dev/null | grep -v '"meshsync.h"' | grep -v -E '"(cli|out|cmd_[a-z_]+)\.h"' \
    | sed 's|^|layers: cli may include only meshsync.h and cli headers: |' | grep . && bad=1
# banned calls
grep -n -E '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|strtok)\s*\(' \
    core/*.c transport/*.c crypto/*.c store/*.c cli/*.c 2>/dev/null | grep -v snprintf \
    | sed 's|^|banned call: |' | grep . && bad=1
# each module is one .c and one .h
for c in core/*.c transport/*.c crypto/*.c store/*.c; do
    [ -f "$c" ] || continue
    [ -f "${c%.c}.h" ] || say "$c has no ${c%.c}.h"
done
[ $bad -eq 0 ] && echo "layers: ok"
exit $bad
