// Package dpapi stores kr's secrets in Windows Credential Manager as
// generic credentials (target "SERVICE:NAME", user name NAME, the value as
// the blob), the schema zalando/go-keyring uses. Credential Manager holds at
// most 2560 bytes a blob; a larger value is sealed with DPAPI for the
// current user into a file, and the credential keeps a reference to it.
package dpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/atomicfile"
	"github.com/kr-keyring/kr/internal/limitio"
)

// MaxBlob is Credential Manager's CRED_MAX_CREDENTIAL_BLOB_SIZE. Wine does
// not enforce it; kr does.
const MaxBlob = 5 * 512

// Options configures Open.
type Options struct {
	Service string // default "kr"
	Dir     string // where sealed large values go; default %LOCALAPPDATA%\kr\dpapi
}

// credStore is the part of Credential Manager kr uses.
type credStore interface {
	read(target string) ([]byte, error) // errNoCred when absent
	write(target, user string, blob []byte) error
	remove(target string) error // errNoCred when absent
	list(prefix string) ([]string, error)
}

// sealer is DPAPI: data only this user can unseal.
type sealer interface {
	seal(plain []byte) ([]byte, error)
	unseal(sealed []byte) ([]byte, error)
}

var errNoCred = errors.New("credential not found")

// Backend implements backends.Backend on Credential Manager.
type Backend struct {
	service string
	dir     string
	creds   credStore
	seal    sealer
}

var _ backends.Backend = (*Backend)(nil)

// Open returns the Credential Manager backend; on other systems it fails
// with backends.ErrUnsupported.
func Open(ctx context.Context, opts Options) (*Backend, error) {
	creds, seal, dir, err := system(opts.Dir)
	if err != nil {
		return nil, err
	}
	return newBackend(opts.Service, dir, creds, seal), nil
}

func newBackend(service, dir string, creds credStore, seal sealer) *Backend {
	if service == "" {
		service = "kr"
	}
	return &Backend{service: service, dir: dir, creds: creds, seal: seal}
}

func (b *Backend) Name() string { return backends.DPAPI }

func (b *Backend) target(name string) string { return b.service + ":" + name }

// A reference in a credential blob: the marker, the file name and the
// SHA-256 of the sealed file. Values that begin with the marker are always
// spilled, so a stored value is never mistaken for a reference.
const refMarker = "\x00kr-spill-v1\x00"

type ref struct {
	file string // 32 hex digits
	sum  string // 64 hex digits
}

func (r ref) encode() []byte { return []byte(refMarker + r.file + ":" + r.sum) }

func isRef(blob []byte) bool { return bytes.HasPrefix(blob, []byte(refMarker)) }

// decodeRef parses a reference blob strictly.
func decodeRef(blob []byte) (ref, error) {
	rest, ok := bytes.CutPrefix(blob, []byte(refMarker))
	if !ok {
		return ref{}, errors.New("not a reference")
	}
	file, sum, ok := strings.Cut(string(rest), ":")
	if !ok || len(file) != 32 || len(sum) != 64 || !isHex(file) || !isHex(sum) {
		return ref{}, errors.New("malformed reference to a sealed value")
	}
	return ref{file: file, sum: sum}, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// needsSpill decides where a value goes.
func needsSpill(value []byte) bool {
	return len(value) > MaxBlob || isRef(value)
}

func (b *Backend) Get(ctx context.Context, name string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	blob, err := b.creds.read(b.target(name))
	if errors.Is(err, errNoCred) {
		return nil, fmt.Errorf("%w: %s", backends.ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	if !isRef(blob) {
		return blob, nil
	}
	r, err := decodeRef(blob)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	sealed, err := limitio.ReadFile(filepath.Join(b.dir, r.file), backends.MaxValueSize+64<<10)
	if err != nil {
		return nil, fmt.Errorf("secret %s: its sealed value is missing or unreadable: %w", name, err)
	}
	sum := sha256.Sum256(sealed)
	if hex.EncodeToString(sum[:]) != r.sum {
		return nil, fmt.Errorf("secret %s: its sealed value %s is damaged or was replaced", name, r.file)
	}
	v, err := b.seal.unseal(sealed)
	if err != nil {
		return nil, fmt.Errorf("secret %s: unseal: %w", name, err)
	}
	return v, nil
}

func (b *Backend) Set(ctx context.Context, name string, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(value) > backends.MaxValueSize {
		return fmt.Errorf("%w: %d bytes", backends.ErrTooBig, len(value))
	}
	old, err := b.creds.read(b.target(name))
	if err != nil && !errors.Is(err, errNoCred) {
		return fmt.Errorf("set %s: read the old credential: %w", name, err)
	}
	blob := value
	var written string
	if needsSpill(value) {
		r, err := b.spill(value)
		if err != nil {
			return err
		}
		blob, written = r.encode(), filepath.Join(b.dir, r.file)
	}
	if err := b.creds.write(b.target(name), name, blob); err != nil {
		if written != "" {
			os.Remove(written)
		}
		return fmt.Errorf("set %s: %w", name, err)
	}
	// Only now that the new value is in place does the old sealed file go.
	if isRef(old) {
		if r, err := decodeRef(old); err == nil {
			os.Remove(filepath.Join(b.dir, r.file))
		}
	}
	return nil
}

// spill seals value into a new file named at random.
func (b *Backend) spill(value []byte) (ref, error) {
	sealed, err := b.seal.seal(value)
	if err != nil {
		return ref{}, fmt.Errorf("dpapi seal: %w", err)
	}
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return ref{}, err
	}
	sum := sha256.Sum256(sealed)
	r := ref{file: hex.EncodeToString(rnd[:]), sum: hex.EncodeToString(sum[:])}
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		return ref{}, err
	}
	if err := atomicfile.Write(filepath.Join(b.dir, r.file), sealed); err != nil {
		return ref{}, err
	}
	return r, nil
}

func (b *Backend) Delete(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	blob, err := b.creds.read(b.target(name))
	if errors.Is(err, errNoCred) {
		return fmt.Errorf("%w: %s", backends.ErrNotFound, name)
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	if err := b.creds.remove(b.target(name)); err != nil {
		if errors.Is(err, errNoCred) {
			return fmt.Errorf("%w: %s", backends.ErrNotFound, name)
		}
		return fmt.Errorf("delete %s: %w", name, err)
	}
	if isRef(blob) {
		if r, err := decodeRef(blob); err == nil {
			os.Remove(filepath.Join(b.dir, r.file))
		}
	}
	return nil
}

func (b *Backend) List(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	targets, err := b.creds.list(b.service + ":")
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	var names []string
	for _, t := range targets {
		name, ok := strings.CutPrefix(t, b.service+":")
		if ok && strings.HasPrefix(name, prefix) && backends.ValidateName(name) == nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}
