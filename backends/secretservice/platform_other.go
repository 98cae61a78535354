//go:build !(linux || freebsd || netbsd || openbsd || dragonfly)

package secretservice

// platformSupported: macOS and Windows have their own stores; a session bus
// there (e.g. from Homebrew) is not where users keep credentials.
const platformSupported = false
