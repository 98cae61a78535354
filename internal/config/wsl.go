package config

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/kr-keyring/kr/internal/limitio"
	"github.com/kr-keyring/kr/internal/strictjson"
)

// WSLFile, in Dir, names the kr.exe that kr inside WSL runs to reach
// Windows' Credential Manager, when it is not kr.exe on PATH (KR_WSL_EXE
// wins over it). Written by hand:
//
//	{"kr_exe": "/mnt/c/Users/me/scoop/apps/kr/current/kr.exe"}
const WSLFile = "wsl.json"

type wslConfig struct {
	KrExe string `json:"kr_exe"`
}

// parseWSL reads wsl.json: a Linux path, absolute, to a file ending .exe
// (a Windows program WSL runs).
func parseWSL(path string, b []byte) (string, error) {
	var c wslConfig
	if err := strictjson.Unmarshal(b, &c); err != nil {
		return "", fmt.Errorf("%s is damaged: %w", path, err)
	}
	if !strings.HasPrefix(c.KrExe, "/") || strings.ContainsRune(c.KrExe, 0) {
		return "", fmt.Errorf("%s: kr_exe must be an absolute path in WSL (/mnt/c/...)", path)
	}
	return c.KrExe, nil
}

// WSLExe returns the kr.exe wsl.json in dir names, or "" when there is no
// such file.
func WSLExe(dir string) (string, error) {
	path := filepath.Join(dir, WSLFile)
	b, err := limitio.ReadFile(path, MaxRecord)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return parseWSL(path, b)
}
