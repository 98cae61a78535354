package envref

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/memory"
)

func TestParse(t *testing.T) {
	src := "\xef\xbb\xbf# comment\n" +
		"PLAIN=value\n" +
		"export EXPORTED=yes\r\n" +
		"  SPACED = trimmed value   # comment\n" +
		"HASH=a#b\n" +
		"SINGLE='lit $HOME \\n \"q\"'\n" +
		"DOUBLE=\"a\\nb \\\"q\\\" \\$x \\\\ tab\\t\"\n" +
		"MULTI=\"line1\nline2\"\n" +
		"EMPTY=\n" +
		"REF=kr://db/prod\n" +
		"QREF=\"kr://api/token\"\n" +
		"\n" +
		"LAST=end"
	vars, err := Parse([]byte(src), "t.env")
	if err != nil {
		t.Fatal(err)
	}
	want := []Var{
		{"PLAIN", "value", 2}, {"EXPORTED", "yes", 3}, {"SPACED", "trimmed value", 4}, {"HASH", "a#b", 5},
		{"SINGLE", `lit $HOME \n "q"`, 6}, {"DOUBLE", "a\nb \"q\" $x \\ tab\t", 7}, {"MULTI", "line1\nline2", 8},
		{"EMPTY", "", 10}, {"REF", "kr://db/prod", 11}, {"QREF", "kr://api/token", 12}, {"LAST", "end", 14},
	}
	if len(vars) != len(want) {
		t.Fatalf("got %d vars %+v, want %d", len(vars), vars, len(want))
	}
	for i := range want {
		if vars[i] != want[i] {
			t.Errorf("var %d = %+v, want %+v", i, vars[i], want[i])
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]string{
		"A=1\nB\n":          "t.env:2: expected '=' after the variable name",
		"A=1\n1X=2\n":       "t.env:2: invalid variable name",
		"A='open\nB=2\n":    "t.env:1: unterminated single quote",
		"A=1\n\nB=\"open\n": "t.env:3: unterminated double quote",
		"A=\"x\" junk\n":    "t.env:1: unexpected text after the value",
		"A=\"\\q\"\n":       "t.env:1: unknown escape in double quotes",
		"A=1\nB=\x00\n":     "t.env:2: NUL byte",
		"=x\n":              "t.env:1: expected KEY=value",
		"export\n":          "t.env:1: expected KEY=value",
		"A-B=1\n":           "t.env:1: invalid variable name",
		"A=1\rB=2\n":        "t.env:1: stray carriage return",
	}
	for src, want := range cases {
		_, err := Parse([]byte(src), "t.env")
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Parse(%q) error = %v, want %q", src, err, want)
		}
	}
}

// pemKey is the start of an RSA private key as `openssl genpkey` writes
// it: base64 lines of letters and digits, some with + or /.
const pemKey = `-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj
MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu
NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ
-----END PRIVATE KEY-----
`

// TestParseErrorsUnquotedPEM: a multi-line key pasted without quotes puts
// its base64 lines where names belong. The error names the file and the
// line, and shows none of the key, whether the line reads as a name
// without '=' or as an invalid name.
func TestParseErrorsUnquotedPEM(t *testing.T) {
	lines := strings.Split(pemKey, "\n")
	for i, tc := range []struct{ src, want string }{
		{"A=1\nKEY=" + pemKey, "t.env:3: expected '=' after the variable name (a value that spans lines must be in double quotes)"},
		{"KEY=" + lines[0] + "\n" + lines[2] + "\n", "t.env:2: invalid variable name (use letters, digits and _, not starting with a digit; a value that spans lines must be in double quotes)"},
		{"KEY=" + lines[0] + "\n" + lines[4] + "\n", "t.env:2: invalid variable name (use letters, digits and _, not starting with a digit; a value that spans lines must be in double quotes)"},
		{"export " + lines[1] + "\n", "t.env:1: expected '=' after the variable name (a value that spans lines must be in double quotes)"},
	} {
		_, err := Parse([]byte(tc.src), "t.env")
		if err == nil {
			t.Fatalf("case %d: Parse succeeded", i)
		}
		if err.Error() != tc.want {
			t.Errorf("case %d: error %q, want %q", i, err, tc.want)
		}
		if leak := sharedRun(err.Error(), pemKey, 4); leak != "" {
			t.Errorf("case %d: error %q shows %q of the key", i, err, leak)
		}
	}
}

// sharedRun returns a run of at least n bytes of secret found in msg
// (ignoring runs the parser's own messages contain), or "".
func sharedRun(msg, secret string, n int) string {
	for i := 0; i+n <= len(secret); i++ {
		w := secret[i : i+n]
		if strings.Contains(msg, w) && !inParseMessages(w) {
			return w
		}
	}
	return ""
}

func inParseMessages(w string) bool {
	for _, m := range parseMessages {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

// FuzzParseErrorsHideValues: whatever the file, an error is the file name,
// the line and one of the parser's fixed messages, and it carries no run
// of 4 or more bytes of the secret the fuzzer placed anywhere in the file
// (in a value, a name's place, a quote, a comment). Each \x01 in src
// becomes the secret.
func FuzzParseErrorsHideValues(f *testing.F) {
	for _, c := range []struct{ src, secret string }{
		{"KEY=\x01\n", pemKey},
		{"KEY=\x01\n", "a\nb-c/d+e\n"},
		{"A='\x01", "hunter2"},
		{"A=\"\x01\\q\x01\"\n", "hunter2"},
		{"A=\"\x01\"\x01\n", "hunter2"},
		{"\x01=1\n", "1bad-name"},
		{"A=1\n\x01\n", "MIIEvQIBADANBgkq"},
		{"export \x01\n", "hunter2"},
		{"A=\x01\rB=2", "hunter2"},
	} {
		f.Add([]byte(c.src), []byte(c.secret))
	}
	f.Fuzz(func(t *testing.T, src, secret []byte) {
		if len(secret) < 4 || bytes.IndexByte(src, 1) < 0 {
			return
		}
		in := bytes.ReplaceAll(src, []byte{1}, secret)
		_, err := Parse(in, "f.env")
		if err == nil {
			return
		}
		var pe *ParseError
		if !errors.As(err, &pe) || !slices.Contains(parseMessages, pe.Msg) {
			t.Fatalf("error %q is not one of the parser's messages", err)
		}
		if want := fmt.Sprintf("f.env:%d: %s", pe.Line, pe.Msg); err.Error() != want {
			t.Fatalf("error %q, want %q", err, want)
		}
		if leak := sharedRun(pe.Msg, string(secret), 4); leak != "" {
			t.Fatalf("error %q shows %q of the secret", err, leak)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"A=1\n", "export B='x'\n", "C=\"a\\nb\"\n# c\n", "D=kr://x\r\n", "E=\"multi\nline\"", "F= v # c"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		vars, err := Parse(b, "f.env")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 || pe.Line > strings.Count(string(b), "\n")+1 {
				t.Fatalf("bad error %v", err)
			}
			return
		}
		// What Write prints as dotenv parses back to the same variables.
		var out strings.Builder
		if err := Write(&out, "dotenv", vars); errors.Is(err, ErrNoDotenvForm) {
			return // other readers could not read it back; FuzzDotenvWrite covers refusals
		} else if err != nil {
			t.Fatal(err)
		}
		back, err := Parse([]byte(out.String()), "back.env")
		if err != nil {
			t.Fatalf("re-parse of %q: %v", out.String(), err)
		}
		if len(back) != len(vars) {
			t.Fatalf("round trip lost variables: %+v vs %+v", vars, back)
		}
		for i := range vars {
			if back[i].Key != vars[i].Key || back[i].Value != vars[i].Value {
				t.Fatalf("round trip %+v -> %+v", vars[i], back[i])
			}
		}
	})
}

func TestResolve(t *testing.T) {
	ctx := context.Background()
	store := backends.Checked(memory.New())
	store.Set(ctx, "db/prod", []byte("pw1"))
	store.Set(ctx, "api", []byte("tok"))
	inherited := []string{"HOME=/h", "FROM_ENV=kr://api", "OVERRIDDEN=kr://nosuch", "KR_PASSPHRASE=hunter2", "KR_PASSPHRASE_FILE=/p"}
	res, err := Resolve(ctx, store, inherited, []Layer{
		{Source: "a.env", Vars: []Var{{"OVERRIDDEN", "plain", 1}, {"PG", "kr://db/prod", 2}}},
		{Source: "-e", Vars: []Var{{"PG2", "kr://db/prod", 0}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Join(res.Env, "\n")
	for _, want := range []string{"HOME=/h", "FROM_ENV=tok", "OVERRIDDEN=plain", "PG=pw1", "PG2=pw1"} {
		if !strings.Contains(env+"\n", want+"\n") {
			t.Errorf("env lacks %s:\n%s", want, env)
		}
	}
	if strings.Contains(env, "KR_PASSPHRASE") || strings.Contains(env, "hunter2") {
		t.Errorf("kr's passphrase reached the child:\n%s", env)
	}
	if len(res.Secrets) != 2 {
		t.Errorf("secrets %q: each name once", res.Secrets)
	}
	if got := fmt.Sprint(res.Set); got != "[{FROM_ENV tok 0} {OVERRIDDEN plain 0} {PG pw1 0} {PG2 pw1 0}]" {
		t.Errorf("Set = %s", got)
	}

	_, err = Resolve(ctx, store, nil, []Layer{{Source: "b.env", Vars: []Var{{"X", "kr://missing/one", 3}}}})
	if !errors.Is(err, backends.ErrNotFound) || !strings.Contains(err.Error(), "X=kr://missing/one (from b.env line 3)") {
		t.Fatalf("unresolvable: %v", err)
	}
	store.Set(ctx, "nul", []byte("a\x00b"))
	if _, err := Resolve(ctx, store, nil, []Layer{{Vars: []Var{{"N", "kr://nul", 0}}}}); !errors.Is(err, ErrNUL) {
		t.Fatalf("NUL value: %v", err)
	}
}

func TestParseAssignment(t *testing.T) {
	if v, err := ParseAssignment("PGPASSWORD=db/prod"); err != nil || v.Value != "kr://db/prod" {
		t.Fatalf("%v %v", v, err)
	}
	for _, bad := range []string{"NOEQ", "1X=a", "X=../a", "X="} {
		if _, err := ParseAssignment(bad); err == nil {
			t.Errorf("ParseAssignment(%q) accepted", bad)
		}
	}
}

func TestTrust(t *testing.T) {
	dir := t.TempDir()
	tr := &Trust{Path: filepath.Join(dir, "cfg", "allowed.json")}
	p := filepath.Join(dir, ".kr.env")
	if st, _, _ := tr.Check(p); st != Absent {
		t.Fatalf("missing file: %v", st)
	}
	os.WriteFile(p, []byte("A=kr://x\n"), 0o600)
	if st, _, _ := tr.Check(p); st != NotAllowed {
		t.Fatalf("new file: %v", st)
	}
	if err := tr.Allow(p); err != nil {
		t.Fatal(err)
	}
	st, content, _ := tr.Check(p)
	if st != Allowed || string(content) != "A=kr://x\n" {
		t.Fatalf("allowed file: %v %q", st, content)
	}
	if fi, err := os.Stat(tr.Path); err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("trust record: %v, %v", fi.Mode(), err)
	}
	// A symlink to an allowed file is another path, not allowed by the
	// target's record: otherwise any directory could borrow the file.
	link := filepath.Join(dir, "link.env")
	if err := os.Symlink(p, link); err == nil {
		if st, _, _ := tr.Check(link); st != NotAllowed {
			t.Fatalf("through a symlink: %v, want not allowed", st)
		}
	}
	os.WriteFile(p, []byte("A=kr://x\nB=kr://y\n"), 0o600)
	if st, _, _ := tr.Check(p); st != Changed {
		t.Fatalf("changed file: %v", st)
	}
	if had, err := tr.Revoke(p); !had || err != nil {
		t.Fatalf("revoke: %v %v", had, err)
	}
	if st, _, _ := tr.Check(p); st != NotAllowed {
		t.Fatalf("revoked: %v", st)
	}
	os.WriteFile(p, []byte("bad line\n"), 0o600)
	if err := tr.Allow(p); err == nil {
		t.Fatal("a malformed file was allowed")
	}
}

// TestQuoting evaluates `kr env` output in a real sh and parses the JSON.
func TestQuoting(t *testing.T) {
	values := []string{`it's "quoted"`, `$HOME $(id) ` + "`id`", `back\slash\\n`, "two\nlines\n", "  spaces  ", "ünïcødé ✓", "'", `\`, "", "tab\there", "cr\rhere"}
	var vars []Var
	for i, v := range values {
		vars = append(vars, Var{Key: fmt.Sprintf("V%d", i), Value: v})
	}
	var sh strings.Builder
	if err := Write(&sh, "sh", vars); err != nil {
		t.Fatal(err)
	}
	for i, want := range values {
		out, err := exec.Command("sh", "-c", sh.String()+fmt.Sprintf(`printf %%s "$V%d"`, i)).Output()
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != want {
			t.Errorf("sh round trip of %q gave %q", want, out)
		}
	}
	var dot strings.Builder
	Write(&dot, "dotenv", vars)
	back, err := Parse([]byte(dot.String()), "x")
	if err != nil {
		t.Fatal(err)
	}
	for i := range vars {
		if back[i].Value != vars[i].Value {
			t.Errorf("dotenv round trip of %q gave %q", vars[i].Value, back[i].Value)
		}
	}
	var js strings.Builder
	if err := Write(&js, "json", vars); err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(js.String()), &m); err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		if m[v.Key] != v.Value {
			t.Errorf("json round trip of %q gave %q", v.Value, m[v.Key])
		}
	}
	if got := QuoteFish(`a'b\c`); got != `'a\'b\\c'` {
		t.Errorf("fish: %s", got)
	}
	if got := QuotePowerShell("a'b\u2019c$x"); got != "'a''b\u2019\u2019c$x'" {
		t.Errorf("powershell: %s", got)
	}
	if err := Write(&sh, "sh", []Var{{"N", "a\x00", 0}}); !errors.Is(err, ErrNUL) {
		t.Errorf("NUL: %v", err)
	}
}

// TestParseErrorsHideValues: a malformed line's error says where, never
// the text of a value, which may be a secret.
func TestParseErrorsHideValues(t *testing.T) {
	for _, src := range []string{"A=\"hunter2\\qhunter2\"\n", "A=\"hunter2\"hunter2\n", "A='hunter2'hunter2\n"} {
		_, err := Parse([]byte(src), "t.env")
		if err == nil {
			t.Fatalf("Parse(%q) succeeded", src)
		}
		if strings.Contains(err.Error(), "hunter") || strings.Contains(err.Error(), `\q`) {
			t.Errorf("error %q shows part of the value", err)
		}
	}
}

// TestWriteRefusesUnsafeNames: an inherited variable's name is not checked
// by any parser, and a name like "A;touch x;B" printed bare would run as a
// command when the output is evaluated. Such a name fails the whole call,
// with nothing written.
func TestWriteRefusesUnsafeNames(t *testing.T) {
	bad := []string{"A;touch x;B", "A B", "1A", "A-B", "A$(id)", "A\nB", "A'B", "", "A=B", "ünï"}
	for _, format := range []string{"sh", "fish", "powershell", "dotenv"} {
		for _, name := range bad {
			var out strings.Builder
			err := Write(&out, format, []Var{{Key: "GOOD", Value: "v"}, {Key: name, Value: "v"}})
			if !errors.Is(err, ErrBadName) {
				t.Errorf("%s: name %q: err %v, want ErrBadName", format, name, err)
			}
			if out.Len() != 0 {
				t.Errorf("%s: name %q: printed %q before failing", format, name, out.String())
			}
		}
		var out strings.Builder
		if err := Write(&out, format, []Var{{Key: "_ok_Name9", Value: "v"}}); err != nil || out.Len() == 0 {
			t.Errorf("%s: a valid name: %v, %q", format, err, out.String())
		}
	}
	// JSON carries any name exactly, escaped.
	var js strings.Builder
	vars := []Var{{Key: "A;touch x;B", Value: "1"}, {Key: "q\"\\\n", Value: "2"}}
	if err := Write(&js, "json", vars); err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(js.String()), &m); err != nil || len(m) != 2 || m["A;touch x;B"] != "1" || m["q\"\\\n"] != "2" {
		t.Fatalf("json: %v %q", err, js.String())
	}
	// but not one JSON cannot spell: invalid UTF-8 would come back as U+FFFD.
	js.Reset()
	if err := Write(&js, "json", []Var{{Key: "A\xff", Value: "1"}}); !errors.Is(err, ErrBadName) || js.Len() != 0 {
		t.Fatalf("json, invalid UTF-8 name: %v %q", err, js.String())
	}
}

// TestFindProjectFile: the nearest .kr.env, looking no higher than the
// repository root (.git, a directory or a worktree's file) or home.
func TestFindProjectFile(t *testing.T) {
	root := t.TempDir()
	mk := func(p string) string {
		p = filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	home := filepath.Join(root, "home")
	deep := filepath.Join(home, "repo", "a", "b")
	os.MkdirAll(deep, 0o700)
	mk("home/repo/.git") // a worktree's .git is a file
	if got := FindProjectFile(deep, home); got != "" {
		t.Fatalf("none: %q", got)
	}
	mk("home/.kr.env") // above the repository root: not seen
	if got := FindProjectFile(deep, home); got != "" {
		t.Fatalf("above the repository: %q", got)
	}
	want := mk("home/repo/.kr.env")
	if got := FindProjectFile(deep, home); got != want {
		t.Fatalf("repository root: %q, want %q", got, want)
	}
	want = mk("home/repo/a/.kr.env")
	if got := FindProjectFile(deep, home); got != want {
		t.Fatalf("nearest: %q, want %q", got, want)
	}
	// Outside a repository, home is the last directory looked at.
	plain := filepath.Join(home, "plain", "x")
	os.MkdirAll(plain, 0o700)
	mk(".kr.env")
	if got, want := FindProjectFile(plain, home), filepath.Join(home, ".kr.env"); got != want {
		t.Fatalf("home: %q, want %q", got, want)
	}
	os.Remove(filepath.Join(home, ".kr.env"))
	if got := FindProjectFile(plain, home); got != "" {
		t.Fatalf("above home: %q", got)
	}
}

// TestDenyHoldsForContent: Deny holds for the content denied; a change,
// Allow and Revoke make the file undecided again; the record holds digests,
// never content.
func TestDenyHoldsForContent(t *testing.T) {
	dir := t.TempDir()
	tr := &Trust{Path: filepath.Join(dir, "cfg", "allowed.json")}
	p := filepath.Join(dir, ".kr.env")
	status := func() Status {
		t.Helper()
		st, _, err := tr.Check(p)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	os.WriteFile(p, []byte("A=kr://x\n"), 0o600)
	if st := status(); st != NotAllowed {
		t.Fatalf("undecided: %v", st)
	}
	if err := tr.Deny(p); err != nil {
		t.Fatal(err)
	}
	if st := status(); st != Denied {
		t.Fatalf("denied: %v", st)
	}
	os.WriteFile(p, []byte("A=kr://y\n"), 0o600)
	if st := status(); st != NotAllowed {
		t.Fatalf("denied, then changed: %v, want undecided", st)
	}
	if err := tr.Allow(p); err != nil {
		t.Fatal(err)
	}
	if err := tr.Deny(p); err != nil {
		t.Fatal(err)
	}
	if st := status(); st != Denied {
		t.Fatalf("deny of an allowed file: %v", st)
	}
	tr.Allow(p)
	if st := status(); st != Allowed {
		t.Fatalf("allowed after a denial: %v", st)
	}
	tr.Revoke(p)
	if st := status(); st != NotAllowed {
		t.Fatalf("after revoke: %v, want undecided", st)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "cfg", "denied.json"))
	if strings.Contains(string(b), "kr://") {
		t.Fatalf("the denial record holds content: %s", b)
	}
}

// TestJSONRefusesInvalidUTF8Value: encoding/json would print U+FFFD in
// place of each bad byte, a value other than the secret, with no error.
func TestJSONRefusesInvalidUTF8Value(t *testing.T) {
	var out strings.Builder
	err := Write(&out, "json", []Var{{Key: "OK", Value: "fine"}, {Key: "BIN", Value: "hunter2\xff"}})
	if err == nil || !strings.Contains(err.Error(), "BIN") || strings.Contains(err.Error(), "hunter") {
		t.Fatalf("err %v, want one naming BIN and not the value", err)
	}
	if out.Len() != 0 {
		t.Fatalf("wrote %q before failing", out.String())
	}
}

func TestIsPassphraseVar(t *testing.T) {
	for _, k := range PassphraseVars {
		if !IsPassphraseVar(k) {
			t.Errorf("%s not recognised", k)
		}
	}
	if IsPassphraseVar("KR_VAULT") || IsPassphraseVar("PATH") {
		t.Error("an ordinary variable counted as a passphrase variable")
	}
	// Windows reads kr_passphrase as KR_PASSPHRASE; only there is it kr's.
	if got := IsPassphraseVar("kr_passphrase"); got != (runtime.GOOS == "windows") {
		t.Errorf("kr_passphrase on %s: %v", runtime.GOOS, got)
	}
}
