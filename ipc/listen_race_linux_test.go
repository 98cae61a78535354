package ipc

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// TestConcurrentListenOverStale: agents started at the same moment over a
// stale socket must not both win (one removing the other's fresh socket and
// orphaning it): exactly one listens, the others get ErrAgentRunning, and
// the winner is the one a client reaches.
func TestConcurrentListenOverStale(t *testing.T) {
	for round := range 20 {
		path := sockPath(t)
		stale, err := Listen(path)
		if err != nil {
			t.Fatal(err)
		}
		killListener(stale)
		const n = 4
		var wg sync.WaitGroup
		ls := make([]net.Listener, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ls[i], errs[i] = Listen(path)
			}()
		}
		close(start)
		wg.Wait()
		winners := 0
		var winner net.Listener
		for i := range n {
			switch {
			case errs[i] == nil:
				winners++
				winner = ls[i]
			case !errors.Is(errs[i], ErrAgentRunning):
				t.Fatalf("round %d: Listen: %v", round, errs[i])
			}
		}
		if winners != 1 {
			for _, l := range ls {
				if l != nil {
					l.Close()
				}
			}
			t.Fatalf("round %d: %d listeners won over one stale socket", round, winners)
		}
		accepted := serveHello(t, winner)
		// Hang guards, not measures: a busy machine may take seconds.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		c, err := Dial(ctx, path)
		cancel()
		if err != nil {
			t.Fatalf("round %d: dial the winner: %v", round, err)
		}
		c.Close()
		select {
		case <-accepted:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: the winner never saw the client", round)
		}
		winner.Close()
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("round %d: socket left after Close: %v", round, err)
		}
	}
}

// killListener does what a killed agent's death does: the socket stops
// answering but its file stays, and the kernel drops the agent's lock.
func killListener(l net.Listener) {
	ul := l.(*listener)
	ul.UnixListener.Close()
	ul.lock.Unlock()
}
