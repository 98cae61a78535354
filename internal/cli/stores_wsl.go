package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/config"
	"github.com/kr-keyring/kr/internal/dockercred"
	"github.com/kr-keyring/kr/internal/gitcred"
	"github.com/kr-keyring/kr/internal/wslbridge"
)

// wslStore is Windows' Credential Manager seen from inside WSL: the items
// of the dpapi store and of git's and docker's Windows helpers, read and
// written by kr.exe on the Windows side (`kr.exe bridge serve`), which kr
// starts once a run. It is a store of its own, not dpapi with another
// transport, because what can fail differs (kr.exe missing, of another
// release, not answering) and because stores.json records it for linux:
// a configuration synced to a Linux desktop then says where the secrets
// are. A secret set here is the one `kr.exe get` reads on Windows.
var wslStore = storeEntry{
	Name:         backends.WSL,
	Label:        "Windows' Credential Manager (through kr.exe)",
	Role:         osStore,
	Open:         openWSL,
	OpenForNames: openWSL, // CredEnumerate on the other side: no UI
	Doctor:       wslChecks,
	// The same targets as on Windows: Git Credential Manager's and
	// git-credential-wincred's, docker-credential-wincred's.
	Git: func(b backends.Backend) (gitcred.Store, error) {
		w, err := storeOf[*wslbridge.Backend](b)
		if err != nil {
			return nil, err
		}
		return gitcred.WinCredVia(w.Creds()), nil
	},
	Docker: func(b backends.Backend) (dockercred.Store, error) {
		w, err := storeOf[*wslbridge.Backend](b)
		if err != nil {
			return nil, err
		}
		return dockercred.WinCredVia(w.Creds()), nil
	},
}

// wslInteropFile exists inside WSL, where Windows programs run from Linux.
const wslInteropFile = "/proc/sys/fs/binfmt_misc/WSLInterop"

// inWSL reports whether kr runs inside WSL. KR_WSL=1 says so (tests run
// kr.exe under wine as the Windows side), KR_WSL=0 says not.
func (a *App) inWSL() bool {
	switch a.Getenv("KR_WSL") {
	case "1":
		return true
	case "0":
		return false
	}
	if a.Getenv("WSL_DISTRO_NAME") != "" {
		return true
	}
	_, err := os.Stat(wslInteropFile)
	return err == nil
}

// wslExe finds kr.exe: KR_WSL_EXE, else wsl.json's kr_exe, else kr.exe on
// PATH (WSL puts Windows' PATH after Linux's).
func (a *App) wslExe() (string, error) {
	if exe := a.Getenv("KR_WSL_EXE"); exe != "" {
		return exe, nil
	}
	dir, err := config.Dir(a.Getenv)
	if err != nil {
		return "", err
	}
	exe, err := config.WSLExe(dir)
	if err != nil {
		return "", withHint(err, "fix or remove the file; KR_WSL_EXE names kr.exe too")
	}
	if exe != "" {
		return exe, nil
	}
	exe, err = exec.LookPath("kr.exe")
	if err != nil {
		return "", withHint(fmt.Errorf("%w: kr.exe is not on PATH", backends.ErrUnavailable),
			"install kr on Windows (scoop install kr, winget install kr-keyring.kr), or name its kr.exe in KR_WSL_EXE or in %s's kr_exe", config.WSLFile)
	}
	return exe, nil
}

// wslBridge is the run's one kr.exe, started on first need; one that
// failed is started again.
func (a *App) wslBridge(ctx context.Context) (*wslbridge.Client, error) {
	if a.wsl != nil && !a.wsl.Broken() {
		return a.wsl, nil
	}
	exe, err := a.wslExe()
	if err != nil {
		return nil, err
	}
	c, err := wslbridge.Start(ctx, exe, agentEnv(os.Environ())) // no passphrase of kr's reaches kr.exe
	if err != nil {
		return nil, err
	}
	a.wsl = c
	return c, nil
}

func openWSL(ctx context.Context, a *App) (backends.Backend, error) {
	if !a.inWSL() {
		return nil, fmt.Errorf("not inside WSL: %w", backends.ErrNotThisSystem)
	}
	c, err := a.wslBridge(ctx)
	if err != nil {
		return nil, err
	}
	return wslbridge.NewBackend(ctx, c, a.Service), nil
}

// wslChecks reports the bridge inside WSL, and nothing elsewhere.
func wslChecks(ctx context.Context, a *App, opened backends.Backend) []check {
	if !a.inWSL() {
		return nil
	}
	b, err := openWSL(ctx, a)
	if err == nil {
		var names []string
		if names, err = b.List(ctx, ""); err == nil {
			exe, _ := a.wslExe()
			return []check{{"wsl", "ok", fmt.Sprintf("kr.exe %s answers; service %s, %d secret(s)", exe, a.Service, len(names))}}
		}
	}
	status := "fail"
	if errors.Is(err, backends.ErrUnavailable) {
		status = "warn"
	}
	return []check{{"wsl", status, err.Error()}}
}
