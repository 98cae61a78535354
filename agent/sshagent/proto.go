package sshagent

// The SSH agent protocol's messages, as OpenSSH's PROTOCOL.agent and
// draft-miller-ssh-agent define them: each message is a uint32 length, a
// type byte and the type's fields in SSH's wire encoding (internal/sshwire).
// The server's parsers and the client's encoders of each message sit side
// by side here, so a field is added to both at once.

import (
	"crypto"
	"errors"
	"fmt"
	"strings"

	"github.com/kr-keyring/kr/internal/sshwire"
)

// Message numbers.
const (
	msgRequestV1Identities  = 1 // SSH protocol 1: answered with none
	msgV1IdentitiesAnswer   = 2
	msgFailure              = 5
	msgSuccess              = 6
	msgRemoveAllV1          = 9
	msgRequestIdentities    = 11
	msgIdentitiesAnswer     = 12
	msgSignRequest          = 13
	msgSignResponse         = 14
	msgAddIdentity          = 17
	msgRemoveIdentity       = 18
	msgRemoveAll            = 19
	msgAddSmartcard         = 20
	msgRemoveSmartcard      = 21
	msgLock                 = 22
	msgUnlock               = 23
	msgAddIDConstrained     = 25
	msgAddSmartcardConstrnd = 26
	msgExtension            = 27
	msgExtensionFailure     = 28
)

// Key constraints (ADD_ID_CONSTRAINED) and sign request flags.
const (
	constrainLifetime  = 1
	constrainConfirm   = 2
	constrainExtension = 255

	flagRSASHA256 = 2
	flagRSASHA512 = 4
)

// maxMessage is OpenSSH's ssh-agent's cap on a message; a longer one ends
// the connection before anything is read into memory.
const maxMessage = 256 << 10

// userAuthRequest is SSH_MSG_USERAUTH_REQUEST: the message type a login's
// signed data carries after its session id (RFC 4252 section 7).
const userAuthRequest = 50

// errUnsupportedExtension is answered with SSH_AGENT_FAILURE, other
// extension errors with SSH_AGENT_EXTENSION_FAILURE (PROTOCOL.agent 4.7).
var errUnsupportedExtension = errors.New("unsupported extension")

// errRefused is what a client hears of any SSH_AGENT_FAILURE.
var errRefused = errors.New("the SSH agent refused the request")

// Identity is one key as REQUEST_IDENTITIES lists it.
type Identity struct {
	Blob    []byte // the public key blob
	Comment string
}

// constraintExt is one SSH_AGENT_CONSTRAIN_EXTENSION: a name and details.
type constraintExt struct {
	name    string
	details []byte
}

// addRequest is ADD_IDENTITY or ADD_ID_CONSTRAINED.
type addRequest struct {
	priv       crypto.Signer
	comment    string
	confirm    bool
	lifetime   uint32 // seconds; 0: none
	extensions []constraintExt
}

// parseAdd parses an add message (its type byte first). A certificate is
// refused here: the agent serves plain keys.
func parseAdd(msg []byte) (addRequest, error) {
	var a addRequest
	if strings.HasSuffix(sshwire.BlobType(msg[1:]), "-cert-v01@openssh.com") {
		return a, errors.New("certificates are not supported")
	}
	r := sshwire.NewReader(msg[1:])
	a.priv = sshwire.ReadPrivateKey(r)
	a.comment = r.Text()
	if err := r.Err(); err != nil {
		return a, fmt.Errorf("add: %w", err)
	}
	if msg[0] == msgAddIDConstrained {
		for r.Len() > 0 && r.Err() == nil {
			switch c := r.Byte(); c {
			case constrainLifetime:
				a.lifetime = r.Uint32()
			case constrainConfirm:
				a.confirm = true
			case constrainExtension:
				a.extensions = append(a.extensions, constraintExt{name: r.Text(), details: r.Bytes()})
			default:
				wipeSigner(a.priv)
				return addRequest{}, fmt.Errorf("add: unknown constraint %d", c)
			}
		}
	}
	if err := r.Done(); err != nil {
		wipeSigner(a.priv)
		return addRequest{}, fmt.Errorf("add: %w", err)
	}
	return a, nil
}

// encodeAdd is parseAdd's inverse: ADD_ID_CONSTRAINED when a constraint
// is set, else ADD_IDENTITY.
func encodeAdd(a addRequest) ([]byte, error) {
	constrained := a.confirm || a.lifetime > 0 || len(a.extensions) > 0
	b := []byte{msgAddIdentity}
	if constrained {
		b[0] = msgAddIDConstrained
	}
	b, err := sshwire.AppendPrivateKey(b, a.priv)
	if err != nil {
		return nil, err
	}
	b = sshwire.AppendText(b, a.comment)
	if a.lifetime > 0 {
		b = sshwire.AppendUint32(append(b, constrainLifetime), a.lifetime)
	}
	if a.confirm {
		b = append(b, constrainConfirm)
	}
	for _, x := range a.extensions {
		b = sshwire.AppendBytes(sshwire.AppendText(append(b, constrainExtension), x.name), x.details)
	}
	return b, nil
}

// signRequest is SIGN_REQUEST.
type signRequest struct {
	blob, data []byte
	flags      uint32
}

func parseSign(msg []byte) (signRequest, error) {
	r := sshwire.NewReader(msg[1:])
	s := signRequest{blob: r.Bytes(), data: r.Bytes(), flags: r.Uint32()}
	if err := r.Done(); err != nil {
		return s, fmt.Errorf("sign: %w", err)
	}
	return s, nil
}

// parseString parses a message of one string: REMOVE_IDENTITY's key blob,
// LOCK's and UNLOCK's passphrase.
func parseString(msg []byte) ([]byte, error) {
	r := sshwire.NewReader(msg[1:])
	s := r.Bytes()
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("message %d: %w", msg[0], err)
	}
	return s, nil
}

func encodeString(typ byte, s []byte) []byte { return sshwire.AppendBytes([]byte{typ}, s) }

// parseExtension splits EXTENSION into its name and contents (the rest of
// the message, whose form each extension defines).
func parseExtension(msg []byte) (string, []byte, error) {
	r := sshwire.NewReader(msg[1:])
	name := r.Text()
	if err := r.Err(); err != nil {
		return "", nil, fmt.Errorf("extension: %w", err)
	}
	return name, r.Rest(), nil
}

func encodeExtension(name string, contents []byte) []byte {
	return append(sshwire.AppendText([]byte{msgExtension}, name), contents...)
}

func encodeIdentities(ids []Identity) []byte {
	b := sshwire.AppendUint32([]byte{msgIdentitiesAnswer}, uint32(len(ids)))
	for _, id := range ids {
		b = sshwire.AppendText(sshwire.AppendBytes(b, id.Blob), id.Comment)
	}
	return b
}

func parseIdentities(msg []byte) ([]Identity, error) {
	if len(msg) == 0 || msg[0] != msgIdentitiesAnswer {
		return nil, answerError(msg)
	}
	r := sshwire.NewReader(msg[1:])
	n := r.Uint32()
	// Each identity takes at least two lengths: n is bounded by the message.
	if r.Err() == nil && uint64(n) > uint64(r.Len()/8) {
		return nil, fmt.Errorf("identities: %w: %d keys in %d bytes", sshwire.ErrMalformed, n, r.Len())
	}
	ids := make([]Identity, 0, n)
	for range n {
		ids = append(ids, Identity{Blob: append([]byte(nil), r.Bytes()...), Comment: r.Text()})
	}
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("identities: %w", err)
	}
	return ids, nil
}

// parseSignResponse returns SIGN_RESPONSE's signature blob.
func parseSignResponse(msg []byte) ([]byte, error) {
	if len(msg) == 0 || msg[0] != msgSignResponse {
		return nil, answerError(msg)
	}
	return parseString(msg)
}

// answerError is the error an answer other than the expected one means.
func answerError(msg []byte) error {
	switch {
	case len(msg) == 0:
		return errors.New("the SSH agent gave an empty answer")
	case msg[0] == msgFailure:
		return errRefused
	case msg[0] == msgExtensionFailure:
		return errors.New("the SSH agent's extension failed")
	}
	return fmt.Errorf("the SSH agent answered with message %d", msg[0])
}

// sessionBind is the session-bind@openssh.com extension's contents: ssh
// tells the agent which session (and host key) it is about to use it in.
type sessionBind struct {
	hostKey, sessionID, signature []byte
	forwarding                    bool
}

func parseSessionBind(b []byte) (sessionBind, error) {
	r := sshwire.NewReader(b)
	m := sessionBind{hostKey: r.Bytes(), sessionID: r.Bytes(), signature: r.Bytes(), forwarding: r.Bool()}
	if err := r.Done(); err != nil {
		return m, fmt.Errorf("session-bind: %w", err)
	}
	return m, nil
}
