//go:build !darwin

package file

const isDarwin = false
