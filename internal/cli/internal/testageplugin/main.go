// Command testageplugin is an age plugin for kr's tests, installed as
// age-plugin-krtest: its identity data is an X25519 identity
// (AGE-SECRET-KEY-1...), which it wraps and unwraps with. Each run it
// appends its protocol ("identity-v1", "recipient-v1") to the file
// KRTEST_PLUGIN_LOG names, so a test counts how often kr asked it.
package main

import (
	"fmt"
	"os"

	"filippo.io/age"
	"filippo.io/age/plugin"
)

func main() {
	p, err := plugin.New("krtest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if log := os.Getenv("KRTEST_PLUGIN_LOG"); log != "" {
		// A passphrase of kr's must never reach a program kr starts.
		for _, v := range []string{"KR_PASSPHRASE", "KR_PASSPHRASE_FILE", "KR_NEW_PASSPHRASE", "KR_NEW_PASSPHRASE_FILE"} {
			if _, ok := os.LookupEnv(v); ok {
				if f, err := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
					fmt.Fprintln(f, "passphrase variable in the environment: "+v)
					f.Close()
				}
			}
		}
		for i, a := range os.Args {
			if i > 0 {
				if f, err := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
					fmt.Fprintln(f, a)
					f.Close()
				}
			}
		}
	}
	x := func(data []byte) (*age.X25519Identity, error) { return age.ParseX25519Identity(string(data)) }
	p.HandleIdentity(func(data []byte) (age.Identity, error) { return x(data) })
	p.HandleIdentityAsRecipient(func(data []byte) (age.Recipient, error) {
		id, err := x(data)
		if err != nil {
			return nil, err
		}
		return id.Recipient(), nil
	})
	os.Exit(p.Main())
}
