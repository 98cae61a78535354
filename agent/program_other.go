//go:build !linux && !windows && !darwin

package agent

import "errors"

func processInfo(pid int) (Program, int, error) {
	return Program{}, 0, errors.New("this system does not name a socket's peer process")
}

func executableID(path string) (string, error) {
	return "", errors.New("this system does not name a socket's peer process")
}
