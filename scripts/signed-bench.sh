#!/usr/bin/env bash
# What signing costs a shared vault. (1) `kr get NAME` with KR_IDENTITY_FILE
# in a signed vault (version 3: the membership chain, the secret's
# signature and this clone's counter checked on every read) against the
# same read in an unsigned one (version 2), in one hyperfine run; the goal
# is at most 1.1x. (2) Adding a member to a signed vault of 10,000
# secrets: each is decrypted, checked, signed again and re-encrypted (the
# goal: under 12 s), timed against the same in an unsigned vault.
# Usage: scripts/signed-bench.sh [hyperfine args, e.g. --runs 300]
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Built before HOME moves, so go uses the user's module and build caches.
kr="$tmp/kr"
CGO_ENABLED=0 go build -o "$kr" ./cmd/kr # as released: static, no dynamic loader
export HOME="$tmp/home" XDG_DATA_HOME="$tmp/home/data" XDG_CONFIG_HOME="$tmp/home/config" \
	XDG_RUNTIME_DIR="$tmp/run" KR_CONFIG_DIR="$tmp/cfg" KR_BACKEND=file KR_NO_AGENT=1
unset KR_PASSPHRASE KR_PASSPHRASE_FILE KR_IDENTITY KR_VAULT
mkdir -p -m 700 "$HOME" "$XDG_RUNTIME_DIR"
age-keygen -o "$tmp/ci.key" 2>/dev/null
age-keygen -o "$tmp/bob.key" 2>/dev/null
pub=$(age-keygen -y "$tmp/ci.key")
bob=$(age-keygen -y "$tmp/bob.key")
export KR_IDENTITY_FILE="$tmp/ci.key"

# A signed vault, as kr vault init makes it; an unsigned one as an older
# kr did (vault.json version 2, written here by hand).
"$kr" vault init --name ci "$tmp/signed" 2>/dev/null
mkdir -p -m 700 "$tmp/unsigned/secrets"
printf '{"version": 2, "recipients": [{"name": "ci", "key": "%s"}]}\n' "$pub" > "$tmp/unsigned/vault.json"
chmod 600 "$tmp/unsigned/vault.json"
for v in signed unsigned; do
	printf 'bench-value' | KR_VAULT="$tmp/$v" "$kr" set bench/x
	test "$(KR_VAULT="$tmp/$v" "$kr" get bench/x)" = bench-value
done
hyperfine -N --warmup 5 "$@" --export-json "$tmp/h.json" \
	-n 'kr get (unsigned vault)' "env KR_VAULT=$tmp/unsigned $kr get bench/x" \
	-n 'kr get (signed vault)' "env KR_VAULT=$tmp/signed $kr get bench/x"
python3 - "$tmp/h.json" <<'PY'
import json, sys, statistics as st
u, s = json.load(open(sys.argv[1]))["results"]
mu, ms = st.median(u["times"]), st.median(s["times"])
paired = st.median(b / a for a, b in zip(u["times"], s["times"]))
print(f"unsigned {mu*1000:.2f} ms, signed {ms*1000:.2f} ms (medians); "
      f"ratio of medians {ms/mu:.2f}, median paired ratio {paired:.2f}")
PY

# 10,000 secrets, then a member added: every one re-signed and re-encrypted.
python3 -c 'import sys; [print(f"K{i:05d}=value-{i}-of-the-bench") for i in range(10000)]' > "$tmp/many.env"
for v in unsigned signed; do
	KR_VAULT="$tmp/$v" "$kr" import --prefix many/ "$tmp/many.env" 2>/dev/null
	start=$(date +%s.%N)
	KR_VAULT="$tmp/$v" "$kr" vault recipients add bob "$bob" 2>/dev/null
	end=$(date +%s.%N)
	python3 -c "print(f'$v vault: add a member, re-encrypting 10,001 secrets: {$end - $start:.2f} s')"
done
KR_VAULT="$tmp/signed" "$kr" vault verify
