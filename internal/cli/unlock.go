package cli

import (
	"context"

	"github.com/kr-keyring/kr/backends/file"
)

// decrypter is how the file vault reads: the passphrase, from the
// environment or the terminal, asked at most once per process.
func (a *App) decrypter() file.Decrypter {
	return &file.PassphraseDecrypter{Passphrase: func(ctx context.Context) ([]byte, error) {
		return a.passphrase(ctx, "Vault passphrase: ")
	}}
}
