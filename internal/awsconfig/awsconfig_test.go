package awsconfig

import (
	"maps"
	"strings"
	"testing"
)

const cp = "credential_process"

func TestSetLandsInTheProfileBotocoreReads(t *testing.T) {
	for _, c := range []struct {
		name, in, profile, want string
	}{
		{"header with a trailing comment",
			"[default]\nregion = eu-west-1\n[profile prod] # production\nregion = us-east-1\n", "default",
			"[default]\nregion = eu-west-1\ncredential_process = V\n[profile prod] # production\nregion = us-east-1\n"},
		{"header with a ; comment",
			"[default]\n[profile prod] ; production\nregion = x\n", "default",
			"[default]\ncredential_process = V\n[profile prod] ; production\nregion = x\n"},
		{"the commented header is the profile",
			"[profile prod] # production\nregion = x\n\n[default]\n", "prod",
			"[profile prod] # production\nregion = x\ncredential_process = V\n\n[default]\n"},
		{"blanks inside the brackets",
			"[profile  prod ]\nregion = x\n", "prod",
			"[profile  prod ]\nregion = x\ncredential_process = V\n"},
		{"[ default ] is no profile",
			"[ default ]\nregion = x\n", "default",
			"[ default ]\nregion = x\n\n[default]\ncredential_process = V\n"},
		{"[profile default] after [default] is the default profile",
			"[default]\nregion = a\n\n[profile default]\nregion = b\n", "default",
			"[default]\nregion = a\n\n[profile default]\nregion = b\ncredential_process = V\n"},
		{"[default] after [profile default] is the default profile",
			"[profile default]\nregion = b\n[default]\nregion = a\n", "default",
			"[profile default]\nregion = b\n[default]\nregion = a\ncredential_process = V\n"},
		{"a continued value is replaced whole",
			"[default]\ncredential_process = old\n  --flag\n\n  more\nregion = x\n", "default",
			"[default]\ncredential_process = V\nregion = x\n"},
		{"an indented header continues a value",
			"[default]\nregion = x\n  [profile prod]\n", "prod",
			"[default]\nregion = x\n  [profile prod]\n\n[profile prod]\ncredential_process = V\n"},
		{"added as deep as the last key",
			"[default]\n  region = x\n  [profile prod]\n", "default",
			"[default]\n  region = x\n  credential_process = V\n  [profile prod]\n"},
		{"key: value and case",
			"[default]\nCredential_Process: old\n", "default",
			"[default]\ncredential_process = V\n"},
		{"CRLF kept",
			"[default]\r\nregion = x\r\n", "default",
			"[default]\r\nregion = x\r\ncredential_process = V\r\n"},
		{"no newline at the end",
			"[default]\nregion = x", "default",
			"[default]\nregion = x\ncredential_process = V\n"},
		{"quoted profile",
			"[profile \"my prod\"]\nregion = x\n", "my prod",
			"[profile \"my prod\"]\nregion = x\ncredential_process = V\n"},
		{"new profile with a blank",
			"", "my prod",
			"[profile 'my prod']\ncredential_process = V\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse([]byte(c.in), Config)
			if err != nil {
				t.Fatal(err)
			}
			before := f.Profiles()
			out, err := f.Set(c.profile, cp, "V")
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != c.want {
				t.Fatalf("got\n%q\nwant\n%q", out, c.want)
			}
			g, _ := Parse(out, Config)
			after := g.Profiles()
			delete(before, c.profile)
			delete(after, c.profile)
			if !maps.EqualFunc(before, after, maps.Equal) {
				t.Fatalf("another profile changed: %v -> %v", before, after)
			}
		})
	}
}

func TestParseRefusesWhatBotocoreRefuses(t *testing.T) {
	for _, in := range []string{
		"region = x\n",
		"[a]\n[a]\n",
		"[a]\nx = 1\nX = 2\n",
		"[a]\njust words\n",
		"[a]\n= x\n",
		"\ufeff[a]\n",
		"[a]\nx = \xff\n",
	} {
		if _, err := Parse([]byte(in), Config); err == nil {
			t.Errorf("%q parsed", in)
		} else if strings.Contains(err.Error(), "x =") {
			t.Errorf("%q: the error quotes the line: %v", in, err)
		}
	}
}

func TestCredentialsAndDefaults(t *testing.T) {
	f, err := Parse([]byte("[DEFAULT]\naws_access_key_id = AKID\n[prod] # note\nregion = x\n[ dev ]\n"), Credentials)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := f.Get("prod", "aws_access_key_id"); !ok || v != "AKID" {
		t.Fatalf("[DEFAULT] not applied: %q %v", v, ok)
	}
	if _, ok := f.Get("other", "aws_access_key_id"); ok {
		t.Fatal("[DEFAULT] made a profile")
	}
	if _, ok := f.Get("dev", "aws_access_key_id"); ok {
		t.Fatal("[ dev ] read as dev")
	}
	if _, ok := f.Get(" dev ", "aws_access_key_id"); !ok {
		t.Fatal("[ dev ] not read as \" dev \"")
	}
}

func TestShellSplit(t *testing.T) {
	for in, want := range map[string]string{
		`profile prod`:      "profile|prod",
		`profile "my prod"`: "profile|my prod",
		`profile 'a b'c`:    "profile|a bc",
		`profile a\ b`:      "profile|a b",
		`profile "a\"b\c"`:  `profile|a"b\c`,
		"profile\tx\r":      "profile|x",
		`profile ''`:        "profile|",
	} {
		w, err := shellSplit(in)
		if err != nil || strings.Join(w, "|") != want {
			t.Errorf("%q: %q %v, want %q", in, w, err, want)
		}
	}
	for _, bad := range []string{`profile "x`, `profile 'x`, `profile x\`} {
		if _, err := shellSplit(bad); err == nil {
			t.Errorf("%q split", bad)
		}
	}
}

// FuzzSet: whatever file parses, setting a key in one profile reads back,
// leaves every other profile as it was and is idempotent.
func FuzzSet(f *testing.F) {
	for _, s := range []string{
		"[default]\nregion = x\n[profile prod] # c\nregion = y\n",
		"[profile default]\n[default]\n  a = 1\n   b\n\n  c\n",
		"[DEFAULT]\ncredential_process = z\n[profile \"a b\"]\n",
		"[a]\r\nb: c\rd=e\n",
	} {
		f.Add(s, "default", false)
		f.Add(s, "prod", true)
	}
	f.Fuzz(func(t *testing.T, data, profile string, creds bool) {
		kind := Config
		if creds {
			kind = Credentials
		}
		if profile == "" || strings.ContainsAny(profile, "[]\r\n") || strip(profile) != profile {
			return
		}
		file, err := Parse([]byte(data), kind)
		if err != nil {
			return
		}
		out, err := file.Set(profile, cp, "kr aws-credentials x")
		if err != nil {
			return // refused, nothing written
		}
		g, err := Parse(out, kind)
		if err != nil {
			t.Fatalf("the result does not parse: %v\n%q", err, out)
		}
		if v, _ := g.Get(profile, cp); v != "kr aws-credentials x" {
			t.Fatalf("read back %q\n%q", v, out)
		}
		before, after := file.Profiles(), g.Profiles()
		delete(before, profile)
		delete(after, profile)
		if !maps.EqualFunc(before, after, maps.Equal) {
			t.Fatalf("another profile changed:\n%v\n%v\n%q", before, after, out)
		}
		again, err := g.Set(profile, cp, "kr aws-credentials x")
		if err != nil || string(again) != string(out) {
			t.Fatalf("not idempotent: %v\n%q\n%q", err, out, again)
		}
	})
}
