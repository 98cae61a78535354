package backends_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/memory"
)

// store is a candidate whose Open fails with err (nil: opens) and counts
// how often it was opened.
type store struct {
	name   string
	err    error
	opened int
}

func (s *store) candidate() backends.Candidate {
	return backends.Candidate{Name: s.name, Label: "the " + s.name, Open: func(ctx context.Context) (backends.Backend, error) {
		s.opened++
		if s.err != nil {
			return nil, s.err
		}
		return named{memory.New(), s.name}, nil
	}}
}

type named struct {
	backends.Backend
	name string
}

func (n named) Name() string { return n.name }

func TestSelect(t *testing.T) {
	unavailable := fmt.Errorf("%w: no session bus", backends.ErrUnavailable)
	stalled := fmt.Errorf("open session: %w", context.DeadlineExceeded)
	broken := errors.New("service sent an invalid public key")
	locked := fmt.Errorf("%w: collection is locked", backends.ErrLocked)
	for _, tc := range []struct {
		desc             string
		want, recorded   string
		nativeErr        error
		wantStore        string
		wantNew          bool
		wantErr          error // errors.Is
		wantPresent      bool  // a *PresentError
		wantRecorded     bool  // a *RecordedError
		wantFallbackOpen int
		wantNotice       bool
	}{
		{desc: "auto, native answers", want: "auto", wantStore: "secretservice", wantNew: true},
		{desc: "auto, no native store", want: "auto", nativeErr: unavailable, wantStore: "file", wantNew: true, wantFallbackOpen: 1},
		{desc: "auto, native stalls", want: "auto", nativeErr: stalled, wantErr: context.DeadlineExceeded, wantPresent: true},
		{desc: "auto, native broken", want: "auto", nativeErr: broken, wantPresent: true},
		{desc: "auto, native locked", want: "auto", nativeErr: locked, wantErr: backends.ErrLocked, wantPresent: true},
		{desc: "recorded native", want: "auto", recorded: "secretservice", wantStore: "secretservice"},
		{desc: "recorded native unreachable", want: "auto", recorded: "secretservice", nativeErr: unavailable, wantErr: backends.ErrUnavailable, wantRecorded: true},
		{desc: "recorded file, native fine", want: "auto", recorded: "file", wantStore: "file", wantFallbackOpen: 1},
		{desc: "recorded file, native broken", want: "auto", recorded: "file", nativeErr: broken, wantStore: "file", wantFallbackOpen: 1},
		{desc: "recorded store of another OS", want: "auto", recorded: "keychain", nativeErr: unavailable, wantStore: "file", wantNew: true, wantFallbackOpen: 1, wantNotice: true},
		{desc: "named store wins over the record", want: "file", recorded: "secretservice", wantStore: "file", wantFallbackOpen: 1},
		{desc: "named store fails", want: "secretservice", nativeErr: unavailable, wantErr: backends.ErrUnavailable},
		{desc: "named store of another OS", want: "keychain", wantErr: backends.ErrUnsupported},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			native := &store{name: "secretservice", err: tc.nativeErr}
			fallback := &store{name: "file"}
			ch, err := backends.Select(context.Background(), tc.want, tc.recorded, []backends.Candidate{native.candidate()}, fallback.candidate())
			if fallback.opened != tc.wantFallbackOpen {
				t.Errorf("file vault opened %d times, want %d", fallback.opened, tc.wantFallbackOpen)
			}
			if (ch.Notice != "") != tc.wantNotice {
				t.Errorf("notice %q", ch.Notice)
			}
			var pe *backends.PresentError
			var re *backends.RecordedError
			if errors.As(err, &pe) != tc.wantPresent || errors.As(err, &re) != tc.wantRecorded {
				t.Errorf("error %v (%T)", err, err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			if tc.wantStore == "" {
				if err == nil {
					t.Fatalf("chose %s, want an error", ch.Backend.Name())
				}
				if errors.Is(err, backends.ErrUnavailable) && !tc.wantRecorded && tc.want == "auto" {
					t.Errorf("a present store's failure reads as unavailable: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ch.Backend.Name(); got != tc.wantStore || ch.New != tc.wantNew {
				t.Errorf("chose %s (new %v), want %s (new %v)", got, ch.New, tc.wantStore, tc.wantNew)
			}
		})
	}
}
