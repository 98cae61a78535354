package secretservice

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
)

// fakeService is a Secret Service that refuses the DH algorithm, says every
// item is locked and hands out a prompt that never completes: the cases a
// real gnome-keyring does not produce on demand.
type fakeService struct {
	mu        sync.Mutex
	dismissed []dbus.ObjectPath
	prompted  chan struct{}
}

const (
	fakeSession = dbus.ObjectPath("/org/freedesktop/secrets/session/fake")
	fakeItem    = dbus.ObjectPath("/org/freedesktop/secrets/collection/login/1")
	fakePrompt  = dbus.ObjectPath("/org/freedesktop/secrets/prompt/fake")
)

func (f *fakeService) OpenSession(algorithm string, _ dbus.Variant) (dbus.Variant, dbus.ObjectPath, *dbus.Error) {
	if algorithm != algorithmPlain {
		return dbus.MakeVariant(""), noObject, &dbus.Error{Name: errNotSupported, Body: []any{"only plain here"}}
	}
	return dbus.MakeVariant(""), fakeSession, nil
}

func (f *fakeService) SearchItems(map[string]string) ([]dbus.ObjectPath, []dbus.ObjectPath, *dbus.Error) {
	return []dbus.ObjectPath{}, []dbus.ObjectPath{fakeItem}, nil
}

func (f *fakeService) Unlock([]dbus.ObjectPath) ([]dbus.ObjectPath, dbus.ObjectPath, *dbus.Error) {
	return []dbus.ObjectPath{}, fakePrompt, nil
}

type fakePromptObject struct{ f *fakeService }

func (p fakePromptObject) Prompt(string) *dbus.Error {
	select {
	case p.f.prompted <- struct{}{}:
	default:
	}
	return nil
}

func (p fakePromptObject) Dismiss() *dbus.Error {
	p.f.mu.Lock()
	defer p.f.mu.Unlock()
	p.f.dismissed = append(p.f.dismissed, fakePrompt)
	return nil
}

func startFake(t *testing.T) (*fakeService, *dbus.Conn) {
	t.Helper()
	needDaemon(t)
	root, err := os.MkdirTemp(env.dir, "fake-")
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := startBus(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	server, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	f := &fakeService{prompted: make(chan struct{}, 1)}
	if err := server.Export(f, servicePath, ifaceService); err != nil {
		t.Fatal(err)
	}
	if err := server.Export(fakePromptObject{f}, fakePrompt, ifacePrompt); err != nil {
		t.Fatal(err)
	}
	if reply, err := server.RequestName(busName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName: %v, %v", reply, err)
	}
	client, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return f, client
}

// TestPlainFallback: a service that answers NotSupported to the DH
// algorithm gets a plain session, and says so in Info.
func TestPlainFallback(t *testing.T) {
	_, conn := startFake(t)
	b, err := Open(testContext(t, 5*time.Second), Options{Conn: conn})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := b.currentAlgorithm(); got != algorithmPlain {
		t.Fatalf("algorithm = %q, want plain", got)
	}
	if _, err := Open(testContext(t, 5*time.Second), Options{Conn: conn, algorithm: algorithmDH}); err == nil {
		t.Fatalf("forcing DH on a service without it succeeded")
	}
}

// TestPromptTimeout: a prompt nobody answers ends the call with ErrLocked
// at ctx's deadline and is dismissed.
func TestPromptTimeout(t *testing.T) {
	f, conn := startFake(t)
	b, err := Open(testContext(t, 5*time.Second), Options{Conn: conn})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err = b.Get(ctx, "anything")
	took := time.Since(start)
	if !errors.Is(err, backends.ErrLocked) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get behind an unanswered prompt: %v, want ErrLocked and DeadlineExceeded", err)
	}
	if took < 1500*time.Millisecond || took > 5*time.Second {
		t.Fatalf("Get returned after %v, want about the 2s deadline", took)
	}
	select {
	case <-f.prompted:
	default:
		t.Fatalf("the prompt was never shown")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.dismissed) != 1 {
		t.Fatalf("prompt dismissed %d times, want once", len(f.dismissed))
	}
	t.Logf("Get: %v after %v", err, took)
}
