package envref

import (
	"bytes"
	"strings"
	"testing"
)

func TestTemplateRender(t *testing.T) {
	in := "a: {{ kr://db/prod }}\nb: {{kr://x}} {{ .Go }} {{\tkr://db/prod\t}}\n{{{ kr://x }}}"
	tpl, err := ParseTemplate([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range tpl.Refs() {
		names = append(names, r.Name+"@"+string(rune('0'+r.Line)))
	}
	if got := strings.Join(names, " "); got != "db/prod@1 x@2 db/prod@2 x@3" {
		t.Fatalf("refs = %q", got)
	}
	out := tpl.Render(map[string][]byte{"db/prod": []byte("{{ kr://x }}\x00\"'\n"), "x": []byte("X")})
	want := "a: {{ kr://x }}\x00\"'\n\nb: X {{ .Go }} {{ kr://x }}\x00\"'\n\n{X}"
	if string(out) != want {
		t.Fatalf("render = %q, want %q", out, want)
	}
}

func TestTemplateErrors(t *testing.T) {
	for in, want := range map[string]string{
		"ok\n{{ kr://a b }}":   "line 2: a reference {{ kr://a must end with }}",
		"{{ kr://a":            "line 1: a reference {{ kr://a must end with }}",
		"\n\n{{ kr:// }}":      "line 3: ",
		"{{ kr://a/ }}":        "line 1: ",
		"{{ kr://a/../b }}":    "line 1: ",
		"x {{ kr://a$b }} y\n": "line 1: a reference {{ kr://a must end with }}",
	} {
		_, err := ParseTemplate([]byte(in))
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("ParseTemplate(%q) = %v, want %q...", in, err, want)
		}
	}
	for _, in := range []string{"", "{{", "{{ kr:/x }}", "{{ op://a/b }}", "}} {{ x }}", "{ kr://a }"} {
		tpl, err := ParseTemplate([]byte(in))
		if err != nil || len(tpl.Refs()) != 0 || string(tpl.Render(nil)) != in {
			t.Errorf("ParseTemplate(%q): %v, %d refs", in, err, len(tpl.Refs()))
		}
	}
}

// FuzzParseTemplate checks that the parts of a parsed template are the
// input, cut up: nothing lost, nothing added, and every reference spelled
// as it was found.
func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"a {{ kr://x }} b", "{{kr://a/b}}{{ kr://c }}", "{{ {{ kr://x }}", "{{ kr://", "\n{{\tkr://a@b:c+d\t}}\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tpl, err := ParseTemplate(b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		var whole []byte
		values := map[string][]byte{}
		for _, p := range tpl.parts {
			whole = append(whole, p.text...)
			if p.Name != "" {
				raw := strings.Trim(string(p.text), "{} \t")
				if raw != "kr://"+p.Name {
					t.Fatalf("reference %q has name %q", p.text, p.Name)
				}
				values[p.Name] = nil
			}
		}
		if !bytes.Equal(whole, b) {
			t.Fatalf("parts %q, input %q", whole, b)
		}
	})
}
