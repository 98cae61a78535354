//go:build unix

package cli_test

import (
	"os"
	"syscall"
)

// detachFromTerminal puts kr, run by a test, in a session of its own with
// no controlling terminal, so that a prompt fails as it does under cron or
// CI instead of reading the terminal of whoever runs the tests. A kr that
// a test started on a pty of its own keeps it: testscript's ttyin makes kr
// a session leader, where setsid fails and changes nothing, and a test that
// starts kr under a shell on a pty sets KR_TEST_KEEP_TTY.
func detachFromTerminal() {
	if os.Getenv("KR_TEST_KEEP_TTY") == "1" {
		return
	}
	syscall.Setsid()
}
