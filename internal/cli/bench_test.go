package cli

import (
	"context"
	"io"
	"testing"
)

// BenchmarkNewRootCmd is the command tree every kr process builds before
// it runs anything.
func BenchmarkNewRootCmd(b *testing.B) {
	app := &App{IO: &IOStreams{In: eofReader{}, Out: io.Discard, ErrOut: io.Discard}, Getenv: func(string) string { return "" }}
	b.ReportAllocs()
	for b.Loop() {
		NewRootCmd(app)
	}
}

// BenchmarkRunVersion is a whole `kr version` in process.
func BenchmarkRunVersion(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		app := &App{IO: &IOStreams{In: eofReader{}, Out: io.Discard, ErrOut: io.Discard}, Getenv: func(string) string { return "" }}
		if code := Run(context.Background(), app, []string{"version"}); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
