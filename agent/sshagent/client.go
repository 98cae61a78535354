package sshagent

import (
	"encoding/binary"
	"errors"
	"io"
	"time"

	"golang.org/x/crypto/ssh"
	sshagent "golang.org/x/crypto/ssh/agent"
)

// Send carries one SSH agent message to the service and returns its
// answer: agent.Client.SSH, over kr's own connection.
type Send func(msg []byte) ([]byte, error)

// Client is an SSH agent protocol client whose messages go through send.
func Client(send Send) sshagent.ExtendedAgent { return sshagent.NewClient(&tunnel{send: send}) }

// tunnel turns the client's length-prefixed writes into Send calls and
// their answers into reads.
type tunnel struct {
	send Send
	req  []byte
	resp []byte
}

func (t *tunnel) Write(p []byte) (int, error) {
	t.req = append(t.req, p...)
	if len(t.req) < 4 || len(t.req) < 4+int(binary.BigEndian.Uint32(t.req)) {
		return len(p), nil
	}
	out, err := t.send(t.req[4:])
	clear(t.req) // may hold a private key
	t.req = t.req[:0]
	if err != nil {
		return 0, err
	}
	t.resp = binary.BigEndian.AppendUint32(nil, uint32(len(out)))
	t.resp = append(t.resp, out...)
	return len(p), nil
}

func (t *tunnel) Read(p []byte) (int, error) {
	if len(t.resp) == 0 {
		return 0, io.EOF
	}
	n := copy(p, t.resp)
	t.resp = t.resp[n:]
	return n, nil
}

// Load is how the CLI hands the service a key from kr's store: it is
// sealed on arrival, listed under comment, its private half wiped after
// ttl (0: kept) and the whole key removed after lifetime (0: kept).
func Load(send Send, priv any, comment string, confirm bool, ttl, lifetime time.Duration) error {
	k := sshagent.AddedKey{PrivateKey: priv, Comment: comment, ConfirmBeforeUse: confirm, LifetimeSecs: uint32(lifetime / time.Second)}
	if ttl > 0 {
		k.ConstraintExtensions = []sshagent.ConstraintExtension{{ExtensionName: ttlConstraint,
			ExtensionDetails: binary.BigEndian.AppendUint32(nil, uint32(ttl/time.Second))}}
	}
	return Client(send).Add(k)
}

// Address asks the service where OpenSSH's clients reach it.
func Address(send Send) (string, error) {
	out, err := Client(send).Extension(socketExtension, nil)
	if err != nil {
		return "", err
	}
	var m struct {
		Type byte
		Addr string
	}
	if err := ssh.Unmarshal(out, &m); err != nil || m.Addr == "" {
		return "", errors.New("the agent serves no SSH socket")
	}
	return m.Addr, nil
}
