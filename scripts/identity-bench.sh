#!/usr/bin/env bash
# Whole-process cost of reading with KR_IDENTITY_FILE (the goal: at
# most 1.3x `kr version`): `kr get NAME` on a shared vault, no passphrase,
# no agent running (kr still looks for one, as in CI), against `kr version`
# in one hyperfine run. Prints the ratio of medians and the median of the
# paired per-run ratios.
# Usage: scripts/identity-bench.sh [hyperfine args, e.g. --runs 300]
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Built before HOME moves, so go uses the user's module and build caches.
kr="$tmp/kr"
CGO_ENABLED=0 go build -o "$kr" ./cmd/kr # as released: static, no dynamic loader
export HOME="$tmp/home" XDG_DATA_HOME="$tmp/home/data" XDG_CONFIG_HOME="$tmp/home/config" \
	XDG_RUNTIME_DIR="$tmp/run" KR_VAULT="$tmp/vault" KR_BACKEND=file
unset KR_PASSPHRASE KR_PASSPHRASE_FILE KR_NO_AGENT KR_IDENTITY
mkdir -p -m 700 "$HOME" "$XDG_RUNTIME_DIR"
age-keygen -o "$tmp/ci.key" 2>/dev/null
export KR_IDENTITY_FILE="$tmp/ci.key"
"$kr" vault init "$KR_VAULT" 2>/dev/null
printf 'bench-value' | "$kr" set bench/x
test "$("$kr" get bench/x)" = bench-value
hyperfine -N --warmup 5 "$@" --export-json "$tmp/h.json" \
	-n 'kr version' "$kr version" \
	-n 'kr get NAME (KR_IDENTITY_FILE)' "$kr get bench/x"
python3 - "$tmp/h.json" <<'PY'
import json, sys, statistics as st
v, g = json.load(open(sys.argv[1]))["results"]
mv, mg = st.median(v["times"]), st.median(g["times"])
paired = st.median(b / a for a, b in zip(v["times"], g["times"]))
print(f"kr version {mv*1000:.2f} ms, kr get {mg*1000:.2f} ms (medians); "
      f"ratio of medians {mg/mv:.2f}, median paired ratio {paired:.2f}")
PY
