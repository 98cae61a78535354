#!/usr/bin/env bash
# Whole-process `kr get` through a warm agent against a
# hello-world Go binary, in one hyperfine run.
# Usage: scripts/agent-bench.sh [hyperfine args, e.g. --runs 200]
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
export XDG_RUNTIME_DIR="$tmp/run" KR_VAULT="$tmp/vault" KR_BACKEND=file
mkdir -m 700 "$XDG_RUNTIME_DIR"
trap '"$tmp/kr" agent stop >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -o "$tmp/kr" ./cmd/kr # as released: static, no dynamic loader
mkdir "$tmp/hello" && cat > "$tmp/hello/main.go" <<'GO'
package main

import "fmt"

func main() { fmt.Print("hello") }
GO
(cd "$tmp/hello" && GO111MODULE=off go build -o "$tmp/hello-bin" main.go)
KR_PASSPHRASE=bench go run ./scripts/internal/mkvault -dir "$KR_VAULT" -logn 18
printf 'bench-value' | "$tmp/kr" set bench/x
KR_PASSPHRASE=bench "$tmp/kr" unlock --ttl 10m
test "$("$tmp/kr" get bench/x)" = bench-value
hyperfine -N --warmup 5 "$@" --export-json "$tmp/h.json" \
	-n 'hello-world Go binary' "$tmp/hello-bin" \
	-n 'kr get (warm agent)' "$tmp/kr get bench/x"
python3 - "$tmp/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
base = r["hello-world Go binary"]["mean"]
for name, x in r.items():
    print(f"  {name:24s} {x['mean']*1000:7.2f} ms ± {x['stddev']*1000:5.2f}  x{x['mean']/base:5.2f}")
PY
