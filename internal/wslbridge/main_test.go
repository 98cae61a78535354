package wslbridge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kr-keyring/kr/agent"
)

// fakeEnv makes the test binary, run as `TEST bridge serve`, a kr.exe
// that answers the hello and then crashes while reading the next request.
const fakeEnv = "KR_WSLBRIDGE_TEST_FAKE"

func TestMain(m *testing.M) {
	if os.Getenv(fakeEnv) == "crash" {
		var req Request
		if agent.ReadFrame(os.Stdin, &req, Version) == nil {
			agent.WriteFrame(os.Stdout, &Response{V: Version})
			agent.ReadFrame(os.Stdin, &req, Version)
		}
		fmt.Fprintln(os.Stderr, "fake kr.exe: crashed")
		os.Exit(5)
	}
	os.Exit(m.Run())
}

// TestProcessDiesMidRequest: a real kr.exe process that dies while kr
// waits for its answer is an error naming its exit, at once.
func TestProcessDiesMidRequest(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeEnv, "crash")
	c, err := Start(limited(time.Minute), exe, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, err = NewBackend(limited(time.Hour), c, "kr").Get(context.Background(), "x")
	if err == nil || !strings.Contains(err.Error(), "stopped (exit status 5: fake kr.exe: crashed) during a request") {
		t.Fatalf("err = %v", err)
	}
	if errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 30*time.Second {
		t.Fatalf("a dead bridge waited: %v after %v", err, time.Since(start))
	}
}
