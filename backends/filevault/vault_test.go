package filevault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/backendtest"
)

const testPass = "test passphrase"

func newVault(t testing.TB) *Vault {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vault")
	v, err := Open(Options{
		Dir:              dir,
		ScryptWorkFactor: 10,
		Decrypter: &PassphraseDecrypter{Passphrase: func(context.Context) ([]byte, error) {
			return []byte(testPass), nil
		}},
		Create: func(context.Context) ([]byte, error) { return []byte(testPass), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backends.Backend { return newVault(t) })
}

func TestCreateOnFirstWrite(t *testing.T) {
	v := newVault(t)
	var shown string
	v.opts.ShowRecovery = func(code string) { shown = code }
	if v.Exists() {
		t.Fatal("a new directory holds a vault")
	}
	if err := v.Set(context.Background(), "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if !v.Exists() || len(normalizeRecoveryCode(shown)) != 35 {
		t.Fatalf("vault not created or recovery code %q not shown", shown)
	}
	if runtime.GOOS != "windows" {
		for _, p := range []string{"", "secrets", "vault.json", "identity.age", "recovery.age", "secrets/a.age"} {
			fi, err := os.Stat(v.path(p))
			if err != nil {
				t.Fatal(err)
			}
			if perm := fi.Mode().Perm(); perm&0o077 != 0 {
				t.Errorf("%s has mode %04o, want no group or other bits", p, perm)
			}
		}
	}
	// Without Create, a missing vault is an error and nothing is made.
	w, _ := Open(Options{Dir: filepath.Join(t.TempDir(), "none")})
	if err := w.Set(context.Background(), "a", []byte("1")); !errors.Is(err, ErrNoVault) {
		t.Fatalf("Set on a missing vault without Create: %v", err)
	}
	if _, err := os.Stat(w.Dir()); !os.IsNotExist(err) {
		t.Fatalf("directory created: %v", err)
	}
}

func TestWrongPassphrase(t *testing.T) {
	v := newVault(t)
	ctx := context.Background()
	if err := v.Set(ctx, "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	r, _ := Open(Options{Dir: v.Dir(), Decrypter: &PassphraseDecrypter{Passphrase: func(context.Context) ([]byte, error) {
		return []byte("not it"), nil
	}}})
	_, err := r.Get(ctx, "a")
	if !errors.Is(err, ErrBadPassphrase) {
		t.Fatalf("Get with a wrong passphrase: %v", err)
	}
	if strings.Contains(err.Error(), "not it") {
		t.Fatalf("the passphrase is in the error: %v", err)
	}
	if err := v.Passwd(ctx, []byte("not it"), []byte("new")); !errors.Is(err, ErrBadPassphrase) {
		t.Fatalf("Passwd with a wrong passphrase: %v", err)
	}
	if err := v.Recover(ctx, "AAAAA-AAAAA", []byte("new")); !errors.Is(err, ErrBadPassphrase) {
		t.Fatalf("Recover with a wrong code: %v", err)
	}
	if got, err := v.Get(ctx, "a"); err != nil || string(got) != "1" {
		t.Fatalf("after failed passwd/recover: %q, %v", got, err)
	}
}

func TestPasswdTouchesNoSecret(t *testing.T) {
	v := newVault(t)
	ctx := context.Background()
	for i := range 5 {
		if err := v.Set(ctx, fmt.Sprint("s", i), []byte(fmt.Sprint("v", i))); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshot(t, v.path(secretsDir))
	if err := v.Passwd(ctx, []byte(testPass), []byte("second")); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, v.path(secretsDir)); after != before {
		t.Fatal("passwd changed secret files")
	}
	r, _ := Open(Options{Dir: v.Dir(), Decrypter: &PassphraseDecrypter{Passphrase: func(context.Context) ([]byte, error) {
		return []byte("second"), nil
	}}})
	if got, err := r.Get(ctx, "s3"); err != nil || string(got) != "v3" {
		t.Fatalf("Get after passwd: %q, %v", got, err)
	}
}

func snapshot(t *testing.T, dir string) string {
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if !d.IsDir() {
			data, _ := os.ReadFile(p)
			fi, _ := d.Info()
			fmt.Fprintf(&b, "%s %d %x\n", p, fi.ModTime().UnixNano(), data)
		}
		return nil
	})
	return b.String()
}

func TestRecover(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "v")
	v, _ := Open(Options{Dir: dir, ScryptWorkFactor: 10})
	ctx := context.Background()
	code, err := v.Init(ctx, []byte("lost"))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Set(ctx, "x", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	// Any case, any grouping.
	sloppy := strings.ToLower(strings.ReplaceAll(code, "-", " "))
	if err := v.Recover(ctx, sloppy, []byte("found")); err != nil {
		t.Fatal(err)
	}
	r, _ := Open(Options{Dir: dir, Decrypter: &PassphraseDecrypter{Passphrase: func(context.Context) ([]byte, error) {
		return []byte("found"), nil
	}}})
	if got, err := r.Get(ctx, "x"); err != nil || string(got) != "kept" {
		t.Fatalf("after recover: %q, %v", got, err)
	}
}

func TestDamagedAndSwappedFiles(t *testing.T) {
	v := newVault(t)
	ctx := context.Background()
	for _, n := range []string{"a", "b", "c"} {
		if err := v.Set(ctx, n, []byte("value of "+n)); err != nil {
			t.Fatal(err)
		}
	}
	ct, _ := os.ReadFile(v.secretPath("a"))
	os.WriteFile(v.secretPath("a"), ct[:len(ct)-10], 0o600)
	if _, err := v.Get(ctx, "a"); err == nil || !strings.Contains(err.Error(), "get a: file secrets/a.age is damaged") {
		t.Fatalf("truncated: %v", err)
	}
	os.WriteFile(v.secretPath("b"), bytes.ReplaceAll(ct, []byte{ct[len(ct)-5]}, []byte{ct[len(ct)-5] ^ 1}), 0o600)
	if _, err := v.Get(ctx, "b"); err == nil || !strings.Contains(err.Error(), "get b: file secrets/b.age is damaged") {
		t.Fatalf("corrupted: %v", err)
	}
	os.WriteFile(v.secretPath("b"), ct, 0o600) // a's file under b's name
	if _, err := v.Get(ctx, "b"); err == nil || !strings.Contains(err.Error(), "holds secret a") {
		t.Fatalf("swapped: %v", err)
	}
	if got, err := v.Get(ctx, "c"); err != nil || string(got) != "value of c" {
		t.Fatalf("an undamaged secret: %q, %v", got, err)
	}
}

func TestModesRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no mode bits")
	}
	v := newVault(t)
	ctx := context.Background()
	if err := v.Set(ctx, "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o770, 0o702, 0o777} {
		os.Chmod(v.Dir(), mode)
		if _, err := v.Get(ctx, "a"); err == nil || !strings.Contains(err.Error(), "writable") {
			t.Errorf("dir mode %04o: Get: %v", mode, err)
		}
		if err := v.Set(ctx, "b", []byte("2")); err == nil {
			t.Errorf("dir mode %04o: Set succeeded", mode)
		}
	}
	os.Chmod(v.Dir(), 0o700)
	os.Chmod(v.secretPath("a"), 0o620)
	if _, err := v.Get(ctx, "a"); err == nil || !strings.Contains(err.Error(), "group-writable") {
		t.Errorf("group-writable file: %v", err)
	}
	os.Chmod(v.secretPath("a"), 0o600)
	if _, err := v.Get(ctx, "b"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("a refused Set wrote b: %v", err)
	}
}

func TestAddRecipient(t *testing.T) {
	v := newVault(t)
	ctx := context.Background()
	if err := v.Set(ctx, "team/db", []byte("shared")); err != nil {
		t.Fatal(err)
	}
	other, err := Open(Options{Dir: filepath.Join(t.TempDir(), "o"), ScryptWorkFactor: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Init(ctx, []byte("other")); err != nil {
		t.Fatal(err)
	}
	oid, _ := other.ID()
	if _, err := v.AddRecipient(ctx, "mate", oid); err != nil {
		t.Fatal(err)
	}
	rs, _ := v.Recipients()
	if len(rs) != 2 {
		t.Fatalf("recipients %q", rs)
	}
	// The other vault's identity now reads this vault's secret file.
	wrapped, _ := other.IdentityFile()
	id, plain, err := unwrapIdentity("identity.age", wrapped, []byte("other"), oid)
	if err != nil {
		t.Fatal(err)
	}
	clear(plain)
	ct, _ := os.ReadFile(v.secretPath("team/db"))
	got, err := decryptLimited(ct, maxCiphertext, id)
	if err != nil || !bytes.HasSuffix(got, []byte("\nshared")) {
		t.Fatalf("teammate decrypt: %q, %v", got, err)
	}
	if _, err := v.AddRecipient(ctx, "mate", "age1notarecipient"); err == nil {
		t.Fatal("a bad recipient was accepted")
	}
}

func TestListSkipsForeignFiles(t *testing.T) {
	v := newVault(t)
	ctx := context.Background()
	v.Set(ctx, "ok", []byte("1"))
	for _, junk := range []string{".kr-tmp-0123", "README", "BAD%zz.age", "UPPER.age", "x.txt"} {
		os.WriteFile(v.path(secretsDir, junk), []byte("x"), 0o600)
	}
	names, err := v.List(ctx, "")
	if err != nil || len(names) != 1 || names[0] != "ok" {
		t.Fatalf("List = %q, %v", names, err)
	}
}

// TestHas answers from the file system alone: no Decrypter is given, so
// any decryption or passphrase prompt would fail the test.
func TestHas(t *testing.T) {
	v := newVault(t)
	ctx := context.Background()
	r, err := Open(Options{Dir: v.Dir()})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := r.Has(ctx, "db/prod"); ok || err != nil {
		t.Fatalf("Has on a missing vault = %v, %v", ok, err)
	}
	for _, n := range []string{"db/prod", "DB"} {
		if err := v.Set(ctx, n, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]bool{"db/prod": true, "DB": true, "db": false, "db/prod2": false, "nope/x": false, "db/PROD": false} {
		if ok, err := r.Has(ctx, name); ok != want || err != nil {
			t.Errorf("Has(%q) = %v, %v; want %v", name, ok, err, want)
		}
	}
	if _, err := r.Has(ctx, "../x"); !errors.Is(err, backends.ErrInvalidName) {
		t.Errorf("Has of an invalid name: %v", err)
	}
	if err := v.Delete(ctx, "db/prod"); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.Has(ctx, "db/prod"); ok || err != nil {
		t.Errorf("Has after Delete = %v, %v", ok, err)
	}
}

func TestRemoveRecipient(t *testing.T) {
	v := newVault(t)
	ctx := context.Background()
	for _, n := range []string{"a", "team/db"} {
		if err := v.Set(ctx, n, []byte("v-"+n)); err != nil {
			t.Fatal(err)
		}
	}
	own, _ := v.ID()
	mate, _ := age.GenerateX25519Identity()
	if n, err := v.AddRecipient(ctx, "mate", mate.Recipient().String()); err != nil || n != 2 {
		t.Fatalf("AddRecipient = %d, %v", n, err)
	}
	if _, err := v.RemoveRecipient(ctx, own); !errors.Is(err, ErrLastRecipient) {
		t.Fatalf("removing the vault's own identity: %v", err)
	}
	if _, err := v.RemoveRecipient(ctx, "age1nobody"); err == nil {
		t.Fatal("removing a stranger worked")
	}
	readable, err := v.RemoveRecipient(ctx, mate.Recipient().String())
	if err != nil || !slices.Equal(readable, []string{"a", "team/db"}) {
		t.Fatalf("RemoveRecipient = %q, %v", readable, err)
	}
	if rs, _ := v.Recipients(); !slices.Equal(rs, []string{own}) {
		t.Fatalf("recipients %q", rs)
	}
	for _, n := range readable {
		ct, _ := os.ReadFile(v.secretPath(n))
		if _, err := decryptLimited(ct, maxCiphertext, mate); err == nil {
			t.Fatalf("the removed key still opens %s", n)
		}
		if got, err := v.Get(ctx, n); err != nil || string(got) != "v-"+n {
			t.Fatalf("Get %s = %q, %v", n, got, err)
		}
	}
	if _, err := v.RemoveRecipient(ctx, mate.Recipient().String()); err == nil {
		t.Fatal("removing twice worked")
	}
}

// corruptingDecrypter spoils vault.json before it decrypts: what it needs
// must come from the vault.json Get already read, not from another read.
type corruptingDecrypter struct {
	dir  string
	next Decrypter
}

func (d corruptingDecrypter) Decrypt(ctx context.Context, s Sealed) ([]byte, error) {
	if err := os.WriteFile(filepath.Join(d.dir, manifestFile), []byte("not json"), 0o600); err != nil {
		return nil, err
	}
	return d.next.Decrypt(ctx, s)
}

// TestGetReadsManifestOnce: Get reads vault.json once and hands the
// Decrypter the identity that copy names, for a vault with its own
// identity and for a shared one read with a personal identity.
func TestGetReadsManifestOnce(t *testing.T) {
	ctx := context.Background()
	pass := &PassphraseDecrypter{Passphrase: func(context.Context) ([]byte, error) { return []byte(testPass), nil }}

	own := newVault(t)
	if err := own.Set(ctx, "a", []byte("v1")); err != nil {
		t.Fatal(err)
	}

	tmp := t.TempDir()
	p := &Personal{Dir: filepath.Join(tmp, "identity"), ScryptWorkFactor: 10}
	pub, _, err := p.Create(ctx, []byte(testPass))
	if err != nil {
		t.Fatal(err)
	}
	shared, err := Open(Options{Dir: filepath.Join(tmp, "shared"), Personal: p, Decrypter: pass})
	if err != nil {
		t.Fatal(err)
	}
	if err := shared.InitShared(ctx, "me", pub); err != nil {
		t.Fatal(err)
	}
	if err := shared.Set(ctx, "a", []byte("v1")); err != nil {
		t.Fatal(err)
	}

	for name, v := range map[string]*Vault{"own identity": own, "shared": shared} {
		t.Run(name, func(t *testing.T) {
			v.opts.Decrypter = corruptingDecrypter{dir: v.Dir(), next: pass}
			if got, err := v.Get(ctx, "a"); err != nil || string(got) != "v1" {
				t.Fatalf("Get = %q, %v; want v1 from the vault.json read before decrypting", got, err)
			}
		})
	}
}
