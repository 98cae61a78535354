#!/usr/bin/env bash
# What the agent's guard costs `kr get`: a warm agent serving one file-vault
# read, built from this tree and from BASE (default: where this branch left
# main), in one hyperfine run. This tree's agent names the program behind
# each read, checks it against the lock state and appends to the read log;
# BASE's does none of it. Each build runs its own agent, vault and config.
# Usage: scripts/guard-bench.sh [BASE] [hyperfine args, e.g. --runs 300]
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-$(git merge-base HEAD main)}
shift || true
tmp=$(mktemp -d)
stop() {
	for b in base head; do
		[ -x "$tmp/$b/kr" ] && env XDG_RUNTIME_DIR="$tmp/$b/run" KR_CONFIG_DIR="$tmp/$b/config" "$tmp/$b/kr" agent stop >/dev/null 2>&1 || true
	done
	rm -rf "$tmp"
}
trap stop EXIT
mkdir -p "$tmp/base/src" "$tmp/head"
git archive "$base" | tar -x -C "$tmp/base/src"
(cd "$tmp/base/src" && CGO_ENABLED=0 go build -o "$tmp/base/kr" ./cmd/kr)
CGO_ENABLED=0 go build -o "$tmp/head/kr" ./cmd/kr # as released: static
for b in base head; do
	d="$tmp/$b"
	mkdir -m 700 "$d/run" "$d/config"
	export XDG_RUNTIME_DIR="$d/run" KR_CONFIG_DIR="$d/config" KR_VAULT="$d/vault" KR_BACKEND=file
	KR_PASSPHRASE=bench go run ./scripts/internal/mkvault -dir "$KR_VAULT" -logn 18
	KR_PASSPHRASE=bench "$d/kr" unlock --ttl 10m 2>/dev/null # accepts the vault's key too
	printf 'bench-value' | "$d/kr" set bench/x
	test "$("$d/kr" get bench/x)" = bench-value
done
run() { echo "env XDG_RUNTIME_DIR=$tmp/$1/run KR_CONFIG_DIR=$tmp/$1/config KR_VAULT=$tmp/$1/vault KR_BACKEND=file $tmp/$1/kr get bench/x"; }
hyperfine -N --warmup 20 "$@" --export-json "$tmp/h.json" \
	-n "kr get, agent at $(git rev-parse --short "$base")" "$(run base)" \
	-n "kr get, agent with the guard ($(git rev-parse --short HEAD))" "$(run head)"
python3 - "$tmp/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
b, h = r[0], r[1]
print(f"  difference: {(h['mean']-b['mean'])*1000:+.3f} ms "
      f"(base {b['mean']*1000:.2f} ± {b['stddev']*1000:.2f} ms, guard {h['mean']*1000:.2f} ± {h['stddev']*1000:.2f} ms)")
PY
test -s "$tmp/head/config/agent-reads.log" && echo "  reads logged: $(wc -l < "$tmp/head/config/agent-reads.log")"
