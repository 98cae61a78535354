//go:build !windows && !darwin

package lockwatch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// callWait bounds each call to a bus, and connecting to it: a bus that
// does not answer leaves the event unwatched, never the agent waiting.
const callWait = 3 * time.Second

// The names whose announcements are believed, and what each says.
const (
	fdoScreenSaver   = "org.freedesktop.ScreenSaver"
	gnomeScreenSaver = "org.gnome.ScreenSaver"
	login1           = "org.freedesktop.login1"
	login1Path       = "/org/freedesktop/login1"
	login1Manager    = "org.freedesktop.login1.Manager"
	login1Session    = "org.freedesktop.login1.Session"
	propsIface       = "org.freedesktop.DBus.Properties"
)

func watch(ctx context.Context, o Options) (watching, missing []string) {
	want := func(e string) bool { return slices.Contains(o.On, e) }
	var sessionErr, systemErr error
	if want(Screen) {
		sessionErr = watchSession(ctx, o)
	}
	var lockedByLogind []string
	if want(Screen) || want(Sleep) || want(Session) {
		lockedByLogind, systemErr = watchSystem(ctx, o, want)
	}
	for _, e := range o.On {
		switch {
		case e == Screen && (sessionErr == nil || slices.Contains(lockedByLogind, Screen)):
			watching = append(watching, e)
		case e != Screen && slices.Contains(lockedByLogind, e):
			watching = append(watching, e)
		case e == Screen:
			missing = append(missing, fmt.Sprintf("%s: %v; %v", e, sessionErr, systemErr))
		default:
			missing = append(missing, fmt.Sprintf("%s: %v", e, systemErr))
		}
	}
	return watching, missing
}

// connect connects to the bus at addr within callWait; the connection
// ends with ctx.
func connect(ctx context.Context, addr string) (*dbus.Conn, error) {
	conn, err := dbus.Dial(addr, dbus.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	// Auth and Hello read from the bus with no deadline of their own:
	// closing the connection ends them.
	t := time.AfterFunc(callWait, func() { conn.Close() })
	err = conn.Auth(nil)
	if err == nil {
		err = conn.Hello()
	}
	if !t.Stop() && err != nil {
		err = fmt.Errorf("the bus did not answer within %v", callWait)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func sessionAddress(getenv func(string) string) (string, error) {
	if a := getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" {
		return a, nil
	}
	if run := getenv("XDG_RUNTIME_DIR"); run != "" {
		if fi, err := os.Stat(run + "/bus"); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return "unix:path=" + run + "/bus", nil
		}
	}
	return "", errors.New("no session bus")
}

func systemAddress(getenv func(string) string) (string, error) {
	if a := getenv("DBUS_SYSTEM_BUS_ADDRESS"); a != "" {
		return a, nil
	}
	const path = "/var/run/dbus/system_bus_socket"
	if _, err := os.Stat(path); err != nil {
		return "", errors.New("no system bus")
	}
	return "unix:path=" + path, nil
}

// owner asks the bus who owns name now: an announcement counts only from
// that connection. "" when nobody does or the bus does not say.
func owner(ctx context.Context, conn *dbus.Conn, name string) string {
	ctx, cancel := context.WithTimeout(ctx, callWait)
	defer cancel()
	var o string
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetNameOwner", 0, name).Store(&o); err != nil {
		return ""
	}
	return o
}

// listen subscribes to the given matches and runs on for each signal
// until ctx ends.
func listen(ctx context.Context, conn *dbus.Conn, matches [][]dbus.MatchOption, on func(*dbus.Signal)) error {
	for _, m := range matches {
		mctx, cancel := context.WithTimeout(ctx, callWait)
		err := conn.AddMatchSignalContext(mctx, m...)
		cancel()
		if err != nil {
			return err
		}
	}
	ch := make(chan *dbus.Signal, 16)
	conn.Signal(ch)
	go func() {
		defer conn.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case s, ok := <-ch:
				if !ok {
					return
				}
				on(s)
			}
		}
	}()
	return nil
}

// watchSession listens for the screensavers' ActiveChanged(true).
func watchSession(ctx context.Context, o Options) error {
	addr, err := sessionAddress(o.Getenv)
	if err != nil {
		return err
	}
	conn, err := connect(ctx, addr)
	if err != nil {
		return fmt.Errorf("session bus: %w", err)
	}
	var matches [][]dbus.MatchOption
	for _, iface := range []string{fdoScreenSaver, gnomeScreenSaver} {
		matches = append(matches, []dbus.MatchOption{dbus.WithMatchInterface(iface), dbus.WithMatchMember("ActiveChanged")})
	}
	err = listen(ctx, conn, matches, func(s *dbus.Signal) {
		name := strings.TrimSuffix(s.Name, ".ActiveChanged")
		if name != fdoScreenSaver && name != gnomeScreenSaver {
			return
		}
		if active, ok := firstBool(s); !ok || !active {
			return
		}
		if s.Sender == "" || s.Sender != owner(ctx, conn, name) {
			ignored(o, name+".ActiveChanged from "+s.Sender)
			return
		}
		o.Lock("screen locked")
	})
	if err != nil {
		conn.Close()
		return fmt.Errorf("session bus: %w", err)
	}
	return nil
}

// watchSystem listens to logind: the manager's PrepareForSleep(true) and
// this session's Lock and its Active property turning false.
func watchSystem(ctx context.Context, o Options, want func(string) bool) ([]string, error) {
	addr, err := systemAddress(o.Getenv)
	if err != nil {
		return nil, err
	}
	conn, err := connect(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("system bus: %w", err)
	}
	session, serr := ownSession(ctx, conn, o.Getenv)
	var matches [][]dbus.MatchOption
	var events []string
	if want(Sleep) {
		matches = append(matches, []dbus.MatchOption{dbus.WithMatchObjectPath(login1Path), dbus.WithMatchInterface(login1Manager), dbus.WithMatchMember("PrepareForSleep")})
		events = append(events, Sleep)
	}
	if serr == nil && want(Screen) {
		matches = append(matches, []dbus.MatchOption{dbus.WithMatchObjectPath(session), dbus.WithMatchInterface(login1Session), dbus.WithMatchMember("Lock")})
		events = append(events, Screen)
	}
	if serr == nil && want(Session) {
		matches = append(matches, []dbus.MatchOption{dbus.WithMatchObjectPath(session), dbus.WithMatchInterface(propsIface), dbus.WithMatchMember("PropertiesChanged"), dbus.WithMatchArg(0, login1Session)})
		events = append(events, Session)
	}
	if len(matches) == 0 {
		conn.Close()
		return nil, fmt.Errorf("logind: %w", serr)
	}
	err = listen(ctx, conn, matches, func(s *dbus.Signal) {
		var reason string
		switch {
		case s.Name == login1Manager+".PrepareForSleep" && s.Path == login1Path:
			if going, ok := firstBool(s); ok && going {
				reason = "system going to sleep"
			}
		case s.Name == login1Session+".Lock" && s.Path == session:
			reason = "session locked"
		case s.Name == propsIface+".PropertiesChanged" && s.Path == session && want(Session):
			if active, ok := changedBool(s, "Active"); ok && !active {
				reason = "session switched away"
			}
		}
		if reason == "" {
			return
		}
		if s.Sender == "" || s.Sender != owner(ctx, conn, login1) {
			ignored(o, s.Name+" from "+s.Sender)
			return
		}
		o.Lock(reason)
	})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("system bus: %w", err)
	}
	if serr != nil {
		// Sleep is watched; the session's own events are not.
		return events, fmt.Errorf("logind: %w", serr)
	}
	return events, nil
}

// ownSession finds this process's logind session: by pid, else by
// XDG_SESSION_ID.
func ownSession(ctx context.Context, conn *dbus.Conn, getenv func(string) string) (dbus.ObjectPath, error) {
	ctx, cancel := context.WithTimeout(ctx, callWait)
	defer cancel()
	obj := conn.Object(login1, login1Path)
	var p dbus.ObjectPath
	err := obj.CallWithContext(ctx, login1Manager+".GetSessionByPID", dbus.FlagNoAutoStart, uint32(os.Getpid())).Store(&p)
	if err == nil {
		return p, nil
	}
	if id := getenv("XDG_SESSION_ID"); id != "" {
		if err2 := obj.CallWithContext(ctx, login1Manager+".GetSession", dbus.FlagNoAutoStart, id).Store(&p); err2 == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no session of this process: %v", err)
}

func firstBool(s *dbus.Signal) (bool, bool) {
	if len(s.Body) == 0 {
		return false, false
	}
	b, ok := s.Body[0].(bool)
	return b, ok
}

// changedBool reads a boolean from PropertiesChanged's changed map.
func changedBool(s *dbus.Signal, prop string) (bool, bool) {
	if len(s.Body) < 2 {
		return false, false
	}
	m, ok := s.Body[1].(map[string]dbus.Variant)
	if !ok {
		return false, false
	}
	v, ok := m[prop]
	if !ok {
		return false, false
	}
	b, ok := v.Value().(bool)
	return b, ok
}

func ignored(o Options, what string) {
	if o.Ignored != nil {
		o.Ignored(what)
	}
}
