package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Every kr process runs the package initialisers of everything linked into
// the one binary, `kr version` and `kr get` included: work done there is paid
// by every command. kr's own packages keep theirs to a few allocations
// (sentinel errors and small tables; a regexp or a parsed constant is built
// on first use, with sync.OnceValue), and the libraries that only some
// commands need must not initialise anything on every start.
const ownInitAllocs = 16

// slowToStart are import paths (prefixes) whose package initialisers must
// not run in kr: large tables built at start, for features that do not
// need to be in the one binary every command starts.
var slowToStart = []string{
	"golang.org/x/crypto/ssh",
	"github.com/google/go-tpm",
	"github.com/aws/aws-sdk-go",
	"github.com/aws/smithy-go",
}

var initLine = regexp.MustCompile(`^init (\S+) @[0-9.]+ ms, [0-9.]+ ms clock, [0-9]+ bytes, ([0-9]+) allocs$`)

func TestStartInitialisesLittle(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("kr.exe is tested under wine elsewhere; the initialisers are the same")
	}
	kr := filepath.Join(t.TempDir(), "kr")
	build := exec.Command("go", "build", "-tags", "netgo,osusergo", "-o", kr, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(kr, "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kr version: %v\n%s", err, stderr.String())
	}
	seen := 0
	for _, line := range strings.Split(stderr.String(), "\n") {
		m := initLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		seen++
		pkg := m[1]
		allocs, _ := strconv.Atoi(m[2])
		if strings.HasPrefix(pkg, "github.com/kr-keyring/kr/") && allocs > ownInitAllocs {
			t.Errorf("%s allocates %d times at start (at most %d): build what it needs on first use", pkg, allocs, ownInitAllocs)
		}
		for _, p := range slowToStart {
			if pkg == p || strings.HasPrefix(pkg, p+"/") {
				t.Errorf("%s initialises on every kr start (%s)", pkg, line)
			}
		}
	}
	if seen == 0 {
		t.Fatalf("GODEBUG=inittrace=1 printed no init lines:\n%s", stderr.String())
	}
}
