#!/usr/bin/env bash
# `ssh-keygen -Y sign` of stdin through kr's agent against OpenSSH's own
# ssh-agent holding the same ed25519 key (exported from kr), in one
# hyperfine run. The goal is kr at most 1.2x ssh-agent. hyperfine 1.15 has
# no --input, so each command reads stdin through its shell, whose start
# hyperfine measures and subtracts.
# Usage: scripts/ssh-sign-bench.sh [hyperfine args, e.g. --runs 200]
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
export XDG_RUNTIME_DIR="$tmp/run" KR_VAULT="$tmp/vault" KR_CONFIG_DIR="$tmp/config" KR_BACKEND=file
unset KR_PASSPHRASE KR_PASSPHRASE_FILE KR_NO_AGENT SSH_AUTH_SOCK
mkdir -m 700 "$XDG_RUNTIME_DIR"
kr="$tmp/kr"
trap '"$kr" agent stop >/dev/null 2>&1 || true; [ -n "${SSH_AGENT_PID:-}" ] && kill "$SSH_AGENT_PID"; rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -o "$kr" ./cmd/kr
KR_PASSPHRASE=bench go run ./scripts/internal/mkvault -dir "$KR_VAULT" -logn 10
KR_PASSPHRASE=bench "$kr" unlock --ttl 30m 2>/dev/null # accepts the vault's own key
"$kr" ssh keygen bench >"$tmp/bench.pub" 2>/dev/null
krsock=$("$kr" ssh env | sed -e "s/^SSH_AUTH_SOCK='//" -e "s/'.*//")
"$kr" get ssh/bench >"$tmp/bench.key"
chmod 600 "$tmp/bench.key"
eval "$(ssh-agent -s -a "$tmp/openssh.sock")" >/dev/null
SSH_AUTH_SOCK="$tmp/openssh.sock" ssh-add -q "$tmp/bench.key"
rm "$tmp/bench.key"
head -c 4096 /dev/urandom >"$tmp/data"
sign="ssh-keygen -q -Y sign -f $tmp/bench.pub -n file <$tmp/data >/dev/null"
SSH_AUTH_SOCK="$krsock" sh -c "$sign"
SSH_AUTH_SOCK="$tmp/openssh.sock" sh -c "$sign"
hyperfine --warmup 10 "$@" --export-json "$tmp/h.json" \
	-n 'OpenSSH ssh-agent' "SSH_AUTH_SOCK=$tmp/openssh.sock $sign" \
	-n 'kr agent' "SSH_AUTH_SOCK=$krsock $sign"
python3 - "$tmp/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
base, kr = r["OpenSSH ssh-agent"]["mean"], r["kr agent"]["mean"]
print(f"kr agent / ssh-agent: {kr/base:.2f}x ({kr*1000:.2f} ms vs {base*1000:.2f} ms; goal at most 1.2x)")
PY
