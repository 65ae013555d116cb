#!/usr/bin/env bash
# scripts/demo.sh: `make demo`: walks one device through init, put, get, ls, del, log and dump
# in a temporary home, saying in plain words what happens. Removes the home at the end.
set -euo pipefail
M=${1:-build/meshctl}
home=$(mktemp -d /tmp/meshsync-demo.XXXXXX)
trap 'rm -rf "$home"' EXIT
say() { printf '\n== %s\n' "$*"; }
run() { printf '$ meshctl %s\n' "$*"; "$M" --home "$home/laptop" "$@"; }

say "Create a device: an Ed25519 identity and an LMDB store in a fresh home"
run init --name laptop
say "Its device ID: base32 with check characters, safe to read aloud or type"
run id
say "Write three items; each put is one signed change set, durable when meshctl returns"
run put settings theme dark
run put settings font "DejaVu Sans Mono"
printf 'binary\0safe\n' | run put settings blob -
say "Read one back"
run get settings theme; echo
say "List the collection"
run ls settings
say "Overwrite one and delete another: the overwrite's causal context covers the old version,"
say "the delete leaves a tombstone that will sync like any other version"
run put settings theme light
run del settings font
run get settings --all theme
say "Several writes in one transaction become one set (here from a script, via the API: each"
say "meshctl put is its own set); the log lists the sets, newest first, with their seq range"
run log settings
say "A canonical dump (what two devices compare once they sync), ending with the digest"
run dump settings
say "Done: one device, five signed change sets, vector and digest kept in the same LMDB"
say "transactions. The home was $home/laptop and is removed now."
