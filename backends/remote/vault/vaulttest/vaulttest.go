// Package vaulttest is an HTTP server that answers as a Vault or OpenBao
// KV version 2 engine does, and records every request Vault would refuse
// or a KV v2 client should not send, following Vault's API documentation
// (secret/kv/kv-v2: "Read Secret Version", "List Secrets"; the token in
// X-Vault-Token). It stands in for a dev server (`vault server -dev`),
// which a test may use instead by pointing VAULT_ADDR at one.
package vaulttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Server is one engine, mounted at Mount, accepting one token.
type Server struct {
	token, mount string

	mu         sync.Mutex
	secrets    map[string]map[string]string // path -> data
	violations []string
	requests   int
}

// New returns an empty engine at mount that accepts token.
func New(token, mount string) *Server {
	return &Server{token: token, mount: mount, secrets: map[string]map[string]string{}}
}

// Put stores data as the newest version of the secret at path.
func (s *Server) Put(path string, data map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[path] = data
}

// Violations lists the requests that break Vault's API.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.violations...)
}

// Requests counts the requests served.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func (s *Server) violation(w http.ResponseWriter, status int, format string, args ...any) {
	s.violations = append(s.violations, fmt.Sprintf(format, args...))
	writeJSON(w, status, map[string]any{"errors": []string{fmt.Sprintf(format, args...)}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if r.Header.Get("X-Vault-Token") == "" {
		// Vault reads the token from X-Vault-Token or Authorization: Bearer.
		if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			r.Header.Set("X-Vault-Token", t)
		}
	}
	if r.Header.Get("X-Vault-Token") != s.token {
		writeJSON(w, http.StatusForbidden, map[string]any{"errors": []string{"permission denied"}})
		return
	}
	if r.ContentLength > 0 {
		s.violation(w, http.StatusBadRequest, "%s %s has a body; reads have none", r.Method, r.URL.Path)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/"+s.mount+"/")
	if !ok {
		s.violation(w, http.StatusNotFound, "%s %s: no engine is mounted there (want /v1/%s/...)", r.Method, r.URL.Path, s.mount)
		return
	}
	list := r.Method == "LIST" || r.Method == http.MethodGet && r.URL.Query().Get("list") == "true"
	switch {
	case list && (strings.HasPrefix(rest, "metadata/") || rest == "metadata"):
		s.list(w, strings.Trim(strings.TrimPrefix(rest, "metadata"), "/"))
	case list:
		s.violation(w, http.StatusMethodNotAllowed, "LIST %s: KV v2 lists under metadata/", r.URL.Path)
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "data/"):
		if v := r.URL.Query().Get("version"); v != "" && v != "0" {
			s.violation(w, http.StatusBadRequest, "GET %s: this engine keeps one version", r.URL.Path)
			return
		}
		s.read(w, strings.TrimPrefix(rest, "data/"))
	case r.Method == http.MethodGet:
		s.violation(w, http.StatusNotFound, "GET %s: KV v2 reads under data/ (a KV v1 path?)", r.URL.Path)
	default:
		s.violation(w, http.StatusMethodNotAllowed, "%s %s: a read-only client sent a write", r.Method, r.URL.Path)
	}
}

func (s *Server) read(w http.ResponseWriter, path string) {
	data, ok := s.secrets[path]
	if !ok || path == "" || strings.HasSuffix(path, "/") {
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": []string{}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"request_id": "00000000-0000-0000-0000-000000000000", "lease_id": "", "renewable": false, "lease_duration": 0,
		"data": map[string]any{
			"data": data,
			"metadata": map[string]any{"created_time": time.Unix(0, 0).UTC().Format(time.RFC3339Nano), "custom_metadata": nil,
				"deletion_time": "", "destroyed": false, "version": 1},
		},
		"wrap_info": nil, "warnings": nil, "auth": nil,
	})
}

// list answers as Vault does: the keys directly under dir, folders with a
// trailing slash; 404 when there are none.
func (s *Server) list(w http.ResponseWriter, dir string) {
	if dir != "" {
		dir += "/"
	}
	seen := map[string]bool{}
	for p := range s.secrets {
		rest, ok := strings.CutPrefix(p, dir)
		if !ok {
			continue
		}
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i+1]
		}
		seen[rest] = true
	}
	if len(seen) == 0 {
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": []string{}})
		return
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"keys": keys}})
}
