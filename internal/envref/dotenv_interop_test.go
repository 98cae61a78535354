package envref

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	compose "github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/joho/godotenv"
	"github.com/kr-keyring/kr/internal/testenv"
	"github.com/sirupsen/logrus"
)

// A dotenv file kr writes is read by other tools, each with its own rules
// for quotes, escapes and $. These are the readers `kr env
// --format dotenv` must agree with, byte for byte.
type dotenvReader struct {
	name  string
	parse func(doc string) (map[string]string, error)
}

func goDotenvReaders() []dotenvReader {
	return []dotenvReader{
		{"kr", func(doc string) (map[string]string, error) {
			vars, err := Parse([]byte(doc), "t.env")
			if err != nil {
				return nil, err
			}
			m := map[string]string{}
			for _, v := range vars {
				m[v.Key] = v.Value
			}
			return m, nil
		}},
		{"godotenv", func(doc string) (map[string]string, error) {
			return godotenv.Parse(strings.NewReader(doc))
		}},
		{"compose-go (no lookup)", func(doc string) (map[string]string, error) {
			return compose.ParseWithLookup(strings.NewReader(doc), func(string) (string, bool) { return "", false })
		}},
		{"compose-go (os.LookupEnv)", func(doc string) (map[string]string, error) {
			return compose.ParseWithLookup(strings.NewReader(doc), os.LookupEnv)
		}},
	}
}

// pythonDotenvScript reads a JSON list of documents and prints, for each,
// what python-dotenv makes of it. The bytes go through TextIOWrapper as
// open() would read a file: universal newlines, strict UTF-8.
const pythonDotenvScript = `
import base64, io, json, logging, sys
logging.disable(logging.CRITICAL)
from dotenv import dotenv_values
out = []
for doc in json.load(sys.stdin):
    try:
        stream = io.TextIOWrapper(io.BytesIO(base64.b64decode(doc)), encoding="utf-8")
        vals = dotenv_values(stream=stream, interpolate=True)
        out.append({"ok": True, "vars": vals})
    except Exception as e:
        out.append({"ok": False, "err": type(e).__name__})
json.dump(out, sys.stdout)
`

// havePythonDotenv says whether /usr/bin/python3 has python-dotenv. CI on
// Linux must: .ci/run and the workflow install python3-dotenv there.
func havePythonDotenv(t *testing.T) bool {
	t.Helper()
	err := exec.Command("/usr/bin/python3", "-c", "import dotenv").Run()
	if err != nil && testenv.InCI() && runtime.GOOS == "linux" {
		t.Fatalf("python-dotenv is missing in CI (apt-get install python3-dotenv): %v", err)
	}
	return err == nil
}

// pythonDotenv parses every document in one python run. A nil map means
// python-dotenv failed on the document; a key with no value reads as
// absent from the map, so it never equals what was written.
func pythonDotenv(t *testing.T, docs []string) []map[string]string {
	t.Helper()
	enc := make([][]byte, len(docs))
	for i, d := range docs {
		enc[i] = []byte(d) // json encodes []byte as base64: invalid UTF-8 survives
	}
	in, err := json.Marshal(enc)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", "-c", pythonDotenvScript)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python-dotenv: %v\n%s", err, stderr.Bytes())
	}
	var res []struct {
		OK   bool               `json:"ok"`
		Vars map[string]*string `json:"vars"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(docs) {
		t.Fatalf("python-dotenv output: %v (%d results for %d documents)", err, len(res), len(docs))
	}
	ms := make([]map[string]string, len(docs))
	for i, r := range res {
		if !r.OK {
			continue
		}
		ms[i] = map[string]string{}
		for k, v := range r.Vars {
			if v != nil {
				ms[i][k] = *v
			}
		}
	}
	return ms
}

// interopCorpus: every string of up to three characters over an alphabet
// of what the readers treat specially, then longer cases by hand.
func interopCorpus() []string {
	alphabet := []string{"a", "A", "0", "_", "$", "{", "}", "(", "'", "\"", `\`, " ", "\t", "\n", "\r", "#", "`", "=", ":", "é", "\x1f", "\u00a0", "\xff"}
	corpus := []string{""}
	prev := []string{""}
	for n := 0; n < 3; n++ {
		var next []string
		for _, p := range prev {
			for _, c := range alphabet {
				next = append(next, p+c)
			}
		}
		corpus = append(corpus, next...)
		prev = next
	}
	return append(corpus,
		"p@ss word\"$x", `p@ss word"\$x`, "${a}", "${A}", "${}", "${a:-b}", "${a:b}", "$${a}", `\${a}`, "${a", "a}",
		"$HOME", "$(id)", "$(ID)", "$({A}", "$1", "$ 1", "it's $5", "it's", `it's "q"`, "back\\slash\\\\n",
		"  spaces  ", "two\nlines\n", "cr\r\nlf", "tab\there", "ünïcødé ✓", "# not a comment", "a #b", "a#b",
		"=x", "a=b", "`id`", `C:\path\`, `"quoted"`, `'single'`, "\u2028", "\x85x", " \x1c", "\\'", "kr://db/prod",
		"-----BEGIN KEY-----\nMIIB\n-----END KEY-----\n", "\\n", "x\\", "\"x", "x\"", "'x", "x'",
	)
}

// candidateForms lists the spellings of v a dotenv file could use: bare,
// single-quoted (with and without python-dotenv's \\ and \' escapes) and
// double-quoted with each choice of escaping for $, newline, CR, tab,
// backtick and '. If none reads back as v in every reader, v has no common
// form and kr must refuse it.
func candidateForms(v string) []string {
	seen := map[string]bool{}
	var forms []string
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			forms = append(forms, f)
		}
	}
	add(v)
	add("'" + v + "'")
	add("'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'")
	for _, dollar := range []string{"$", `\$`, "$$"} {
		for _, lf := range []string{"\n", `\n`} {
			for _, cr := range []string{"\r", `\r`} {
				for _, tab := range []string{"\t", `\t`} {
					for _, bt := range []string{"`", "\\`"} {
						for _, sq := range []string{"'", `\'`} {
							r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", dollar, "\n", lf, "\r", cr, "\t", tab, "`", bt, "'", sq)
							add(`"` + r.Replace(v) + `"`)
						}
					}
				}
			}
		}
	}
	return forms
}

// readsBack: m holds exactly key=v.
func readsBack(m map[string]string, key, v string) bool {
	return len(m) == 1 && m[key] == v
}

// TestDotenvInterop: what `kr env --format dotenv` writes, python-dotenv,
// godotenv, compose-go (with and without the environment) and kr's own
// parser all read back exactly; a value it refuses has no form they all
// read the same, and the refusal names the variable, not the value.
func TestDotenvInterop(t *testing.T) {
	python := havePythonDotenv(t)
	// compose-go warns on stderr about each unset variable a candidate uses.
	logrus.SetOutput(io.Discard)
	t.Cleanup(func() { logrus.SetOutput(os.Stderr) })
	// Variables compose-go with os.LookupEnv would expand, were a $ left live.
	for _, k := range []string{"a", "A", "x", "ID", "_", "a_"} {
		t.Setenv(k, "from-the-environment")
	}
	readers := goDotenvReaders()
	corpus := interopCorpus()

	type job struct {
		value string
		doc   string
	}
	var written []job  // accepted: each value alone
	var together []Var // accepted: all in one file, for cross-line expansion
	refused := map[string]bool{}
	for _, v := range corpus {
		var out strings.Builder
		err := Write(&out, "dotenv", []Var{{Key: "K", Value: v}})
		if err != nil {
			if out.Len() != 0 {
				t.Errorf("value %q: refused with %v after writing %q", v, err, out.String())
			}
			if !errors.Is(err, ErrNoDotenvForm) || !strings.Contains(err.Error(), "K") {
				t.Errorf("value %q: error %v, want ErrNoDotenvForm naming K", v, err)
			}
			refused[v] = true
			continue
		}
		written = append(written, job{v, out.String()})
		together = append(together, Var{Key: fmt.Sprintf("V%d_", len(together)), Value: v})
	}
	var all strings.Builder
	if err := Write(&all, "dotenv", together); err != nil {
		t.Fatalf("all accepted values together: %v", err)
	}
	want := map[string]string{}
	for _, v := range together {
		want[v.Key] = v.Value
	}

	bad := 0
	report := func(format string, args ...any) {
		t.Helper()
		if bad++; bad <= 40 {
			t.Errorf(format, args...)
		}
	}
	// goRead: what each Go reader makes of doc (nil: it failed).
	goRead := func(doc string) []map[string]string {
		var ms []map[string]string
		for _, r := range readers {
			m, err := r.parse(doc)
			if err != nil {
				m = nil
			}
			ms = append(ms, m)
		}
		return ms
	}
	checkAll := func(reader string, m map[string]string) {
		t.Helper()
		if m == nil {
			report("%s failed on the accepted values in one file", reader)
		}
		for _, k := range slices.Sorted(maps.Keys(want)) {
			if got, ok := m[k]; !ok || got != want[k] {
				report("%s, all values in one file: %s = %q, want %q", reader, k, got, want[k])
			}
		}
	}
	for _, j := range written {
		for ri, m := range goRead(j.doc) {
			if !readsBack(m, "K", j.value) {
				report("%s reads %q (written for %q) as %q", readers[ri].name, j.doc, j.value, m["K"])
			}
		}
	}
	for ri, m := range goRead(all.String()) {
		checkAll(readers[ri].name, m)
	}
	// A refused value must have no candidate form that every reader reads
	// as it. Python is slow: it sees only the forms all Go readers pass.
	var forms []job
	for _, v := range slices.Sorted(maps.Keys(refused)) {
		for _, f := range candidateForms(v) {
			doc := "K=" + f + "\n"
			ok := true
			for _, m := range goRead(doc) {
				ok = ok && readsBack(m, "K", v)
			}
			if ok {
				forms = append(forms, job{v, doc})
			}
		}
	}
	if !python {
		t.Skipf("no python-dotenv for /usr/bin/python3 (apt-get install python3-dotenv): checked only the Go readers")
	}
	// python-dotenv copies every earlier value for each value it reads:
	// the accepted ones go in files of a few hundred.
	var docs []string
	for c := range slices.Chunk(together, 256) {
		var b strings.Builder
		if err := Write(&b, "dotenv", c); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b.String())
	}
	chunks := len(docs)
	for _, j := range forms {
		docs = append(docs, j.doc)
	}
	py := pythonDotenv(t, docs)
	merged := map[string]string{}
	for _, m := range py[:chunks] {
		maps.Copy(merged, m)
	}
	checkAll("python-dotenv", merged)
	works := map[string]string{}
	for i, j := range forms {
		if _, dup := works[j.value]; !dup && readsBack(py[chunks+i], "K", j.value) {
			works[j.value] = j.doc
		}
	}
	for _, v := range slices.Sorted(maps.Keys(works)) {
		report("kr refused %q, but every reader reads %q as it", v, works[v])
	}
	t.Logf("%d values: %d written, %d refused; %d forms of refused values passed the Go readers", len(corpus), len(written), len(refused), len(forms))
}

// TestDotenvRefusalHidesValue: the error names the variable, never the
// value, which is a secret.
func TestDotenvRefusalHidesValue(t *testing.T) {
	for _, v := range []string{`hunter2'$HUNTER`, "hunter2${HOME}", "hunter2\xff", `'hunter2"`} {
		var out strings.Builder
		err := Write(&out, "dotenv", []Var{{Key: "OK", Value: "fine"}, {Key: "DB_PASSWORD", Value: v}})
		if !errors.Is(err, ErrNoDotenvForm) {
			t.Fatalf("%q: %v, want ErrNoDotenvForm", v, err)
		}
		if !strings.Contains(err.Error(), "DB_PASSWORD") || strings.Contains(err.Error(), "hunter") {
			t.Errorf("error %q: want the name, not the value", err)
		}
		if out.Len() != 0 {
			t.Errorf("%q: wrote %q before failing", v, out.String())
		}
		// Other formats carry it.
		out.Reset()
		if utf8.ValidString(v) {
			if err := Write(&out, "sh", []Var{{Key: "DB_PASSWORD", Value: v}}); err != nil {
				t.Errorf("sh: %v", err)
			}
		}
	}
}

// FuzzDotenvWrite: whatever value Write accepts as dotenv, kr's parser,
// godotenv and compose-go read back exactly, next to other variables; one
// it refuses is refused with ErrNoDotenvForm and nothing written.
func FuzzDotenvWrite(f *testing.F) {
	for _, v := range []string{"", "plain", "p@ss word\"$x", "it's", `C:\dir\`, "a\nb\r\n", "$(ID)", "x #y", "\x1f", "${a}"} {
		f.Add(v)
	}
	readers := goDotenvReaders()[:3] // not os.LookupEnv: fuzzing stays independent of the environment
	f.Fuzz(func(t *testing.T, v string) {
		vars := []Var{{Key: "A", Value: "1"}, {Key: "K", Value: v}, {Key: "Z_", Value: v}}
		var out strings.Builder
		err := Write(&out, "dotenv", vars)
		if err != nil {
			if !errors.Is(err, ErrNoDotenvForm) && !errors.Is(err, ErrNUL) || out.Len() != 0 {
				t.Fatalf("%q: %v after writing %q", v, err, out.String())
			}
			return
		}
		for _, r := range readers {
			m, err := r.parse(out.String())
			if err != nil || len(m) != 3 || m["A"] != "1" || m["K"] != v || m["Z_"] != v {
				t.Fatalf("%s reads %q (written for %q) as %q, %v", r.name, out.String(), v, m, err)
			}
		}
	})
}
