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
func (m *Manifest) Shared() bool { return m.Version == SharedVersion }

type manifestJSON struct {
	Version    int               `json:"version"`
	Identity   string            `json:"identity,omitempty"`
	Recipients []json.RawMessage `json:"recipients"`
}

type memberJSON struct {
	Name string `json:"name"`
	Key  string `json:"key"`
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
	return &c
}

// Marshal writes m as vault.json: a personal vault's recipients as bare
// keys, a shared vault's named members as objects.
func (m *Manifest) Marshal() ([]byte, error) {
	out := manifestJSON{Version: m.Version, Identity: m.Identity, Recipients: []json.RawMessage{}}
	for _, k := range m.Recipients {
		var v any = k
		if n := m.Names[k]; n != "" && m.Shared() {
			v = memberJSON{Name: n, Key: k}
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
	switch m.Version {
	case PersonalVersion:
		if _, err := age.ParseX25519Recipient(m.Identity); err != nil {
			return nil, fmt.Errorf("%s: identity: %w", ManifestFile, err)
		}
	case SharedVersion:
		if m.Identity != "" {
			return nil, fmt.Errorf("%s: a version %d vault holds no identity", ManifestFile, SharedVersion)
		}
		if len(raw.Recipients) == 0 {
			return nil, fmt.Errorf("%s: no recipients", ManifestFile)
		}
	default:
		return nil, fmt.Errorf("%s: format version %d is not supported (this kr reads versions %d and %d)", ManifestFile, m.Version, PersonalVersion, SharedVersion)
	}
	own := m.Identity == ""
	for _, e := range raw.Recipients {
		var mem memberJSON
		if len(e) > 0 && e[0] == '"' {
			if err := json.Unmarshal(e, &mem.Key); err != nil {
				return nil, fmt.Errorf("%s: %w", ManifestFile, err)
			}
		} else {
			if m.Version == PersonalVersion {
				return nil, fmt.Errorf("%s: a version %d vault lists keys, not members", ManifestFile, PersonalVersion)
			}
			if err := strictjson.Unmarshal(e, &mem); err != nil {
				return nil, fmt.Errorf("%s: recipient: %w", ManifestFile, err)
			}
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
