//go:build !linux

package winetest

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// Env is a prepared wine prefix; wine tests run only on Linux.
type Env struct{}

// Setup skips: wine tests run from Linux.
func Setup(t testing.TB) *Env { t.Skip("wine tests run on linux"); return nil }

func (e *Env) Hold() {}
func (e *Env) Context(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
func (e *Env) Command(ctx context.Context, exe string, args ...string) *exec.Cmd { return nil }
func (e *Env) Build(t testing.TB, pkg string) string                             { return "" }
func (e *Env) BuildTest(t testing.TB, pkg string) string                         { return "" }
func (e *Env) RunTest(t testing.TB, exe string, args ...string)                  {}
func (e *Env) Environ() []string                                                 { return nil }
