package cli

import "golang.org/x/sys/unix"

// denyInspection makes kr not dumpable: its /proc files (environ, mem,
// maps) become root's, so another process of the same user, such as the
// program `kr exec --mask` runs beside it, cannot read the environment kr
// was started with (KR_IDENTITY, KR_PASSPHRASE; unsetting a variable does
// not change /proc/PID/environ) or the secrets in its memory. It is one
// system call. execve resets it, so a program kr runs or replaces itself
// with is dumpable as usual, and RLIMIT_CORE is left alone for the same
// reason (children inherit that).
func denyInspection() { unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0) }
