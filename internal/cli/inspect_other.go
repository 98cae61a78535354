//go:build !linux

package cli

// denyInspection does nothing here. macOS's PT_DENY_ATTACH keeps debuggers
// off but not a process's environment from its user, and on Windows a
// process of the same user may read kr's memory; only Linux has a switch
// that programs kr runs do not inherit.
func denyInspection() {}
