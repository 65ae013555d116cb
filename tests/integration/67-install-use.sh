#!/usr/bin/env bash
# tests/integration/67-install-use.sh: the installed files in use. What must hold after:
#  1. meshsync(3): docs/meshsync.3 is what md2man.py makes of docs/meshsync.3.md today;
#     every call meshsync.h declares MESH_EXPORT has an entry there that states its
#     thread-safety, and its comment in the header states it too; both man pages render
#     with `man -l` (groff: no warning).
#  2. The bash completion parses (bash -n) and, sourced in bash and called with COMP_WORDS
#     set, completes a command name, every command of `meshctl help`, peer's subcommands,
#     a command's options, --log-level's values and the collections of the home named.
#  3. The units (as installed, ExecStart pointed at the installed meshctl) pass
#     `systemd-analyze verify` with nothing to say; the sysusers.d file makes the user
#     meshsync (systemd-sysusers --root). Skipped without systemd-analyze.
#  4. The daemon under the system unit's restrictions, as far as they can be had without
#     systemd (root, unshare, setpriv and strace; skipped, saying why, otherwise): as an
#     unprivileged user with no capability and no_new_privs, the root file system read-only,
#     a private /tmp, /home and /root empty, and its home (made by `meshctl init`, as the
#     unit's ExecStartPre does) the one writable place, it syncs both ways with a daemon
#     outside; every system call it made is in the unit's SystemCallFilter (allowed groups,
#     none of the denied), every socket family in its RestrictAddressFamilies, and it mapped
#     no memory writable and executable (MemoryDenyWriteExecute).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "meshsync(3) complete, the bash completion, the systemd units, the daemon sandboxed"
HDR=$ROOT/include/meshsync.h
notes=()

# 1. meshsync(3).
command -v python3 >/dev/null || skip "no python3 to rebuild the roff"
python3 "$ROOT/scripts/md2man.py" "$ROOT/docs/meshsync.3.md" >"$T/meshsync.3"
cmp -s "$T/meshsync.3" "$ROOT/docs/meshsync.3" ||
    fail "docs/meshsync.3 is stale: run scripts/md2man.py docs/meshsync.3.md > docs/meshsync.3"
awk '/^MESH_EXPORT/ { decl = $0; while (decl !~ /\(/ && (getline line) > 0) decl = decl " " line;
                      sub(/\(.*/, "", decl); n = split(decl, w, /[ *]+/); print w[n] }' "$HDR" |
    sort -u >"$T/calls"
[ "$(wc -l <"$T/calls")" -gt 50 ] || fail "found only $(wc -l <"$T/calls") calls in meshsync.h"
# Each man page entry: a term line naming calls as **name**(, and its indented text.
awk '/^\*\*mesh_/ { term = $0; text = ""; next }
     term != "" && /^(:   |    )/ { text = text " " $0; next }
     term != "" { n = split(term, p, /\*\*/); for (i = 2; i <= n; i += 2) if (p[i] ~ /^mesh_/)
                      print p[i], (text ~ /Thread-safety/ ? "yes" : "no"); term = "" }' \
    "$ROOT/docs/meshsync.3.md" | sort -u >"$T/documented"
while read -r call; do
    grep -q "^$call " "$T/documented" || fail "meshsync(3) has no entry for $call"
    grep -q "^$call yes" "$T/documented" || fail "meshsync(3) does not say $call's thread-safety"
done <"$T/calls"
# The header: the comment right above each MESH_EXPORT declaration says Thread-safety.
bare=$(awk '/^\/\*/ { c = "" } { c = c $0 } /^MESH_EXPORT/ { if (c !~ /Thread-safe/) print $0; c = "" }' "$HDR")
[ -z "$bare" ] || fail "no Thread-safety in meshsync.h's comment of: $bare"
if command -v man >/dev/null && command -v groff >/dev/null; then
    for page in "$ROOT/docs/meshsync.3" "$ROOT/docs/meshctl.1"; do
        MANWIDTH=80 man -l "$page" >"$T/page.txt" 2>"$T/man.err" || fail "man -l $page: $(cat "$T/man.err")"
        grep -q '^NAME' "$T/page.txt" || fail "man -l $page rendered no NAME section"
        groff -man -Tutf8 -ww -z "$page" 2>"$T/groff" || true
        [ ! -s "$T/groff" ] || fail "groff warns about $page: $(cat "$T/groff")"
    done
    grep -q 'mesh_errmsg(m)' <(MANWIDTH=80 man -l "$ROOT/docs/meshsync.3" 2>/dev/null) ||
        fail "man -l meshsync.3 does not show mesh_errmsg"
else
    notes+=("man pages not rendered: no man or groff")
fi

# 2. The bash completion.
COMP=$ROOT/dist/bash-completion/meshctl
bash -n "$COMP" || fail "bash -n $COMP"
home=$(mk_home)/c
mc --home "$home" init >/dev/null
mc --home "$home" --quiet put notes k v
mc --home "$home" --quiet put numbers k v
mc --home "$home" --quiet put other k v
# complete WORD...: what _meshctl offers for the last word (bash, the file sourced).
complete_words() {
    PATH=$(dirname "$MESHCTL"):$PATH bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        _meshctl; printf "%s\n" "${COMPREPLY[@]}" | sort | paste -sd" " -' sh "$COMP" "$@"
}
expect_eq "$(complete_words meshctl sta)" "status" "completing 'meshctl sta'"
expect_eq "$(complete_words meshctl --home "$home" --json sta)" "status" "after global options"
expect_eq "$(complete_words meshctl "")" \
    "$(mc help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' | sort | paste -sd' ' -)" "every command"
expect_eq "$(complete_words "$MESHCTL" peer "")" "add ls rm" "peer's subcommands (meshctl as a path)"
expect_eq "$(complete_words meshctl wait --t)" "--timeout" "wait's options"
expect_eq "$(complete_words meshctl daemon --disc)" \
    "--discovery-group --discovery-interfaces --discovery-interval --discovery-port" "daemon's options"
expect_eq "$(complete_words meshctl --log-level "")" "debug error info warn" "--log-level's values"
expect_eq "$(complete_words meshctl --home "$home" get n)" "notes numbers" "collections of the home"
expect_eq "$(complete_words meshctl --home "$home" log -n 5 o)" "other" "a collection after -n N"
expect_eq "$(complete_words meshctl help sta)" "status" "help's command"

# 3. The units, as installed.
D=$T/dest
P=$D/usr/local
make -C "$ROOT" --no-print-directory -s B=build install PREFIX=/usr/local DESTDIR="$D" \
    >"$T/install.log" 2>&1 || fail "make install: $(tail -n 5 "$T/install.log")"
UNIT=$P/lib/systemd/system/meshsync.service
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$T/units/user" "$T/run"
    sed "s|/usr/local/bin/|$P/bin/|g" "$UNIT" >"$T/units/meshsync.service"
    sed "s|/usr/local/bin/|$P/bin/|g" "$P/lib/systemd/user/meshsync.service" \
        >"$T/units/user/meshsync.service"
    systemd-analyze verify --man=no "$T/units/meshsync.service" >"$T/verify" 2>&1 ||
        fail "systemd-analyze verify (system unit): $(cat "$T/verify")"
    [ ! -s "$T/verify" ] || fail "systemd-analyze verify (system unit) says: $(cat "$T/verify")"
    XDG_RUNTIME_DIR=$T/run systemd-analyze verify --user --man=no "$T/units/user/meshsync.service" \
        >"$T/verify" 2>&1 || fail "systemd-analyze verify (user unit): $(cat "$T/verify")"
    [ ! -s "$T/verify" ] || fail "systemd-analyze verify (user unit) says: $(cat "$T/verify")"
    if command -v systemd-sysusers >/dev/null; then
        mkdir -p "$T/sysroot/etc"
        systemd-sysusers --root="$T/sysroot" "$P/lib/sysusers.d/meshsync.conf" >/dev/null 2>&1 ||
            fail "systemd-sysusers rejects meshsync.conf"
        grep -q '^meshsync:x:[0-9]*:[0-9]*:[^:]*:/var/lib/meshsync:/usr/sbin/nologin$' \
            "$T/sysroot/etc/passwd" || fail "sysusers made: $(cat "$T/sysroot/etc/passwd")"
    fi
else
    notes+=("units not verified: no systemd-analyze")
fi

# 4. The daemon under the unit's restrictions.
sandbox_skip() { notes+=("sandboxed daemon not run: $*"); }
run_sandbox=1
[ "$(id -u)" = 0 ] || { sandbox_skip "needs root (uid $(id -u))"; run_sandbox=0; }
for c in unshare setpriv strace systemd-analyze; do
    [ $run_sandbox = 1 ] && ! command -v $c >/dev/null && { sandbox_skip "no $c"; run_sandbox=0; }
done
case $MESHCTL in /tmp/* | /root/* | /home/* | /mnt/*)
    [ $run_sandbox = 1 ] && { sandbox_skip "meshctl is under a directory the sandbox hides"; run_sandbox=0; } ;;
esac
cat >"$T/sandbox.sh" <<'SH'
# sandbox.sh STATE_DIR COMMAND...: COMMAND as nobody (no capability, no_new_privs, empty
# environment but MESH_HOME), / read-only, /tmp private, /home and /root empty, STATE_DIR
# at /mnt/state the one writable place (the unit's StateDirectory).
set -e
state=$1
shift
mount -t tmpfs -o mode=0755 tmpfs /mnt
mkdir /mnt/state
mount --bind "$state" /mnt/state # before / goes read-only: a bind mount takes its source's flags
mount -o remount,bind,ro /
mount -t tmpfs -o mode=1777 tmpfs /tmp
for d in /home /root; do [ ! -d $d ] || mount -t tmpfs -o mode=0755 tmpfs $d; done
exec setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs --inh-caps=-all \
    --bounding-set=-all env -i PATH=/usr/bin:/bin $SANDBOX_ENV MESH_HOME=/mnt/state \
    MESHSYNC_NO_DISCOVERY=1 "$@"
SH
# A sanitizer build (make asan-test, make tsan-test): LeakSanitizer cannot run under ptrace
# (strace), and the sanitizer runtimes make system calls of their own, so there the daemon
# runs sandboxed and syncs, but its calls are not held against the unit's filter.
sanitized=0
if grep -q '__asan_init\|__tsan_init' "$MESHCTL" 2>/dev/null; then
    sanitized=1
    export SANDBOX_ENV="ASAN_OPTIONS=detect_leaks=0 TSAN_OPTIONS=${TSAN_OPTIONS:-}"
else
    export SANDBOX_ENV=
fi
S=$T/state
mkdir -m 0700 "$S"
chown 65534:65534 "$S"
sandboxed() { unshare -m --propagation private sh "$T/sandbox.sh" "$S" "$MESHCTL" "$@"; }
if [ $run_sandbox = 1 ] && ! sandboxed --quiet init >"$T/ida" 2>"$T/sandbox.err"; then
    sandbox_skip "cannot make the sandbox: $(tail -n 2 "$T/sandbox.err")"
    run_sandbox=0
fi
if [ $run_sandbox = 1 ]; then
    ida=$(tail -n 1 "$T/ida")
    B=$(mk_home)
    idb=$(mc --home "$B" init --name outside)
    start_daemon "$B" "$T/b.log"
    epb=$EP
    pidb=$LAST_PID
    mc --home "$B" --quiet peer add "$ida"
    sandboxed --quiet peer add "$idb" "$epb" || fail "peer add in the sandbox"
    sandboxed --quiet put fromsandbox k inside || fail "put in the sandbox"
    spawn strace -f -qq -o "$T/trace" unshare -m --propagation private sh "$T/sandbox.sh" "$S" \
        "$MESHCTL" --log-level info daemon --listen tcp://127.0.0.1:0 2>>"$T/a.log"
    tracer=$LAST_PID
    mc --home "$B" --quiet put fromoutside k outside
    wait_for 60 "the sandboxed daemon to get the outside's item" \
        sh -c '[ "$("$MESHCTL" --home "$1" get fromoutside k 2>/dev/null)" = outside ]' sh "$S"
    wait_for 60 "the outside daemon to get the sandboxed one's item" \
        sh -c '[ "$("$MESHCTL" --home "$1" get fromsandbox k 2>/dev/null)" = inside ]' sh "$B"
    pida=$(head -n 1 "$S/daemon.lock" | tr -dc 0-9)
    [ -n "$pida" ] || fail "no pid in the sandboxed daemon's lock file"
    kill -TERM "$pida"
    wait_pids 30 "$tracer" # strace exits as the daemon did: 0, a clean stop
    kill -TERM "$pidb"
    wait_pids 30 "$pidb"
    grep -q 'Read-only file system\|Permission denied' "$T/a.log" &&
        fail "the sandboxed daemon was refused a write: $(grep -m1 'Read-only\|Permission' "$T/a.log")"
    # The daemon's calls: everything after the exec of meshctl (the set-up before it is ours).
    awk -v bin="$MESHCTL" 'seen { print; next } index($0, "execve(\"" bin "\"") { seen = 1 }' \
        "$T/trace" >"$T/daemon.trace"
    [ -s "$T/daemon.trace" ] || fail "strace saw no exec of $MESHCTL"
    if [ $sanitized = 1 ]; then
        notes+=("sanitizer build: the daemon's system calls were not held against the unit")
    else
        # expand GROUP: the system calls of a systemd syscall group, its groups expanded.
        expand() {
            systemd-analyze syscall-filter "$1" | sed -n '2,$p' | while read -r w _; do
                case $w in '#'* | '') ;; @*) expand "$w" ;; *) echo "$w" ;; esac
            done
        }
        : >"$T/allowed"
        : >"$T/denied"
        while read -r line; do
            deny=0
            case $line in '~'*) deny=1 line=${line#\~} ;; esac
            for g in $line; do
                if [ "${g#@}" != "$g" ]; then expand "$g"; else echo "$g"; fi
            done >>"$([ $deny = 1 ] && echo "$T/denied" || echo "$T/allowed")"
        done < <(sed -n 's/^SystemCallFilter=//p' "$UNIT")
        [ -s "$T/allowed" ] || fail "no SystemCallFilter allow list in the unit"
        sed -n 's/^[0-9]\+ \+\([a-z0-9_]\+\)(.*/\1/p; s/^[0-9]\+ \+<\.\.\. \([a-z0-9_]\+\) resumed>.*/\1/p' \
            "$T/daemon.trace" | sort -u >"$T/used"
        [ "$(wc -l <"$T/used")" -gt 20 ] || fail "strace shows only $(wc -l <"$T/used") system calls"
        outside=$(sort -u "$T/allowed" | comm -23 "$T/used" -)
        [ -z "$outside" ] || fail "system calls outside the unit's SystemCallFilter:" $outside
        denied=$(sort -u "$T/denied" | comm -12 "$T/used" -)
        [ -z "$denied" ] || fail "system calls the unit denies:" $denied
        families=$(sed -n 's/^SystemCallFilter=.*//; s/^RestrictAddressFamilies=//p' "$UNIT")
        [ -n "$families" ] || fail "no RestrictAddressFamilies in the unit"
        for f in $(grep -o '\(socket\|socketpair\)(AF_[A-Z0-9]*' "$T/daemon.trace" | sed 's/.*(//' | sort -u); do
            case " $families " in *" $f "*) ;; *) fail "the daemon opened an $f socket; the unit allows $families" ;; esac
        done
        grep -q '^MemoryDenyWriteExecute=yes' "$UNIT" || fail "the unit has no MemoryDenyWriteExecute"
        ! grep -q '\(mmap\|mprotect\)(.*PROT_WRITE|PROT_EXEC' "$T/daemon.trace" ||
            fail "writable and executable memory: $(grep -m1 'PROT_WRITE|PROT_EXEC' "$T/daemon.trace")"
        echo "sandboxed daemon: $(wc -l <"$T/used") distinct system calls, all allowed"
    fi
fi
for n in "${notes[@]}"; do echo "note: $n"; done
echo ok
