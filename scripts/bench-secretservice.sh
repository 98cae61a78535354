#!/usr/bin/env bash
# Whole-process timing of one secret read from the Secret Service, on a
# private session bus with an unlocked gnome-keyring (your own keyring is
# never touched): `kr get` with --backend secretservice, the backend package
# alone (internal/ssget: Open + Get, no CLI), `secret-tool lookup` and a
# minimal zalando/go-keyring program, reported as ratios to go-keyring.
#
#   scripts/bench-secretservice.sh [extra hyperfine args, e.g. --runs 200]
#
# Needs: go, dbus (dbus-run-session), gnome-keyring, libsecret-tools, hyperfine, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

name=bench/item
value='bench-value-0123456789'

if [ -z "${KR_BENCH_TMP:-}" ]; then
	for tool in go dbus-run-session gnome-keyring-daemon secret-tool hyperfine python3; do
		command -v "$tool" >/dev/null || { echo "bench-secretservice: $tool is missing" >&2; exit 1; }
	done
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	echo "building kr and the go-keyring program..." >&2
	go build -tags netgo,osusergo -o "$tmp/kr" ./cmd/kr # as the README builds it
	go build -o "$tmp/gokeyring" ./backends/secretservice/internal/gokeyring
	go build -o "$tmp/ssget" ./backends/secretservice/internal/ssget
	mkdir -p "$tmp/home/.local/share" "$tmp/home/.config" "$tmp/home/.cache" "$tmp/run"
	chmod 700 "$tmp/run"
	# A private bus: the session ends (and its daemons with it) when this does.
	HOME="$tmp/home" XDG_DATA_HOME="$tmp/home/.local/share" XDG_CONFIG_HOME="$tmp/home/.config" \
		XDG_CACHE_HOME="$tmp/home/.cache" XDG_RUNTIME_DIR="$tmp/run" KR_BENCH_TMP="$tmp" \
		dbus-run-session -- "$0" "$@"
	exit
fi

tmp=$KR_BENCH_TMP
printf 'bench-password' | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>&1 &
keyring_pid=$!
trap 'kill "$keyring_pid" 2>/dev/null; wait "$keyring_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	if dbus-send --session --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.NameHasOwner \
		string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; then
		break
	fi
	sleep 0.05
done

printf '%s' "$value" | secret-tool store --label="$name (kr)" service kr username "$name"

check() { # label, then the command; the value must come back
	local got
	got=$("${@:2}" 2>"$tmp/err") || { echo "  $1 failed: $(cat "$tmp/err")" >&2; return 1; }
	[ "$got" = "$value" ] || { echo "  $1 returned the wrong value" >&2; return 1; }
}

cmds=("$tmp/ssget kr $name" "$tmp/gokeyring get kr $name" "secret-tool lookup service kr username $name")
names=("kr backend only" "go-keyring" "secret-tool lookup")
check "kr backend only" "$tmp/ssget" kr "$name"
check go-keyring "$tmp/gokeyring" get kr "$name"
check secret-tool secret-tool lookup service kr username "$name"
if check "kr get" "$tmp/kr" get --backend secretservice "$name"; then
	cmds=("$tmp/kr get --backend secretservice $name" "${cmds[@]}")
	names=("kr get" "${names[@]}")
else
	echo "note: ./cmd/kr cannot read from the secretservice backend yet; timing the others only" >&2
fi

args=()
for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
hyperfine -N --warmup 5 --export-json "$tmp/bench.json" "$@" "${args[@]}"

python3 - "$tmp/bench.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
base = r["go-keyring"]["mean"]
print("\nmean wall time per process, ratio to go-keyring:")
for name, x in r.items():
    print(f"  {name:20s} {x['mean']*1000:7.2f} ms ± {x['stddev']*1000:5.2f}   x{x['mean']/base:.2f}")
PY
