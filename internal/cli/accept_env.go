package cli

// Keys a process accepts without a record: the identities it reads with
// (KR_IDENTITY, KR_IDENTITY_FILE) and the keys a CI job names in KR_ACCEPT.

import (
	"fmt"
	"strings"

	"filippo.io/age"
)

// acceptEnv is the variable in which a job lists the age1 keys it accepts
// as recipients of the vaults it writes, for this process only.
const acceptEnv = "KR_ACCEPT"

// acceptedFromEnv parses KR_ACCEPT: full age1 keys separated by spaces or
// commas. A fingerprint is refused: its 64 bits can be matched by a key
// made to order, and a job has nobody to compare it with.
func (a *App) acceptedFromEnv() ([]string, error) {
	v := a.Getenv(acceptEnv)
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
		if looksLikeFingerprint(f) {
			return nil, withHint(fmt.Errorf("%s: %q is a fingerprint: a job accepts full keys only (64 bits can be matched by a key made to order)", acceptEnv, f),
				"'kr vault recipients ls' shows each member's age1 key next to its fingerprint")
		}
		if _, err := age.ParseX25519Recipient(f); err != nil {
			return nil, withHint(fmt.Errorf("%s: %q is not an age X25519 recipient (age1...)", acceptEnv, f),
				"list the members' age1 keys, separated by spaces or commas")
		}
		out = append(out, f)
	}
	return out, nil
}

// looksLikeFingerprint reports a string shaped like recipients.Fingerprint
// ("3f2a:09bc:77d1:e045"), with or without the colons.
func looksLikeFingerprint(s string) bool {
	h := strings.ReplaceAll(s, ":", "")
	if len(h) != 16 {
		return false
	}
	for _, c := range strings.ToLower(h) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// alsoAccepted returns, for filevault.Options.AcceptAlso, the keys this
// process accepts without a record: accept (KR_ACCEPT, parsed already) and
// the public keys of the identities it reads with, read when first asked.
func (a *App) alsoAccepted(accept []string) func() ([]string, error) {
	return func() ([]string, error) {
		keys, err := a.identityFromEnv()
		if err != nil {
			return nil, err
		}
		out := append([]string(nil), accept...)
		if keys != nil {
			out = append(out, keys.Recipients()...)
		}
		return out, nil
	}
}
