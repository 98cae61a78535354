package format

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"filippo.io/age"

	"github.com/kr-keyring/kr/internal/xeddsa"
)

// A scope narrows who reads a folder: secrets/FOLDER/.age-recipients
// (ScopeFile) lists the recipients of every secret below FOLDER (the
// nearest such file up the tree wins), so the ops team can read prod/ while
// everyone reads dev/. The file is an age recipients file as `age -R` reads
// it (passage uses the same idea), holding X25519 keys that must each be a
// recipient of the vault: vault.json names them, and removing a member from
// the vault removes them from every scope.

// ParseScope reads a scope file as age -R does (one age1 key a line, a
// trailing \r dropped, empty lines and lines starting with # ignored) and
// more strictly: at least one key, each once.
func ParseScope(b []byte) ([]string, error) {
	if len(b) > MaxSmallFile {
		return nil, fmt.Errorf("larger than %d bytes", MaxSmallFile)
	}
	var keys []string
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if _, err := age.ParseX25519Recipient(line); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		if slices.Contains(keys, line) {
			return nil, fmt.Errorf("line %d: %s is listed twice", i+1, line)
		}
		keys = append(keys, line)
	}
	if len(keys) == 0 {
		return nil, errors.New("no recipients: a scope nobody can read")
	}
	return keys, nil
}

// FormatScope writes a scope file for folder, each key under a comment
// naming its member (names: key -> member name).
func FormatScope(folder string, keys []string, names map[string]string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# kr scope: the secrets under %s/ are encrypted to these recipients only\n", folder)
	for _, k := range keys {
		if n := names[k]; n != "" {
			fmt.Fprintf(&b, "# %s\n", n)
		}
		b.WriteString(k)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// In a signed vault, a scope file ends with its signer's comment line,
// which age -R skips like any other:
//
//	# kr-signed v1 EPOCH WRITER SIGNATURE
//
// over the vault's id, the folder, the epoch and the sorted keys
// (ScopeMessage): a scope a pusher widened or moved to another folder no
// longer verifies.
const scopeSignedPrefix = "# kr-signed v1 "

// ScopeSignature is a scope file's signature line.
type ScopeSignature struct {
	Epoch  uint64
	Writer string
	Sig    []byte
}

// ScopeMessage is what a scope's signer signs; keys are sorted here.
func ScopeMessage(vaultID, folder string, epoch uint64, writer string, keys []string) []byte {
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	var b strings.Builder
	fmt.Fprintf(&b, "kr-scope/v1\nvault %s\nfolder %s\nepoch %d\nwriter %s\n", vaultID, folder, epoch, writer)
	for _, k := range sorted {
		b.WriteString("recipient " + k + "\n")
	}
	return []byte(b.String())
}

// ReadScope is ParseScope, also returning the signature line (nil when
// there is none).
func ReadScope(b []byte) ([]string, *ScopeSignature, error) {
	keys, err := ParseScope(b)
	if err != nil {
		return nil, nil, err
	}
	var sig *ScopeSignature
	for i, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSuffix(line, "\r"), scopeSignedPrefix)
		if !ok {
			continue
		}
		if sig != nil {
			return nil, nil, fmt.Errorf("line %d: a second signature", i+1)
		}
		f := strings.Split(rest, " ")
		if len(f) != 3 {
			return nil, nil, fmt.Errorf("line %d: a signature has three fields", i+1)
		}
		epoch, err := parseCount(f[0])
		if err != nil || epoch == 0 {
			return nil, nil, fmt.Errorf("line %d: bad epoch", i+1)
		}
		if _, err := age.ParseX25519Recipient(f[1]); err != nil || strings.ToLower(f[1]) != f[1] {
			return nil, nil, fmt.Errorf("line %d: the signer is not an age1 key", i+1)
		}
		s, err := base64.StdEncoding.Strict().DecodeString(f[2])
		if err != nil || len(s) != xeddsa.SignatureSize || base64.StdEncoding.EncodeToString(s) != f[2] {
			return nil, nil, fmt.Errorf("line %d: bad signature encoding", i+1)
		}
		sig = &ScopeSignature{Epoch: epoch, Writer: f[1], Sig: s}
	}
	return keys, sig, nil
}

// SignedScope is FormatScope with the signature line, signed by writer at
// epoch.
func SignedScope(vaultID, folder string, keys []string, names map[string]string, epoch uint64, writer string, sign Signer) ([]byte, error) {
	sig, err := sign(ScopeMessage(vaultID, folder, epoch, writer, keys))
	if err != nil {
		return nil, err
	}
	out := FormatScope(folder, keys, names)
	return fmt.Appendf(out, "%s%d %s %s\n", scopeSignedPrefix, epoch, writer, base64.StdEncoding.EncodeToString(sig)), nil
}

// Verify checks the scope of folder, holding keys, against its signature.
func (s *ScopeSignature) Verify(vaultID, folder string, keys []string) bool {
	return xeddsa.VerifyRecipient(s.Writer, ScopeMessage(vaultID, folder, s.Epoch, s.Writer, keys), s.Sig)
}
