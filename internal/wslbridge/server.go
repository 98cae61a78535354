package wslbridge

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/credkit"
)

// Server is the Windows side: Open opens the dpapi store of a service,
// Creds is Credential Manager.
type Server struct {
	Open  func(ctx context.Context, service string) (backends.Backend, error)
	Creds credkit.CredentialManager

	stores map[string]backends.Backend
}

// Serve answers requests from r on w until r ends (nil) or a message
// cannot be read (that error, after answering it when the stream allows:
// a frame that did not parse leaves no way to find the next).
func (s *Server) Serve(ctx context.Context, r io.Reader, w io.Writer) error {
	for {
		var req Request
		err := agent.ReadFrame(r, &req, Version)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var ve *agent.VersionError
			msg := err.Error()
			if errors.As(err, &ve) {
				msg = fmt.Sprintf("kr.exe speaks bridge version %d, kr sent %d: install the same kr release in WSL and on Windows", Version, ve.Got)
			}
			agent.WriteFrame(w, &Response{V: Version, Code: CodeBadRequest, Error: msg})
			return err
		}
		resp := s.handle(ctx, &req)
		resp.V = Version
		err = agent.WriteFrame(w, resp)
		agent.WipeFrame(&req)
		agent.WipeFrame(resp)
		if err != nil {
			return err
		}
	}
}

func (s *Server) store(ctx context.Context, service string) (backends.Backend, error) {
	if b, ok := s.stores[service]; ok {
		return b, nil
	}
	b, err := s.Open(ctx, service)
	if err != nil {
		return nil, err
	}
	if s.stores == nil {
		s.stores = map[string]backends.Backend{}
	}
	b = backends.Checked(b)
	s.stores[service] = b
	return b, nil
}

func (s *Server) handle(ctx context.Context, req *Request) *Response {
	switch req.Op {
	case OpHello:
		return &Response{}
	case OpGet, OpSet, OpRm, OpList:
		b, err := s.store(ctx, req.Service)
		if err != nil {
			return failure(err)
		}
		switch req.Op {
		case OpGet:
			v, err := b.Get(ctx, req.Name)
			if err != nil {
				return failure(err)
			}
			return &Response{Value: v}
		case OpSet:
			return failure(b.Set(ctx, req.Name, req.Value))
		case OpRm:
			return failure(b.Delete(ctx, req.Name))
		default:
			names, err := b.List(ctx, req.Name)
			if err != nil {
				return failure(err)
			}
			return &Response{Names: names}
		}
	case OpCredList:
		creds, err := s.Creds.List(req.Name)
		if err != nil {
			return failure(err)
		}
		out := make([]CredInfo, 0, len(creds))
		for _, c := range creds {
			clear(c.Blob)
			out = append(out, info(c))
		}
		return &Response{Creds: out}
	case OpCredRead:
		c, err := s.Creds.Read(req.Name)
		if err != nil {
			return failure(err)
		}
		return &Response{Creds: []CredInfo{info(c)}, Value: c.Blob}
	case OpCredWrite:
		if req.Cred == nil {
			return &Response{Code: CodeBadRequest, Error: "cred-write without a credential"}
		}
		c, err := fromInfo(*req.Cred)
		if err != nil {
			return &Response{Code: CodeBadRequest, Error: err.Error()}
		}
		c.Blob = req.Value
		return failure(s.Creds.Write(c))
	case OpCredRm:
		return failure(s.Creds.Delete(req.Name))
	}
	return &Response{Code: CodeBadRequest, Error: fmt.Sprintf("unknown operation %q", req.Op)}
}

// failure answers err (nil: success) with its code. The stores' errors
// name the operation and the secret, never a value.
func failure(err error) *Response {
	if err == nil {
		return &Response{}
	}
	code := CodeFailed
	switch {
	case errors.Is(err, backends.ErrNotFound), errors.Is(err, credkit.ErrNoItem):
		code = CodeNotFound
	case errors.Is(err, backends.ErrTooBig):
		code = CodeTooBig
	case errors.Is(err, backends.ErrLocked), errors.Is(err, backends.ErrCanceled):
		code = CodeLocked
	case errors.Is(err, backends.ErrInvalidName):
		code = CodeBadName
	}
	return &Response{Code: code, Error: err.Error()}
}

func info(c credkit.GenericCredential) CredInfo {
	i := CredInfo{Target: c.Target, UserName: c.UserName, Comment: c.Comment}
	if !c.Modified.IsZero() {
		i.Modified = c.Modified.UTC().Format(time.RFC3339Nano)
	}
	for _, a := range c.Attributes {
		if i.Attrs == nil {
			i.Attrs = map[string]string{}
		}
		i.Attrs[a.Keyword] = base64.StdEncoding.EncodeToString(a.Value)
	}
	return i
}

func fromInfo(i CredInfo) (credkit.GenericCredential, error) {
	c := credkit.GenericCredential{Target: i.Target, UserName: i.UserName, Comment: i.Comment}
	if i.Modified != "" {
		t, err := time.Parse(time.RFC3339Nano, i.Modified)
		if err != nil {
			return c, fmt.Errorf("credential %s: modified: %w", i.Target, err)
		}
		c.Modified = t
	}
	for _, k := range slices.Sorted(maps.Keys(i.Attrs)) {
		b, err := base64.StdEncoding.DecodeString(i.Attrs[k])
		if err != nil {
			return c, fmt.Errorf("credential %s: attribute %s: %w", i.Target, k, err)
		}
		c.Attributes = append(c.Attributes, credkit.Attribute{Keyword: k, Value: b})
	}
	return c, nil
}
