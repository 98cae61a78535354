package cli

import (
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/recipients"
)

// vault.json comes from whoever can push, names included: a member may
// name their own key after another member's age1 key or fingerprint. An
// argument that matches two recipients must be refused, not resolved to
// whichever vault.json lists first (kr vault scope set prod alice <carol's
// key> would let mallory into prod).
func TestMatchRecipientRefusesAmbiguity(t *testing.T) {
	var keys []string
	for range 2 {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, id.Recipient().String())
	}
	mallory, carol := keys[0], keys[1]
	fp := strings.ReplaceAll(recipients.Fingerprint(carol), ":", "")
	for _, alias := range []string{carol, fp} {
		if err := filevault.ValidMemberName(alias); err != nil {
			t.Fatalf("%s is no valid name, the attack needs none: %v", alias, err)
		}
		all := []filevault.Member{{Name: alias, Key: mallory}, {Name: "carol", Key: carol}}
		if got, err := matchRecipient(all, alias, "vault"); err == nil {
			t.Errorf("matchRecipient(%s) = %s (mallory: %v), want an error: it names two recipients", alias, got, got == mallory)
		}
		if got, err := matchRecipient(all, "carol", "vault"); err != nil || got != carol {
			t.Errorf("matchRecipient(carol) = %s, %v", got, err)
		}
	}
}
