package execenv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// ErrNotFound means the command is not in the child's PATH (exit 127, as a
// shell would give).
var ErrNotFound = errors.New("command not found")

// LookPath finds file in the PATH of env (the child's, not kr's).
func LookPath(file string, env []string) (string, error) {
	path := ""
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if k == "PATH" || (runtime.GOOS == "windows" && strings.EqualFold(k, "PATH")) {
			path = v
		}
	}
	if strings.ContainsRune(file, '/') || runtime.GOOS == "windows" && strings.ContainsAny(file, `\:`) {
		if _, err := os.Stat(file); err != nil {
			return "", fmt.Errorf("%s: %w", file, ErrNotFound)
		}
		return file, nil
	}
	exts := []string{""}
	if runtime.GOOS == "windows" {
		exts = windowsExts(file, env)
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue // an empty entry would mean the working directory
		}
		for _, ext := range exts {
			p := filepath.Join(dir, file+ext)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && (runtime.GOOS == "windows" || fi.Mode()&0o111 != 0) {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%s: %w", file, ErrNotFound)
}

// Options for Run.
type Options struct {
	Path   string // from LookPath
	Args   []string
	Env    []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Secrets, when non-nil, are masked in the child's stdout and stderr.
	Secrets [][]byte
	Mask    bool
}

// Status is how the child ended.
type Status struct {
	Code   int       // exit code, when it exited
	Signal os.Signal // the signal that killed it, or nil
}

// Run starts the child, forwards kr's termination signals to it, waits, and
// reports how it ended.
func Run(o Options) (Status, error) {
	cmd := exec.Command(o.Path, o.Args[1:]...)
	cmd.Args = o.Args
	cmd.Env = o.Env
	cmd.Stdin = o.Stdin
	outs := []io.Writer{o.Stdout, o.Stderr}
	var masker *Masker
	if o.Mask {
		masker, outs = NewMasker(o.Secrets, o.Stdout, o.Stderr)
	}
	// Output that is not a file goes through pipes kr reads itself (see
	// attachOutputs): os/exec's own copying would wait for EOF, which a
	// background process the child started ("sleep 60 &") holds off for
	// as long as it keeps the pipe open.
	outputs, err := attachOutputs(cmd, outs[0], outs[1])
	if err != nil {
		return Status{}, err
	}
	// Catch the signals before the child exists, so that one arriving
	// while it starts is passed on rather than ending kr alone.
	fwd := catchSignals()
	defer fwd.stop()
	if err := cmd.Start(); err != nil {
		outputs.abort()
		return Status{}, err
	}
	outputs.started()
	fwd.forwardTo(cmd.Process)
	err = cmd.Wait()
	outputs.finish()
	if masker != nil {
		masker.Close()
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) && !errors.Is(err, exec.ErrWaitDelay) {
		return Status{}, err
	}
	return statusOf(cmd.ProcessState), nil
}

// windowsExts lists the names to try for file, as cmd.exe does: file as
// given when it already ends in one of PATHEXT's extensions, else file with
// each of them.
func windowsExts(file string, env []string) []string {
	pathext := ".COM;.EXE;.BAT;.CMD"
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); strings.EqualFold(k, "PATHEXT") && v != "" {
			pathext = v
		}
	}
	var exts []string
	for _, e := range strings.Split(pathext, ";") {
		if e = strings.ToLower(strings.TrimSpace(e)); strings.HasPrefix(e, ".") {
			if strings.EqualFold(filepath.Ext(file), e) {
				return []string{""}
			}
			exts = append(exts, e)
		}
	}
	return exts
}
