package secretservice

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/internal/testenv"
)

// TestNoPlaintextOnBus records every message on the private bus with
// dbus-monitor --binary (the raw wire bytes) while kr stores and reads a
// distinctive value. In the encrypted session the value must not appear; in
// a control run forced to the plain algorithm it must, which proves the
// monitor really saw the payloads.
func TestNoPlaintextOnBus(t *testing.T) {
	needDaemon(t)
	monitor := testenv.Tool(t, "dbus-monitor", "dbus")
	for _, tc := range []struct {
		algorithm string
		wantSeen  bool
	}{
		{algorithmDH, false},
		{algorithmPlain, true},
	} {
		t.Run(tc.algorithm, func(t *testing.T) {
			b := openTest(t, Options{algorithm: tc.algorithm})
			if got := b.currentAlgorithm(); got != tc.algorithm {
				t.Fatalf("session algorithm = %q, want %q", got, tc.algorithm)
			}
			canary := []byte("kr-canary-" + randomHex(t, 16))
			wire := recordBus(t, monitor, func(ctx context.Context) {
				if err := b.Set(ctx, "canary", canary); err != nil {
					t.Fatal(err)
				}
				got, err := b.Get(ctx, "canary")
				if err != nil || !bytes.Equal(got, canary) {
					t.Fatalf("Get = %q, %v", got, err)
				}
			})
			for _, method := range []string{"CreateItem", "GetSecret"} {
				if !bytes.Contains(wire, []byte(method)) {
					t.Fatalf("monitor did not capture the %s call", method)
				}
			}
			// Half the value too, in case a message splits it.
			seen := bytes.Contains(wire, canary) || bytes.Contains(wire, canary[len(canary)/2:])
			t.Logf("%s: monitor captured %d bytes; value seen: %v", tc.algorithm, len(wire), seen)
			if seen != tc.wantSeen {
				t.Fatalf("%s session: value on the bus = %v, want %v", tc.algorithm, seen, tc.wantSeen)
			}
		})
	}
}

// recordBus runs fn while dbus-monitor records the test bus, and returns
// the raw bytes it captured. Marker calls before and after make sure the
// monitor was attached for all of fn and flushed everything.
func recordBus(t *testing.T, monitor string, fn func(context.Context)) []byte {
	t.Helper()
	ctx := testContext(t, 30*time.Second)
	cmd := exec.Command(monitor, "--address", env.addr, "--binary")
	out, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout = w
	mon, err := startChild(cmd)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer mon.stop()
	var mu sync.Mutex
	var wire bytes.Buffer
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := out.Read(buf)
			mu.Lock()
			wire.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	captured := func() []byte {
		mu.Lock()
		defer mu.Unlock()
		return bytes.Clone(wire.Bytes())
	}

	conn, err := dbus.Connect(env.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitMarker := func(marker string) {
		deadline := time.Now().Add(10 * time.Second)
		for !bytes.Contains(captured(), []byte(marker)) {
			if time.Now().After(deadline) {
				t.Fatalf("dbus-monitor did not show marker %s within 10s", marker)
			}
			var has bool
			_ = conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, marker).Store(&has)
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitMarker("kr.test.start" + randomHex(t, 4))
	fn(ctx)
	waitMarker("kr.test.end" + randomHex(t, 4))
	return captured()
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestOpenSessionKeyLength records OpenSession calls on the bus while kr
// opens many DH sessions with the real daemon, the first with a key pair
// whose public value has a zero top byte. Every public key on the wire must
// be 128 bytes (KWallet refuses any other length), and every session must
// read a secret back, including those where the daemon's own key is short.
// KR_SS_SESSIONS sets the number of sessions (default 100).
func TestOpenSessionKeyLength(t *testing.T) {
	needDaemon(t)
	monitor := testenv.Tool(t, "dbus-monitor", "dbus")
	sessions := 100
	if s := os.Getenv("KR_SS_SESSIONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("KR_SS_SESSIONS=%q is not a positive number", s)
		}
		sessions = n
	}
	b := openTest(t, Options{})
	value := []byte("full-length key")
	wire := recordBus(t, monitor, func(ctx context.Context) {
		if err := b.Set(ctx, "keylen", value); err != nil {
			t.Fatal(err)
		}
		check := func(kb *Backend) {
			t.Helper()
			got, err := kb.Get(ctx, "keylen")
			if err != nil || !bytes.Equal(got, value) {
				t.Fatalf("Get through a new session = %q, %v", got, err)
			}
		}
		// The fixed short key first, on the test's own Backend.
		kp, err := newDHKeyPair(bytes.NewReader(shortPublicSeed()))
		if err != nil {
			t.Fatal(err)
		}
		if err := b.openSession(ctx, algorithmDH, kp); err != nil {
			t.Fatal(err)
		}
		check(b)
		// Then fresh clients, each with its own random key, as kr processes.
		for range sessions - 1 {
			conn, err := connect(ctx, env.addr)
			if err != nil {
				t.Fatal(err)
			}
			kb, err := Open(ctx, Options{Conn: conn, Service: b.service})
			if err != nil {
				conn.Close()
				t.Fatal(err)
			}
			check(kb)
			_ = kb.Close()
			conn.Close()
		}
	})

	// Each OpenSession call by its sender and serial, as its reply names it.
	type callID struct {
		peer   string
		serial uint32
	}
	calls := make(map[callID]int)
	var clientLengths, serviceLengths = map[int]int{}, map[int]int{}
	r := bytes.NewReader(wire)
	for r.Len() > 0 {
		msg, err := dbus.DecodeMessage(r)
		if err != nil {
			t.Fatalf("decode the monitor's capture (%d bytes left): %v", r.Len(), err)
		}
		switch {
		case msg.Type == dbus.TypeMethodCall && msg.Headers[dbus.FieldMember].Value() == "OpenSession":
			if len(msg.Body) != 2 || msg.Body[0] != algorithmDH {
				continue
			}
			v, _ := msg.Body[1].(dbus.Variant)
			key, ok := v.Value().([]byte)
			if !ok {
				t.Fatalf("OpenSession argument is a %s, not bytes", v.Signature())
			}
			sender, _ := msg.Headers[dbus.FieldSender].Value().(string)
			calls[callID{sender, msg.Serial()}] = len(key)
			clientLengths[len(key)]++
		case msg.Type == dbus.TypeMethodReply:
			dest, _ := msg.Headers[dbus.FieldDestination].Value().(string)
			serial, _ := msg.Headers[dbus.FieldReplySerial].Value().(uint32)
			if _, ok := calls[callID{dest, serial}]; !ok || len(msg.Body) == 0 {
				continue
			}
			v, _ := msg.Body[0].(dbus.Variant)
			key, _ := v.Value().([]byte)
			serviceLengths[len(key)]++
		}
	}
	t.Logf("%d DH OpenSession calls; our key lengths: %v; the daemon's key lengths: %v", len(calls), clientLengths, serviceLengths)
	if len(calls) != sessions {
		t.Fatalf("monitor saw %d DH OpenSession calls, want %d", len(calls), sessions)
	}
	if clientLengths[groupBytes] != sessions {
		t.Fatalf("public keys sent: %v (length: count), want all %d bytes", clientLengths, groupBytes)
	}
}
