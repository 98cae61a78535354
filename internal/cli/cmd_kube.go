package cli

import (
	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/kubecred"
)

func newKubeCredentialCmd(app *App) *cobra.Command {
	var certName, keyName string
	cmd := &cobra.Command{
		Use:   "kube-credential [NAME] [--client-certificate NAME --client-key NAME]",
		Short: "Print a kubectl ExecCredential (exec credential plugin)",
		Long: `Answer as kubectl's exec credential plugin: print an ExecCredential carrying
the bearer token stored under NAME, or the client certificate and key (PEM)
stored under the two flags' names, or both. The apiVersion is the one kubectl
asks for in KUBERNETES_EXEC_INFO (client.authentication.k8s.io/v1 or v1beta1;
v1 when it is unset). kr asks for an unlock passphrase only when kubectl says
the plugin may be interactive (interactiveMode IfAvailable or Always, and a
terminal); otherwise a locked store is an error. 'kr setup kube' prints the
kubeconfig stanza.`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: app.completeNames(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			info, err := kubecred.ParseExecInfo(app.Getenv("KUBERNETES_EXEC_INFO"))
			if err != nil {
				return err
			}
			var c kubecred.Credential
			if len(args) == 1 {
				c.TokenName = args[0]
			}
			c.CertificateName, c.KeyName = certName, keyName
			if c.TokenName == "" && certName == "" && keyName == "" {
				return usagef("give the token's NAME, or --client-certificate and --client-key")
			}
			if (certName == "") != (keyName == "") {
				return usagef("--client-certificate and --client-key go together")
			}
			for _, n := range []string{c.TokenName, certName, keyName} {
				if n != "" {
					if err := backends.ValidateName(n); err != nil {
						return err
					}
				}
			}
			if !info.Interactive {
				// kubectl did not hand over the terminal (or could not):
				// a prompt would fight it for the keyboard or hang a
				// non-interactive run.
				app.IO.OpenTerminal = nil
			}
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			b, err := app.secrets()
			if err != nil {
				return err
			}
			read := func(name string, into *[]byte) error {
				if name == "" {
					return nil
				}
				v, err := b.Get(ctx, name)
				if err != nil {
					return app.getError(ctx, name, err)
				}
				*into = v
				return nil
			}
			// Cleared however the reads end: a token read before the
			// key failed is a secret too.
			defer func() { clear(c.Token); clear(c.Key) }()
			for _, r := range []struct {
				name string
				into *[]byte
			}{{c.TokenName, &c.Token}, {certName, &c.Certificate}, {keyName, &c.Key}} {
				if err := read(r.name, r.into); err != nil {
					return err
				}
			}
			doc, err := c.ExecCredential(info.APIVersion)
			if err != nil {
				return err
			}
			defer clear(doc)
			_, err = app.stdout().Write(doc)
			return err
		},
	}
	cmd.Flags().StringVar(&certName, "client-certificate", "", "secret holding the client certificate (PEM)")
	cmd.Flags().StringVar(&keyName, "client-key", "", "secret holding the client certificate's key (PEM)")
	return cmd
}
