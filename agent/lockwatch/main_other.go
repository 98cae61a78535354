//go:build !darwin

package lockwatch

import "os"

// Main runs run, kr's whole command, and ends the process with its exit
// code. Only macOS needs the main thread for the watcher (see
// lockwatch_darwin.go); elsewhere this is all it does.
func Main(run func() int) { os.Exit(run()) }
