#!/usr/bin/env bash
# Whole-process timing of git's credential `get` on the Secret Service:
# `git-credential-kr get` next to `kr get` and Debian's
# git-credential-libsecret get, all reading the same gnome-keyring on a
# private session bus (your own keyring is never touched), one hyperfine -N
# run, reported as ratios to git-credential-libsecret.
#
# hyperfine 1.15 cannot feed stdin under -N, so every command runs under
# stdin-from, a few lines of C that open the request file as stdin and
# exec the command: the same one extra exec for all three.
#
#   scripts/bench-gitcred.sh [extra hyperfine args, e.g. --runs 200]
#
# Needs: go, gcc, make, pkg-config, libsecret-1-dev, git's contrib sources,
# dbus (dbus-run-session), gnome-keyring, hyperfine, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${KR_BENCH_TMP:-}" ]; then
	for tool in go gcc make pkg-config dbus-run-session gnome-keyring-daemon hyperfine python3; do
		command -v "$tool" >/dev/null || { echo "bench-gitcred: $tool is missing" >&2; exit 1; }
	done
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	echo "building kr, git-credential-libsecret and stdin-from..." >&2
	go build -o "$tmp/kr" ./cmd/kr
	ln -s kr "$tmp/git-credential-kr"
	cp -r /usr/share/doc/git/contrib/credential/libsecret "$tmp/libsecret"
	make -s -C "$tmp/libsecret" >/dev/null
	cat > "$tmp/stdin-from.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
	if (argc < 3) return 2;
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0 || dup2(fd, 0) < 0) { perror(argv[1]); return 1; }
	close(fd);
	execv(argv[2], argv + 2);
	perror(argv[2]);
	return 127;
}
C
	gcc -O2 -o "$tmp/stdin-from" "$tmp/stdin-from.c"
	mkdir -p "$tmp/home/.local/share" "$tmp/home/.config" "$tmp/home/.cache" "$tmp/run"
	chmod 700 "$tmp/run"
	HOME="$tmp/home" XDG_DATA_HOME="$tmp/home/.local/share" XDG_CONFIG_HOME="$tmp/home/.config" \
		XDG_CACHE_HOME="$tmp/home/.cache" XDG_RUNTIME_DIR="$tmp/run" KR_CONFIG_DIR="$tmp/home/.config/kr" \
		KR_BENCH_TMP="$tmp" dbus-run-session -- "$0" "$@"
	exit
fi

tmp=$KR_BENCH_TMP
unset KR_BACKEND KR_SERVICE KR_VAULT
export KR_NO_AGENT=1
printf 'bench-password' | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>&1 &
keyring_pid=$!
trap 'kill "$keyring_pid" 2>/dev/null; wait "$keyring_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	if dbus-send --session --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.NameHasOwner \
		string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; then
		break
	fi
	sleep 0.1
done

password='bench-password-0123456789'
printf 'protocol=https\nhost=bench.example.org\n\n' > "$tmp/get.req"
printf 'protocol=https\nhost=bench.example.org\nusername=bench\npassword=%s\n\n' "$password" > "$tmp/store.req"
: > "$tmp/empty"
"$tmp/kr" backend secretservice >/dev/null 2>&1 || true
"$tmp/git-credential-kr" store < "$tmp/store.req"
printf '%s' "$password" | "$tmp/kr" set bench/item 2>/dev/null

want="username=bench
password=$password"
for helper in "$tmp/git-credential-kr" "$tmp/libsecret/git-credential-libsecret"; do
	got=$("$tmp/stdin-from" "$tmp/get.req" "$helper" get)
	[ "$got" = "$want" ] || { echo "bench-gitcred: $helper get answered: $got" >&2; exit 1; }
done
[ "$("$tmp/stdin-from" "$tmp/empty" "$tmp/kr" get bench/item)" = "$password" ] || { echo "bench-gitcred: kr get failed" >&2; exit 1; }

hyperfine -N --warmup 5 --export-json "$tmp/bench.json" "$@" \
	-n 'git-credential-kr get' "$tmp/stdin-from $tmp/get.req $tmp/git-credential-kr get" \
	-n 'kr get' "$tmp/stdin-from $tmp/empty $tmp/kr get bench/item" \
	-n 'git-credential-libsecret get' "$tmp/stdin-from $tmp/get.req $tmp/libsecret/git-credential-libsecret get"

python3 - "$tmp/bench.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
base = r["git-credential-libsecret get"]["mean"]
print("\nmean wall time per process, ratio to git-credential-libsecret:")
for name, x in r.items():
    print(f"  {name:30s} {x['mean']*1000:7.2f} ms ± {x['stddev']*1000:5.2f}   x{x['mean']/base:.2f}")
PY
