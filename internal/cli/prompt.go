package cli

// This file is how kr asks a person for a secret: on the controlling
// terminal when there is one, else through a pinentry program when the
// user has a desktop (or named one), else not at all (locked, exit 4).
// Every ask says what it unlocks and which program asked.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/kr-keyring/kr/internal/pinentry"
	"github.com/kr-keyring/kr/internal/recipients"
)

// secretPrompt is the wording of one ask.
type secretPrompt struct {
	// about says who asks for what: shown on the terminal as a line
	// before label, and as a pinentry dialog's description.
	about string
	// label is the short text before what is typed ("Passphrase: ").
	label string
}

// defaultPromptTimeout is how long a pinentry dialog may stay unanswered
// (KR_PROMPT_TIMEOUT): a dialog on a desktop nobody sits at must not keep
// git or an editor waiting for ever. A terminal prompt has no limit: it
// is in front of the person who ran kr.
const defaultPromptTimeout = 2 * time.Minute

// askSecret asks once, without echo: on the controlling terminal, else in
// a pinentry dialog. With neither, it fails with errNoTerminal. A reason
// set by retryTyped (a wrong passphrase) goes with the next ask: on the
// terminal it was already told, in a dialog it is its error line.
func (a *App) askSecret(ctx context.Context, p secretPrompt) ([]byte, error) {
	note := a.retryNote
	a.retryNote = ""
	if t, err := a.openTerminal(); err == nil {
		defer t.Close()
		if p.about != "" {
			fmt.Fprintf(t, "kr: %s\n", p.about)
		}
		return t.ReadSecret(p.label)
	}
	return a.dialog(ctx, p, note, "")
}

// dialog asks in a pinentry dialog; with repeat, twice (a new passphrase).
// Without a pinentry to run, it fails with errNoTerminal.
func (a *App) dialog(ctx context.Context, p secretPrompt, note, repeat string) ([]byte, error) {
	prog, err := a.pinentryProgram()
	if err != nil {
		return nil, err
	}
	if prog == "" {
		return nil, errNoTerminal
	}
	o, err := a.pinentryOptions(prog)
	if err != nil {
		return nil, err
	}
	pin, err := pinentry.GetPIN(ctx, o, pinentry.Prompt{
		Title:       "kr",
		Description: sentence(p.about),
		Prompt:      dialogLabel(p.label),
		Error:       sentence(upperFirst(note)),
		Repeat:      dialogLabel(repeat),
	})
	var te *pinentry.TimeoutError
	if errors.As(err, &te) {
		return nil, withHint(err, "KR_PROMPT_TIMEOUT sets how long a dialog waits (now %v)", te.Limit)
	}
	if err != nil {
		return nil, err
	}
	return pin, nil
}

// dialogLabel is a terminal prompt as a dialog's field label.
func dialogLabel(s string) string {
	if s == "" {
		return ""
	}
	return strings.TrimSuffix(strings.TrimSpace(s), ":") + ":"
}

// canAsk reports whether askSecret could ask: a terminal, or a pinentry.
func (a *App) canAsk() bool {
	if a.IO.CanPrompt() {
		return true
	}
	prog, err := a.pinentryProgram()
	return err == nil && prog != ""
}

// pinentryProgram is the pinentry kr runs when there is no terminal: the
// one KR_PINENTRY names (a path or a name on PATH; "never" for none);
// else, on a desktop, the system's own: pinentry-mac on macOS, pinentry on
// PATH elsewhere when WAYLAND_DISPLAY or DISPLAY is set (on Windows, one
// installed with Gpg4win or GnuPG on PATH). "" is none. It is read from
// this process's environment only: the program that needs the secret
// starts the dialog, and no client of the agent can name what runs.
func (a *App) pinentryProgram() (string, error) {
	named := a.Getenv("KR_PINENTRY")
	switch named {
	case "never":
		return "", nil
	case "":
	default:
		p, err := exec.LookPath(named)
		if err != nil {
			return "", withHint(fmt.Errorf("KR_PINENTRY: %w", err), "name a pinentry program (a path, or a name on PATH), or set KR_PINENTRY=never")
		}
		return p, nil
	}
	name := "pinentry"
	switch runtime.GOOS {
	case "darwin":
		name = "pinentry-mac"
	case "windows":
	default:
		if a.Getenv("WAYLAND_DISPLAY") == "" && a.Getenv("DISPLAY") == "" {
			return "", nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", nil
	}
	return p, nil
}

// pinentryOptions is what the dialog needs to know: the terminal for
// pinentry-curses (GPG_TTY, as gpg-agent takes it), the locale, the
// display, and the prompt timeout.
func (a *App) pinentryOptions(prog string) (pinentry.Options, error) {
	limit, err := a.promptTimeout()
	if err != nil {
		return pinentry.Options{}, err
	}
	lc := a.Getenv("LC_ALL")
	if lc == "" {
		lc = a.Getenv("LC_CTYPE")
	}
	if lc == "" {
		lc = a.Getenv("LANG")
	}
	o := pinentry.Options{
		Program: prog,
		Display: a.Getenv("DISPLAY"),
		LCCtype: lc,
		Timeout: limit,
	}
	if tty := a.Getenv("GPG_TTY"); tty != "" {
		o.TTYName, o.TTYType = tty, a.Getenv("TERM")
	}
	return o, nil
}

// promptTimeout reads KR_PROMPT_TIMEOUT.
func (a *App) promptTimeout() (time.Duration, error) {
	v := a.Getenv("KR_PROMPT_TIMEOUT")
	if v == "" {
		return defaultPromptTimeout, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, usagef("KR_PROMPT_TIMEOUT=%q is not a duration such as 2m or 90s", oneLine(v))
	}
	return d, nil
}

// sentence makes a terminal line into a dialog's sentence. The first word
// keeps its case: it may be a program's name.
func sentence(s string) string {
	if s == "" {
		return ""
	}
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// upperFirst starts kr's own words with a capital, as a dialog's line does.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// asker names the program that asked: the client of a credential helper
// (git, docker), else the process that ran kr.
func (a *App) asker() string {
	if a.requester != "" {
		return a.requester
	}
	if name, ok := parentProgram(); ok {
		return fmt.Sprintf("%s (pid %d)", name, os.Getppid())
	}
	return fmt.Sprintf("the program with pid %d", os.Getppid())
}

// keyName is how a prompt names the key a passphrase opens: the vault's
// identity, or the user's own for a shared vault, with its fingerprint.
func keyName(vault, recipient string, personal bool) string {
	fp := ""
	if recipient != "" {
		fp = ", key " + recipients.Fingerprint(recipient)
	}
	if personal {
		return fmt.Sprintf("the shared vault %s with your identity%s", vault, fp)
	}
	return fmt.Sprintf("the vault %s%s", vault, fp)
}

// unlockPrompt is the ask for the passphrase that reads secret; for ""
// it opens the key for what, a phrase whose %s is the key ("unlock %s").
func (a *App) unlockPrompt(vault, recipient string, personal bool, secret, what string) secretPrompt {
	key := keyName(vault, recipient, personal)
	label := "Passphrase of that vault: "
	if personal {
		label = "Passphrase of your identity: "
	}
	if secret != "" {
		return secretPrompt{about: fmt.Sprintf("%s asks for the secret %s from %s", a.asker(), secret, key), label: label}
	}
	return secretPrompt{about: fmt.Sprintf("%s asks to "+what, a.asker(), key), label: label}
}
