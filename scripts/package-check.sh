#!/usr/bin/env bash
# package-check.sh DEB: what a user gets from kr's .deb, checked without
# installing it on this machine. The package's file list must hold kr, the
# man pages, the completions and both helper links; unpacked into a
# throwaway root, its kr must run, its man page render with every word, its
# helper links reach kr, and its bash completion complete from the
# installed script (with Debian's bash-completion, which cobra's script
# calls).
set -euo pipefail
deb=${1:?usage: package-check.sh DEB}
fail() { echo "package-check: $*" >&2; exit 1; }

list=$(dpkg-deb -c "$deb")
for f in usr/bin/kr usr/bin/git-credential-kr usr/bin/docker-credential-kr \
	usr/share/man/man1/kr.1 usr/share/man/man1/kr-exec.1 usr/share/man/man1/kr-set.1 \
	usr/share/bash-completion/completions/kr usr/share/zsh/vendor-completions/_kr \
	usr/share/fish/vendor_completions.d/kr.fish; do
	grep -q " \./$f\( \|$\)" <<<"$list" || fail "$deb lacks /$f"
done
pages=$(grep -c '\./usr/share/man/man1/kr.*\.1$' <<<"$list")
[ "$pages" -ge 30 ] || fail "only $pages man pages"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root"

"$root/usr/bin/kr" version | grep -q '^kr ' || fail "the installed kr does not run"
for h in git-credential-kr docker-credential-kr; do
	[ "$(readlink "$root/usr/bin/$h")" = kr ] || fail "/usr/bin/$h is not a link to kr beside it"
done
# The links run kr as the helper: docker's helper answers its version.
"$root/usr/bin/docker-credential-kr" version >/dev/null || fail "docker-credential-kr does not run kr's helper"

page=$(MANWIDTH=80 man -l "$root/usr/share/man/man1/kr-exec.1")
flat=$(tr -s ' \n' '  ' <<<"$page")
for w in 'kr-exec - Run a command with secrets' '--mask' '"<concealed by kr>"' 'KR_PASSPHRASE'; do
	grep -qF -- "$w" <<<"$flat" || fail "kr-exec(1) from the package lacks $w"
done

comp=$(PATH="$root/usr/bin:$PATH" HOME="$root" bash -c '
	. /usr/share/bash-completion/bash_completion
	. "$1/usr/share/bash-completion/completions/kr"
	COMP_WORDS=(kr se); COMP_CWORD=1; COMP_LINE="kr se"; COMP_POINT=${#COMP_LINE}
	__start_kr kr se kr 2>/dev/null
	printf "%s\n" "${COMPREPLY[@]}"' bash "$root")
grep -qx 'set' <<<"$comp" && grep -qx 'setup' <<<"$comp" || fail "bash completion of 'kr se' gave: $comp"
echo "package-check: $deb: $(grep -c . <<<"$list") entries, $pages man pages; kr, man, links and bash completion work from a throwaway root"
