#!/usr/bin/env bash
# tests/bench/files.sh: `make bench-files`, folder sync beside Syncthing in the same run
# (issue 18; tests/bench/README.md, "Folder sync beside Syncthing"). Runs, one after the
# other, through tests/bench/files_run.sh (the shared harness plus w_insert):
#   the floor     cp -a + sync of the same data (the harness's baseline);
#   syncthing     Debian's package, two instances on 127.0.0.1 (the harness's driver);
#   meshsync      two daemons of this build (tests/bench/files_driver.sh), or a line saying
#                 why not (a meshctl without `folder add` / `folder wait`);
# with the workloads w_small (10,000 x 4 KiB in 100 directories), w_idle (RSS 10 s after
# it), w_large (one 512 MiB file), w_delta (1 byte changed mid-file), w_insert (1 KiB
# inserted mid-file); then prints each figure for both, the ratio meshsync / Syncthing and
# the floor. Usage: files.sh [REPS] (default 3; BENCH_REPS works too). MESHCTL: the meshctl
# to drive (default build/meshctl). Results: BENCH_OUT (default build/bench-files).
# SPDX-License-Identifier: MIT
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
REPS=${1:-${BENCH_REPS:-3}}
WL=w_small,w_idle,w_large,w_delta,w_insert
export BENCH_OUT=${BENCH_OUT:-$ROOT/build/bench-files}
export MESHCTL=${MESHCTL:-$ROOT/build/meshctl}
mkdir -p "$BENCH_OUT"
rm -f "$BENCH_OUT"/last-*

"$HERE/files_run.sh" baseline "$REPS"
if command -v syncthing >/dev/null; then
    "$HERE/files_run.sh" syncthing "$WL" "$REPS" || echo "files.sh: the Syncthing run failed" >&2
else
    echo "files.sh: no syncthing (apt-get install syncthing): Syncthing not measured" >&2
fi
# shellcheck source=tests/bench/files_driver.sh
if (source "$HERE/files_driver.sh" && ! ms_folder_missing); then
    "$HERE/files_run.sh" meshsync "$WL" "$REPS" || echo "files.sh: the meshsync run failed" >&2
fi

csv() { [[ -f $BENCH_OUT/last-$1 ]] && cat "$BENCH_OUT/last-$1" || echo /dev/null; }
echo
echo "== folder sync beside Syncthing ($REPS reps; medians; ratio = meshsync / Syncthing) =="
awk -F, -v fb="$(csv baseline)" -v fs="$(csv syncthing)" -v fm="$(csv meshsync)" '
    /^#/ || /^driver,/ { next }
    {   who = FILENAME == fb ? "floor" : FILENAME == fs ? "st" : "ms"
        k = who SUBSEP $3 SUBSEP $4; n[k]++; v[k, n[k]] = $5 + 0
        if ($4 ~ /^rss_[ab]_kb$/) { k2 = who SUBSEP $3 SUBSEP "rss_kb"; r[k2, $2] += $5 } }
    function med(k,    m, i, j, t, a) {
        m = n[k]; if (!m) return ""
        for (i = 1; i <= m; i++) a[i] = v[k, i]
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2 }
    function fmt(x, u) { return x == "" ? "-" : u == "s" ? sprintf("%.2f s", x) : u == "B" ? sprintf("%.1f KiB", x / 1024) : sprintf("%.1f MiB", x / 1024) }
    function row(label, wl, m, u, fwl, fm,    s, x, f, ratio) {
        s = med("st" SUBSEP wl SUBSEP m); x = med("ms" SUBSEP wl SUBSEP m)
        f = fm == "" ? "" : med("floor" SUBSEP fwl SUBSEP fm)
        ratio = (s != "" && x != "" && s > 0) ? sprintf("%.3fx", x / s) : "-"
        printf "%-38s %14s %14s %9s %14s\n", label, fmt(s, u), fmt(x, u), ratio, fmt(f, u) }
    END {
        for (k in r) { split(k, p, SUBSEP); kk = p[1] SUBSEP p[2] SUBSEP p[3]; n[kk]++; v[kk, n[kk]] = r[k] }
        printf "%-38s %14s %14s %9s %14s\n", "figure", "Syncthing", "meshsync", "ratio", "cp -a + sync"
        row("10,000 x 4 KiB: written to in sync", "w_small", "sync_s", "s", "w_small", "cp_sync_s")
        row("idle RSS after them (a + b)", "w_idle", "rss_kb", "K", "", "")
        row("512 MiB file: to in sync", "w_large", "sync_s", "s", "w_large", "cp_sync_s")
        row("1 byte changed mid-file: time", "w_delta", "sync_s", "s", "", "")
        row("1 byte changed: b received (TCP)", "w_delta", "tcp_rx_b_bytes", "B", "", "")
        row("1 byte changed: b received (app)", "w_delta", "app_rx_b_bytes", "B", "", "")
        row("1 KiB inserted mid-file: time", "w_insert", "sync_s", "s", "", "")
        row("1 KiB inserted: b received (TCP)", "w_insert", "tcp_rx_b_bytes", "B", "", "")
        row("1 KiB inserted: b received (app)", "w_insert", "app_rx_b_bytes", "B", "", "")
    }' "$(csv baseline)" "$(csv syncthing)" "$(csv meshsync)"
[[ -f $BENCH_OUT/last-meshsync ]] || echo "(meshsync: not measured; see above)"
echo "CSV files: $(csv baseline) $(csv syncthing) $(csv meshsync)"
