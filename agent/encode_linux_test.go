package agent

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"os"
	"strconv"
	"strings"
	"testing"
)

// mask keeps the needle out of the memory it is searched in.
const mask = 0xa5

// maskedNeedle returns the base64 form of secret, as a request carries it,
// XORed with mask.
func maskedNeedle(secret []byte) []byte {
	n := make([]byte, base64.StdEncoding.EncodedLen(len(secret)))
	base64.StdEncoding.Encode(n, secret)
	for i := range n {
		n[i] ^= mask
	}
	return n
}

// memoryHolds reports whether this process's writable memory holds the
// unmasked needle, read through /proc/self/mem in chunks of buf.
func memoryHolds(t *testing.T, needle, buf []byte) bool {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	first := needle[0] ^ mask
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !strings.HasPrefix(f[1], "rw") {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		start, _ := strconv.ParseUint(lo, 16, 64)
		end, _ := strconv.ParseUint(hi, 16, 64)
		for off := start; off < end; off += uint64(len(buf) - len(needle)) {
			n, _ := mem.ReadAt(buf[:min(uint64(len(buf)), end-off)], int64(off))
			b := buf[:n]
			for i := bytes.IndexByte(b, first); i >= 0 && i+len(needle) <= len(b); {
				match := true
				for k := range needle {
					if b[i+k]^mask != needle[k] {
						match = false
						break
					}
				}
				if match {
					return true
				}
				j := bytes.IndexByte(b[i+1:], first)
				if j < 0 {
					break
				}
				i += 1 + j
			}
			if uint64(n) < min(uint64(len(buf)), end-off) {
				break
			}
		}
	}
	return false
}

// scanningWriter checks, while the frame is being written, that the scan
// sees it: a control, so that "not found" afterwards means something.
type scanningWriter struct {
	t      *testing.T
	needle []byte
	buf    []byte
	saw    bool
}

func (w *scanningWriter) Write(p []byte) (int, error) {
	w.saw = memoryHolds(w.t, w.needle, w.buf)
	return len(p), nil
}

// TestRequestEncodingLeavesNoCopy: the passphrase a client sends, in the
// base64 form a frame carries it, is in no memory of the process once the
// frame is written. json.Marshal left it in its pooled encode buffer, which
// a core dump of `kr exec --mask` showed.
func TestRequestEncodingLeavesNoCopy(t *testing.T) {
	secret := make([]byte, 30) // a multiple of 3: base64 without padding
	rand.Read(secret)
	needle := maskedNeedle(secret)
	w := &scanningWriter{t: t, needle: needle, buf: make([]byte, 1<<20)}
	if err := writeMsg(w, &Request{V: Version, Op: OpUnlock, VaultID: "age1x", IdentityFile: []byte("id"), Passphrase: secret, TTLSeconds: 60}); err != nil {
		t.Fatal(err)
	}
	clear(secret)
	if !w.saw {
		t.Fatal("control: the scan did not find the frame being written; it proves nothing")
	}
	if memoryHolds(t, needle, w.buf) {
		t.Fatal("the passphrase's base64 is still in memory after the frame was written")
	}
}

// TestResponseEncodingLeavesNoCopy: the same for a plaintext the agent
// sends back.
func TestResponseEncodingLeavesNoCopy(t *testing.T) {
	secret := make([]byte, 30)
	rand.Read(secret)
	needle := maskedNeedle(secret)
	w := &scanningWriter{t: t, needle: needle, buf: make([]byte, 1<<20)}
	if err := writeMsg(w, &Response{V: Version, Plaintext: secret}); err != nil {
		t.Fatal(err)
	}
	clear(secret)
	if !w.saw {
		t.Fatal("control: the scan did not find the frame being written; it proves nothing")
	}
	if memoryHolds(t, needle, w.buf) {
		t.Fatal("the plaintext's base64 is still in memory after the frame was written")
	}
}
