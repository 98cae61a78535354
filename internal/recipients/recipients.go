// Package recipients owns the local user's record of the vault recipients
// they accepted. kr encrypts a file vault's secrets only to accepted
// recipients, so one that someone else writes into a shared vault.json
// reads nothing new until the user agrees. The record lives in kr's config
// directory, never in a vault: whoever can write the vault cannot write it.
//
// recipients.json:
//
//	{
//	  "version": 1,
//	  "vaults": {
//	    "/home/me/.local/share/kr/vault": ["age1...", "age1..."]
//	  }
//	}
//
// Vaults are keyed by their absolute, cleaned directory with symlinks
// resolved: one vault, one list, whatever path reaches it.
package recipients

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kr-keyring/kr/internal/config"
	"github.com/kr-keyring/kr/internal/limitio"
	"github.com/kr-keyring/kr/internal/strictjson"
)

// FileName is the record's name in kr's config directory.
const FileName = "recipients.json"

const (
	formatVersion = 1
	maxSize       = 1 << 20
)

// Record is the accepted-recipients file at Path. Changes are made under
// the record's lock (config.Update): two kr processes accepting at the
// same moment both find their recipient recorded.
type Record struct {
	Path string
}

// Default returns the record in kr's config directory (KR_CONFIG_DIR, else
// the user's config directory).
func Default(getenv func(string) string) (*Record, error) {
	dir, err := config.Dir(getenv)
	if err != nil {
		return nil, err
	}
	return &Record{Path: filepath.Join(dir, FileName)}, nil
}

type record struct {
	Version int                 `json:"version"`
	Vaults  map[string][]string `json:"vaults"`
}

// key is how a vault directory is recorded: one directory, one key. A
// vault reached through a symlink under another path must find what was
// accepted through the first, or a scope a pusher removed would read, on
// that path, as one never accepted. legacy is the key before symlinks
// were resolved, still read until a change moves its entry.
func key(vaultDir string) (k, legacy string, err error) {
	if vaultDir == "" {
		return "", "", errors.New("vault directory not set")
	}
	abs, err := filepath.Abs(vaultDir)
	if err != nil {
		return "", "", err
	}
	k, err = config.ResolveDir(abs)
	return k, abs, err
}

// entry returns the vault's list, moving an entry under its legacy key to
// k: then a Forget cannot leave a copy behind that Accepted would read.
func (rec *record) entry(k, legacy string) ([]string, bool) {
	if list, ok := rec.Vaults[k]; ok || legacy == k {
		return list, ok
	}
	list, ok := rec.Vaults[legacy]
	if ok {
		delete(rec.Vaults, legacy)
		rec.Vaults[k] = list
	}
	return list, ok
}

func (r *Record) load() (*record, error) {
	b, err := limitio.ReadFile(r.Path, maxSize)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the accepted recipients: %w", err)
	}
	return r.parse(b)
}

// parse reads the record's content b; none is an empty record.
func (r *Record) parse(b []byte) (*record, error) {
	if b == nil {
		return &record{Version: formatVersion, Vaults: map[string][]string{}}, nil
	}
	var rec record
	if err := strictjson.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("read the accepted recipients: %s: %w", r.Path, err)
	}
	if rec.Version != formatVersion {
		return nil, fmt.Errorf("read the accepted recipients: %s: format version %d is not supported (this kr reads version %d)", r.Path, rec.Version, formatVersion)
	}
	if rec.Vaults == nil {
		rec.Vaults = map[string][]string{}
	}
	return &rec, nil
}

// update changes the record under its lock: change sees what another kr
// recorded meanwhile and reports whether it changed anything.
func (r *Record) update(change func(rec *record) bool) error {
	err := config.Update(r.Path, func(old []byte) ([]byte, error) {
		rec, err := r.parse(old)
		if err != nil {
			return nil, err
		}
		if !change(rec) {
			return old, nil
		}
		b, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			return nil, err
		}
		return append(b, '\n'), nil
	})
	if err != nil {
		return fmt.Errorf("record accepted recipients: %w", err)
	}
	return nil
}

// Accepted returns the recipients accepted for the vault in vaultDir, none
// when nothing is recorded for it.
func (r *Record) Accepted(vaultDir string) ([]string, error) {
	k, legacy, err := key(vaultDir)
	if err != nil {
		return nil, err
	}
	rec, err := r.load()
	if err != nil {
		return nil, err
	}
	list, _ := rec.entry(k, legacy)
	return list, nil
}

// AcceptedBelow returns every list recorded for a directory below dir
// (a vault's scopes), keyed by its slash path relative to dir: one read of
// the record for all of them, where Accepted per folder read it each time.
func (r *Record) AcceptedBelow(dir string) (map[string][]string, error) {
	k, legacy, err := key(dir)
	if err != nil {
		return nil, err
	}
	rec, err := r.load()
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	// Entries under the legacy key first: one under the resolved key wins.
	for _, base := range []string{legacy, k} {
		for e, list := range rec.Vaults {
			if rel, ok := strings.CutPrefix(e, base+string(filepath.Separator)); ok {
				out[filepath.ToSlash(rel)] = list
			}
		}
	}
	return out, nil
}

// Accept records recipients as accepted for the vault in vaultDir.
func (r *Record) Accept(vaultDir string, recipients ...string) error {
	k, legacy, err := key(vaultDir)
	if err != nil {
		return err
	}
	return r.update(func(rec *record) bool {
		list, _ := rec.entry(k, legacy)
		changed := false
		for _, rcp := range recipients {
			if !slices.Contains(list, rcp) {
				list = append(list, rcp)
				changed = true
			}
		}
		if !changed {
			return false
		}
		rec.Vaults[k] = list
		return true
	})
}

// Forget takes recipients out of the vault's accepted list: a removed
// member added back later is asked about again.
func (r *Record) Forget(vaultDir string, recipients ...string) error {
	k, legacy, err := key(vaultDir)
	if err != nil {
		return err
	}
	return r.update(func(rec *record) bool {
		list, ok := rec.entry(k, legacy)
		if !ok {
			return false
		}
		kept := slices.DeleteFunc(slices.Clone(list), func(s string) bool { return slices.Contains(recipients, s) })
		if len(kept) == len(list) {
			return false
		}
		rec.Vaults[k] = kept
		return true
	})
}

// Fingerprint is how a recipient is shown to people: the first 64 bits of
// the SHA-256 of its age1 string, as four groups of four hex digits
// ("3f2a:09bc:77d1:e045"). Short enough to read out over a call. Matching
// one takes about 2^64 key generations: out of reach for casual forgery,
// not for everyone, so the record keeps and compares the full age1 string
// and a command that accepts should show it too.
func Fingerprint(recipient string) string {
	sum := sha256.Sum256([]byte(recipient))
	h := hex.EncodeToString(sum[:8])
	return h[0:4] + ":" + h[4:8] + ":" + h[8:12] + ":" + h[12:16]
}
