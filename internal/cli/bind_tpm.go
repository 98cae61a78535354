package cli

import "errors"

func (a *App) tpmKeeper() (keeper, error) {
	return nil, errors.New("the TPM binding is not built yet")
}
