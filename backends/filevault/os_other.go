//go:build !darwin

package filevault

const isDarwin = false
