package envref

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/limitio"
)

// RefPrefix marks a value that names a secret.
const RefPrefix = "kr://"

// RefName returns the secret a value refers to, if it is a reference.
func RefName(value string) (string, bool) {
	if !strings.HasPrefix(value, RefPrefix) {
		return "", false
	}
	return value[len(RefPrefix):], true
}

// Getter reads secrets: a backends.Backend, or a cache in front of one.
type Getter interface {
	Get(ctx context.Context, name string) ([]byte, error)
}

// Layer is one source of variables, applied over the ones before it.
type Layer struct {
	Source string // for messages: "--env-file x.env", ".kr.env", "-e"
	Vars   []Var
}

// PassphraseVars are kr's own variables that hold or point at a passphrase,
// recovery code or age identity. They never reach a child: a passphrase meant for kr is
// not meant for the program it runs.
var PassphraseVars = []string{"KR_PASSPHRASE", "KR_PASSPHRASE_FILE", "KR_NEW_PASSPHRASE_FILE", "KR_RECOVERY_CODE_FILE", "KR_IDENTITY", "KR_IDENTITY_FILE"}

// IsPassphraseVar reports whether the variable named name is one of
// PassphraseVars. On Windows names are case-insensitive (kr reads
// kr_passphrase as KR_PASSPHRASE), so it compares them so there too.
func IsPassphraseVar(name string) bool {
	for _, p := range PassphraseVars {
		if name == p || runtime.GOOS == "windows" && strings.EqualFold(name, p) {
			return true
		}
	}
	return false
}

// Result is the environment to run a program with.
type Result struct {
	Env []string // KEY=value, sorted by key
	// Set holds the variables kr set or resolved (not the plain inherited
	// ones), for `kr env`, in sorted key order.
	Set []Var
	// Secrets holds every resolved value, for --mask.
	Secrets [][]byte
}

// Resolve applies the layers over the inherited environment, later layers
// winning, and resolves every kr:// reference before returning. One that
// cannot be resolved fails the whole call, naming the variable.
func Resolve(ctx context.Context, g Getter, inherited []string, layers []Layer) (*Result, error) {
	type entry struct {
		value  string
		source string
		set    bool
	}
	env := map[string]entry{}
	for _, kv := range inherited {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		_, isRef := RefName(v)
		env[k] = entry{value: v, source: "the environment", set: isRef}
	}
	for _, l := range layers {
		for _, v := range l.Vars {
			src := l.Source
			if v.Line > 0 {
				src = fmt.Sprintf("%s line %d", l.Source, v.Line)
			}
			env[v.Key] = entry{value: v.Value, source: src, set: true}
		}
	}
	for k := range env {
		if IsPassphraseVar(k) {
			delete(env, k)
		}
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	values := map[string][]byte{}
	res := &Result{}
	for _, k := range keys {
		e := env[k]
		name, isRef := RefName(e.value)
		if !isRef {
			if e.set {
				res.Set = append(res.Set, Var{Key: k, Value: e.value})
			}
			res.Env = append(res.Env, k+"="+e.value)
			continue
		}
		if err := backends.ValidateName(name); err != nil {
			return nil, fmt.Errorf("resolve %s=%s (from %s): %w", k, e.value, e.source, err)
		}
		val, ok := values[name]
		if !ok {
			var err error
			val, err = g.Get(ctx, name)
			if err != nil {
				return nil, fmt.Errorf("resolve %s=%s (from %s): %w", k, e.value, e.source, err)
			}
			if i := strings.IndexByte(string(val), 0); i >= 0 {
				return nil, fmt.Errorf("resolve %s=%s: %w", k, e.value, ErrNUL)
			}
			values[name] = val
			res.Secrets = append(res.Secrets, val)
		}
		res.Env = append(res.Env, k+"="+string(val))
		res.Set = append(res.Set, Var{Key: k, Value: string(val)})
	}
	for _, v := range res.Set {
		if strings.IndexByte(v.Value, 0) >= 0 {
			return nil, fmt.Errorf("variable %s: %w", v.Key, ErrNUL)
		}
	}
	return res, nil
}

// ErrNUL means a value holds a NUL byte, which no environment can carry.
var ErrNUL = errors.New("the value holds a NUL byte, which an environment variable cannot carry")

// ParseAssignment reads the NAME of `-e VAR=NAME`: VAR gets the secret NAME.
func ParseAssignment(s string) (Var, error) {
	k, name, ok := strings.Cut(s, "=")
	if !ok || !validKey(k) {
		return Var{}, fmt.Errorf("-e %q: want VAR=NAME, with VAR a variable name", s)
	}
	name = strings.TrimPrefix(name, RefPrefix)
	if err := backends.ValidateName(name); err != nil {
		return Var{}, fmt.Errorf("-e %s: %w", s, err)
	}
	return Var{Key: k, Value: RefPrefix + name}, nil
}

// LoadFile parses an env file from disk. A FIFO or other non-regular file
// is refused at once rather than waited on.
func LoadFile(path string) ([]Var, error) {
	b, err := limitio.ReadFile(path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	return Parse(b, path)
}
