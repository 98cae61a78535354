package secretservice

import "testing"

func TestWriterOf(t *testing.T) {
	ours := map[string]string{"service": "kr", "username": "db/prod"}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for k, v := range ours {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		label string
		attrs map[string]string
		want  string
	}{
		{"db/prod (kr)", ours, "kr"},
		{"db/prod (kr)", with("xdg:schema", "org.freedesktop.Secret.Generic"), "kr"},
		{"Password for 'db/prod' on 'kr'", with("application", "Python keyring library"), "python-keyring"},
		{"Password for 'db/prod' on 'kr'", ours, "go-keyring"},
		{"typed by hand", ours, "secret-tool"},
		{"typed by hand", with("xdg:schema", "org.freedesktop.Secret.Generic"), "secret-tool"},
		{"Password for 'db/prod' on 'kr'", with("xdg:schema", "org.freedesktop.Secret.Generic"), "go-keyring"},
		{"Password for 'db/prod' on 'kr'", with("xdg:schema", "org.example.App"), ""},
		{"db/prod", with("xdg:schema", "org.gnome.keyring.Note"), ""},
		{"db/prod", with("Title", "KeePassXC entry"), ""},
	}
	for _, c := range cases {
		if got := writerOf("db/prod", "kr", c.label, c.attrs); got != c.want {
			t.Errorf("writerOf(%q, %v) = %q, want %q", c.label, c.attrs, got, c.want)
		}
	}
}
