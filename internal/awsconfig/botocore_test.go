package awsconfig

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/kr-keyring/kr/internal/testenv"
)

// botocoreReads is what botocore makes of each file named in its
// arguments (kind, path, kind, path...): a JSON list of {"error": true}
// or {"profiles": {...}}. One run: importing botocore takes seconds.
const botocoreReads = `
import json, sys
import botocore.configloader as c
out = []
args = sys.argv[1:]
for kind, path in zip(args[::2], args[1::2]):
    try:
        raw = c.raw_config_parse(path, parse_subsections=False)
    except Exception:
        out.append({"error": True}); continue
    p = c.build_profile_map(raw)["profiles"] if kind == "config" else raw
    out.append({"profiles": p})
print(json.dumps(out))
`

type botocoreResult struct {
	Error    bool
	Profiles map[string]map[string]string
}

// TestSameAsBotocore reads tricky files with botocore itself (the AWS
// CLI's library, Debian's awscli) and with Parse: the same profiles, the
// same refusals.
func TestSameAsBotocore(t *testing.T) {
	inputs := []string{
		"[default]\nregion = eu-west-1\n[profile prod] # production\nregion = us-east-1\n",
		"[default]\n[profile prod] ; production\nregion = x\n",
		"[profile  prod ]\nregion = x\n[ default ]\nregion = y\n",
		"[default]\nregion = a\n\n[profile default]\nregion = b\n",
		"[profile default]\nregion = b\n[default]\nregion = a\n",
		"[default]\ncredential_process = old\n  --flag\n\n  more\n\n# c\nregion = x\n",
		"[default]\nregion = x\n  [profile prod]\n",
		"[default]\n  region = x\n  [profile prod]\n",
		"[default]\nCredential_Process: old\n",
		"[default]\r\nregion = x\rb = y\r\n",
		"[profile \"my prod\"]\nregion = x\n[profile 'a b'c]\n[profiles x]\n[profile x y]\n[profile \"x]\n",
		"[DEFAULT]\ncredential_process = z\n[profile p]\n[other]\n",
		"[profile p] [x]\nregion = 1\n[]]\na=b\n",
		"region = x\n",
		"[a]\n[a]\n",
		"[a]\nx = 1\nX = 2\n",
		"[a]\njust words\n",
		"[a]\n= x\n",
		"\ufeff[a]\n",
		"  # c\n;c\n[a]\n\u00a0x\u00a0=\u00a0y\u00a0\n\x1c\n",
		"[a]\nx =\n\ty\n",
		"[DEFAULT]\na = 1\n[DEFAULT]\nb = 2\n[p]\n",
	}
	inputs = append(inputs, fuzzCorpus(t)...)
	compareBotocore(t, inputs)
}

// compareBotocore reads each input with botocore and with Parse, as
// config and as credentials.
func compareBotocore(t *testing.T, inputs []string) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(py, "-c", "import botocore.configloader").Run()
	}
	if err != nil {
		testenv.Skipf(t, "python3 with botocore is not installed (Debian: awscli): %v", err)
	}
	dir := t.TempDir()
	args := []string{"-c", botocoreReads}
	for i, in := range inputs {
		path := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(path, []byte(in), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "config", path, "credentials", path)
	}
	cmd := exec.Command(py, args...)
	cmd.Env = append(os.Environ(), "PYTHONUTF8=1") // as on any desktop
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var results []botocoreResult
	if err := json.Unmarshal(out, &results); err != nil || len(results) != 2*len(inputs) {
		t.Fatalf("%s: %v", out, err)
	}
	for i, in := range inputs {
		for j, kind := range []Kind{Config, Credentials} {
			want := results[2*i+j]
			f, err := Parse([]byte(in), kind)
			switch {
			case want.Error && err == nil:
				t.Errorf("%d %v: botocore refuses %q, Parse reads it", i, kind, in)
			case !want.Error && err != nil:
				t.Errorf("%d %v: botocore reads %q, Parse: %v", i, kind, in, err)
			case err == nil && (len(want.Profiles) > 0 || len(f.Profiles()) > 0) && !reflect.DeepEqual(f.Profiles(), want.Profiles):
				t.Errorf("%d %v: %q:\nbotocore %v\nParse    %v", i, kind, in, want.Profiles, f.Profiles())
			}
		}
	}
}

// fuzzCorpus returns the files of FuzzSet's committed corpus: the fuzzer
// found them interesting, so botocore should read them as Parse does.
func fuzzCorpus(t *testing.T) []string {
	paths, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzSet", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		if len(lines) < 2 || !strings.HasPrefix(lines[1], "string(") {
			t.Fatalf("%s: not a corpus file", p)
		}
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, s)
	}
	return out
}
