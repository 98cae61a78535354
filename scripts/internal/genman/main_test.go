package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenManPages(t *testing.T) {
	dir := t.TempDir()
	if err := genManPages(dir); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"kr.1", "kr-set.1", "kr-exec.1", "kr-agent-status.1", "kr-backend.1"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), ".SH NAME") || !strings.Contains(string(b), ".SH SYNOPSIS") {
			t.Errorf("%s lacks NAME or SYNOPSIS", page)
		}
	}
}
