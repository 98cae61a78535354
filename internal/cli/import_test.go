package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tricky values for the round trip import(export(x)) == x.
var trickyValues = map[string]string{
	"app/SIMPLE":    "plain",
	"app/QUOTES":    `it's "quoted" and 'single'`,
	"app/DOLLAR":    "$HOME ${PATH} $(id) `id`",
	"app/BACKSLASH": `C:\path\to\n not a newline \\ \" \$`,
	"app/SPACES":    "  leading and trailing  ",
	"app/HASH":      "pass#word # not a comment",
	"app/NEWLINES":  "line one\nline two\r\nline three\n",
	"app/UNICODE":   "пароль 🔑 ‘curly’ \u00a0nbsp",
	"app/TAB":       "a\tb",
	"app/EQUALS":    "a=b=c",
	"app/EMPTY":     "",
}

// noDotenvForm are values of trickyValues that no dotenv spelling carries
// so that python-dotenv, godotenv, compose-go and kr read them alike
// (`${`, `\$`): export refuses them in that format (envref.ErrNoDotenvForm).
var noDotenvForm = map[string]bool{"app/DOLLAR": true, "app/BACKSLASH": true}

func TestExportImportRoundTrip(t *testing.T) {
	for _, format := range []string{"dotenv", "json"} {
		t.Run(format, func(t *testing.T) {
			e := newTestEnv(t, "", false, nil)
			ctx := context.Background()
			values := map[string]string{}
			for name, v := range trickyValues {
				if format != "dotenv" || !noDotenvForm[name] {
					values[name] = v
				}
			}
			for name, v := range values {
				if err := e.store.Set(ctx, name, []byte(v)); err != nil {
					t.Fatal(err)
				}
			}
			if code := e.run("export", "--format", format, "app/"); code != 0 {
				t.Fatalf("export: exit %d, stderr %q", code, e.err.String())
			}
			exported := e.out.String()
			file := filepath.Join(t.TempDir(), "x."+map[string]string{"dotenv": "env", "json": "json"}[format])
			if err := os.WriteFile(file, []byte(exported), 0o600); err != nil {
				t.Fatal(err)
			}
			if code := e.run("import", "--prefix", "copy/", "--allow-empty", file); code != 0 {
				t.Fatalf("import: exit %d, stderr %q\n%s", code, e.err.String(), exported)
			}
			if want := fmt.Sprintf("kr: imported %d secrets from %s\n", len(values), file); e.err.String() != want {
				t.Errorf("import said %q, want %q", e.err.String(), want)
			}
			for name, want := range values {
				copy := "copy/" + strings.TrimPrefix(name, "app/")
				got, err := e.store.Get(ctx, copy)
				if err != nil || string(got) != want {
					t.Errorf("%s: %q, %v; want %q\nexported:\n%s", copy, got, err, want, exported)
				}
			}
		})
	}
}

func TestExportKeys(t *testing.T) {
	cases := map[[2]string]string{
		{"app/", "app/db-password"}: "DB_PASSWORD",
		{"app", "app/db-password"}:  "DB_PASSWORD",
		{"app/", "app/2fa/seed"}:    "_2FA_SEED",
		{"", "db/prod"}:             "DB_PROD",
		{"app/", "app/a.b@c+d:e"}:   "A_B_C_D_E",
		{"app/", "app/Mixed_Case9"}: "MIXED_CASE9",
		{"ap", "apple"}:             "PLE",
	}
	for in, want := range cases {
		if got := exportKey(in[0], in[1]); got != want {
			t.Errorf("exportKey(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
	if _, err := exportKeys("app/", []string{"app/a-b", "app/a_b"}); err == nil || err.Error() != "app/a-b and app/a_b both become A_B" {
		t.Errorf("collision: %v", err)
	}
	if _, err := exportKeys("app", []string{"app", "app/x"}); err == nil || !strings.Contains(err.Error(), "app is the prefix itself") {
		t.Errorf("a name equal to the prefix: %v", err)
	}
}

func TestImportChecksBeforeWriting(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		file, content string
		args          []string
		msg           string
	}{
		{"ref.env", "A=1\nB=kr://db/prod\n", nil, "ref.env line 2: B holds a kr:// reference"},
		{"empty.env", "A=1\nB=\n", nil, "empty.env line 2: B is empty; nothing was imported"},
		{"dup.env", "A=1\nA=2\n", nil, "dup.env: A is set twice (lines 1 and 2)"},
		{"bad.env", "A=1\nB=\"unterminated\n", nil, "bad.env:2: unterminated double quote"},
		{"badname.json", `{"ok": "1", "bad//name": "2"}`, nil, `badname.json key "bad//name": invalid secret name`},
		{"number.json", `{"A": "1", "B": 2}`, nil, `number.json: the value of "B" is neither a string nor {"base64": "..."}`},
		{"b64.json", `{"A": {"base64": "s3cret!!"}}`, nil, `b64.json: the value of "A" holds base64 that does not decode`},
		{"b64extra.json", `{"A": {"base64": "AA==", "s3cret": 1}}`, nil, `b64extra.json: the value of "A" is neither a string nor {"base64": "..."}`},
		{"b64none.json", `{"A": {}}`, nil, `b64none.json: the value of "A" is neither a string nor {"base64": "..."}`},
		{"array.json", `["s3cret"]`, nil, "array.json: holds a JSON array; want an object of string values"},
		{"syntax.json", `{"A": s3cret}`, nil, "syntax.json: not valid JSON (at byte"},
		{"dupkey.json", `{"A": "1", "A": "2"}`, nil, `dupkey.json: json: key "A" appears twice`},
		{"exists.env", "NEW=1\nOLD=2\n", []string{"--prefix", "p/"}, "p/OLD already exists; nothing was imported"},
	}
	for _, c := range cases {
		e := newTestEnv(t, "", false, nil)
		e.store.Set(context.Background(), "p/OLD", []byte("old"))
		args := append([]string{"import"}, c.args...)
		if code := e.run(append(args, write(c.file, c.content))...); code != 1 {
			t.Errorf("%s: exit %d, want 1 (stderr %q)", c.file, code, e.err.String())
		}
		if !strings.Contains(e.err.String(), c.msg) {
			t.Errorf("%s: stderr %q, want %q", c.file, e.err.String(), c.msg)
		}
		if strings.Contains(e.err.String(), "s3cret") {
			t.Errorf("%s: a value reached stderr: %q", c.file, e.err.String())
		}
		names, _ := e.store.List(context.Background(), "")
		if len(names) != 1 {
			t.Errorf("%s: the store holds %q after a refused import", c.file, names)
		}
	}
}

func TestExportRefusesTerminal(t *testing.T) {
	e := newTestEnv(t, "", true, nil)
	e.store.Set(context.Background(), "app/X", []byte("s3cret"))
	if code := e.run("export", "app/"); code != 2 {
		t.Fatalf("export to a terminal: exit %d, want 2", code)
	}
	if e.out.Len() != 0 || !strings.Contains(e.err.String(), "--tty") {
		t.Fatalf("stdout %q, stderr %q", e.out.String(), e.err.String())
	}
	if code := e.run("import", "-"); code != 2 {
		t.Fatalf("import - from a terminal: exit %d, want 2", code)
	}
	for _, flag := range []string{"--tty", "--force"} {
		if code := e.run("export", flag, "app/"); code != 0 || e.out.String() != "X=\"s3cret\"\n" {
			t.Fatalf("export %s: exit %d, stdout %q", flag, code, e.out.String())
		}
	}
}

// TestExportRefusesNoDotenvForm: a value no dotenv reader agrees on stops
// the export, naming the variable and not the value.
func TestExportRefusesNoDotenvForm(t *testing.T) {
	for name := range noDotenvForm {
		e := newTestEnv(t, "", false, nil)
		if err := e.store.Set(context.Background(), name, []byte(trickyValues[name])); err != nil {
			t.Fatal(err)
		}
		if code := e.run("export", "--format", "dotenv", "app/"); code != 1 {
			t.Fatalf("%s: export exit %d, want 1", name, code)
		}
		v := strings.TrimPrefix(name, "app/")
		if !strings.Contains(e.err.String(), "variable "+v+": ") || strings.Contains(e.err.String(), trickyValues[name]) || e.out.Len() != 0 {
			t.Errorf("%s: stderr %q, stdout %q", name, e.err.String(), e.out.String())
		}
	}
}
