package agent

// SSHService is the part of the agent's SSH key service (package
// agent/sshagent) that the keyring's owner drives. It lives in its own
// package so that the agent's protocol does not depend on
// golang.org/x/crypto/ssh.
type SSHService interface {
	// Handle answers one SSH agent protocol message that came over OpSSH.
	Handle(msg []byte) ([]byte, error)
	// Lock wipes every private key (public keys kr loaded stay listed).
	Lock()
	// Held reports whether any key is listed: the agent does not exit idle
	// while one is.
	Held() bool
}

// SSHKeyring is a Keyring that also holds SSH keys: a capability a
// Keyring may have, which OpSSH needs.
type SSHKeyring interface {
	Keyring
	SSH(msg []byte) ([]byte, error)
}

// sshRing is the agent's keyring with its SSH keys: a lock wipes both.
type sshRing struct {
	*keyring
	ssh SSHService
}

func (r sshRing) Lock()                          { r.keyring.Lock(); r.ssh.Lock() }
func (r sshRing) SSH(msg []byte) ([]byte, error) { return r.ssh.Handle(msg) }

func handleSSH(k Keyring, req *Request) Response {
	sk, ok := k.(SSHKeyring)
	if !ok {
		return fail(CodeBadRequest, "this agent serves no SSH keys")
	}
	out, err := sk.SSH(req.Value)
	if err != nil {
		return fail(CodeBadRequest, "%v", err)
	}
	return Response{V: Version, Plaintext: out}
}
