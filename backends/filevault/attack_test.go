package filevault

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// kr vault recipients rm killed after the batch of secrets and before
// vault.json (the documented interruption: "run again, it finishes the
// job") must still print, when run again, the secrets the removed member
// could read: they are the ones to rotate.
func TestRemoveRecipientInterruptedListsWhatToRotate(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	if _, err := tm.v.AddRecipient(ctx, "bob", tm.bobK); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"dev/a", "prod/b"} {
		if err := tm.v.Set(ctx, n, []byte("value of "+n)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tm.v.SetScope(ctx, "prod", []string{tm.aliceK, tm.bobK}); err != nil {
		t.Fatal(err)
	}
	manifest, scope := tm.v.path(manifestFile), filepath.Join(tm.v.folderDir("prod"), scopeFile)
	oldManifest, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	oldScope, err := os.ReadFile(scope)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tm.v.RemoveRecipient(ctx, tm.bobK); err != nil {
		t.Fatal(err)
	}
	// The state a kill right after the batch leaves: secrets re-encrypted,
	// the scope and vault.json not yet written, bob still accepted.
	for f, b := range map[string][]byte{manifest: oldManifest, scope: oldScope} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := tm.v.opts.Accepted.Accept(tm.v.Dir(), tm.bobK); err != nil {
		t.Fatal(err)
	}
	if err := tm.v.opts.Accepted.Accept(tm.v.folderDir("prod"), tm.bobK); err != nil {
		t.Fatal(err)
	}
	readable, err := tm.v.RemoveRecipient(ctx, tm.bobK)
	slices.Sort(readable)
	if err != nil || !slices.Equal(readable, []string{"dev/a", "prod/b"}) {
		t.Fatalf("RemoveRecipient run again = %q, %v; want dev/a and prod/b to rotate", readable, err)
	}
}

// kr vault scope set killed after the batch and before the scope file must
// still print, when run again, the secrets whose readers it changes: a
// member who lost access could read them, so they are the ones to rotate.
func TestSetScopeInterruptedListsWhatToRotate(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	if _, err := tm.v.AddRecipient(ctx, "bob", tm.bobK); err != nil {
		t.Fatal(err)
	}
	if err := tm.v.Set(ctx, "prod/b", []byte("value")); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.v.SetScope(ctx, "prod", []string{tm.aliceK, tm.bobK}); err != nil {
		t.Fatal(err)
	}
	scope := filepath.Join(tm.v.folderDir("prod"), scopeFile)
	old, err := os.ReadFile(scope)
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := tm.v.SetScope(ctx, "prod", []string{tm.aliceK}); err != nil || !slices.Equal(changed, []string{"prod/b"}) {
		t.Fatalf("SetScope = %q, %v", changed, err)
	}
	if err := os.WriteFile(scope, old, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := tm.v.opts.Accepted.Accept(tm.v.folderDir("prod"), tm.bobK); err != nil {
		t.Fatal(err)
	}
	changed, err := tm.v.SetScope(ctx, "prod", []string{tm.aliceK})
	if err != nil || !slices.Equal(changed, []string{"prod/b"}) {
		t.Fatalf("SetScope run again = %q, %v; want prod/b to rotate", changed, err)
	}
}
