package format

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"filippo.io/age"
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
