package awscred

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kr-keyring/kr/backends"
)

func getter(m map[string]string) Getter {
	return func(ctx context.Context, name string) ([]byte, error) {
		if v, ok := m[name]; ok {
			return []byte(v), nil
		}
		return nil, fmt.Errorf("%w: %s", backends.ErrNotFound, name)
	}
}

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func TestRead(t *testing.T) {
	m := map[string]string{"aws/p/access-key-id": "AKIDEXAMPLE\n", "aws/p/secret-access-key": "wJalr/K7MDENG+bPxRfiCY"}
	o, err := Read(context.Background(), "aws/p/", getter(m), now)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := o.JSON()
	if want := `{"Version":1,"AccessKeyId":"AKIDEXAMPLE","SecretAccessKey":"wJalr/K7MDENG+bPxRfiCY"}` + "\n"; string(js) != want {
		t.Fatalf("got %s, want %s", js, want)
	}
	m["aws/p/session-token"] = "FwoGZXIvYXdzE//token=="
	m["aws/p/expiration"] = "2026-05-01T14:00:00+02:00"
	o, err = Read(context.Background(), "aws/p", getter(m), now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	js, _ = o.JSON()
	if want := `{"Version":1,"AccessKeyId":"AKIDEXAMPLE","SecretAccessKey":"wJalr/K7MDENG+bPxRfiCY","SessionToken":"FwoGZXIvYXdzE//token==","Expiration":"2026-05-01T12:00:00Z"}` + "\n"; string(js) != want {
		t.Fatalf("got %s, want %s", js, want)
	}
}

// TestReadRefuses: missing, empty, damaged or expired values are errors
// that name the secret and never show its value.
func TestReadRefuses(t *testing.T) {
	base := map[string]string{"p/access-key-id": "AKID", "p/secret-access-key": "hunter2"}
	cases := []struct {
		set, value string
		is         error
		msg        string
	}{
		{"p/access-key-id", "", nil, "p/access-key-id is empty"},
		{"p/secret-access-key", " \n", nil, "p/secret-access-key is empty"},
		{"p/secret-access-key", "hun ter2", nil, "p/secret-access-key holds white space"},
		{"p/secret-access-key", "hunter2\x00", nil, "p/secret-access-key holds"},
		{"p/secret-access-key", "hunter2\xff", nil, "p/secret-access-key is not UTF-8"},
		{"p/session-token", "hunter2\nx", nil, "p/session-token holds"},
		{"p/expiration", "tomorrow", nil, "p/expiration: \"tomorrow\" is not an RFC 3339 time"},
		{"p/expiration", "2026-05-01T12:00:00Z", ErrExpired, "the stored credentials have expired: p/expiration is 2026-05-01T12:00:00Z"},
	}
	for _, c := range cases {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		m[c.set] = c.value
		_, err := Read(context.Background(), "p", getter(m), now)
		if err == nil || !strings.HasPrefix(err.Error(), c.msg) || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("%s=%q: %v, want %q", c.set, c.value, err, c.msg)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s=%q: the secret is in the error %q", c.set, c.value, err)
		}
	}
	delete(base, "p/secret-access-key")
	if _, err := Read(context.Background(), "p", getter(base), now); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("missing secret key: %v", err)
	}
}
