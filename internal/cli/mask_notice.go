package cli

import (
	"fmt"
	"strings"

	"github.com/kr-keyring/kr/internal/envref"
	"github.com/kr-keyring/kr/internal/execenv"
)

// unmaskedNotice is the one line `kr exec --mask` prints when it injects
// values too short to mask (masking "1" or "yes" would garble all output),
// naming their variables, never the values; "" when there are none.
func unmaskedNotice(res *envref.Result) string {
	short := map[string]bool{}
	for _, s := range res.Secrets {
		if len(s) > 0 && len(s) < execenv.MinMaskLen {
			short[string(s)] = true
		}
	}
	if len(short) == 0 {
		return ""
	}
	var vars []string
	for _, v := range res.Set {
		if short[v.Value] {
			vars = append(vars, v.Key)
		}
	}
	return fmt.Sprintf("kr: --mask does not conceal values shorter than %d bytes (%s)\n",
		execenv.MinMaskLen, strings.Join(vars, ", "))
}
