// Package vault reads a HashiCorp Vault or OpenBao KV version 2 secrets
// engine over its HTTP API, as a kr store: read-only, with the token the
// Vault CLI uses (VAULT_TOKEN, else ~/.vault-token).
package vault

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/limitio"
	"github.com/kr-keyring/kr/internal/wait"
)

// maxResponse bounds an answer: a KV secret is at most a few MiB.
const maxResponse = 4 << 20

// Options say which engine to read and how.
type Options struct {
	// URL is the engine: https://HOST[:PORT]/MOUNT.
	URL string
	// Env reads VAULT_TOKEN, VAULT_CACERT, VAULT_NAMESPACE and HOME.
	Env func(string) string
	// HTTP is the client; nil builds one trusting VAULT_CACERT when set.
	HTTP *http.Client
}

// ErrReadOnly is returned by writes.
var ErrReadOnly = errors.New("this store is mounted read-only; change it with the vault's own tools")

// Store is one KV v2 engine. The secret at PATH is kr's PATH: with one
// field, its value is that field's (a string as it is, anything else as
// JSON); with several, the fields as a JSON object. PATH/FIELD reads one
// field of the secret at PATH when no secret is at PATH/FIELD itself.
type Store struct {
	addr  string // scheme://host[:port]
	mount string // the engine's path, no slashes around it
	token string
	ns    string
	http  *http.Client
}

var _ backends.Backend = (*Store)(nil)

// New reads the token; nothing is sent until a value or a listing is
// asked for.
func New(opts Options) (*Store, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%q is not a Vault URL", opts.URL)
	}
	s := &Store{addr: u.Scheme + "://" + u.Host, mount: strings.Trim(u.Path, "/"), ns: opts.Env("VAULT_NAMESPACE"), http: opts.HTTP}
	s.token = strings.TrimSpace(opts.Env("VAULT_TOKEN"))
	if s.token == "" {
		home := opts.Env("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		if b, err := limitio.ReadFile(filepath.Join(home, ".vault-token"), 64<<10); err == nil {
			s.token = strings.TrimSpace(string(b))
		}
	}
	if s.token == "" {
		return nil, errors.New("no Vault token: VAULT_TOKEN is unset and ~/.vault-token is missing ('vault login' writes it)")
	}
	if s.http == nil {
		s.http = &http.Client{}
		if ca := opts.Env("VAULT_CACERT"); ca != "" {
			pem, err := limitio.ReadFile(ca, 1<<20)
			if err != nil {
				return nil, fmt.Errorf("VAULT_CACERT: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("VAULT_CACERT %s holds no PEM certificate", ca)
			}
			s.http.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
		}
	}
	return s, nil
}

func (s *Store) Name() string { return "vault" }

// escapePath escapes each segment of a kr name for a URL path.
func escapePath(name string) string {
	segs := strings.Split(name, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return strings.Join(segs, "/")
}

// do sends one request and decodes a 200 answer's JSON into out; a 404 is
// ErrNotFound. Each request is one wait of --timeout.
func (s *Store) do(ctx context.Context, method, path string, out any) error {
	ctx, end := wait.Bound(ctx, fmt.Sprintf("vault at %s did not answer", s.addr))
	return end(s.send(ctx, method, path, out))
}

func (s *Store) send(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, s.addr+"/v1/"+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Vault-Token", s.token)
	req.Header.Set("X-Vault-Request", "true")
	if s.ns != "" {
		req.Header.Set("X-Vault-Namespace", s.ns)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("vault at %s: %w", s.addr, ctx.Err())
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%w: vault at %s: %v", backends.ErrUnavailable, s.addr, err)
	}
	defer resp.Body.Close()
	b, err := limitio.Read(resp.Body, "vault's answer", maxResponse)
	if err != nil {
		return err
	}
	defer clear(b)
	switch resp.StatusCode {
	case http.StatusOK:
		return json.Unmarshal(b, out)
	case http.StatusNotFound:
		return backends.ErrNotFound
	}
	var e struct{ Errors []string }
	json.Unmarshal(b, &e)
	msg := strings.Join(e.Errors, "; ")
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	if resp.StatusCode == http.StatusForbidden {
		return fmt.Errorf("vault at %s refused the token (VAULT_TOKEN or ~/.vault-token): %s", s.addr, msg)
	}
	return fmt.Errorf("vault at %s: HTTP %d: %s", s.addr, resp.StatusCode, msg)
}

func (s *Store) read(ctx context.Context, path string) (map[string]any, error) {
	var out struct {
		Data struct {
			Data map[string]any `json:"data"`
		} `json:"data"`
	}
	if err := s.do(ctx, http.MethodGet, s.mount+"/data/"+escapePath(path), &out); err != nil {
		return nil, err
	}
	if out.Data.Data == nil {
		return nil, backends.ErrNotFound // a deleted version
	}
	return out.Data.Data, nil
}

func (s *Store) Get(ctx context.Context, name string) ([]byte, error) {
	data, err := s.read(ctx, name)
	field := ""
	if errors.Is(err, backends.ErrNotFound) {
		if i := strings.LastIndexByte(name, '/'); i > 0 {
			field = name[i+1:]
			data, err = s.read(ctx, name[:i])
			if err == nil {
				v, ok := data[field]
				if !ok {
					err = backends.ErrNotFound
				}
				data = map[string]any{field: v}
			}
		}
	}
	if errors.Is(err, backends.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", backends.ErrNotFound, name)
	}
	if err != nil {
		return nil, err
	}
	if len(data) == 1 {
		for _, v := range data {
			if str, ok := v.(string); ok {
				return []byte(str), nil
			}
			return json.Marshal(v)
		}
	}
	return json.Marshal(data)
}

func (s *Store) Set(context.Context, string, []byte) error { return ErrReadOnly }
func (s *Store) Delete(context.Context, string) error      { return ErrReadOnly }

// List walks the engine's metadata from the folder prefix lies in; names
// are secrets' paths, never their fields.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	dir := ""
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dir = prefix[:i+1]
	}
	var names []string
	queue := []string{dir}
	for n := 0; len(queue) > 0 && n < 10000; n++ {
		d := queue[0]
		queue = queue[1:]
		var out struct {
			Data struct {
				Keys []string `json:"keys"`
			} `json:"data"`
		}
		err := s.do(ctx, "LIST", s.mount+"/metadata/"+escapePath(strings.TrimSuffix(d, "/")), &out)
		if errors.Is(err, backends.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, k := range out.Data.Keys {
			full := d + k
			if !strings.HasPrefix(full, prefix) && !strings.HasPrefix(prefix, full) {
				continue
			}
			if strings.HasSuffix(k, "/") {
				queue = append(queue, full)
			} else if strings.HasPrefix(full, prefix) && backends.ValidateName(full) == nil {
				names = append(names, full)
			}
		}
	}
	sort.Strings(names)
	return names, nil
}
