package backends_test

import (
	"context"
	"testing"
	"time"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/memory"
)

// partialLister describes some names only, and one List does not return
// (an item of another schema, or one gone since).
type partialLister struct {
	*memory.Backend
	infos []backends.Info
}

func (p partialLister) ListInfo(ctx context.Context, prefix string) ([]backends.Info, error) {
	return p.infos, nil
}

func TestListInfoTakesNamesFromList(t *testing.T) {
	ctx := context.Background()
	when := time.Date(2026, 11, 23, 15, 4, 0, 0, time.UTC)
	m := memory.New()
	for _, n := range []string{"a/2", "a/1", "b"} {
		if err := m.Set(ctx, n, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	b := backends.Checked(partialLister{m, []backends.Info{
		{Name: "a/2", Modified: when, Writer: "secret-tool"},
		{Name: "a/ghost", Modified: when, Writer: "kr"},
	}})
	got, err := backends.ListInfo(ctx, b, "a/")
	if err != nil {
		t.Fatal(err)
	}
	want := []backends.Info{{Name: "a/1"}, {Name: "a/2", Modified: when, Writer: "secret-tool"}}
	if len(got) != len(want) {
		t.Fatalf("ListInfo = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ListInfo[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}

	// A store that is no Lister gives the names alone.
	plain, err := backends.ListInfo(ctx, backends.Checked(m), "")
	if err != nil || len(plain) != 3 || plain[0] != (backends.Info{Name: "a/1"}) {
		t.Fatalf("ListInfo of a plain store = %+v, %v", plain, err)
	}
	if _, err := backends.ListInfo(ctx, b, "a b"); err == nil {
		t.Fatal("an invalid prefix was accepted")
	}
}
