package sshagent

import (
	"crypto"
	"encoding/binary"
	"errors"
	"time"

	"github.com/kr-keyring/kr/internal/sshwire"
)

// Send carries one SSH agent message to the service and returns its
// answer: agent.Client.SSH, over kr's own connection.
type Send func(msg []byte) ([]byte, error)

// call sends msg, wiping it after (it may hold a private key), and
// returns the answer.
func call(send Send, msg []byte) ([]byte, error) {
	defer clear(msg)
	return send(msg)
}

// expectSuccess turns an answer that is not SSH_AGENT_SUCCESS into an
// error.
func expectSuccess(out []byte, err error) error {
	if err != nil {
		return err
	}
	if len(out) == 1 && out[0] == msgSuccess {
		return nil
	}
	return answerError(out)
}

// Load is how the CLI hands the service a key from kr's store: it is
// sealed on arrival, listed under comment, its private half wiped after
// ttl (0: kept) and the whole key removed after lifetime (0: kept).
func Load(send Send, priv crypto.Signer, comment string, confirm bool, ttl, lifetime time.Duration) error {
	a := addRequest{priv: priv, comment: comment, confirm: confirm, lifetime: uint32(lifetime / time.Second)}
	if ttl > 0 {
		a.extensions = []constraintExt{{name: ttlConstraint,
			details: binary.BigEndian.AppendUint32(nil, uint32(ttl/time.Second))}}
	}
	msg, err := encodeAdd(a)
	if err != nil {
		return err
	}
	return expectSuccess(call(send, msg))
}

// List is what the service lists (REQUEST_IDENTITIES).
func List(send Send) ([]Identity, error) {
	out, err := call(send, []byte{msgRequestIdentities})
	if err != nil {
		return nil, err
	}
	return parseIdentities(out)
}

// Remove removes the key whose public key blob is blob.
func Remove(send Send, blob []byte) error {
	return expectSuccess(call(send, encodeString(msgRemoveIdentity, blob)))
}

// Address asks the service where OpenSSH's clients reach it.
func Address(send Send) (string, error) {
	out, err := call(send, encodeExtension(socketExtension, nil))
	if err != nil {
		return "", err
	}
	r := sshwire.NewReader(out)
	ok := r.Byte() == msgSuccess
	addr := r.Text()
	if !ok || r.Done() != nil || addr == "" {
		return "", errors.New("the agent serves no SSH socket")
	}
	return addr, nil
}
