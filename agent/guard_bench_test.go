package agent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkGuardPerRead is what the guard adds to each read with nothing
// asked about: naming the program from the kernel and appending one log
// line (the per-connection lookup is done once per kr run; here, every
// time).
func BenchmarkGuardPerRead(b *testing.B) {
	self := selfID()
	path := filepath.Join(b.TempDir(), "reads.log")
	for b.Loop() {
		p, _, err := programOf(os.Getppid(), self)
		if err != nil {
			b.Fatal(err)
		}
		line, _ := json.Marshal(Read{Time: "2026-01-01T00:00:00Z", Name: "bench/x", Program: p.Path, PID: p.PID, Decision: DecisionAllowed})
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		f.Write(append(line, '\n'))
		f.Close()
	}
}
