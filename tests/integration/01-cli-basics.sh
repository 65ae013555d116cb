#!/usr/bin/env bash
# tests/integration/01-cli-basics.sh: every meshctl command on one home, through real
# processes and real LMDB files: init, id, put/get/del (binary and empty values), ls, log,
# dump, help, usage errors, an uninitialised home, the config file, MESH_HOME, key limits.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "meshctl commands, output, exit statuses, config and limits on one home"

A=$(mk_home)
m() { mc --home "$A" "$@"; }

# init is idempotent: the second run says so and prints the same ID.
id1=$(m init --name first)
id2=$(m init 2>"$T/init.err")
expect_eq "$id2" "$id1" "second init's ID"
grep -q "already initialised" "$T/init.err" || fail "second init did not say it was initialised"
expect_eq "$(m id)" "$id1" "id"
m id --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d == {"id": sys.argv[1], "name": "first"}, d' "$id1" || fail "id --json"

# put/get round trips: text, binary with NUL bytes from stdin, empty.
m put c greeting "hello world"
expect_eq "$(m get c greeting)" "hello world" "get greeting"
m get c greeting >"$T/raw"
expect_eq "$(wc -c <"$T/raw")" 11 "get adds no newline"
{ head -c 3000 /dev/urandom; printf 'a\0b\0\n\0'; } >"$T/bin"
m put c bin - <"$T/bin"
m get c bin >"$T/bin.out"
cmp "$T/bin" "$T/bin.out" || fail "binary value changed in a round trip"
m get c bin --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert bytes.fromhex(d["value_hex"]) == open(sys.argv[1], "rb").read()' "$T/bin" ||
    fail "get --json of a binary value"
m put c empty ''
m get c empty >"$T/empty"
[ ! -s "$T/empty" ] || fail "empty value came back non-empty"
m put c empty2 - </dev/null
expect_eq "$(m get c empty2 | wc -c)" 0 "empty value from stdin"

# A value from stdin over 1 MiB is refused; exactly 1 MiB is not.
expect_fail_with "too big" sh -c "head -c 1048577 /dev/zero | '$MESHCTL' --home '$A' put c big -"
head -c 1048576 /dev/zero | m put c big -
expect_eq "$(m get c big | wc -c)" 1048576 "1 MiB value"

# del, then get fails with exit 1 and says what is missing.
m del c greeting
expect_fail_with "'greeting' not found in 'c'" m get c greeting
expect_fail_with "'nothing' not found in 'c'" m get c nothing
m get c greeting --all >"$T/all"
grep -q "^\* $id1 inc=[0-9a-f]\{16\} seq=[0-9]* hlc=.*Z del$" "$T/all" ||
    fail "get --all of a deleted key: $(cat "$T/all")"

# ls, with a prefix, --keys and --json; escaping of tabs and newlines.
m put c user/1 one
m put c user/2 "two	tab
line"
m put c other x
expect_eq "$(m ls c user/)" "$(printf 'user/1\tone\nuser/2\ttwo\\ttab\\nline')" "ls c user/"
expect_eq "$(m ls --keys c user/)" "$(printf 'user/1\nuser/2')" "ls --keys"
m ls c --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
keys = [i.get("key") or i.get("key_hex") for i in d["items"]]
assert keys == sorted(keys) and "user/2" in keys and "greeting" not in keys, keys
assert [i["value"] for i in d["items"] if i["key"] == "user/2"] == ["two\ttab\nline"], d' ||
    fail "ls --json"
expect_fail_with "no such collection 'd'" m --json ls d

# log: newest first, one set per put, seq ranges and ISO times.
m put c n1 a
m put c n2 b
m log c -n 3 >"$T/log"
expect_eq "$(wc -l <"$T/log")" 3 "log -n 3 lines"
seqs=$(sed -n 's/.* seq=\([0-9]*\)\.\.\([0-9]*\) ops=1 hlc=[0-9T:.-]*Z$/\1/p' "$T/log" | tr '\n' ' ')
first=${seqs%% *}
expect_eq "$seqs" "$first $((first - 1)) $((first - 2)) " "log seqs, newest first"
m log c --json | python3 -c '
import json, sys
sets = json.load(sys.stdin)["sets"]
seqs = [s["first_seq"] for s in sets]
assert seqs == sorted(seqs, reverse=True), seqs' || fail "log --json order"

# dump: equal between two reads, changed by a put, tombstones listed.
d1=$(m dump c)
d2=$(m dump c)
expect_eq "$d2" "$d1" "two dumps"
printf '%s\n' "$d1" | grep -q "^greeting	$id1:[0-9a-f]\{16\}:[0-9]*	del$" ||
    fail "dump lacks the tombstone of 'greeting'"
printf '%s\n' "$d1" | tail -n 1 | grep -q '^digest [0-9a-f]\{64\} keys [0-9]*$' ||
    fail "dump's last line"
m put c n1 changed
[ "$(m dump c)" != "$d1" ] || fail "dump did not change after a put"
m dump c --json | python3 -c 'import json, sys; json.load(sys.stdin)' || fail "dump --json"

# --help for meshctl and every command; help COMMAND.
for cmd in init id put get del ls log dump help; do
    expect_exit 0 mc "$cmd" --help
    grep -q "^usage: meshctl" "$T/stdout" || fail "$cmd --help prints no usage"
    expect_exit 0 mc help "$cmd"
done
expect_exit 0 mc --help
expect_exit 0 mc --version

# Usage errors exit 2; failures exit 1.
expect_exit 2 mc
expect_exit 2 m frobnicate
expect_exit 2 m help frobnicate
expect_exit 2 m put c k
expect_exit 2 m get c
expect_exit 2 m get c k extra
expect_exit 2 m ls c --bogus
expect_exit 2 m log c -n x
expect_exit 2 m --log-level loud id
expect_exit 2 mc --home
U=$(mk_home)
expect_fail_with "meshctl init" mc --home "$U" id
expect_fail_with "meshctl init" mc --home "$U/missing" get c k
expect_fail_with "meshctl init" env MESH_HOME="$U/missing" "$MESHCTL" ls c

# The config file's log-level takes effect, and flags override it.
printf '# test config\nlog-level = debug\n\nname = ignored\n' >"$A/config"
m id 2>"$T/err" >/dev/null
grep -q '^meshctl: \[debug\] ' "$T/err" || fail "config log-level = debug had no effect"
m --log-level error id 2>"$T/err" >/dev/null
[ ! -s "$T/err" ] || fail "--log-level error did not override the config: $(cat "$T/err")"
m id --log-level error 2>"$T/err" >/dev/null
[ ! -s "$T/err" ] || fail "--log-level after the command did not override the config"
printf 'json = true\n' >"$A/config"
m id | python3 -c 'import json, sys; json.load(sys.stdin)' || fail "config json = true"
expect_eq "$(m --no-json id)" "$id1" "--no-json over the config"
printf 'log-level = loud\n' >"$A/config"
expect_fail_with "line 1" m id
rm "$A/config"

# MESH_HOME, then XDG_DATA_HOME, then ~/.local/share/meshsync.
expect_eq "$(MESH_HOME=$A "$MESHCTL" id)" "$id1" "id with MESH_HOME"
X=$(mk_home)
idx=$(XDG_DATA_HOME=$X "$MESHCTL" init)
[ -s "$X/meshsync/identity" ] || fail "init with XDG_DATA_HOME made no $X/meshsync"
expect_eq "$(XDG_DATA_HOME=$X "$MESHCTL" id)" "$idx" "id with XDG_DATA_HOME"
idh=$(mc init)
[ -s "$HOME/.local/share/meshsync/identity" ] || fail "init made no ~/.local/share/meshsync"
expect_eq "$(mc id)" "$idh" "id in the default home"

# Keys: over 1024 bytes refused; 1000 bytes (stored by hash) round trip and list.
long=$(head -c 1025 /dev/zero | tr '\0' k)
expect_fail_with "too big" m put c "$long" v
k1=$(head -c 1000 /dev/zero | tr '\0' L)
k2=$(head -c 999 /dev/zero | tr '\0' L)M
m put long "$k1" v1
m put long "$k2" v2
expect_eq "$(m get long "$k1")" v1 "1000-byte key"
expect_eq "$(m get long "$k2")" v2 "second 1000-byte key"
expect_eq "$(m ls --keys long)" "$(printf '%s\n%s' "$k1" "$k2")" "ls of long keys"
m del long "$k1"
expect_fail_with "not found" m get long "$k1"
expect_eq "$(m ls --keys long)" "$k2" "ls after deleting a long key"
exit 0
