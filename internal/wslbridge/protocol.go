// Package wslbridge lets kr inside WSL use Windows' Credential Manager:
// kr on Linux starts kr.exe on the Windows side once (`kr.exe bridge
// serve`) and speaks to it over its stdin and stdout, one request and one
// answer at a time, until it closes kr.exe's stdin.
//
// The messages are framed as the agent's are (agent.WriteFrame: a 4-byte
// length and a JSON object derived from the struct, byte fields base64
// written straight into the frame and wiped): this file holds them,
// server.go is the Windows side (Serve, over the dpapi store and
// Credential Manager's generic credentials), client.go the Linux side
// (Start: the process, its timeouts, a bridge that dies) and backend.go
// the store kr uses in WSL, named wsl.
package wslbridge

// Version of the bridge's protocol; each end refuses another. kr and
// kr.exe come from separate installs, so a user may upgrade one only: the
// error then says which version each speaks.
const Version = 1

// Operations.
const (
	OpHello = "hello" // nothing: the bridge answers, so it is there
	// A secret of the dpapi store of Service: Name, Value.
	OpGet  = "get"
	OpSet  = "set"
	OpRm   = "rm"
	OpList = "ls" // Name is the prefix; the answer's Names
	// Credential Manager's generic credentials, for git's and docker's
	// layouts: Name is the target (the prefix for OpCredList), Cred and
	// Value the credential written; the answer's Creds and Value.
	OpCredList  = "cred-list"
	OpCredRead  = "cred-read"
	OpCredWrite = "cred-write"
	OpCredRm    = "cred-rm"
)

// Request is one message from kr to kr.exe.
type Request struct {
	V       int       `json:"v"`
	Op      string    `json:"op"`
	Service string    `json:"service,omitempty"`
	Name    string    `json:"name,omitempty"`
	Value   []byte    `json:"value,omitempty"`
	Cred    *CredInfo `json:"cred,omitempty"`
}

// Response answers one Request. A failed request has Code and Error, text
// for people that never holds a value.
type Response struct {
	V     int        `json:"v"`
	Code  string     `json:"code,omitempty"`
	Error string     `json:"error,omitempty"`
	Value []byte     `json:"value,omitempty"`
	Names []string   `json:"names,omitempty"`
	Creds []CredInfo `json:"creds,omitempty"`
}

// Codes of a failed request; the client turns them back into kr's errors.
const (
	CodeNotFound   = "not-found"
	CodeTooBig     = "too-big"
	CodeLocked     = "locked"
	CodeBadName    = "bad-name"
	CodeBadRequest = "bad-request"
	CodeFailed     = "failed"
)

// CredInfo is a credential without its blob, which travels as Value.
type CredInfo struct {
	Target   string `json:"target"`
	UserName string `json:"user,omitempty"`
	Comment  string `json:"comment,omitempty"`
	// Attrs maps a keyword to its value, base64: attributes are bytes.
	Attrs    map[string]string `json:"attrs,omitempty"`
	Modified string            `json:"modified,omitempty"` // RFC 3339, nanoseconds
}
