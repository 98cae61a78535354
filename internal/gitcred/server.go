package gitcred

import (
	"bytes"
	"context"
	"io"
	"time"

	"github.com/kr-keyring/kr/internal/credkit"
)

// Server is git's credential helper as credkit serves every protocol: the
// request is read whole and parsed before Open is called, since git writes
// its request and then waits.
type Server struct {
	// Open returns the layout of git's own helper in the store the
	// credential goes to or comes from.
	Open func(ctx context.Context, action string) (Store, error)
	// Stored, when set, runs once a store kept the credential (Save
	// skips some: Storable), before the answer goes out.
	Stored func() error
	Now    func() time.Time
}

var _ credkit.Helper = Server{}

// Serve carries out get, store or erase; an action git may add later is
// ignored (nothing read, nothing written), as git asks of helpers. Nothing
// reaches out unless the whole action succeeded.
func (s Server) Serve(ctx context.Context, action string, in io.Reader, out io.Writer) error {
	switch action {
	case "get", "store", "erase":
	default:
		return nil
	}
	q, err := Parse(in)
	if err != nil {
		return err
	}
	defer q.Wipe()
	st, err := s.Open(ctx, action)
	if err != nil {
		return err
	}
	h := &Helper{Store: st, Now: s.Now}
	var answer bytes.Buffer
	defer func() { clear(answer.Bytes()) }()
	if err := h.Do(ctx, action, q, &answer); err != nil {
		return err
	}
	if action == "store" && s.Stored != nil && q.Storable(h.now()) {
		if err := s.Stored(); err != nil {
			return err
		}
	}
	_, err = out.Write(answer.Bytes())
	return err
}
