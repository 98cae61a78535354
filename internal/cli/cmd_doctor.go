package cli

import (
	"context"
	"fmt"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/recipients"
)

// check is one line of `kr doctor`.
type check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok, warn, fail or info
	Detail string `json:"detail"`
}

func newDoctorCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Show which store kr uses and whether it works",
		Long: `Check the stores, the vault and the agent, one line each: ok, info, warn or
fail. The exit status is 1 when a check fails, so scripts can use it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			checks := app.doctor(ctx)
			if asJSON {
				if err := writeJSON(app.IO.Out, checks); err != nil {
					return err
				}
			} else {
				for _, c := range checks {
					fmt.Fprintf(app.IO.Out, "%-4s  %-14s %s\n", c.Status, c.Name, oneLine(c.Detail))
				}
			}
			failed := 0
			for _, c := range checks {
				if c.Status == "fail" {
					failed++
				}
			}
			if failed > 0 {
				return fmt.Errorf("%s failed", plural(failed, "check"))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *App) doctor(ctx context.Context) []check {
	checks := []check{{"kr", "info", fmt.Sprintf("%s %s/%s %s", versionString(), runtime.GOOS, runtime.GOARCH, runtime.Version())}}
	// Open the backend first: the OS-store check reuses its connection.
	b, berr := a.Backend(ctx)
	for _, e := range thisOS() {
		checks = append(checks, e.Doctor(ctx, a, a.opened)...)
	}
	checks = append(checks, a.mountChecks(ctx)...)
	checks = append(checks, a.agentChecks(ctx)...)

	if berr != nil {
		checks = append(checks, check{"backend", "fail", berr.Error()})
	} else {
		detail := b.Name() + ", service " + a.Service
		switch {
		case a.explicitBackend():
			detail += " (named by --backend or KR_BACKEND)"
		case a.choice.New:
			detail += " (chosen by auto; the first write records it)"
		default:
			detail += " (recorded)"
		}
		checks = append(checks, check{"backend", "ok", detail})
	}
	return checks
}

// vaultChecks reports the file vault: there, readable, writable (no
// recipient or scope waiting for the user's word) and up to date.
func (a *App) vaultChecks(ctx context.Context) []check {
	var checks []check
	if v, err := a.Vault(); err != nil {
		checks = append(checks, check{"vault", "fail", err.Error()})
	} else if !v.Exists() {
		checks = append(checks, check{"vault", "info", fmt.Sprintf("%s (not created yet; the first 'kr set' or 'kr init' creates it)", v.Dir())})
	} else if _, err := v.List(ctx, ""); err != nil {
		checks = append(checks, check{"vault", "fail", fmt.Sprintf("%s: %v", v.Dir(), err)})
	} else {
		id, _ := v.ID()
		checks = append(checks, check{"vault", "ok", fmt.Sprintf("%s (recipient %s)", v.Dir(), id)})
		if rs, err := v.UnacceptedRecipients(); err != nil {
			checks = append(checks, check{"recipients", "fail", err.Error()})
		} else if len(rs) > 0 {
			fps := make([]string, len(rs))
			for i, r := range rs {
				fps[i] = recipients.Fingerprint(r) + " " + r
			}
			checks = append(checks, check{"recipients", "fail", "vault.json lists recipients you have not accepted, so writes stop: " + strings.Join(fps, ", ")})
		}
		if shared, _ := v.Shared(); shared {
			pending, err := v.PendingScopes()
			if err != nil {
				checks = append(checks, check{"scopes", "fail", err.Error()})
			} else if len(pending) > 0 {
				var fs []string
				for _, p := range pending {
					fs = append(fs, p.Folder+"/")
				}
				checks = append(checks, check{"scopes", "fail", "scopes changed in another clone, not accepted, so writes there stop: " + strings.Join(fs, ", ") + " ('kr vault scope accept' lists the changes)"})
			}
			// Stale reads the scopes through the same check: with one
			// pending it would only report that failure again.
			if err == nil && len(pending) == 0 {
				if stale, err := v.Stale(ctx); err != nil {
					checks = append(checks, check{"records", "fail", err.Error()})
				} else if len(stale) > 0 {
					checks = append(checks, check{"records", "warn", fmt.Sprintf("%s not encrypted to the recipients that govern them now (members changed in another clone): run 'kr vault sync'", pluralIs(len(stale), "secret"))})
				}
			}
			checks = append(checks, a.helperItemsCheck(ctx, v)...)
			checks = append(checks, a.signatureCheck(ctx, v)...)
		}
	}
	return checks
}

// agentChecks reports the agent in `kr doctor`.
func (a *App) agentChecks(ctx context.Context) []check {
	path, err := a.agentPath()
	if err != nil {
		return []check{{"agent", "warn", err.Error()}}
	}
	if a.agentDisabled() {
		return []check{{"agent", "info", "disabled (KR_NO_AGENT=1)"}}
	}
	c, err := a.dialAgent(ctx)
	if err != nil {
		return []check{{"agent", "info", fmt.Sprintf("not running (%s; started by 'kr unlock' or a read at the terminal)", path)}}
	}
	defer c.Close()
	st, err := c.Status()
	if err != nil {
		return []check{{"agent", "fail", err.Error()}}
	}
	detail := fmt.Sprintf("running, pid %d, %s", st.PID, path)
	for _, v := range st.Vaults {
		detail += fmt.Sprintf("; %s unlocked until %s", v.ID, v.ExpiresAt)
	}
	return []check{{"agent", "ok", detail}}
}

// mountChecks reports each mounted vault: there, readable by name, and
// writable (no recipient waiting for the user's word).
func (a *App) mountChecks(ctx context.Context) []check {
	ns, err := a.namespace()
	if err != nil {
		return []check{{"mounts", "fail", err.Error()}}
	}
	var checks []check
	for _, m := range ns.Mounts() {
		what := "mount " + m.Prefix + "/"
		b, err := m.Open(ctx)
		if err == nil {
			_, err = b.List(ctx, "")
		}
		if err != nil {
			checks = append(checks, check{what, "fail", fmt.Sprintf("%s: %v", m.Label, err)})
			continue
		}
		detail := m.Label
		if v, ok := b.(*filevault.Vault); ok {
			if rs, err := v.UnacceptedRecipients(); err != nil || len(rs) > 0 {
				checks = append(checks, check{what, "fail", fmt.Sprintf("%s: %s not accepted, so writes stop; 'kr vault recipients accept' lists them", m.Label, plural(len(rs), "recipient"))})
				continue
			}
		}
		checks = append(checks, check{what, "ok", detail})
	}
	return checks
}
