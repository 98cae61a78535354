package format

// A signed vault (vault.json version 3) keeps its integrity against the
// repository's writers: every member has an Ed25519 signing key, the
// Edwards form of their age key (internal/xeddsa), so accepting a member's
// age key accepts the only key that can sign as them. vault.json carries
//
//	"vault":     a random id, so a signature from one vault means nothing
//	             in another
//	"epoch":     the membership's version, raised by every change
//	each member's "epoch", "added_by" and "signature": the member who
//	             added them signed their name and key at that epoch (the
//	             founder signs their own entry)
//	"signed_by", "signature": the member who made the last change signed
//	             the whole list at the vault's epoch
//
// Trust starts outside the vault, with the keys the user accepted, and
// follows the entries' signatures (Chain); the rest of the vault is then
// checked against the members the chain reaches.

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"filippo.io/age"

	"github.com/kr-keyring/kr/internal/xeddsa"
)

// Entry is a member's signed entry in a signed vault.
type Entry struct {
	Epoch     uint64 // the epoch at which they were added
	AddedBy   string // age1 key of the member who added them
	Signature []byte // AddedBy's signature of MemberMessage
}

// Signer signs a message with a member's key (xeddsa.Sign under the hood,
// wherever the key is: this process or the agent).
type Signer func(msg []byte) ([]byte, error)

// VaultIDLen is the length of a vault id: 16 random bytes in hex.
const VaultIDLen = 32

// ValidVaultID checks a vault id's form.
func ValidVaultID(id string) error {
	if len(id) != VaultIDLen || strings.ToLower(id) != id {
		return errors.New("vault id is not 32 lowercase hex digits")
	}
	if _, err := hex.DecodeString(id); err != nil {
		return errors.New("vault id is not 32 lowercase hex digits")
	}
	return nil
}

// parseSigned checks the signed vault's own fields.
func (m *Manifest) parseSigned(raw manifestJSON) error {
	if err := ValidVaultID(raw.VaultID); err != nil {
		return err
	}
	if raw.Epoch == 0 {
		return errors.New("a signed vault's epoch starts at 1")
	}
	m.VaultID, m.Epoch, m.Entries = raw.VaultID, raw.Epoch, map[string]Entry{}
	if raw.SignedBy != "" || raw.Signature != nil {
		if _, err := age.ParseX25519Recipient(raw.SignedBy); err != nil {
			return fmt.Errorf("signed_by: %w", err)
		}
		if len(raw.Signature) != xeddsa.SignatureSize {
			return errors.New("signature: not an Ed25519 signature")
		}
		m.SignedBy, m.Signature = raw.SignedBy, raw.Signature
	}
	return nil
}

func (m *Manifest) parseEntry(e signedMemberJSON) error {
	if e.Epoch == 0 || e.Epoch > m.Epoch {
		return fmt.Errorf("added at epoch %d, outside the vault's 1 to %d", e.Epoch, m.Epoch)
	}
	if _, err := age.ParseX25519Recipient(e.AddedBy); err != nil {
		return fmt.Errorf("added_by: %w", err)
	}
	if len(e.Signature) != xeddsa.SignatureSize {
		return errors.New("signature: not an Ed25519 signature")
	}
	m.Entries[e.Key] = Entry{Epoch: e.Epoch, AddedBy: e.AddedBy, Signature: e.Signature}
	return nil
}

// MemberMessage is what the member who adds key, called name, signs.
func MemberMessage(vaultID string, epoch uint64, name, key, addedBy string) []byte {
	return []byte("kr-member/v1\nvault " + vaultID + "\nepoch " + strconv.FormatUint(epoch, 10) +
		"\nname " + name + "\nkey " + key + "\nadded-by " + addedBy + "\n")
}

// ListMessage is what the member who changed the membership last signs:
// every entry, in the file's order, at the vault's epoch.
func (m *Manifest) ListMessage() []byte {
	var b strings.Builder
	b.WriteString("kr-members/v1\nvault " + m.VaultID + "\nepoch " + strconv.FormatUint(m.Epoch, 10) + "\n")
	for _, k := range m.Recipients {
		e := m.Entries[k]
		fmt.Fprintf(&b, "member %s %s %d %s\n", m.Names[k], k, e.Epoch, e.AddedBy)
	}
	b.WriteString("signed-by " + m.SignedBy + "\n")
	return []byte(b.String())
}

// SignEntry makes by, at the vault's epoch, the member who added key.
func (m *Manifest) SignEntry(key, by string, sign Signer) error {
	sig, err := sign(MemberMessage(m.VaultID, m.Epoch, m.Names[key], key, by))
	if err != nil {
		return err
	}
	if m.Entries == nil {
		m.Entries = map[string]Entry{}
	}
	m.Entries[key] = Entry{Epoch: m.Epoch, AddedBy: by, Signature: sig}
	return nil
}

// SignList signs the whole list as by.
func (m *Manifest) SignList(by string, sign Signer) error {
	m.SignedBy = by
	sig, err := sign(m.ListMessage())
	if err != nil {
		m.SignedBy = ""
		return err
	}
	m.Signature = sig
	return nil
}

// Chain returns the members the keys in trusted lead to: a trusted key
// that is a member, and every member whose entry is signed by a member
// reached already, who was one at the entry's epoch. Nothing else is
// reached: an entry a pusher wrote has no member's signature.
func (m *Manifest) Chain(trusted []string) map[string]bool {
	reached := map[string]bool{}
	for _, k := range m.Recipients {
		for _, t := range trusted {
			if k == t {
				reached[k] = true
			}
		}
	}
	for grew := true; grew; {
		grew = false
		for _, k := range m.Recipients {
			if reached[k] {
				continue
			}
			e, ok := m.Entries[k]
			if !ok || !reached[e.AddedBy] || e.AddedBy == k {
				continue
			}
			if m.Entries[e.AddedBy].Epoch > e.Epoch {
				continue // the adder was no member yet at that epoch
			}
			if xeddsa.VerifyRecipient(e.AddedBy, MemberMessage(m.VaultID, e.Epoch, m.Names[k], k, e.AddedBy), e.Signature) {
				reached[k] = true
				grew = true
			}
		}
	}
	return reached
}

// CheckList checks the list's signature: by a member the chain reached.
func (m *Manifest) CheckList(reached map[string]bool) error {
	if m.SignedBy == "" {
		return errors.New("the member list is not signed")
	}
	if !reached[m.SignedBy] {
		who := m.SignedBy
		if n := m.Names[who]; n != "" {
			who = n + " (" + who + ")"
		}
		return fmt.Errorf("the member list is signed by %s, not a member you trust", who)
	}
	if !xeddsa.VerifyRecipient(m.SignedBy, m.ListMessage(), m.Signature) {
		return errors.New("the member list's signature does not match it")
	}
	return nil
}
