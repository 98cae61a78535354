package secretservice

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/wait"
)

// D-Bus names of the Secret Service API.
const (
	busName         = "org.freedesktop.secrets"
	servicePath     = dbus.ObjectPath("/org/freedesktop/secrets")
	loginCollection = dbus.ObjectPath("/org/freedesktop/secrets/collection/login")
	noObject        = dbus.ObjectPath("/")
	ifaceService    = "org.freedesktop.Secret.Service"
	ifaceCollection = "org.freedesktop.Secret.Collection"
	ifaceItem       = "org.freedesktop.Secret.Item"
	ifaceSession    = "org.freedesktop.Secret.Session"
	ifacePrompt     = "org.freedesktop.Secret.Prompt"
	ifaceProperties = "org.freedesktop.DBus.Properties"
)

// sessionBusAddress finds the session bus the way libdbus does, minus
// autolaunch: starting a bus (dbus-launch, X11) from a CLI would leave a
// daemon behind and hang on a headless machine.
func sessionBusAddress() (string, error) {
	if addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); addr != "" {
		if strings.HasPrefix(addr, "autolaunch:") {
			return "", fmt.Errorf("%w: DBUS_SESSION_BUS_ADDRESS asks for autolaunch, which kr does not do", backends.ErrUnavailable)
		}
		return addr, nil
	}
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = filepath.Join("/run/user", strconv.Itoa(os.Getuid()))
	}
	sock := filepath.Join(dir, "bus")
	if fi, err := os.Stat(sock); err == nil && fi.Mode()&os.ModeSocket != 0 {
		return "unix:path=" + dbus.EscapeBusAddressValue(sock), nil
	}
	return "", fmt.Errorf("%w: no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset and %s does not exist)", backends.ErrUnavailable, sock)
}

// connect dials, authenticates and says Hello under ctx. godbus's
// handshake takes no context, so it runs aside and a late connection is
// closed rather than leaked. A bus that refuses us is ErrUnavailable; one
// that does not answer in time is a timeout.
func connect(ctx context.Context, address string) (*dbus.Conn, error) {
	type result struct {
		conn *dbus.Conn
		err  error
	}
	done := make(chan result, 1)
	abandon := make(chan struct{})
	go func() {
		conn, err := dbus.Dial(address)
		if err != nil {
			done <- result{nil, err}
			return
		}
		// Closing the connection is what unblocks a handshake stuck on a
		// peer that never answers.
		stop := make(chan struct{})
		go func() {
			select {
			case <-abandon:
				conn.Close()
			case <-stop:
			}
		}()
		err = conn.Auth(nil)
		if err == nil {
			err = conn.Hello()
		}
		close(stop)
		if err != nil {
			conn.Close()
			done <- result{nil, err}
			return
		}
		done <- result{conn, nil}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("%w: connect to the session bus: %v", backends.ErrUnavailable, r.err)
		}
		if ctx.Err() != nil {
			r.conn.Close()
			return nil, noAnswer("connect to the session bus", ctx.Err())
		}
		return r.conn, nil
	case <-ctx.Done():
		close(abandon)
		go func() {
			if r := <-done; r.conn != nil {
				r.conn.Close()
			}
		}()
		return nil, noAnswer("connect to the session bus", ctx.Err())
	}
}

// waitForService bounds one operation on the Secret Service, all of which
// is waiting for it (or for a person at the prompt it shows), by the wait
// limit ctx carries (package wait).
func waitForService(ctx context.Context) (context.Context, func(error) error) {
	return wait.Bound(ctx, "the Secret Service did not answer")
}

func (b *Backend) call(ctx context.Context, path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	return b.conn.Object(busName, path).CallWithContext(ctx, method, 0, args...)
}
