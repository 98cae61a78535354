#!/usr/bin/env bash
# Whole-process timing of one docker login lookup on the Secret Service, on a
# private session bus with an unlocked gnome-keyring (your own keyring is
# never touched): `docker-credential-kr get`, `kr get` of a kr secret of the
# same size, and Debian's docker-credential-secretservice get of the same
# login, reported as ratios to docker-credential-secretservice.
#
#   scripts/bench-dockercred.sh [extra hyperfine args, e.g. --runs 200]
#
# The helpers read the server URL on stdin, which hyperfine 1.15 cannot feed
# with -N (no --input yet): every command runs under hyperfine's shell, whose
# start-up hyperfine measures and subtracts, so the three stay comparable.
#
# Needs: go, dbus (dbus-run-session), gnome-keyring, libsecret-tools,
# golang-docker-credential-helpers, hyperfine, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

server=registry.bench.example:5000
secret='bench-secret-0123456789'

if [ -z "${KR_BENCH_TMP:-}" ]; then
	for tool in go dbus-run-session gnome-keyring-daemon secret-tool docker-credential-secretservice hyperfine python3; do
		command -v "$tool" >/dev/null || { echo "bench-dockercred: $tool is missing" >&2; exit 1; }
	done
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	echo "building kr..." >&2
	go build -o "$tmp/kr" ./cmd/kr
	ln -s kr "$tmp/docker-credential-kr"
	mkdir -p "$tmp/home/.local/share" "$tmp/home/.config" "$tmp/home/.cache" "$tmp/run"
	chmod 700 "$tmp/run"
	HOME="$tmp/home" XDG_DATA_HOME="$tmp/home/.local/share" XDG_CONFIG_HOME="$tmp/home/.config" \
		XDG_CACHE_HOME="$tmp/home/.cache" XDG_RUNTIME_DIR="$tmp/run" KR_BENCH_TMP="$tmp" \
		KR_CONFIG_DIR="$tmp/home/.config/kr" KR_BACKEND=secretservice KR_NO_AGENT=1 \
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

printf '{"ServerURL":"%s","Username":"bench","Secret":"%s"}' "$server" "$secret" | docker-credential-secretservice store
printf '%s' "$secret" | "$tmp/kr" set bench/item
printf '%s' "$server" >"$tmp/url"

want="{\"ServerURL\":\"$server\",\"Username\":\"bench\",\"Secret\":\"$secret\"}"
[ "$("$tmp/docker-credential-kr" get <"$tmp/url")" = "$want" ] || { echo "docker-credential-kr get returned something else" >&2; exit 1; }
[ "$(docker-credential-secretservice get <"$tmp/url")" = "$want" ] || { echo "docker-credential-secretservice get returned something else" >&2; exit 1; }
[ "$("$tmp/kr" get bench/item)" = "$secret" ] || { echo "kr get returned something else" >&2; exit 1; }

hyperfine --warmup 5 --export-json "$tmp/bench.json" "$@" \
	-n "docker-credential-kr get" "$tmp/docker-credential-kr get <$tmp/url" \
	-n "kr get" "$tmp/kr get bench/item" \
	-n "docker-credential-secretservice get" "docker-credential-secretservice get <$tmp/url"

python3 - "$tmp/bench.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
base = r["docker-credential-secretservice get"]["mean"]
print("\nmean wall time per process, ratio to docker-credential-secretservice:")
for name, x in r.items():
    print(f"  {name:36s} {x['mean']*1000:7.2f} ms ± {x['stddev']*1000:5.2f}   x{x['mean']/base:.2f}")
PY
