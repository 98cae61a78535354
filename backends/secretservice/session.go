package secretservice

import (
	"context"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/godbus/dbus/v5"
)

// secret is the Secret struct of the API: (oayays).
type secret struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

type keyPairResult struct {
	kp  *dhKeyPair
	err error
}

// openSession negotiates the transfer algorithm: Diffie-Hellman with
// AES-128, or plain only when the service says it does not support that.
// kp is our key pair for DH, or nil to make one.
func (b *Backend) openSession(ctx context.Context, force string, kp *dhKeyPair) error {
	if force != algorithmPlain {
		err := b.openDHSession(ctx, kp)
		if err == nil || force == algorithmDH || dbusErrorName(err) != errNotSupported {
			return err
		}
	}
	var out dbus.Variant
	var path dbus.ObjectPath
	err := b.call(ctx, servicePath, ifaceService+".OpenSession", algorithmPlain, dbus.MakeVariant("")).Store(&out, &path)
	if err != nil {
		return classifyOpen(ctx, err)
	}
	b.mu.Lock()
	b.session, b.algorithm, b.key = path, algorithmPlain, nil
	b.mu.Unlock()
	return nil
}

func (b *Backend) openDHSession(ctx context.Context, kp *dhKeyPair) error {
	if kp == nil {
		var err error
		if kp, err = newDHKeyPair(randReader()); err != nil {
			return err
		}
		defer kp.wipe()
	}
	var out dbus.Variant
	var path dbus.ObjectPath
	err := b.call(ctx, servicePath, ifaceService+".OpenSession", algorithmDH, dbus.MakeVariant(kp.public)).Store(&out, &path)
	if err != nil {
		if dbusErrorName(err) == errNotSupported {
			return err
		}
		return classifyOpen(ctx, err)
	}
	servicePublic, ok := out.Value().([]byte)
	if !ok {
		return fmt.Errorf("open session: service sent a %s, not a public key", out.Signature())
	}
	key, err := kp.deriveKey(servicePublic)
	if err != nil {
		return fmt.Errorf("open session: %w", err)
	}
	b.mu.Lock()
	clear(b.key)
	b.session, b.algorithm, b.key = path, algorithmDH, key
	b.mu.Unlock()
	return nil
}

// classifyOpen is classify for OpenSession, keeping ctx's error when the
// call failed for another reason after ctx ended.
func classifyOpen(ctx context.Context, err error) error {
	if !isContextErr(err) && ctx.Err() != nil {
		err = ctx.Err()
	}
	return classify("open session", err)
}

func (b *Backend) currentSession() dbus.ObjectPath {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.session
}

func (b *Backend) currentAlgorithm() string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.algorithm
}

// reopenSession replaces a session the service forgot (it restarted),
// unless another call already did.
func (b *Backend) reopenSession(ctx context.Context, stale dbus.ObjectPath) error {
	b.mu.RLock()
	current, algorithm, closed := b.session, b.algorithm, b.closed
	b.mu.RUnlock()
	if closed {
		return errBackendClosed
	}
	if current != stale {
		return nil
	}
	return b.openSession(ctx, algorithm, nil)
}

// encode wraps value for the service: encrypted under the session key, or
// as is in a plain session.
func (b *Backend) encode(session dbus.ObjectPath, value []byte) (secret, error) {
	s := secret{Session: session, ContentType: contentBinary}
	if utf8.Valid(value) && !slices.Contains(value, 0) {
		s.ContentType = contentText
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return s, errBackendClosed
	}
	if b.key == nil {
		s.Parameters = []byte{}
		s.Value = slices.Clone(value)
		if s.Value == nil {
			s.Value = []byte{}
		}
		return s, nil
	}
	iv, ct, err := encryptSecret(b.key, value, randReader())
	if err != nil {
		return s, err
	}
	s.Parameters, s.Value = iv, ct
	return s, nil
}

func (b *Backend) decode(s secret) ([]byte, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return nil, errBackendClosed
	}
	if b.key == nil {
		if s.Value == nil {
			return []byte{}, nil
		}
		return s.Value, nil
	}
	value, err := decryptSecret(b.key, s.Parameters, s.Value)
	clear(s.Value)
	return value, err
}
