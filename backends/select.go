package backends

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Names of the backends kr knows, as given to --backend and KR_BACKEND.
const (
	Auto          = "auto"
	SecretService = "secretservice"
	Keychain      = "keychain"
	DPAPI         = "dpapi"
	File          = "file"
)

// Known lists every value --backend accepts.
var Known = []string{Auto, SecretService, Keychain, DPAPI, File}

// ProbeTimeout bounds how long auto-selection waits for the OS store.
const ProbeTimeout = time.Second

// Candidate is a backend that Select may open. Open must return an error
// wrapping ErrUnavailable, promptly, when the store is not there.
type Candidate struct {
	Name string
	Open func(ctx context.Context) (Backend, error)
}

// Select opens the backend named want. For "auto" it tries the native
// candidates in order, each for at most ProbeTimeout, then falls back to
// fallback. The returned note says, for auto, which backend was chosen and
// why; it is meant for one line on stderr.
func Select(ctx context.Context, want string, native []Candidate, fallback Candidate) (b Backend, note string, err error) {
	if want == "" {
		want = Auto
	}
	if want != Auto {
		for _, c := range append(native, fallback) {
			if c.Name == want {
				b, err := c.Open(ctx)
				if err != nil {
					return nil, "", err
				}
				return Checked(b), "", nil
			}
		}
		if !isKnown(want) {
			return nil, "", fmt.Errorf("unknown backend %q (choose one of %s)", want, strings.Join(Known, ", "))
		}
		return nil, "", fmt.Errorf("backend %s: %w", want, ErrUnsupported)
	}
	var why []string
	for _, c := range native {
		pctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
		b, err := c.Open(pctx)
		cancel()
		if err == nil {
			return Checked(b), fmt.Sprintf("using backend %s (it answered)", c.Name), nil
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %v", ProbeTimeout)
		}
		why = append(why, fmt.Sprintf("%s: %v", c.Name, trimName(err.Error())))
	}
	b, err = fallback.Open(ctx)
	if err != nil {
		return nil, "", err
	}
	if len(why) > 0 {
		note = fmt.Sprintf("using backend %s (%s)", fallback.Name, strings.Join(why, "; "))
	}
	return Checked(b), note, nil
}

// trimName drops a backend's own "name: " lead from a message the note
// already introduces.
func trimName(msg string) string {
	for _, lead := range []string{"secret service: ", "keychain: ", "credential manager: "} {
		msg = strings.TrimPrefix(msg, lead)
	}
	return msg
}

func isKnown(name string) bool {
	for _, k := range Known {
		if k == name {
			return true
		}
	}
	return false
}
