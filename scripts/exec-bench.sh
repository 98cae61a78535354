#!/usr/bin/env bash
# Whole-process overhead of `kr exec`, in one hyperfine run:
#   kr exec -e X=NAME -- true   against   env X=value true   and   kr get NAME
# each without the agent (KR_NO_AGENT=1, passphrase in KR_PASSPHRASE: every
# kr process unwraps the vault identity itself, so scrypt at the vault's work
# factor dominates) and through a warm agent (kr unlock first; no passphrase
# in the environment). Every command starts through env(1), so all pay the
# same extra exec. KR_BENCH_LOGN sets the vault's scrypt work factor:
# default 10 (cheap, to show kr's own cost); `kr init` uses 18.
# Usage: scripts/exec-bench.sh [hyperfine args, e.g. --runs 50]
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
export XDG_RUNTIME_DIR="$tmp/run" KR_VAULT="$tmp/vault" KR_BACKEND=file
unset KR_PASSPHRASE KR_PASSPHRASE_FILE KR_NO_AGENT
mkdir -m 700 "$XDG_RUNTIME_DIR"
kr="$tmp/kr"
trap '"$kr" agent stop >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -o "$kr" ./cmd/kr # as released: static, no dynamic loader
KR_PASSPHRASE=bench go run ./scripts/internal/mkvault -dir "$KR_VAULT" -logn "${KR_BENCH_LOGN:-10}"
printf 'bench-value' | "$kr" set bench/x
noagent="KR_NO_AGENT=1 KR_PASSPHRASE=bench"
test "$(env $noagent "$kr" exec -e X=bench/x -- sh -c 'printf %s "$X"')" = bench-value
KR_PASSPHRASE=bench "$kr" unlock --ttl 30m
test "$("$kr" exec -e X=bench/x -- sh -c 'printf %s "$X"')" = bench-value
hyperfine -N --warmup 3 "$@" --export-json "$tmp/h.json" \
	-n 'env X=value true' "env X=bench-value true" \
	-n 'kr get NAME (no agent)' "env $noagent $kr get bench/x" \
	-n 'kr exec -e X=NAME -- true (no agent)' "env $noagent $kr exec -e X=bench/x -- true" \
	-n 'kr get NAME (warm agent)' "env $kr get bench/x" \
	-n 'kr exec -e X=NAME -- true (warm agent)' "env $kr exec -e X=bench/x -- true"
python3 - "$tmp/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
base = r["env X=value true"]["mean"]
for name, x in r.items():
    get = r.get(name.replace("kr exec -e X=NAME -- true", "kr get NAME"), x)["mean"]
    print(f"  {name:40s} {x['mean']*1000:8.2f} ms ± {x['stddev']*1000:6.2f}"
          f"  x{x['mean']/base:6.1f} vs env  x{x['mean']/get:5.2f} vs kr get")
PY
