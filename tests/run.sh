#!/usr/bin/env bash
# tests/run.sh: the test runner behind `make test`, `make asan-test` and `make valgrind-test`.
# Runs the layer checks, the release checks, every unit test binary (cmocka; each case
# counts), the fuzz corpus replays and every integration script, then prints one line:
# N passed, N failed, N skipped.
# $B is the release build and $B/testing the test build (-DMESH_TESTING; see the Makefile):
# the unit tests and replays are the test build's; the integration tests run the release
# meshctl, and the test build's ($MESHCTL_TESTING) where they set a test hook.
# Usage: B=build tests/run.sh [unit|integration|all]   (VALGRIND=1 runs unit tests under it)
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
TB=$B/testing
what=${1:-all}
pass=0 fail=0 skip=0
failed=()
log=$(mktemp -d /tmp/meshsync-test.XXXXXX)
trap 'rm -rf "$log"' EXIT

note() { printf '%-6s %s\n' "$1" "$2"; }

# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s), listed below:".
run_unit() {
    local bin=$1 name out p f
    name=$(basename "$bin")
    out=$log/$name.out
    if [ "${VALGRIND:-0}" = 1 ]; then
        valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
            --suppressions=tests/valgrind.supp "$bin" >"$out" 2>&1
    else
        "$bin" >"$out" 2>&1
    fi
    local rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n1)
    p=${p:-0} f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    pass=$((pass + p)) fail=$((fail + f))
    if [ "$f" -ne 0 ]; then
        failed+=("$name"); note FAIL "$name ($p passed, $f failed; rc $rc)"; tail -n 30 "$out"
    else
        note ok "$name ($p cases)"
    fi
}

run_one() { # name, command...
    local name=$1; shift
    local out=$log/$(echo "$name" | tr '/ ' '__').out
    "$@" >"$out" 2>&1
    local rc=$?
    case $rc in
    0) pass=$((pass + 1)); note ok "$name" ;;
    77) skip=$((skip + 1)); note skip "$name: $(tail -n1 "$out")" ;;
    *) fail=$((fail + 1)); failed+=("$name"); note FAIL "$name (rc $rc)"; tail -n 40 "$out" ;;
    esac
}

if [ "$what" != integration ]; then
    [ "$what" = unit ] || run_one check-layers tests/check-layers.sh
    [ "$what" = unit ] || run_one check-format make --no-print-directory check-format
    [ "$what" = unit ] || run_one exported-symbols tests/check-symbols.sh "$B/libmeshsync.so"
    [ "$what" = unit ] || run_one release-has-no-hooks tests/check-release.sh "$B" "$TB"
    ls "$TB"/tests/test_* >/dev/null 2>&1 ||
        { fail=$((fail + 1)) failed+=("unit"); note FAIL "no unit tests in $TB/tests (make testing)"; }
    for t in "$TB"/tests/test_*; do
        [ -x "$t" ] && [ "${t%.d}" = "$t" ] && run_unit "$t"
    done
    for r in "$TB"/tests/replay_fuzz_*; do
        [ -x "$r" ] || [ "${r%.d}" = "$r" ] || continue
        [ "${r%.d}" = "$r" ] || continue
        n=${r##*/replay_fuzz_}
        run_one "fuzz-corpus/$n" "$r" tests/fuzz/corpus/"$n"
    done
fi
if [ "$what" = all ] || [ "$what" = integration ]; then
    export MESHCTL=$PWD/$B/meshctl MESHCTL_TESTING=$PWD/$TB/meshctl
    for s in tests/integration/[0-9]*.sh; do
        [ -f "$s" ] && run_one "${s#tests/}" timeout 300 bash "$s"
    done
fi
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
