#!/usr/bin/env bash
# Whole-process overhead of `kr exec` (issue 6): in one hyperfine run,
#   kr exec -e X=NAME -- true     against   env X=value true   and   kr get NAME
# on the file vault with the passphrase in KR_PASSPHRASE and no agent (each
# kr process unwraps the identity once: scrypt at the work factor the vault
# was made with; KR_BENCH_LOGN, default 18 as `kr init` makes it).
# Usage: scripts/exec-bench.sh [hyperfine args, e.g. --runs 50]
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -o "$tmp/kr" ./cmd/kr # as released: static, no dynamic loader
go run ./scripts/internal/mkvault -dir "$tmp/vault" -pass bench -logn "${KR_BENCH_LOGN:-18}"
export KR_VAULT="$tmp/vault" KR_BACKEND=file KR_NO_AGENT=1 KR_PASSPHRASE=bench
printf 'bench-value' | "$tmp/kr" set bench/x
test "$("$tmp/kr" exec -e X=bench/x -- sh -c 'printf %s "$X"')" = bench-value
hyperfine -N --warmup 3 "$@" --export-json "$tmp/h.json" \
	-n 'env X=value true' "env X=bench-value true" \
	-n 'kr get NAME' "$tmp/kr get bench/x" \
	-n 'kr exec -e X=NAME -- true' "$tmp/kr exec -e X=bench/x -- true"
python3 - "$tmp/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
base = r["env X=value true"]["mean"]
get = r["kr get NAME"]["mean"]
for name, x in r.items():
    print(f"  {name:28s} {x['mean']*1000:8.2f} ms  x{x['mean']/base:6.1f} vs env  x{x['mean']/get:5.2f} vs kr get")
PY
