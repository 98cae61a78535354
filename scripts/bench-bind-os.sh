#!/usr/bin/env bash
# Whole-process `kr get` from a file vault whose identity is bound to the
# login keyring (`kr identity bind os`), with no agent, against a plain
# Secret Service `kr get`, in one hyperfine run on a private session bus
# with an unlocked gnome-keyring (your own keyring is never touched). The
# bound read costs one Secret Service read (the binding key) plus an age
# decryption; the ratio is printed, and should be at most about 1.2.
#
#   scripts/bench-bind-os.sh [extra hyperfine args, e.g. --runs 200]
#
# Needs: go, dbus (dbus-run-session), gnome-keyring, hyperfine, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${KR_BENCH_TMP:-}" ]; then
	for tool in go dbus-run-session gnome-keyring-daemon hyperfine python3; do
		command -v "$tool" >/dev/null || { echo "bench-bind-os: $tool is missing" >&2; exit 1; }
	done
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	go build -tags netgo,osusergo -o "$tmp/kr" ./cmd/kr # as the README builds it
	mkdir -p "$tmp/home/.local/share" "$tmp/home/.config" "$tmp/run"
	chmod 700 "$tmp/run"
	HOME="$tmp/home" XDG_DATA_HOME="$tmp/home/.local/share" XDG_CONFIG_HOME="$tmp/home/.config" \
		XDG_RUNTIME_DIR="$tmp/run" KR_BENCH_TMP="$tmp" KR_CONFIG_DIR="$tmp/config" \
		dbus-run-session -- "$0" "$@"
	exit
fi

tmp=$KR_BENCH_TMP
# --unlock answers once the keyring is unlocked: kr's first call finds it.
printf 'bench-password' | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
export KR_NO_AGENT=1 KR_PINENTRY=never
vault="$tmp/vault"
value='bench-value-0123456789'

printf %s "$value" | "$tmp/kr" --backend secretservice set bench/item
printf %s "$value" | KR_PASSPHRASE=bench "$tmp/kr" --backend file --vault "$vault" set bench/item 2>/dev/null
KR_PASSPHRASE=bench "$tmp/kr" --vault "$vault" identity bind os 2>/dev/null
for b in "--backend secretservice" "--backend file --vault $vault"; do
	# shellcheck disable=SC2086
	got=$(setsid "$tmp/kr" $b get bench/item </dev/null)
	[ "$got" = "$value" ] || { echo "bench-bind-os: kr $b get returned the wrong value" >&2; exit 1; }
done

hyperfine -N --warmup 5 --export-json "$tmp/bench.json" "$@" \
	-n 'kr get (Secret Service)' "$tmp/kr --backend secretservice get bench/item" \
	-n 'kr get (vault, identity bound to the keyring, no agent)' "$tmp/kr --backend file --vault $vault get bench/item"

python3 - "$tmp/bench.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
base, bound = r[0]["mean"], r[1]["mean"]
print(f"\nbound vault / Secret Service: x{bound/base:.2f} ({bound*1000:.2f} ms / {base*1000:.2f} ms)")
PY
