package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/internal/otp"
)

func newOTPCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "otp NAME",
		Short: "Print the current one-time code of a TOTP seed stored under NAME",
		Long: `Read NAME, an otpauth://totp/... URI (what an authenticator's QR code holds)
or a bare base32 seed, and print the current RFC 6238 code: SHA1, SHA256 or
SHA512, 6 or 8 digits, any period, as the URI says (a bare seed: SHA1, 6
digits, 30 seconds). Store one with, for example:
  printf %s 'otpauth://totp/GitHub:alice?secret=...&issuer=GitHub' | kr set otp/github
With --json, print {"code": ..., "expires": ...} (RFC 3339).`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: app.completeNames(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			return app.runOTP(ctx, args[0], asJSON, time.Now())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *App) runOTP(ctx context.Context, name string, asJSON bool, now time.Time) error {
	v, err := a.get(ctx, name)
	if err != nil {
		return err
	}
	k, err := otp.Parse(v)
	clear(v)
	if err != nil {
		return withHint(fmt.Errorf("%s: %w", name, err),
			"store an otpauth://totp/...?secret=... URI or the base32 seed a site shows beside its QR code")
	}
	defer k.Wipe()
	code := k.Code(now)
	if asJSON {
		return writeJSON(a.stdout(), struct {
			Code    string `json:"code"`
			Expires string `json:"expires"`
		}{code, now.Add(k.Remaining(now)).Truncate(time.Second).UTC().Format(time.RFC3339)})
	}
	_, err = fmt.Fprintln(a.stdout(), code)
	return err
}
