package lockwatch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"
)

// macOS announces a locked screen through the distributed notification
// center (com.apple.screenIsLocked) and a coming sleep through IOKit's
// power notifications (IORegisterForSystemPower). Both arrive through a
// CFRunLoop, and the distributed center delivers only on the process's
// main thread, so Main lends that thread to the watcher. kr's macOS builds
// have no cgo: CoreFoundation and IOKit are reached through purego, which
// calls C functions and takes C callbacks from pure Go. What each
// announcement means is decided in macos.go, which is tested on every OS.

// The main goroutine stays on the main thread, so that Main can lend it.
func init() { runtime.LockOSThread() }

var (
	mainCalls  = make(chan func())
	mainServed atomic.Bool
)

// Main runs run, kr's whole command, on another goroutine and ends the
// process with its exit code; meanwhile the main thread runs what the
// watcher asks of it.
func Main(run func() int) {
	mainServed.Store(true)
	go func() { os.Exit(run()) }()
	for f := range mainCalls {
		f()
	}
}

const (
	cfStringEncodingUTF8     = 0x08000100
	cfDeliverImmediately     = 4 // CFNotificationSuspensionBehaviorDeliverImmediately
	cfRunLoopRunFinished     = 1
	coreFoundationPath       = "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation"
	ioKitPath                = "/System/Library/Frameworks/IOKit.framework/IOKit"
	runLoopSlice             = 1.0 // seconds a run loop runs before the watcher looks at ctx
	runLoopDefaultModeString = "kCFRunLoopDefaultMode"
)

// macAPI is the part of CoreFoundation and IOKit the watcher calls.
type macAPI struct {
	stringCreate      func(alloc uintptr, s string, encoding uint32) uintptr
	release           func(cf uintptr)
	distributedCenter func() uintptr
	addObserver       func(center, observer, callback, name, object uintptr, behavior int)
	removeObservers   func(center, observer uintptr)
	mainRunLoop       func() uintptr
	runInMode         func(mode uintptr, seconds float64, returnAfterSource bool) int32
	stop              func(runLoop uintptr)
	addSource         func(runLoop, source, mode uintptr)
	registerPower     func(refcon uintptr, port *uintptr, callback uintptr, notifier *uint32) uint32
	portSource        func(port uintptr) uintptr
	allowPowerChange  func(kernelPort uint32, notificationID int) int32
	deregisterPower   func(notifier *uint32) int32
	serviceClose      func(connect uint32) int32
	portDestroy       func(port uintptr)
}

// loadMacAPI finds every function by name, so a missing one is an error,
// never a panic.
func loadMacAPI() (*macAPI, error) {
	cf, err := purego.Dlopen(coreFoundationPath, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("load CoreFoundation: %w", err)
	}
	iokit, err := purego.Dlopen(ioKitPath, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("load IOKit: %w", err)
	}
	api := &macAPI{}
	for _, f := range []struct {
		lib  uintptr
		name string
		fptr any
	}{
		{cf, "CFStringCreateWithCString", &api.stringCreate},
		{cf, "CFRelease", &api.release},
		{cf, "CFNotificationCenterGetDistributedCenter", &api.distributedCenter},
		{cf, "CFNotificationCenterAddObserver", &api.addObserver},
		{cf, "CFNotificationCenterRemoveEveryObserver", &api.removeObservers},
		{cf, "CFRunLoopGetMain", &api.mainRunLoop},
		{cf, "CFRunLoopRunInMode", &api.runInMode},
		{cf, "CFRunLoopStop", &api.stop},
		{cf, "CFRunLoopAddSource", &api.addSource},
		{iokit, "IORegisterForSystemPower", &api.registerPower},
		{iokit, "IONotificationPortGetRunLoopSource", &api.portSource},
		{iokit, "IOAllowPowerChange", &api.allowPowerChange},
		{iokit, "IODeregisterForSystemPower", &api.deregisterPower},
		{iokit, "IOServiceClose", &api.serviceClose},
		{iokit, "IONotificationPortDestroy", &api.portDestroy},
	} {
		sym, err := purego.Dlsym(f.lib, f.name)
		if err != nil {
			return nil, fmt.Errorf("find %s: %w", f.name, err)
		}
		purego.RegisterFunc(f.fptr, sym)
	}
	return api, nil
}

func watch(ctx context.Context, o Options) (watching, missing []string) {
	want := func(e string) bool { return slices.Contains(o.On, e) }
	var listen []string
	for _, e := range o.On {
		if m := macMissing(e); m != "" {
			missing = append(missing, m)
		} else {
			listen = append(listen, e)
		}
	}
	if len(listen) == 0 {
		return nil, missing
	}
	fail := func(err error) ([]string, []string) {
		for _, e := range listen {
			missing = append(missing, fmt.Sprintf("%s: %v", e, err))
		}
		return nil, missing
	}
	if !mainServed.Load() {
		return fail(errors.New("the main thread, where macOS announces it, is not lent to the watcher"))
	}
	api, err := loadMacAPI()
	if err != nil {
		return fail(err)
	}
	ready := make(chan map[string]string, 1)
	select {
	case mainCalls <- func() { runLoop(ctx, api, o, want, ready) }:
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	failed := <-ready
	for _, e := range listen {
		if why, ok := failed[e]; ok {
			missing = append(missing, e+": "+why)
		} else {
			watching = append(watching, e)
		}
	}
	return watching, missing
}

// observerTag is the observer's identity for the notification center.
var observerTag byte

// runLoop, on the main thread, observes what o asks for, sends on ready
// why it could not for an event, and runs the main run loop until ctx
// ends.
func runLoop(ctx context.Context, api *macAPI, o Options, want func(string) bool, ready chan<- map[string]string) {
	failed := map[string]string{}
	mode := api.stringCreate(0, runLoopDefaultModeString, cfStringEncodingUTF8)
	defer api.release(mode)
	loop := api.mainRunLoop()

	center := api.distributedCenter()
	observer := uintptr(unsafe.Pointer(&observerTag))
	if want(Screen) {
		for _, n := range macNotifications {
			if !want(n.event) {
				continue
			}
			name := api.stringCreate(0, n.name, cfStringEncodingUTF8)
			defer api.release(name)
			callback := purego.NewCallback(func(center, observer, name, object, userInfo uintptr) uintptr {
				// Each name has a callback of its own: no need to read
				// the name back from C.
				if reason := macNotificationReason(n.name, want); reason != "" {
					o.Lock(reason)
				}
				return 0
			})
			api.addObserver(center, observer, callback, name, 0, cfDeliverImmediately)
		}
		defer api.removeObservers(center, observer)
	}

	if want(Sleep) {
		var port uintptr
		var notifier uint32
		var root uint32
		callback := purego.NewCallback(func(refcon, service, messageType, argument uintptr) uintptr {
			reason, answer := macPowerMessage(uint32(messageType), want)
			if reason != "" {
				o.Lock(reason) // before the answer lets the machine sleep
			}
			if answer {
				api.allowPowerChange(root, int(argument))
			}
			return 0
		})
		root = api.registerPower(0, &port, callback, &notifier)
		if root == 0 {
			failed[Sleep] = "IORegisterForSystemPower refused"
		} else {
			api.addSource(loop, api.portSource(port), mode)
			defer func() {
				api.deregisterPower(&notifier)
				api.serviceClose(root)
				api.portDestroy(port)
			}()
		}
	}
	ready <- failed

	stopped := context.AfterFunc(ctx, func() { api.stop(loop) })
	defer stopped()
	for ctx.Err() == nil {
		if api.runInMode(mode, runLoopSlice, false) == cfRunLoopRunFinished {
			// Nothing to run yet: the loop returns at once; do not spin.
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}
