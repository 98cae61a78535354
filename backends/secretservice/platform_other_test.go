//go:build !(linux || freebsd || netbsd || openbsd || dragonfly)

package secretservice

import (
	"context"
	"errors"
	"testing"

	"github.com/kr-keyring/kr/backends"
)

func TestOpenUnsupported(t *testing.T) {
	_, err := Open(context.Background(), Options{})
	if !errors.Is(err, backends.ErrUnsupported) || !errors.Is(err, backends.ErrUnavailable) {
		t.Fatalf("Open: %v, want ErrUnsupported", err)
	}
}
