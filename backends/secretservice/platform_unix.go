//go:build linux || freebsd || netbsd || openbsd || dragonfly

package secretservice

// platformSupported: the Secret Service is a freedesktop.org API, served by
// gnome-keyring, KeePassXC or KWallet on Linux and the BSDs.
const platformSupported = true
