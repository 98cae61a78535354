package pinentry

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kr-keyring/kr/backends"
)

// The test binary is also a fake pinentry: with FAKE_PINENTRY set it
// speaks Assuan on stdin and stdout, logs the commands it got to
// FAKE_PINENTRY_LOG, and answers GETPIN as FAKE_PINENTRY says.
func TestMain(m *testing.M) {
	if prog := os.Getenv("ORPHAN_PARENT_PINENTRY"); prog != "" {
		// A process that asks and is then killed: see TestPinentryDiesWithParent.
		Confirm(context.Background(), Options{Program: prog}, Prompt{Description: "x"})
		os.Exit(0)
	}
	if mode := os.Getenv("FAKE_PINENTRY"); mode != "" {
		fakePinentry(mode, os.Getenv("FAKE_PINENTRY_LOG"))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func fakePinentry(mode, logPath string) {
	log := io.Discard
	if logPath != "" {
		f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			os.Exit(9)
		}
		defer f.Close()
		log = f
	}
	n := 0 // GETPINs so far
	in := bufio.NewScanner(os.Stdin)
	fmt.Println("# a comment first, as some pinentries write")
	fmt.Println("OK Pleased to meet you")
	for in.Scan() {
		line := in.Text()
		fmt.Fprintln(log, line)
		verb, _, _ := strings.Cut(line, " ")
		switch verb {
		case "GETPIN":
			switch mode {
			case "answer":
				fmt.Println("S PASSWORD_FROM_CACHE")
				fmt.Println("INQUIRE QUALITY x")
				in.Scan() // CAN
				fmt.Fprintln(log, in.Text())
				fmt.Println("D hun%25ter")
				fmt.Println("D 2%0A")
				fmt.Println("OK")
			case "repeat":
				fmt.Println("S PIN_REPEATED")
				fmt.Println("D new")
				fmt.Println("OK")
			case "norepeat", "differ":
				n++
				if mode == "differ" && n == 2 {
					fmt.Println("D other")
				} else {
					fmt.Println("D new")
				}
				fmt.Println("OK")
			case "cancel":
				fmt.Println("ERR 83886179 Operation cancelled <Pinentry>")
			case "silent":
				time.Sleep(time.Hour) // a dialog nobody answers
			case "exit":
				os.Exit(0)
			}
		case "CONFIRM":
			if mode == "cancel" {
				fmt.Println("ERR 83886194 Not confirmed <Pinentry>")
			} else {
				fmt.Println("OK")
			}
		case "OPTION":
			if strings.HasPrefix(line, "OPTION display") {
				fmt.Println("ERR 83886254 Unknown option <Pinentry>")
			} else {
				fmt.Println("OK")
			}
		case "BYE":
			fmt.Println("OK closing connection")
			return
		default:
			fmt.Println("OK")
		}
	}
}

func fake(t *testing.T, mode string) (Options, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), "log")
	return Options{
		Program: exe,
		Env:     append(os.Environ(), "FAKE_PINENTRY="+mode, "FAKE_PINENTRY_LOG="+log),
		TTYName: "/dev/pts/9", TTYType: "xterm", LCCtype: "C.UTF-8", Display: ":9",
		Timeout: time.Minute,
	}, log
}

func TestGetPIN(t *testing.T) {
	o, log := fake(t, "answer")
	pin, err := GetPIN(context.Background(), o, Prompt{
		Title: "kr", Description: "git asks for\nthe secret 100% db/prod", Prompt: "Passphrase:", Error: "Wrong passphrase",
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(pin) != "hun%ter2\n" {
		t.Errorf("pin %q, want the D lines decoded and joined", pin)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	want := `OPTION ttyname=/dev/pts/9
OPTION ttytype=xterm
OPTION lc-ctype=C.UTF-8
OPTION display=:9
SETTITLE kr
SETDESC git asks for%0Athe secret 100%25 db/prod
SETPROMPT Passphrase:
SETERROR Wrong passphrase
GETPIN
CAN
BYE
`
	if string(b) != want {
		t.Errorf("the pinentry got:\n%s\nwant:\n%s", b, want)
	}
}

// TestRepeat: a new passphrase is typed twice, in one dialog when the
// program can (S PIN_REPEATED), else in a second step; entries that
// differ are an error.
func TestRepeat(t *testing.T) {
	for mode, want := range map[string]error{"repeat": nil, "norepeat": nil, "differ": ErrMismatch} {
		o, log := fake(t, mode)
		pin, err := GetPIN(context.Background(), o, Prompt{Prompt: "New:", Repeat: "Repeat:"})
		if !errors.Is(err, want) || (err == nil && string(pin) != "new") {
			t.Errorf("%s: %q, %v; want %v", mode, pin, err, want)
		}
		b, _ := os.ReadFile(log)
		if n := strings.Count(string(b), "GETPIN"); (mode == "repeat") != (n == 1) || !strings.Contains(string(b), "SETREPEAT Repeat:") {
			t.Errorf("%s: the pinentry got:\n%s", mode, b)
		}
	}
}

func TestCancel(t *testing.T) {
	o, _ := fake(t, "cancel")
	pin, err := GetPIN(context.Background(), o, Prompt{Description: "x"})
	if !errors.Is(err, backends.ErrCanceled) || pin != nil {
		t.Errorf("GetPIN canceled: %v, %q; want backends.ErrCanceled", err, pin)
	}
	ok, err := Confirm(context.Background(), o, Prompt{Description: "x"})
	if err != nil || ok {
		t.Errorf("Confirm refused: %v, %v; want false and no error", ok, err)
	}
	o, _ = fake(t, "answer")
	if ok, err := Confirm(context.Background(), o, Prompt{Description: "x"}); err != nil || !ok {
		t.Errorf("Confirm: %v, %v", ok, err)
	}
}

// TestTimeout: a dialog nobody answers is ended at the timeout, as a
// timeout (exit 4), and the program is gone.
func TestTimeout(t *testing.T) {
	o, _ := fake(t, "silent")
	o.Timeout = 200 * time.Millisecond
	start := time.Now()
	_, err := GetPIN(context.Background(), o, Prompt{Description: "x"})
	var te *TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a TimeoutError", err)
	}
	if time.Since(start) < o.Timeout {
		t.Errorf("ended after %v, before the timeout %v", time.Since(start), o.Timeout)
	}
}

func TestContextCancel(t *testing.T) {
	o, _ := fake(t, "silent")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if _, err := GetPIN(ctx, o, Prompt{Description: "x"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestProgramGoesAway(t *testing.T) {
	o, _ := fake(t, "exit")
	_, err := GetPIN(context.Background(), o, Prompt{Description: "x"})
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, want an unexpected end", err)
	}
	o.Program = filepath.Join(t.TempDir(), "no-such-pinentry")
	if _, err := GetPIN(context.Background(), o, Prompt{}); err == nil {
		t.Fatal("a missing program gave no error")
	}
}

func TestCommandCut(t *testing.T) {
	long := strings.Repeat("é", 1000)
	line := command("SETDESC", long)
	if len(line) > maxLine-2 {
		t.Errorf("line of %d bytes", len(line))
	}
	if !bytes.HasSuffix(line, []byte("é")) {
		t.Errorf("the cut split a character: %q", line[len(line)-4:])
	}
}

// FuzzResponses: whatever a program sends, reading it ends with an answer
// or an error, never a panic, and never more data than the limit.
func FuzzResponses(f *testing.F) {
	f.Add([]byte("OK\n"), true)
	f.Add([]byte("D a%25b\nD %0A\nOK\n"), true)
	f.Add([]byte("ERR 83886179 Operation cancelled <Pinentry>\n"), false)
	f.Add([]byte("# hi\nS X\nINQUIRE QUALITY\nOK\n"), true)
	f.Add([]byte("D %\nOK\n"), true)
	f.Add([]byte("D %g0\n"), true)
	f.Add([]byte("ERR\n"), true)
	f.Add([]byte("garbage"), true)
	f.Fuzz(func(t *testing.T, in []byte, data bool) {
		s := &session{w: io.Discard, r: newLineReader(bytes.NewReader(in))}
		d, err := s.read(io.Discard, data)
		if err == nil && len(d) > maxData {
			t.Fatalf("%d bytes of data", len(d))
		}
		if err != nil && d != nil {
			t.Fatalf("data with an error")
		}
	})
}

// FuzzEscape: what command escapes, the D-line decoder gives back (up to
// the cut that keeps a line within Assuan's length).
func FuzzEscape(f *testing.F) {
	f.Add("plain")
	f.Add("100%\r\nnext")
	f.Fuzz(func(t *testing.T, s string) {
		line := command("D", s)
		if len(line) > maxLine-2 || bytes.ContainsAny(line, "\r\n") {
			t.Fatalf("bad line %q", line)
		}
		got, err := appendDecoded(nil, line[2:])
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(s, string(got)) && strings.ToValidUTF8(s, "\uFFFD") == s {
			t.Fatalf("decoded %q is not a prefix of %q", got, s)
		}
	})
}
