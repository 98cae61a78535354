package lockwatch

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Windows announces a locked workstation and a session switched away from
// with WTS session notifications (WM_WTSSESSION_CHANGE), and a suspend with
// a power broadcast (WM_POWERBROADCAST, PBT_APMSUSPEND), both to a window:
// a message-only window of the agent's own receives them on a thread of
// its own.

var (
	user32                          = windows.NewLazySystemDLL("user32.dll")
	wtsapi32                        = windows.NewLazySystemDLL("wtsapi32.dll")
	procRegisterClassExW            = user32.NewProc("RegisterClassExW")
	procCreateWindowExW             = user32.NewProc("CreateWindowExW")
	procDefWindowProcW              = user32.NewProc("DefWindowProcW")
	procGetMessageW                 = user32.NewProc("GetMessageW")
	procDispatchMessageW            = user32.NewProc("DispatchMessageW")
	procPostMessageW                = user32.NewProc("PostMessageW")
	procDestroyWindow               = user32.NewProc("DestroyWindow")
	procPostQuitMessage             = user32.NewProc("PostQuitMessage")
	procUnregisterClassW            = user32.NewProc("UnregisterClassW")
	procWTSRegisterSessionNotif     = wtsapi32.NewProc("WTSRegisterSessionNotification")
	procWTSUnRegisterSessionNotif   = wtsapi32.NewProc("WTSUnRegisterSessionNotification")
	procRegisterSuspendResumeNotify = user32.NewProc("RegisterSuspendResumeNotification")
)

const (
	wmDestroy            = 0x0002
	wmClose              = 0x0010
	wmPowerBroadcast     = 0x0218
	wmWTSSessionChange   = 0x02B1
	pbtAPMSuspend        = 0x0004
	wtsConsoleDisconnect = 0x2
	wtsRemoteDisconnect  = 0x4
	wtsSessionLock       = 0x7
	notifyForThisSession = 0
	hwndMessage          = ^uintptr(2) // HWND_MESSAGE, (HWND)-3
)

type wndClassEx struct {
	size, style                        uint32
	wndProc                            uintptr
	clsExtra, wndExtra                 int32
	instance, icon, cursor, background windows.Handle
	menuName, className                *uint16
	iconSm                             windows.Handle
}

type msg struct {
	hwnd    uintptr
	message uint32
	wParam  uintptr
	lParam  uintptr
	time    uint32
	pt      struct{ x, y int32 }
}

// watchers counts the watchers started, to name each one's window class.
var watchers atomic.Int64

func className(n int64) string { return "krAgentLockWatch" + strconv.FormatInt(n, 10) }

func watch(ctx context.Context, o Options) (watching, missing []string) {
	want := func(e string) bool { return slices.Contains(o.On, e) }
	ready := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // the window belongs to this thread
		defer runtime.UnlockOSThread()
		if err := loop(ctx, o, want, func() { ready <- nil }); err != nil {
			ready <- err
		}
	}()
	if err := <-ready; err != nil {
		for _, e := range o.On {
			missing = append(missing, fmt.Sprintf("%s: %v", e, err))
		}
		return nil, missing
	}
	return slices.Clone(o.On), nil
}

// loop creates the window and registers it, calls ready, and runs the
// message loop until ctx ends. An error is one before ready.
func loop(ctx context.Context, o Options, want func(string) bool, ready func()) error {
	// A class of its own for each watcher: a class names its window
	// procedure, and this one's reports to this watcher's o.
	name, _ := windows.UTF16PtrFromString(className(watchers.Add(1)))
	proc := syscall.NewCallback(func(hwnd, m, wp, lp uintptr) uintptr {
		switch uint32(m) {
		case wmWTSSessionChange:
			switch {
			case wp == wtsSessionLock && want(Screen):
				o.Lock("screen locked")
			case (wp == wtsConsoleDisconnect || wp == wtsRemoteDisconnect) && want(Session):
				o.Lock("session switched away")
			}
		case wmPowerBroadcast:
			if wp == pbtAPMSuspend && want(Sleep) {
				o.Lock("system going to sleep")
			}
			return 1
		case wmDestroy:
			procPostQuitMessage.Call(0)
			return 0
		}
		r, _, _ := procDefWindowProcW.Call(hwnd, m, wp, lp)
		return r
	})
	wc := wndClassEx{wndProc: proc, className: name}
	wc.size = uint32(unsafe.Sizeof(wc))
	if r, _, err := procRegisterClassExW.Call(uintptr(unsafe.Pointer(&wc))); r == 0 {
		return fmt.Errorf("register window class: %v", err)
	}
	defer procUnregisterClassW.Call(uintptr(unsafe.Pointer(name)), 0)
	hwnd, _, err := procCreateWindowExW.Call(0, uintptr(unsafe.Pointer(name)), 0, 0, 0, 0, 0, 0, hwndMessage, 0, 0, 0)
	if hwnd == 0 {
		return fmt.Errorf("create window: %v", err)
	}
	if r, _, err := procWTSRegisterSessionNotif.Call(hwnd, notifyForThisSession); r == 0 {
		procDestroyWindow.Call(hwnd)
		return fmt.Errorf("WTS session notifications: %v", err)
	}
	defer procWTSUnRegisterSessionNotif.Call(hwnd)
	// A message-only window hears no broadcasts: suspend is asked for
	// by name (Windows 8 and later).
	if procRegisterSuspendResumeNotify.Find() == nil {
		procRegisterSuspendResumeNotify.Call(hwnd, 0) // DEVICE_NOTIFY_WINDOW_HANDLE
	}
	go func() {
		<-ctx.Done()
		procPostMessageW.Call(hwnd, wmClose, 0, 0)
	}()
	ready()
	var m msg
	for {
		r, _, _ := procGetMessageW.Call(uintptr(unsafe.Pointer(&m)), 0, 0, 0)
		if int32(r) <= 0 {
			return nil // WM_QUIT, or the window is gone
		}
		procDispatchMessageW.Call(uintptr(unsafe.Pointer(&m)))
	}
}
