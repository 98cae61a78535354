package dockercred

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/credkit"
)

// WinCredStore keeps logins in Credential Manager as
// docker-credential-wincred does: a generic credential whose target is the
// server URL, UserName the username, the blob the secret's bytes, persisted
// on the local machine, with the attribute label = Label by which docker's
// helper tells its own credentials from others'. Get matches a target
// exactly first, then as docker-credential-wincred does when the request
// leaves out the scheme, port or path (taking the target's).
type WinCredStore struct {
	api winCredAPI // nil: the system's Credential Manager
}

var _ Store = WinCredStore{}

// MaxWinCredBlob is Credential Manager's limit on a credential's blob.
const MaxWinCredBlob = credkit.MaxWinCredBlob

// winCred is a generic credential as far as docker's layout uses it.
type winCred struct {
	Target   string
	UserName string
	Blob     []byte
	Label    string // the "label" attribute; "" when there is none
}

// winCredAPI is the little of Credential Manager the layout needs, so that
// its logic runs and is tested on every OS.
type winCredAPI interface {
	// list returns every credential of the user, with attributes, no blob.
	list() ([]winCred, error)
	// read returns the generic credential target, or errNoCred.
	read(target string) (winCred, error)
	write(c winCred) error
	// remove deletes the generic credential target, or returns errNoCred.
	remove(target string) error
}

func (s WinCredStore) sys() winCredAPI {
	if s.api != nil {
		return s.api
	}
	return systemWinCred()
}

func (s WinCredStore) Add(ctx context.Context, c Credentials) error {
	if len(c.Secret) > MaxWinCredBlob {
		return fmt.Errorf("store %s: %w: Credential Manager keeps at most %d bytes", c.ServerURL, backends.ErrTooBig, MaxWinCredBlob)
	}
	blob := []byte(c.Secret)
	defer clear(blob)
	err := s.sys().write(winCred{Target: c.ServerURL, UserName: c.Username, Blob: blob, Label: Label})
	if err != nil {
		return fmt.Errorf("store %s: %w", c.ServerURL, err)
	}
	return nil
}

func (s WinCredStore) Get(ctx context.Context, serverURL string) (Credentials, error) {
	api := s.sys()
	target, err := s.target(api, serverURL)
	if err != nil {
		return Credentials{}, fmt.Errorf("get %s: %w", serverURL, err)
	}
	if target == "" {
		return Credentials{}, fmt.Errorf("%s: %w", serverURL, backends.ErrNotFound)
	}
	c, err := api.read(target)
	defer clear(c.Blob)
	if errors.Is(err, errNoCred) || (err == nil && c.Label != Label) {
		return Credentials{}, fmt.Errorf("%s: %w", serverURL, backends.ErrNotFound)
	}
	if err != nil {
		return Credentials{}, fmt.Errorf("get %s: %w", serverURL, err)
	}
	return Credentials{ServerURL: serverURL, Username: c.UserName, Secret: string(c.Blob)}, nil
}

// target finds the credential for serverURL among docker's: the URL itself
// when it does not parse as a registry address, else the first exact match,
// else the first approximate one, else "".
func (s WinCredStore) target(api winCredAPI, serverURL string) (string, error) {
	u, err := parseRegistryURL(serverURL)
	if err != nil {
		return serverURL, nil
	}
	all, err := api.list()
	if err != nil {
		return "", err
	}
	var targets []*url.URL
	var names []string
	for _, c := range all {
		if c.Label != Label {
			continue
		}
		if t, err := parseRegistryURL(c.Target); err == nil {
			targets = append(targets, t)
			names = append(names, c.Target)
		}
	}
	for _, match := range []func(q, t url.URL) bool{exactMatch, approximateMatch} {
		for i, t := range targets {
			if match(*u, *t) {
				return names[i], nil
			}
		}
	}
	return "", nil
}

// parseRegistryURL reads a registry address as docker's helpers do: "//"
// in front when there is no scheme, http or https only, a host required,
// the query dropped.
func parseRegistryURL(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") && !strings.HasPrefix(s, "//") {
		s = "//" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "" && u.Scheme != "https" && u.Scheme != "http" {
		return nil, errors.New("unsupported scheme: " + u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("no hostname in URL")
	}
	u.RawQuery = ""
	return u, nil
}

func exactMatch(q, t url.URL) bool { return q.String() == t.String() }

// approximateMatch takes from the target what the request leaves out:
// scheme, port and path. The host must be the same.
func approximateMatch(q, t url.URL) bool {
	if q.Scheme == "" {
		q.Scheme = t.Scheme
	}
	if q.Port() == "" && t.Port() != "" {
		q.Host = q.Host + ":" + t.Port()
	}
	if q.Path == "" {
		q.Path = t.Path
	}
	return q.String() == t.String()
}

func (s WinCredStore) Delete(ctx context.Context, serverURL string) error {
	err := s.sys().remove(serverURL)
	if errors.Is(err, errNoCred) {
		return fmt.Errorf("%s: %w", serverURL, backends.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("erase %s: %w", serverURL, err)
	}
	return nil
}

func (s WinCredStore) List(ctx context.Context) (map[string]string, error) {
	all, err := s.sys().list()
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	out := map[string]string{}
	for _, c := range all {
		if c.Label == Label {
			out[c.Target] = c.UserName
		}
	}
	return out, nil
}
