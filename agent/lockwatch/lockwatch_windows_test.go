package lockwatch

import (
	"context"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

var procFindWindowExW = user32.NewProc("FindWindowExW")

// TestWindowLocks sends the watcher's window what Windows sends it: a
// session lock, a console disconnect and a suspend each lock with their
// reason, and an event not chosen does not. Each case is a watcher of its
// own, in one process: a second watcher must not trip over the window
// class the first registered.
func TestWindowLocks(t *testing.T) {
	for _, tc := range []struct {
		on     []string
		msg    uintptr
		wParam uintptr
		reason string
	}{
		{[]string{Screen}, wmWTSSessionChange, wtsSessionLock, "screen locked"},
		{[]string{Session}, wmWTSSessionChange, wtsConsoleDisconnect, "session switched away"},
		{[]string{Sleep}, wmPowerBroadcast, pbtAPMSuspend, "system going to sleep"},
		{[]string{Session, Sleep}, wmWTSSessionChange, wtsSessionLock, ""},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		locked := make(chan string, 4)
		watching, missing := Watch(ctx, Options{On: tc.on, Lock: func(r string) { locked <- r }})
		if len(missing) != 0 || len(watching) != len(tc.on) {
			cancel()
			t.Fatalf("Watch(%v): watching %v, missing %v", tc.on, watching, missing)
		}
		class := className(watchers.Load())
		hwnd := watcherWindow(t, class)
		// Sent, not posted: SendMessage returns once the window has
		// handled it.
		sent := make(chan struct{})
		go func() {
			procSendMessageW.Call(hwnd, tc.msg, tc.wParam, 0)
			close(sent)
		}()
		select {
		case <-sent:
		case <-time.After(30 * time.Second): // a hang guard only
			cancel()
			t.Fatal("the watcher's window handles no messages")
		}
		var got string
		select {
		case got = <-locked:
		default:
		}
		cancel()
		if got != tc.reason {
			t.Errorf("on %v, message %#x %#x: locked %q, want %q", tc.on, tc.msg, tc.wParam, got, tc.reason)
		}
		waitGone(t, class)
	}
}

var procSendMessageW = user32.NewProc("SendMessageW")

// watcherWindow finds a watcher's message-only window by its class.
func watcherWindow(t *testing.T, class string) uintptr {
	t.Helper()
	name, _ := windows.UTF16PtrFromString(class)
	h, _, err := procFindWindowExW.Call(hwndMessage, 0, uintptr(unsafe.Pointer(name)), 0)
	if h == 0 {
		t.Fatalf("no watcher window: %v", err)
	}
	return h
}

// waitGone waits for a watcher's window to close once its context ends.
func waitGone(t *testing.T, class string) {
	t.Helper()
	name, _ := windows.UTF16PtrFromString(class)
	guard := time.After(30 * time.Second) // a hang guard only
	for {
		if h, _, _ := procFindWindowExW.Call(hwndMessage, 0, uintptr(unsafe.Pointer(name)), 0); h == 0 {
			return
		}
		select {
		case <-guard:
			t.Fatal("the watcher's window outlived its context")
		case <-time.After(10 * time.Millisecond):
		}
	}
}
