#!/usr/bin/env bash
# tests/run.sh: the test runner behind `make test`, `make asan-test` and `make valgrind-test`.
# Runs the layer checks, the release checks, every unit test binary (cmocka; each case
# counts), the fuzz corpus replays and every integration script, then prints one line:
# N passed, N failed, N skipped.
# $B is the release build and $B/testing the test build (-DMESH_TESTING; see the Makefile):
# the unit tests and replays are the test build's; the integration tests run the release
# meshctl, and the test build's ($MESHCTL_TESTING) where they set a test hook.
# Usage: B=build tests/run.sh [unit|integration|all]   (VALGRIND=1 runs unit tests under it;
# TSAN=1, for a ThreadSanitizer build: any report, from a test or a daemon it started, fails
# the test, and MESH_TEST_TIME_FACTOR stretches the integration tests' deadlines).
# Integration tests run MESH_TEST_JOBS at a time (default 2: most of a test's time is spent
# waiting on daemons); a test whose file holds the line "# run: alone" (it counts bytes or
# times a phase that another test's load would disturb) runs with no other beside it.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
export MESHSYNC_NO_DISCOVERY=1 # no daemon a test starts sends LAN beacons (PROTOCOL.md §16)
TB=$B/testing
what=${1:-all}
pass=0 fail=0 skip=0
failed=()
log=$(mktemp -d /tmp/meshsync-test.XXXXXX)
trap 'rm -rf "$log"' EXIT

note() { printf '%-6s %s\n' "$1" "$2"; }

if [ "${TSAN:-0}" = 1 ]; then
    # Reports go to files (a daemon's stderr is often a test's own log), one per process;
    # s_tsan_reports fails the test that left any. tests/tsan.supp: only what is not ours.
    export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 \
suppressions=$PWD/tests/tsan.supp log_path=$log/tsan"
    export MESH_TEST_TIME_FACTOR=${MESH_TEST_TIME_FACTOR:-3}
    # 13-daemon-resume with 60,000 items, not 200,000: at a tenth of the speed, the sender's
    # turns grow so long that the mid-sync figures it checks are seconds old (the race
    # detector sees the same code paths with fewer items).
    export MESH_TEST_ITEMS=${MESH_TEST_ITEMS:-60000}
fi

# Print and remove the ThreadSanitizer reports left since the last call (those under the
# log_path prefix $1, default "tsan"); false if there were.
s_tsan_reports() {
    local r found=1
    for r in "$log/${1:-tsan}".*; do
        [ -f "$r" ] || continue
        found=0
        echo "--- ThreadSanitizer: $r"
        cat "$r"
        rm -f "$r"
    done
    return $found
}

# The end of a failed test's output, or the start of its ThreadSanitizer reports.
s_show() {
    if [ -s "$1.tsan" ]; then head -n 60 "$1.tsan"; else tail -n 40 "$1"; fi
}

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
    if s_tsan_reports >"$out.tsan"; then rc=66; fi
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n1)
    p=${p:-0} f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    pass=$((pass + p)) fail=$((fail + f))
    if [ "$f" -ne 0 ]; then
        failed+=("$name"); note FAIL "$name ($p passed, $f failed; rc $rc)"; s_show "$out"
    else
        note ok "$name ($p cases)"
    fi
}

run_one() { # name, command...
    local name=$1; shift
    local out=$log/$(echo "$name" | tr '/ ' '__').out
    "$@" >"$out" 2>&1
    local rc=$?
    if s_tsan_reports >"$out.tsan"; then rc=66; fi
    case $rc in
    0) pass=$((pass + 1)); note ok "$name" ;;
    77) skip=$((skip + 1)); note skip "$name: $(tail -n1 "$out")" ;;
    *) fail=$((fail + 1)); failed+=("$name"); note FAIL "$name (rc $rc)"; s_show "$out" ;;
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
# One integration test in the background: its output in $log/<name>.out, its exit code in
# .rc, its ThreadSanitizer reports under its own log_path prefix.
s_int_start() { # name, command...
    local name=$1 key; shift
    key=$(echo "$name" | tr '/ .' '___')
    (
        [ "${TSAN:-0}" = 1 ] && export TSAN_OPTIONS="${TSAN_OPTIONS% log_path=*} log_path=$log/$key.tsanrep"
        "$@" >"$log/$key.out" 2>&1
        echo $? >"$log/$key.rc"
    ) &
    running[$!]=$name
    started[$!]=$SECONDS
}

# Wait for one running integration test to end, and count it.
s_int_reap() {
    local pid name key out rc secs reaped=0
    wait -n 2>/dev/null || true
    for pid in "${!running[@]}"; do
        kill -0 "$pid" 2>/dev/null && continue
        wait "$pid" 2>/dev/null
        name=${running[$pid]} secs=$((SECONDS - started[$pid]))
        unset "running[$pid]" "started[$pid]"
        key=$(echo "$name" | tr '/ .' '___')
        out=$log/$key.out
        rc=$(cat "$log/$key.rc" 2>/dev/null || echo 1)
        if s_tsan_reports "$key.tsanrep" >"$out.tsan"; then rc=66; fi
        case $rc in
        0) pass=$((pass + 1)); note ok "$name ($secs s)" ;;
        77) skip=$((skip + 1)); note skip "$name: $(tail -n1 "$out")" ;;
        *) fail=$((fail + 1)); failed+=("$name"); note FAIL "$name (rc $rc, $secs s)"; s_show "$out" ;;
        esac
        reaped=1
    done
    [ $reaped = 1 ] || sleep 0.2 # (wait -n saw a job this loop had not yet counted as ended)
}

if [ "$what" = all ] || [ "$what" = integration ]; then
    export MESHCTL=$PWD/$B/meshctl MESHCTL_TESTING=$PWD/$TB/meshctl
    # Under ThreadSanitizer every daemon is the test build's, so that MESH_TEST_TIME_FACTOR
    # stretches its liveness timeouts as it does the tests' deadlines.
    [ "${TSAN:-0}" = 1 ] && export MESHCTL=$MESHCTL_TESTING
    jobs_max=${MESH_TEST_JOBS:-2}
    [ "${TSAN:-0}" = 1 ] && jobs_max=${MESH_TEST_JOBS:-1} # (each daemon is ten times slower there)
    declare -A running=() started=() # pid -> test name, and its start (s)
    for s in tests/integration/[0-9]*.sh; do
        # Under ThreadSanitizer only the tests that start a daemon (a node with its own
        # thread): the others run one thread per process. (And 02-two-writers loses commits
        # there: LMDB alone, two processes on a 1 TiB map built with -fsanitize=thread, does.)
        if [ "${TSAN:-0}" = 1 ] && ! grep -q -- 'daemon --listen\|start_daemon' "$s"; then continue; fi
        [ -f "$s" ] || continue
        alone=0
        grep -q '^# run: alone' "$s" && alone=1
        while [ ${#running[@]} -gt 0 ] && { [ $alone = 1 ] || [ ${#running[@]} -ge "$jobs_max" ]; }; do
            s_int_reap
        done
        s_int_start "${s#tests/}" timeout $((300 * ${MESH_TEST_TIME_FACTOR:-1})) bash "$s"
        [ $alone = 0 ] || s_int_reap
    done
    while [ ${#running[@]} -gt 0 ]; do s_int_reap; done
fi
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
