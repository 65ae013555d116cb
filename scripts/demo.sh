#!/usr/bin/env bash
# scripts/demo.sh: `make demo`: three devices in temporary homes that never share a network,
# synced by bundle files as if carried on a USB stick: trust, a write that arrives, a
# conflict made and resolved, a write relayed through a third device, a tampered bundle
# refused. Says in plain words what happens; removes every home at the end.
set -euo pipefail
M=$(cd "$(dirname "${1:-build/meshctl}")" && pwd)/$(basename "${1:-build/meshctl}")
top=$(mktemp -d /tmp/meshsync-demo.XXXXXX)
trap 'rm -rf "$top"' EXIT
say() { printf '%s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }
on() { # on DEVICE meshctl-args...: run meshctl as that device, echoing the command
    local dev=$1; shift
    printf '[%s]$ meshctl %s\n' "$dev" "$*"
    "$M" --home "$top/$dev" "$@"
}
quiet() { local dev=$1; shift; "$M" --home "$top/$dev" "$@"; }
carry() { # carry FROM TO: FROM writes what TO lacks (TO's vector), TO imports it
    local from=$1 to=$2
    quiet "$to" vector -o "$top/$to.vec" >/dev/null
    on "$from" export --since "$top/$to.vec" -o "$top/$from-to-$to.bundle"
    on "$to" import "$top/$from-to-$to.bundle"
}

step "Three devices: a laptop, a home server and a phone, each with its own identity"
for d in laptop server phone; do quiet "$d" init --name "$d" >/dev/null; done
L=$(quiet laptop id) S=$(quiet server id) P=$(quiet phone id)
say "laptop $L"
say "server $S"
say "phone  $P"

step "Trust: the server adds the laptop and the phone; each of them adds only the server"
on server peer add "$L" --name laptop
on server peer add "$P" --name phone
on laptop peer add "$S" --name server
on phone peer add "$S" --name server
say "Trust is data too: these signed records travel in every bundle, membership first."

step "The laptop writes a setting; a bundle carries it to the server"
on laptop put settings theme dark
carry laptop server
on server get settings theme; echo

step "The phone has never met the laptop. The server relays: the phone checks the laptop's"
say "signature itself, and trusts the laptop because the server, whom it trusts, added it"
carry server phone
on phone get settings theme; echo
on phone peer ls

step "A conflict: laptop and phone both change the theme while apart"
on laptop put settings theme light
on phone put settings theme solarized
carry laptop server
carry phone server
carry server laptop
carry server phone
say "Both versions survive as siblings, and every device shows the same winner:"
on laptop get --all settings theme
on phone get --all settings theme

step "Resolving it: a new write on any device replaces every sibling it has seen"
on phone put settings theme dark
carry phone server
carry server laptop
on laptop get --all settings theme

step "All three devices now hold the same versions: their canonical dumps are identical"
for d in laptop server phone; do quiet "$d" dump settings >"$top/$d.dump"; done
cmp "$top/laptop.dump" "$top/server.dump" && cmp "$top/server.dump" "$top/phone.dump"
say "laptop, server and phone: $(tail -n1 "$top/laptop.dump")"

step "A tampered bundle: one byte of a value flipped on the way is caught"
on laptop put settings font "DejaVu Sans Mono"
on laptop put settings wallpaper "TAMPER-ME-please"
quiet server vector -o "$top/server.vec" >/dev/null
quiet laptop export --since "$top/server.vec" -o "$top/evil.bundle" >/dev/null
python3 - "$top/evil.bundle" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
i = b.index(b'TAMPER-ME')
b[i] ^= 0x01
open(p, 'wb').write(bytes(b))
EOF
on server import "$top/evil.bundle" || say "(import reported the rejected set and exited 1, as it should)"
on server get settings font; echo
on server get settings wallpaper || say "(the tampered value never reached the store)"

step "Done: three devices synced by files alone, every change checked against its signer."
say "Every process here was a short-lived meshctl; the homes under $top are removed now."
