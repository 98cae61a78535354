//go:build windows

package cli_test

import "golang.org/x/sys/windows"

// detachFromTerminal leaves the console, so that kr run by a test cannot
// prompt on the console of whoever runs the tests: CONIN$ fails to open.
func detachFromTerminal() {
	windows.NewLazySystemDLL("kernel32.dll").NewProc("FreeConsole").Call()
}
