#!/usr/bin/env bash
# tests/integration/83-folder-ignore.sh: `.meshignore` in a folder's root (docs/PROTOCOL.md
# §19.1), between two real daemons on 127.0.0.1. What must hold:
#  - paths it matches stay local: A's *.tmp file and build/ directory never reach B, and a
#    *.tmp file made on B never reaches A (the .meshignore itself syncs, so B ignores alike);
#  - a path that becomes ignored after it synced stays on B (no delete is sent), and its
#    later edits on A do not reach B;
#  - a .meshignore that does not parse stops the folder with a warning naming its line,
#    and takes nothing as deleted: B keeps every file, and A's files stay in A's index.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a folder's .meshignore keeps what it matches local, both ways; a broken one deletes nothing"

three_devices
FA=$T/fa FB=$T/fb
mkdir -p "$FA/build" "$FA/docs" "$FB"
printf '# scratch files\n*.tmp\nbuild/\n' >"$FA/.meshignore"
echo "kept" >"$FA/docs/a.txt"
echo "secret" >"$FA/secret.txt"
echo "scratch" >"$FA/x.tmp"
echo "object" >"$FA/build/out.o"
folder_two_daemons "$FA" "$FB"
wait_for 30 "A's files on B" sh -c "[ -f '$FB/docs/a.txt' ] && [ -f '$FB/secret.txt' ] && [ -f '$FB/.meshignore' ]"
# (each side's index: what it sends)
indexed() { mc --home "$1" ls --keys "folder:$fid" 2>/dev/null; }
indexed "$A" | grep -qx "x.tmp" && fail "A indexed the ignored x.tmp"
indexed "$A" | grep -q "^build" && fail "A indexed the ignored build/: $(indexed "$A")"
[ ! -e "$FB/x.tmp" ] && [ ! -e "$FB/build" ] || fail "an ignored path reached B: $(ls -A "$FB")"

# B's own scratch file stays on B (B ignores with the synced .meshignore).
echo "b scratch" >"$FB/y.tmp"
echo "from b" >"$FB/b.txt"
wait_for 20 "B's b.txt on A" test -f "$FA/b.txt"
[ ! -e "$FA/y.tmp" ] || fail "B's ignored y.tmp reached A"
indexed "$B" | grep -qx "y.tmp" && fail "B indexed its ignored y.tmp"

# secret.txt becomes ignored: it stays on B, and A's edits to it stay on A.
printf '# scratch files\n*.tmp\nbuild/\nsecret.txt\n' >"$FA/.meshignore"
wait_for 20 "the new .meshignore on B" grep -qx "secret.txt" "$FB/.meshignore"
echo "edited on A" >>"$FA/secret.txt"
echo "marker" >"$FA/docs/after.txt"
wait_for 20 "a later file on B" test -f "$FB/docs/after.txt"
[ -f "$FB/secret.txt" ] || fail "the newly ignored secret.txt was deleted on B"
expect_eq "$(cat "$FB/secret.txt")" "secret" "B's secret.txt (A's edit must stay on A)"

# A .meshignore that does not parse: A stops, says why, deletes nothing anywhere.
printf 'docs//a.txt\n' >"$FA/.meshignore"
wait_for 20 "A's warning about its .meshignore" grep -q "folder $fid: .meshignore: .*line 1.*nothing is synced until it is fixed" "$T/a.log"
indexed "$A" | grep -qx "docs/a.txt" || fail "A's index lost docs/a.txt with a broken .meshignore"
[ -f "$FB/docs/a.txt" ] && [ -f "$FB/b.txt" ] || fail "B lost files with A's broken .meshignore"
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"
echo "ok"
