package cli

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/kr-keyring/kr/backends"
)

// infoJSON is one entry of `kr ls -l --json`; unknown details are left out.
type infoJSON struct {
	Name     string `json:"name"`
	Modified string `json:"modified,omitempty"` // RFC 3339, UTC
	Writer   string `json:"writer,omitempty"`
}

// listLong prints `kr ls -l`: time written, writer, name, in columns.
func (a *App) listLong(ctx context.Context, b backends.Backend, prefix string, asJSON bool) error {
	infos, err := backends.ListInfo(ctx, b, prefix)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if asJSON {
		out := make([]infoJSON, len(infos))
		for i, in := range infos {
			out[i] = infoJSON{Name: in.Name, Writer: in.Writer}
			if !in.Modified.IsZero() {
				out[i].Modified = in.Modified.UTC().Format(time.RFC3339)
			}
		}
		if err := writeJSON(&buf, out); err != nil {
			return err
		}
	} else {
		width := 1
		for _, in := range infos {
			width = max(width, len(in.Writer))
		}
		for _, in := range infos {
			when, who := "-", in.Writer
			if !in.Modified.IsZero() {
				when = clock(in.Modified)
			}
			if who == "" {
				who = "-"
			}
			fmt.Fprintf(&buf, "%-16s  %-*s  %s\n", when, width, who, in.Name)
		}
	}
	_, err = a.stdout().Write(buf.Bytes())
	return err
}
