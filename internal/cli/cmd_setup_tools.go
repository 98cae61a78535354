package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/internal/atomicfile"
	"github.com/kr-keyring/kr/internal/limitio"
)

// addToolSetupCmds adds `kr setup docker|aws|kube` to setup.
func addToolSetupCmds(setup *cobra.Command, app *App) {
	setup.AddCommand(newSetupDockerCmd(app), newSetupAWSCmd(app), newSetupKubeCmd(app))
}

// readConfigFile reads a client's configuration file; a missing one is
// empty.
func readConfigFile(path string) ([]byte, error) {
	data, err := limitio.ReadFile(path, maxConfigFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

// writeConfigFile replaces path atomically, making its directory (0700)
// when it is not there. A path that is a symbolic link (dotfiles kept in a
// repository and linked into place) is written through: the file it points
// to is replaced and the link stays. The file keeps its mode when it
// exists.
func writeConfigFile(path string, data []byte) error {
	target, err := linkTarget(path)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return fmt.Errorf("make %s: %w", filepath.Dir(target), err)
	}
	mode := fs.FileMode(0o600)
	if fi, err := os.Stat(target); err == nil {
		mode = fi.Mode().Perm()
	}
	if err := atomicfile.Write(target, data); err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	return os.Chmod(target, mode)
}

// linkTarget follows path's symbolic links to the file they name, which
// need not exist yet. A rename over path would replace the link itself.
func linkTarget(path string) (string, error) {
	for range 40 { // the kernel's own limit
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		dest, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(path), dest)
		}
		path = dest
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", path)
}

// krCommand is how a client's configuration names kr: "kr" when that is
// what PATH finds, else kr's absolute path.
func krCommand() string {
	self, err := os.Executable()
	if err != nil {
		return "kr"
	}
	if p, err := exec.LookPath("kr"); err == nil && sameFile(p, self) {
		return "kr"
	}
	return self
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// onPathAs reports whether an executable file name is in a directory of
// path (kr's environment's PATH, which is the client's).
func onPathAs(path, name string) bool {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		fi, err := os.Stat(filepath.Join(dir, name))
		if err == nil && fi.Mode().IsRegular() && (runtime.GOOS == "windows" || fi.Mode().Perm()&0o111 != 0) {
			return true
		}
	}
	return false
}

// ensureHelperLink makes name (docker-credential-kr) run kr when PATH does
// not find it yet. docker looks its helper up on PATH and takes no path, so
// a link PATH does not reach is a silent wrong turn: every later docker
// login fails. The link goes next to kr when that directory is on PATH,
// else into the first directory on PATH that is the user's own; with none,
// apply refuses (exit 2) before anything is written.
func (a *App) ensureHelperLink(name string, apply bool) error {
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	path := a.Getenv("PATH")
	if onPathAs(path, name) {
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find kr's own executable: %w", err)
	}
	dir := a.helperDir(path, filepath.Dir(self))
	if dir == "" {
		home, _ := os.UserHomeDir()
		suggest := filepath.Join(home, ".local", "bin")
		if !apply {
			fmt.Fprintf(a.IO.Out, "# %s is not on PATH, and no directory on PATH is yours to write; for example:\nmkdir -p %q && ln -s %q %q  # and add %s to PATH\n",
				name, suggest, self, filepath.Join(suggest, name), suggest)
			return nil
		}
		return withHint(&usageError{err: fmt.Errorf("%s is not on PATH, and no directory on PATH is yours to write; nothing was changed", name)},
			"link kr as %s into a directory on PATH (for example %s, then add it to PATH), and run this again", name, filepath.Join(suggest, name))
	}
	link := filepath.Join(dir, name)
	if !apply {
		fmt.Fprintf(a.IO.Out, "# %s is not on PATH; link it into %s:\nln -s %q %q\n", name, dir, self, link)
		return nil
	}
	if err := linkHelper(self, link); err != nil {
		return withHint(fmt.Errorf("make %s: %w; nothing was changed", link, err), "link or copy kr as %s into a directory on PATH", name)
	}
	fmt.Fprintf(a.IO.ErrOut, "kr: made %s\n", link)
	return nil
}

// helperDir is where a helper link goes so that PATH finds it: kr's own
// directory when it is on PATH, else the first directory on PATH that is
// the user's own, or "" when there is none. A directory that already holds
// something under the name is passed over: it is not found as an
// executable, and kr does not replace what it did not make.
func (a *App) helperDir(path, selfDir string) string {
	home, _ := os.UserHomeDir()
	dirs := filepath.SplitList(path)
	if onPathDir(path, selfDir) && ownDir(selfDir, home) {
		return selfDir
	}
	for _, d := range dirs {
		if d == "" || !filepath.IsAbs(d) {
			continue
		}
		if ownDir(d, home) {
			return d
		}
	}
	return ""
}

// maxConfigFile bounds the client configuration files setup reads.
const maxConfigFile = 4 << 20
