package cli

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/kr-keyring/kr/internal/config"
)

// TestBackendRecordConcurrent: kr backend run for different services at
// the same moment keeps every service's record.
func TestBackendRecordConcurrent(t *testing.T) {
	dir := t.TempDir()
	const n = 12
	var wg sync.WaitGroup
	codes := make([]int, n)
	envs := make([]*testEnv, n)
	for i := range n {
		envs[i] = newTestEnv(t, "", false, map[string]string{"KR_CONFIG_DIR": dir})
		envs[i].app.Service = fmt.Sprintf("svc%d", i)
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = envs[i].run("--service", fmt.Sprintf("svc%d", i), "backend", "file")
		}()
	}
	wg.Wait()
	rec, err := config.LoadStores(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if codes[i] != 0 {
			t.Fatalf("kr backend %d: exit %d: %s", i, codes[i], envs[i].err.String())
		}
		if got := rec.Get(fmt.Sprintf("svc%d", i), runtime.GOOS); got != "file" {
			t.Errorf("svc%d: recorded %q: an update was lost", i, got)
		}
	}
}
