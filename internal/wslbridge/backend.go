package wslbridge

import (
	"context"
	"errors"
	"time"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/credkit"
	"github.com/kr-keyring/kr/internal/wait"
)

// Backend is the dpapi store of one service on the Windows side, reached
// through a bridge: the same Credential Manager items kr.exe reads and
// writes (target SERVICE:NAME, DPAPI files for large values).
type Backend struct {
	c       *Client
	service string
	limit   time.Duration // --timeout, for the layouts' calls, which take no context
}

var _ backends.Backend = (*Backend)(nil)

// NewBackend is the store of service through c; ctx's --timeout (see
// package wait) bounds the calls of Creds.
func NewBackend(ctx context.Context, c *Client, service string) *Backend {
	if service == "" {
		service = "kr"
	}
	limit, _ := wait.Limit(ctx)
	return &Backend{c: c, service: service, limit: limit}
}

func (b *Backend) Name() string { return backends.WSL }

// Client is the bridge the store goes through.
func (b *Backend) Client() *Client { return b.c }

func (b *Backend) Get(ctx context.Context, name string) ([]byte, error) {
	resp, err := b.c.do(ctx, &Request{Op: OpGet, Service: b.service, Name: name})
	if err != nil {
		return nil, err
	}
	if resp.Value == nil {
		return []byte{}, nil // an empty value travels as none
	}
	return resp.Value, nil
}

func (b *Backend) Set(ctx context.Context, name string, value []byte) error {
	_, err := b.c.do(ctx, &Request{Op: OpSet, Service: b.service, Name: name, Value: value})
	return err
}

func (b *Backend) Delete(ctx context.Context, name string) error {
	_, err := b.c.do(ctx, &Request{Op: OpRm, Service: b.service, Name: name})
	return err
}

func (b *Backend) List(ctx context.Context, prefix string) ([]string, error) {
	resp, err := b.c.do(ctx, &Request{Op: OpList, Service: b.service, Name: prefix})
	if err != nil {
		return nil, err
	}
	return resp.Names, nil
}

// Creds is Credential Manager's generic credentials through the bridge,
// for git's and docker's layouts. Each call waits at most --timeout.
func (b *Backend) Creds() credkit.CredentialManager {
	return creds{b.c, wait.WithLimit(context.Background(), b.limit)}
}

// do sends req; a failed request is a *remoteError. The request's value
// is wiped once sent; the caller owns the answer's.
func (c *Client) do(ctx context.Context, req *Request) (*Response, error) {
	var resp Response
	err := c.call(ctx, req, &resp)
	req.Value = nil // the caller's buffer: not this package's to wipe
	if err != nil {
		return nil, err
	}
	if resp.Code != "" {
		clear(resp.Value)
		return nil, &remoteError{code: resp.Code, msg: resp.Error}
	}
	return &resp, nil
}

// remoteError is a request kr.exe refused or failed, with its text and
// the kr error its code stands for.
type remoteError struct{ code, msg string }

func (e *remoteError) Error() string {
	if e.msg == "" {
		return "kr.exe: " + e.code
	}
	return e.msg
}

func (e *remoteError) Is(target error) bool {
	switch e.code {
	case CodeNotFound:
		return target == backends.ErrNotFound || target == credkit.ErrNoItem
	case CodeTooBig:
		return target == backends.ErrTooBig
	case CodeLocked:
		return target == backends.ErrLocked
	case CodeBadName:
		return target == backends.ErrInvalidName
	}
	return false
}

// creds is credkit.CredentialManager over a bridge.
type creds struct {
	c   *Client
	ctx context.Context
}

func (a creds) List(prefix string) ([]credkit.GenericCredential, error) {
	resp, err := a.c.do(a.ctx, &Request{Op: OpCredList, Name: prefix})
	if err != nil {
		return nil, err
	}
	out := make([]credkit.GenericCredential, 0, len(resp.Creds))
	for _, i := range resp.Creds {
		c, err := fromInfo(i)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (a creds) Read(target string) (credkit.GenericCredential, error) {
	resp, err := a.c.do(a.ctx, &Request{Op: OpCredRead, Name: target})
	if err != nil {
		return credkit.GenericCredential{}, err
	}
	if len(resp.Creds) != 1 {
		clear(resp.Value)
		return credkit.GenericCredential{}, errors.New("kr.exe answered a credential read without the credential")
	}
	c, err := fromInfo(resp.Creds[0])
	if err != nil {
		clear(resp.Value)
		return credkit.GenericCredential{}, err
	}
	c.Blob = resp.Value
	return c, nil
}

func (a creds) Write(c credkit.GenericCredential) error {
	c.Modified = time.Time{}
	i := info(c)
	_, err := a.c.do(a.ctx, &Request{Op: OpCredWrite, Name: c.Target, Cred: &i, Value: c.Blob})
	return err
}

func (a creds) Delete(target string) error {
	_, err := a.c.do(a.ctx, &Request{Op: OpCredRm, Name: target})
	return err
}
