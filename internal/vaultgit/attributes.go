package vaultgit

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kr-keyring/kr/internal/atomicfile"
)

// attributes are the lines of the vault's .gitattributes. Committed with
// the vault, they make every clone treat secrets as binary, leave the
// recipient files to kr's merge and never convert line endings, whatever
// core.autocrlf says: no clone needs its own configuration.
var attributes = []string{
	"*.age binary",
	"vault.json -text -merge",
	".age-recipients -text -merge",
}

const attributesFile = ".gitattributes"

const attributesHeader = "# kr: secrets are binary; recipient files are merged by kr, not git"

// ensureAttributes writes the vault's .gitattributes, or adds the lines it
// lacks to the user's.
func ensureAttributes(dir string) error {
	return ensureLines(filepath.Join(dir, attributesFile), attributesHeader, attributes)
}

// ensureIgnored writes the vault's .gitignore with lines, or adds the ones
// it lacks to the user's: files that are kr's own on each machine (the
// lock) never show as changes in git status.
func ensureIgnored(dir string, lines []string) error {
	if len(lines) == 0 {
		return nil
	}
	return ensureLines(filepath.Join(dir, ".gitignore"), "# kr: files of this machine's kr, never shared", lines)
}

// ensureLines adds to the file at path, under header, the lines it lacks.
func ensureLines(path, header string, lines []string) error {
	// Anyone who can push can commit the file as a symlink to one of ours
	// (~/.ssh/id_ed25519): read through it, that file would be committed
	// and pushed in its place.
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		what := "not a regular file"
		if fi.Mode()&fs.ModeSymlink != 0 {
			what = "a symlink"
		}
		return fmt.Errorf("%s is %s: kr follows no link in a vault; replace it with a plain file, then sync again", path, what)
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	have := map[string]bool{}
	for _, l := range bytes.Split(old, []byte("\n")) {
		have[string(bytes.TrimSpace(l))] = true
	}
	var add []byte
	for _, l := range lines {
		if !have[l] {
			add = append(add, l+"\n"...)
		}
	}
	if add == nil {
		return nil
	}
	data := bytes.Clone(old)
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data, '\n')
	}
	if !have[header] {
		data = append(data, header+"\n"...)
	}
	data = append(data, add...)
	if err := atomicfile.Write(path, data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
