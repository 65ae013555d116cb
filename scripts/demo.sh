#!/usr/bin/env bash
# scripts/demo.sh: `make demo`: three devices in temporary homes, each running a real
# `meshctl daemon` on 127.0.0.1: trust, a write arriving everywhere, a conflict made while
# two are apart and resolved, a write relayed through a device that both others trust,
# `meshctl status`; then sync by file, where a tampered bundle is refused. Says in plain
# words what happens, and stops every process it started.
set -euo pipefail
export MESHSYNC_NO_DISCOVERY=1 # no LAN beacons from these daemons (docs/PROTOCOL.md §16)
M=$(cd "$(dirname "${1:-build/meshctl}")" && pwd)/$(basename "${1:-build/meshctl}")
top=$(mktemp -d /tmp/meshsync-demo.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$top"
}
trap cleanup EXIT
say() { printf '%s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }
shell_quote() { # shell_quote WORD: WORD as a shell reads it back (quoted when it must be)
    case $1 in
    '' | *[!A-Za-z0-9_./:@%+=,-]*) printf "'%s'" "${1//\'/\'\\\'\'}" ;;
    *) printf '%s' "$1" ;;
    esac
}
on() { # on DEVICE meshctl-args...: run meshctl as that device, echoing the command so that
    # it can be pasted into a shell
    local dev=$1 a line=meshctl
    shift
    for a in "$@"; do line+=" $(shell_quote "$a")"; done
    printf '[%s]$ %s\n' "$dev" "$line"
    "$M" --home "$top/$dev" "$@"
}
quiet() { local dev=$1; shift; "$M" --home "$top/$dev" "$@"; }
until_ok() { # until_ok SECONDS COMMAND...: retry COMMAND until it succeeds or time runs out
    local end=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$end" ]; then
            say "(gave up waiting for: $*)"
            for f in "$top"/*.log; do say "--- $f"; tail -n 15 "$f"; done
            for d in laptop server phone; do [ -f "$top/$d/status" ] && cat "$top/$d/status"; done
            return 1
        fi
        sleep 0.1
    done
}
start() { # start DEVICE [ENDPOINT]: its daemon on ENDPOINT (default: an ephemeral
    # loopback port); the endpoint it bound in $EP
    rm -f "$top/$1/status"
    "$M" --home "$top/$1" daemon --listen "${2:-tcp://127.0.0.1:0}" 2>>"$top/$1.log" &
    pids+=($!)
    until_ok 10 grep -q '^listen tcp' "$top/$1/status"
    EP=$(sed -n 's/^listen //p' "$top/$1/status")
    eval "pid_$1=$!"
    say "$1's daemon listens on $EP"
}
stop() { # stop DEVICE
    local p
    eval "p=\$pid_$1"
    kill -TERM "$p"
    wait "$p" 2>/dev/null || true
    say "$1's daemon stopped"
}

step "Three devices: a laptop, a home server and a phone, each with its own identity"
for d in laptop server phone; do quiet "$d" init --name "$d" >/dev/null; done
L=$(quiet laptop id) S=$(quiet server id) P=$(quiet phone id)
say "laptop $L"
say "server $S"
say "phone  $P"
for d in laptop server phone; do start "$d"; eval "ep_$d=\$EP"; done

step "Trust: the server adds the laptop and the phone; each of them adds only the server"
on server peer add "$L" --name laptop
on server peer add "$P" --name phone
on laptop peer add "$S" --name server "$ep_server"
on phone peer add "$S" --name server "$ep_server"
say "Trust is data too: these signed records sync first. Only the server's address is"
say "known, so the laptop and the phone each dial the server; the server then tells each"
say "member the others' addresses (peer exchange), so they may also talk directly."

step "The laptop writes a setting; the daemons carry it, signed, to the others"
on laptop put settings theme dark
until_ok 20 quiet phone get settings theme
on server get settings theme; echo
on phone get settings theme; echo
say "The phone checked the laptop's signature itself, and trusts the laptop because the"
say "server, whom it trusts, added it:"
on phone get --all settings theme

step "How it looks from the server"
quiet server wait --peers 2 --timeout 20 || true
on server status

step "A conflict: the laptop and the phone both change the theme while the server is off and"
say "the phone has no network (its daemon stopped: nothing reaches it before its own write)"
stop server
stop phone
on laptop put settings theme light
on phone put settings theme solarized
start phone "$ep_phone"
start server "$ep_server"
until_ok 30 sh -c "'$M' --home '$top/laptop' get --all settings theme | grep -c . | grep -qx 2"
until_ok 30 sh -c "'$M' --home '$top/phone' get --all settings theme | grep -c . | grep -qx 2"
say "Both versions survive as siblings, and every device shows the same winner (*):"
on laptop conflicts settings
on phone conflicts settings

step "Resolving it: a new write on any device replaces every sibling it has seen"
on phone put settings theme dark
until_ok 30 sh -c "[ \"\$('$M' --home '$top/laptop' get settings theme)\" = dark ] && [ -z \"\$('$M' --home '$top/laptop' conflicts settings)\" ]"
on laptop get --all settings theme
for d in laptop server phone; do quiet "$d" wait --timeout 20 >/dev/null 2>&1 || true; done
for d in laptop server phone; do quiet "$d" dump settings >"$top/$d.dump"; done
cmp -s "$top/laptop.dump" "$top/server.dump" && cmp -s "$top/server.dump" "$top/phone.dump" &&
    say "laptop, server and phone hold identical versions: $(tail -n1 "$top/laptop.dump")"
for d in laptop server phone; do stop "$d"; done

step "No network at all: a bundle file carries changes, and a tampered one is refused"
on laptop put settings font "DejaVu Sans Mono"
on laptop put settings wallpaper "TAMPER-ME-please"
quiet server vector -o "$top/server.vec" >/dev/null
on laptop export --since "$top/server.vec" -o "$top/usb.bundle"
# flip one bit of the value's first byte (T, 0x54, becomes U, 0x55) with perl, which every
# Debian has
perl -0777 -pi -e 's/TAMPER-ME/UAMPER-ME/' "$top/usb.bundle"
say "(one byte of the wallpaper value was flipped in the file)"
on server import "$top/usb.bundle" || say "(import reported the rejected set and exited 1, as it should)"
on server get settings font; echo
on server get settings wallpaper || say "(the tampered value never reached the store)"

step "Done: three devices kept in sync by their daemons, and by a file; every change checked"
say "against its signer. Every daemon was stopped; the homes under $top are removed now."
