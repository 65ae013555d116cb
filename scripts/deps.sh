#!/bin/sh
# scripts/deps.sh: install the system packages meshsync builds and tests with, only when
# pkg-config (or command -v) cannot find them. Debian 12; needs root to install.
# Usage: scripts/deps.sh [build|test|tsan|fuzz|bench-files]
set -e
need=""
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
chk() { pkg-config --exists "$1" 2>/dev/null || need="$need $2"; }
chk libsodium libsodium-dev
chk libzmq libzmq3-dev
chk lmdb liblmdb-dev
chk msgpack libmsgpack-dev
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v make >/dev/null 2>&1 || need="$need make"
case "${1:-build}" in
test)
    chk cmocka libcmocka-dev
    command -v valgrind >/dev/null 2>&1 || need="$need valgrind"
    command -v nm >/dev/null 2>&1 || need="$need binutils"
    command -v ss >/dev/null 2>&1 || need="$need iproute2"
    command -v nft >/dev/null 2>&1 || need="$need nftables" # the NAT routers of test 63
    command -v python3 >/dev/null 2>&1 || need="$need python3"
    command -v clang-format >/dev/null 2>&1 || need="$need clang-format" # make check-format
    ;;
tsan)
    # gcc's ThreadSanitizer runtime; the libtsan.so link (libgcc-*-dev) dangles without it
    [ -e "$(${CC:-cc} -print-file-name=libtsan.so 2>/dev/null)" ] || need="$need libtsan2"
    ;;
fuzz)
    command -v clang >/dev/null 2>&1 || need="$need clang"
    [ -n "$(ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a 2>/dev/null)" ] \
        || need="$need libclang-rt-dev"
    ;;
bench-files)
    # make bench-files runs Debian's Syncthing beside meshsync (tests/bench/files.sh)
    command -v syncthing >/dev/null 2>&1 || need="$need syncthing"
    command -v unshare >/dev/null 2>&1 || need="$need util-linux"
    ;;
esac
# pkg-config itself missing makes every chk fail: that is fine, they are all installed.
[ -z "$need" ] && exit 0
echo "meshsync: installing missing packages:$need" >&2
if [ "$(id -u)" != 0 ]; then
    echo "meshsync: not root: run 'sudo apt-get install -y$need' first" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq $need >/dev/null
