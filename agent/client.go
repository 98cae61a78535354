package agent

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Errors a client reports, testable with errors.Is.
var (
	ErrLocked        = errors.New("agent: vault not unlocked")
	ErrBadPassphrase = errors.New("agent: wrong passphrase")
)

// Client talks to an agent over one connection.
type Client struct {
	c       net.Conn
	timeout time.Duration
}

// NewClient wraps a connection from ipc.Dial.
func NewClient(c net.Conn) *Client { return &Client{c: c, timeout: 30 * time.Second} }

// Close closes the connection.
func (cl *Client) Close() error { return cl.c.Close() }

func (cl *Client) call(req Request) (*Response, error) {
	req.V = Version
	cl.c.SetDeadline(time.Now().Add(cl.timeout))
	if err := writeMsg(cl.c, req); err != nil {
		return nil, fmt.Errorf("agent: send: %w", err)
	}
	var resp Response
	if err := readMsg(cl.c, &resp); err != nil {
		return nil, fmt.Errorf("agent: receive: %w", err)
	}
	switch {
	case resp.Error == "":
		return &resp, nil
	case resp.Code == "locked":
		return nil, fmt.Errorf("%w: %s", ErrLocked, resp.Error)
	case resp.Code == "bad-passphrase":
		return nil, ErrBadPassphrase
	}
	return nil, fmt.Errorf("agent: %s", resp.Error)
}

// Unlock hands the agent a vault's identity file and passphrase; the agent
// unwraps and keeps the identity for ttl (0: DefaultTTL).
func (cl *Client) Unlock(vaultID string, identityFile, passphrase []byte, ttl, idle time.Duration) error {
	_, err := cl.call(Request{Op: OpUnlock, VaultID: vaultID, IdentityFile: identityFile, Passphrase: passphrase,
		TTLSeconds: int64(ttl / time.Second), IdleSeconds: int64(idle / time.Second)})
	return err
}

// Decrypt asks the agent to decrypt an age file of the vault.
func (cl *Client) Decrypt(vaultID string, ciphertext []byte) ([]byte, error) {
	resp, err := cl.call(Request{Op: OpDecrypt, VaultID: vaultID, Ciphertext: ciphertext})
	if err != nil {
		return nil, err
	}
	return resp.Plaintext, nil
}

// Lock makes the agent forget every key.
func (cl *Client) Lock() error { _, err := cl.call(Request{Op: OpLock}); return err }

// Stop wipes the agent's keys and ends it. It returns once the agent has
// stopped serving: its socket is removed before it answers, and it closes
// this connection as the last thing it does.
func (cl *Client) Stop() error {
	if _, err := cl.call(Request{Op: OpStop}); err != nil {
		return err
	}
	var b [1]byte
	if _, err := cl.c.Read(b[:]); !errors.Is(err, io.EOF) {
		return fmt.Errorf("agent: wait for the agent to stop: %v", err)
	}
	return nil
}

// Status reports the agent's pid and unlocked vaults.
func (cl *Client) Status() (*Status, error) {
	resp, err := cl.call(Request{Op: OpStatus})
	if err != nil {
		return nil, err
	}
	if resp.Status == nil {
		return nil, errors.New("agent: empty status")
	}
	return resp.Status, nil
}

// CachePut keeps an OS-store value under key for ttl.
func (cl *Client) CachePut(key string, value []byte, ttl time.Duration) error {
	_, err := cl.call(Request{Op: OpCachePut, CacheKey: key, Value: value, TTLSeconds: int64(ttl / time.Second)})
	return err
}

// CacheGet returns a cached value, or an error wrapping ErrLocked.
func (cl *Client) CacheGet(key string) ([]byte, error) {
	resp, err := cl.call(Request{Op: OpCacheGet, CacheKey: key})
	if err != nil {
		return nil, err
	}
	return resp.Plaintext, nil
}

// CacheDrop forgets a cached value.
func (cl *Client) CacheDrop(key string) error {
	_, err := cl.call(Request{Op: OpCacheDrop, CacheKey: key})
	return err
}
