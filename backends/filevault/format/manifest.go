package format

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"filippo.io/age"

	"github.com/kr-keyring/kr/internal/strictjson"
)

// Manifest is vault.json. A shared vault names its members:
//
//	{"version": 2, "recipients": [{"name": "alice", "key": "age1..."}]}
//
// A version 1 vault (one person's) lists bare keys, as it always has; a
// bare key is also read in a version 2 file (one written before names).
type Manifest struct {
	Version    int
	Identity   string            // the vault's own recipient; "" in a shared vault
	Recipients []string          // age1 keys, in the file's order
	Names      map[string]string // key -> member name, where one is given

	// A signed vault (version 3, signed.go) also has an id, a membership
	// epoch, each member's entry signed by whoever added them, and the
	// whole list signed by the member who changed it last.
	VaultID   string
	Epoch     uint64
	Entries   map[string]Entry // key -> its signed entry
	SignedBy  string           // age1 key of the list's signer; "" when unsigned
	Signature []byte
}

// NewPersonal is the vault.json of a new personal vault whose identity's
// recipient is pub.
func NewPersonal(pub string) *Manifest {
	return &Manifest{Version: PersonalVersion, Identity: pub, Recipients: []string{pub}}
}

// NewShared is the vault.json of a new shared vault whose only member is
// pub, called name.
func NewShared(name, pub string) *Manifest {
	return &Manifest{Version: SharedVersion, Recipients: []string{pub}, Names: map[string]string{pub: name}}
}

// Shared reports whether m is a shared vault's: no identity of its own,
// and members with names.
func (m *Manifest) Shared() bool { return m.Version >= SharedVersion }

// Signed reports whether m is a signed vault's (version 3).
func (m *Manifest) Signed() bool { return m.Version == SignedVersion }

type manifestJSON struct {
	Version    int               `json:"version"`
	VaultID    string            `json:"vault,omitempty"`
	Epoch      uint64            `json:"epoch,omitempty"`
	Identity   string            `json:"identity,omitempty"`
	Recipients []json.RawMessage `json:"recipients"`
	SignedBy   string            `json:"signed_by,omitempty"`
	Signature  []byte            `json:"signature,omitempty"`
}

type memberJSON struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// signedMemberJSON is a member of a signed vault.
type signedMemberJSON struct {
	Name      string `json:"name"`
	Key       string `json:"key"`
	Epoch     uint64 `json:"epoch"`
	AddedBy   string `json:"added_by"`
	Signature []byte `json:"signature"`
}

// Name returns the member name of key, or "" if it has none.
func (m *Manifest) Name(key string) string { return m.Names[key] }

// KeyOf returns the key of the member called name.
func (m *Manifest) KeyOf(name string) (string, bool) {
	for k, n := range m.Names {
		if n == name {
			return k, true
		}
	}
	return "", false
}

// Clone returns a copy of m that shares nothing with it.
func (m *Manifest) Clone() *Manifest {
	c := *m
	c.Recipients = slices.Clone(m.Recipients)
	c.Names = map[string]string{}
	for k, n := range m.Names {
		c.Names[k] = n
	}
	if m.Entries != nil {
		c.Entries = map[string]Entry{}
		for k, e := range m.Entries {
			c.Entries[k] = e
		}
	}
	c.Signature = slices.Clone(m.Signature)
	return &c
}

// Marshal writes m as vault.json: a personal vault's recipients as bare
// keys, a shared vault's named members as objects.
func (m *Manifest) Marshal() ([]byte, error) {
	out := manifestJSON{Version: m.Version, Identity: m.Identity, Recipients: []json.RawMessage{}}
	if m.Signed() {
		out.VaultID, out.Epoch, out.SignedBy, out.Signature = m.VaultID, m.Epoch, m.SignedBy, m.Signature
	}
	for _, k := range m.Recipients {
		var v any = k
		if n := m.Names[k]; n != "" && m.Shared() {
			v = memberJSON{Name: n, Key: k}
		}
		if m.Signed() {
			e := m.Entries[k]
			v = signedMemberJSON{Name: m.Names[k], Key: k, Epoch: e.Epoch, AddedBy: e.AddedBy, Signature: e.Signature}
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		out.Recipients = append(out.Recipients, b)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	return append(b, '\n'), err
}

// ValidMemberName checks a member's name: 1 to 64 of A-Z a-z 0-9 . _ - @,
// not starting with . or -.
func ValidMemberName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("member name %q: 1 to 64 characters", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._-@", c) >= 0
		if !ok || (i == 0 && (c == '.' || c == '-')) {
			return fmt.Errorf("member name %q: use A-Z a-z 0-9 . _ - @, not starting with . or -", name)
		}
	}
	return nil
}

// ParseManifest reads vault.json strictly: a known version, an X25519
// identity that is among the recipients, and recipients that parse, each
// once, with names that are valid and distinct.
func ParseManifest(b []byte) (*Manifest, error) {
	if len(b) > MaxSmallFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", ManifestFile, MaxSmallFile)
	}
	// Strictly: encoding/json lets a later "Recipients" win over the
	// "recipients" a reviewer of a shared vault reads.
	var raw manifestJSON
	if err := strictjson.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestFile, err)
	}
	m := &Manifest{Version: raw.Version, Identity: raw.Identity}
	if m.Version != SignedVersion && (raw.VaultID != "" || raw.Epoch != 0 || raw.SignedBy != "" || raw.Signature != nil) {
		return nil, fmt.Errorf("%s: a version %d vault is not signed", ManifestFile, m.Version)
	}
	switch m.Version {
	case PersonalVersion:
		if _, err := age.ParseX25519Recipient(m.Identity); err != nil {
			return nil, fmt.Errorf("%s: identity: %w", ManifestFile, err)
		}
	case SharedVersion, SignedVersion:
		if m.Identity != "" {
			return nil, fmt.Errorf("%s: a version %d vault holds no identity", ManifestFile, m.Version)
		}
		if len(raw.Recipients) == 0 {
			return nil, fmt.Errorf("%s: no recipients", ManifestFile)
		}
	default:
		return nil, fmt.Errorf("%s: format version %d is not supported (this kr reads versions %d to %d)", ManifestFile, m.Version, PersonalVersion, SignedVersion)
	}
	if m.Signed() {
		if err := m.parseSigned(raw); err != nil {
			return nil, fmt.Errorf("%s: %w", ManifestFile, err)
		}
	}
	own := m.Identity == ""
	for _, e := range raw.Recipients {
		var mem memberJSON
		bare := false
		switch {
		case m.Signed():
			var signed signedMemberJSON
			if err := strictjson.Unmarshal(e, &signed); err != nil {
				return nil, fmt.Errorf("%s: recipient: %w", ManifestFile, err)
			}
			mem = memberJSON{Name: signed.Name, Key: signed.Key}
			if err := m.parseEntry(signed); err != nil {
				return nil, fmt.Errorf("%s: recipient %s: %w", ManifestFile, mem.Name, err)
			}
		case len(e) > 0 && e[0] == '"':
			bare = true
			if err := json.Unmarshal(e, &mem.Key); err != nil {
				return nil, fmt.Errorf("%s: %w", ManifestFile, err)
			}
		default:
			if m.Version == PersonalVersion {
				return nil, fmt.Errorf("%s: a version %d vault lists keys, not members", ManifestFile, PersonalVersion)
			}
			if err := strictjson.Unmarshal(e, &mem); err != nil {
				return nil, fmt.Errorf("%s: recipient: %w", ManifestFile, err)
			}
		}
		if !bare {
			if err := ValidMemberName(mem.Name); err != nil {
				return nil, fmt.Errorf("%s: %w", ManifestFile, err)
			}
			if _, taken := m.KeyOf(mem.Name); taken {
				return nil, fmt.Errorf("%s: two recipients are named %s", ManifestFile, mem.Name)
			}
		}
		r := mem.Key
		if _, err := age.ParseX25519Recipient(r); err != nil {
			return nil, fmt.Errorf("%s: recipient %q: %w", ManifestFile, r, err)
		}
		if slices.Contains(m.Recipients, r) {
			return nil, fmt.Errorf("%s: recipient %s listed twice", ManifestFile, r)
		}
		m.Recipients = append(m.Recipients, r)
		if mem.Name != "" {
			if m.Names == nil {
				m.Names = map[string]string{}
			}
			m.Names[r] = mem.Name
		}
		own = own || r == m.Identity
	}
	if !own {
		return nil, fmt.Errorf("%s: the vault's own identity is not among its recipients", ManifestFile)
	}
	return m, nil
}
