package cli

import (
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/awscred"
)

func newAWSCredentialsCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "aws-credentials PREFIX",
		Short: "Print AWS credentials for credential_process",
		Long: `Print the credentials kept under PREFIX in the form the AWS CLI and SDKs read
from a credential_process: PREFIX/access-key-id and PREFIX/secret-access-key,
and PREFIX/session-token and PREFIX/expiration (RFC 3339) when they exist.
White space around a value is dropped. In ~/.aws/config ('kr setup aws' writes it):

  [profile work]
  credential_process = kr aws-credentials aws/work

stdout carries the credentials and nothing else; a failure (a missing secret,
an expired session, a store that needs unlocking with no terminal to ask on)
is an error on stderr and a non-zero exit, with nothing on stdout.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: app.completeNames(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix := args[0]
			keyID, _, _, _ := awscred.Names(prefix)
			if err := backends.ValidateName(keyID); err != nil {
				return usagef("PREFIX %q: %v", prefix, err)
			}
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			b, err := app.secrets()
			if err != nil {
				return err
			}
			// The store's errors name the operation and the secret.
			out, err := awscred.Read(ctx, prefix, b.Get, time.Now())
			if err != nil {
				return withAWSHint(err, prefix)
			}
			doc, err := out.JSON()
			if err != nil {
				return err
			}
			defer clear(doc)
			_, err = app.stdout().Write(doc)
			return err
		},
	}
}

func withAWSHint(err error, prefix string) error {
	keyID, secret, _, exp := awscred.Names(prefix)
	switch {
	case errors.Is(err, backends.ErrNotFound):
		return withHint(err, "store the keys with 'kr set %s' and 'kr set %s'", keyID, secret)
	case errors.Is(err, awscred.ErrExpired):
		return withHint(err, "store fresh credentials, or remove %s for keys that do not expire", exp)
	}
	return err
}
