package otp

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kr-keyring/kr/internal/testenv"
)

// TestRFC6238 checks the test vectors of RFC 6238's appendix B.
func TestRFC6238(t *testing.T) {
	seeds := map[string]string{
		"SHA1":   "12345678901234567890",
		"SHA256": "12345678901234567890123456789012",
		"SHA512": "1234567890123456789012345678901234567890123456789012345678901234",
	}
	for _, c := range []struct {
		at   int64
		algo string
		want string
	}{
		{59, "SHA1", "94287082"}, {59, "SHA256", "46119246"}, {59, "SHA512", "90693936"},
		{1111111109, "SHA1", "07081804"}, {1111111109, "SHA256", "68084774"}, {1111111109, "SHA512", "25091201"},
		{20000000000, "SHA1", "65353130"}, {20000000000, "SHA256", "77737706"}, {20000000000, "SHA512", "47863826"},
	} {
		k := &Key{Secret: []byte(seeds[c.algo]), Algorithm: c.algo, Digits: 8, Period: 30 * time.Second}
		if got := k.Code(time.Unix(c.at, 0)); got != c.want {
			t.Errorf("%s at %d = %s, want %s", c.algo, c.at, got, c.want)
		}
	}
}

// TestOathtool compares codes with oathtool's for 1,000 random seeds and
// times: each oathtool run prints four consecutive codes (-w 3), and one
// shell runs every oathtool, so the comparison costs a few hundred small
// processes, not a thousand shells.
func TestOathtool(t *testing.T) {
	oathtool := testenv.Tool(t, "oathtool", "oathtool")
	type run struct {
		key *Key
		at  int64
	}
	var runs []run
	var script strings.Builder
	algos := []string{"SHA1", "SHA256", "SHA512"}
	periods := []int{30, 60, 15, 1, 90}
	for i := 0; i < 250; i++ {
		var rnd [8]byte
		rand.Read(rnd[:])
		seed := make([]byte, 10+int(rnd[0])%54)
		rand.Read(seed)
		k := &Key{Secret: seed, Algorithm: algos[i%3], Digits: 6 + 2*(i/3%2), Period: time.Duration(periods[i%5]) * time.Second}
		at := int64(binary.BigEndian.Uint32(rnd[4:])) // 1970 to 2106
		runs = append(runs, run{k, at})
		fmt.Fprintf(&script, "%s --totp=%s -d %d -s %ds -N @%d -w 3 %s || echo FAILED\n", oathtool,
			strings.ToLower(k.Algorithm), k.Digits, periods[i%5], at, hex.EncodeToString(seed))
	}
	cmd := exec.Command("sh", "-s")
	cmd.Stdin = strings.NewReader(script.String())
	cmd.Env = append(cmd.Environ(), "TZ=UTC")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 4*len(runs) {
		t.Fatalf("oathtool printed %d lines, want %d", len(lines), 4*len(runs))
	}
	checked := 0
	for i, r := range runs {
		for w := 0; w < 4; w++ {
			at := time.Unix(r.at+int64(w)*int64(r.key.Period/time.Second), 0)
			if got, want := r.key.Code(at), lines[4*i+w]; got != want {
				t.Errorf("%s %d digits period %v seed %x at %d: %s, oathtool %s", r.key.Algorithm, r.key.Digits, r.key.Period, r.key.Secret, at.Unix(), got, want)
			}
			checked++
		}
	}
	if checked != 1000 {
		t.Fatalf("checked %d codes", checked)
	}
}

func TestParse(t *testing.T) {
	seed := []byte("12345678901234567890")
	b32 := base32.StdEncoding.EncodeToString(seed)
	for in, want := range map[string]Key{
		b32:                         {seed, "SHA1", 6, 30 * time.Second},
		strings.ToLower(b32) + "\n": {seed, "SHA1", 6, 30 * time.Second},
		"GEZD GNBV-GY3T QOJQ GEZD GNBV GY3T QOJQ":                                                         {seed, "SHA1", 6, 30 * time.Second},
		"otpauth://totp/Example:alice@example.com?secret=" + b32 + "&issuer=Example":                      {seed, "SHA1", 6, 30 * time.Second},
		"OTPAUTH://TOTP/x?secret=" + strings.TrimRight(b32, "=") + "&algorithm=sha512&digits=8&period=60": {seed, "SHA512", 8, 60 * time.Second},
		"otpauth://totp/?algorithm=SHA256&period=1&secret=" + b32:                                         {seed, "SHA256", 6, time.Second},
	} {
		k, err := Parse([]byte(in))
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if !bytes.Equal(k.Secret, want.Secret) || k.Algorithm != want.Algorithm || k.Digits != want.Digits || k.Period != want.Period {
			t.Errorf("Parse(%q) = %+v, want %+v", in, *k, want)
		}
	}
	for _, in := range []string{"", "hunter2!", "otpauth://hotp/x?secret=" + b32 + "&counter=1",
		"otpauth://totp/x", "otpauth://totp/x?secret=" + b32 + "&digits=7",
		"otpauth://totp/x?secret=" + b32 + "&algorithm=MD5", "otpauth://totp/x?secret=" + b32 + "&period=0",
		"otpauth://totp/x?secret=" + b32 + "%zz", strings.Repeat("A", MaxURI+1)} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		} else if strings.Contains(err.Error(), b32) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Parse error quotes the seed: %v", err)
		}
	}
}

// FuzzParse checks that any value parses to a usable key or to an error
// that does not quote it.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"GEZDGNBVGY3TQOJQ", "otpauth://totp/a?secret=GEZDGNBV&digits=8&period=45&algorithm=SHA256",
		"otpauth://hotp/a?secret=GE", "otpauth://totp/%zz?secret=GE"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := Parse(b)
		if err != nil {
			v := strings.TrimSpace(string(b))
			if len(v) >= 8 && strings.EqualFold(v[:8], "otpauth:") {
				_, query, _ := strings.Cut(v, "?")
				if q, err2 := url.ParseQuery(query); err2 == nil {
					if sec := q.Get("secret"); len(sec) >= 4 && strings.Contains(err.Error(), sec) {
						t.Fatalf("error quotes the seed: %v", err)
					}
				}
				return
			}
			// A bare value is named in no error: each is a fixed text.
			switch err.Error() {
			case "not a TOTP seed: the seed is empty", "not a TOTP seed: the seed is not base32",
				fmt.Sprintf("not a TOTP seed: longer than %d bytes", MaxURI):
			default:
				t.Fatalf("error %q for a bare value", err)
			}
			return
		}
		if len(k.Secret) == 0 || k.Digits != 6 && k.Digits != 8 || k.Period < time.Second {
			t.Fatalf("bad key %+v", *k)
		}
		if c := k.Code(time.Unix(1e9, 0)); len(c) != k.Digits {
			t.Fatalf("code %q for %d digits", c, k.Digits)
		}
	})
}
