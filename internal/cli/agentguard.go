package cli

// This file is the agent's guard settings (agent.json in the
// configuration directory: approval, what it locks on, the programs the
// user always allows), the approval dialog the agent shows, and the read
// log's place.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/agent/lockwatch"
	"github.com/kr-keyring/kr/agent/readlog"
	"github.com/kr-keyring/kr/internal/config"
	"github.com/kr-keyring/kr/internal/limitio"
	"github.com/kr-keyring/kr/internal/pinentry"
)

// agentRecord is agent.json: what an agent started without flags uses.
const agentRecord = "agent.json"

type agentSettings struct {
	V       int          `json:"v"`
	Confirm bool         `json:"confirm,omitempty"`
	LockOn  string       `json:"lock_on,omitempty"` // as --lock-on; "" is every event
	Allow   []agent.Rule `json:"allow,omitempty"`
}

func parseAgentSettings(b []byte) (*agentSettings, error) {
	s := &agentSettings{V: 1}
	if len(b) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(b, s); err != nil || s.V != 1 {
		return nil, &damagedSettingsError{fmt.Sprintf("%s: damaged or of another version", agentRecord)}
	}
	if s.LockOn != "" {
		if _, err := lockwatch.Parse(s.LockOn); err != nil {
			return nil, &damagedSettingsError{fmt.Sprintf("%s: lock_on: %v", agentRecord, err)}
		}
	}
	return s, nil
}

// damagedSettingsError is an agent.json that does not parse: the agent
// does not start on guesses about what the user asked of it.
type damagedSettingsError struct{ msg string }

func (e *damagedSettingsError) Error() string { return e.msg }

func (a *App) agentSettingsPath() (string, error) {
	dir, err := config.Dir(a.Getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, agentRecord), nil
}

// agentSettings reads agent.json; none is the defaults.
func (a *App) agentSettings() (*agentSettings, error) {
	p, err := a.agentSettingsPath()
	if err != nil {
		return nil, err
	}
	b, err := limitio.ReadFile(p, config.MaxRecord)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return parseAgentSettings(b)
}

func (a *App) readLogPath() (string, error) {
	dir, err := config.Dir(a.Getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, readlog.FileName), nil
}

// agentRules is the agent's view of the user's standing rules: read when a
// read would otherwise be asked about, so `kr agent allow` takes effect
// without a restart. A damaged record allows nothing.
func (a *App) agentRules() []agent.Rule {
	s, err := a.agentSettings()
	if err != nil {
		return nil
	}
	return s.Allow
}

// addAgentRule records that program may read names under prefix.
func (a *App) addAgentRule(r agent.Rule) (added bool, err error) {
	p, err := a.agentSettingsPath()
	if err != nil {
		return false, err
	}
	err = config.Update(p, func(old []byte) ([]byte, error) {
		s, err := parseAgentSettings(old)
		if err != nil {
			return nil, err
		}
		if slices.Contains(s.Allow, r) {
			return old, nil
		}
		added = true
		s.Allow = append(s.Allow, r)
		return json.MarshalIndent(s, "", "  ")
	})
	return added, err
}

// approver asks in a pinentry dialog the agent starts from its own
// environment (KR_PINENTRY, GPG_TTY, DISPLAY as it was started with):
// never a program a client named, never an answer a client relays.
type approver struct{ app *App }

var errNoDialog = errors.New("no pinentry to ask with: set KR_PINENTRY, or start the agent on a desktop")

func (p approver) Approve(ctx context.Context, program, secret string) (agent.Approval, error) {
	prog, err := p.app.pinentryProgram()
	if err != nil {
		return agent.Deny, err
	}
	if prog == "" {
		return agent.Deny, errNoDialog
	}
	o, err := p.app.pinentryOptions(prog)
	if err != nil {
		return agent.Deny, err
	}
	c, err := pinentry.Choose(ctx, o, pinentry.Prompt{
		Title:       "kr agent",
		Description: sentence(fmt.Sprintf("%s asks to read %s", program, secret)),
		OK:          "Allow until lock",
		NotOK:       "Allow once",
		Cancel:      "Deny",
	})
	switch {
	case err != nil:
		return agent.Deny, err
	case c == pinentry.ChoseOK:
		return agent.AllowUntilLock, nil
	case c == pinentry.ChoseNotOK:
		return agent.AllowOnce, nil
	}
	return agent.Deny, nil
}

// lockOnText is --lock-on's value for events: "none" for none.
func lockOnText(events []string) string {
	if len(events) == 0 {
		return "none"
	}
	return strings.Join(events, ",")
}
