package backends_test

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/dpapi"
	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/backends/keychain"
	"github.com/kr-keyring/kr/backends/memory"
	"github.com/kr-keyring/kr/backends/secretservice"
)

// optional lists every optional interface package backends declares for
// stores; TestCheckedForwards reads the declarations from the source, so
// a new one must be listed here, and is then checked.
var optional = map[string]reflect.Type{
	"Peeker":      reflect.TypeFor[backends.Peeker](),
	"BatchSetter": reflect.TypeFor[backends.BatchSetter](),
	"Lister":      reflect.TypeFor[backends.Lister](),
}

// notOptional are the package's other interfaces: the contract itself and
// the wrapper's.
var notOptional = []string{"Backend", "Unwrapper"}

// stores are kr's stores, and the namespace over them.
var stores = []backends.Backend{
	(*filevault.Vault)(nil),
	(*secretservice.Backend)(nil),
	(*keychain.Backend)(nil),
	(*dpapi.Backend)(nil),
	(*memory.Backend)(nil),
	(*backends.Namespace)(nil),
}

// declaredInterfaces returns the interface types declared in the
// package's own (non-test) files.
func declaredInterfaces(t *testing.T) []string {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range pkgs["backends"].Files {
		ast.Inspect(f, func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSpec); ok && ts.Name.IsExported() {
				if _, ok := ts.Type.(*ast.InterfaceType); ok {
					out = append(out, ts.Name.Name)
				}
			}
			return true
		})
	}
	sort.Strings(out)
	return out
}

func TestCheckedForwards(t *testing.T) {
	for _, name := range declaredInterfaces(t) {
		if _, ok := optional[name]; !ok && !slices.Contains(notOptional, name) {
			t.Errorf("backends declares interface %s: list it in optional (and forward it in Checked) or in notOptional", name)
		}
	}
	for _, s := range stores {
		c := backends.Checked(s)
		for name, it := range optional {
			if reflect.TypeOf(s).Implements(it) && !reflect.TypeOf(c).Implements(it) {
				t.Errorf("%T is a %s, and Checked's wrapper of it is not", s, name)
			}
		}
		// What a type assertion on the wrapper says must be true of the store.
		for _, it := range []reflect.Type{optional["Peeker"], optional["BatchSetter"]} {
			if reflect.TypeOf(c).Implements(it) && !reflect.TypeOf(s).Implements(it) {
				t.Errorf("Checked's wrapper of %T claims %v, which the store is not", s, it)
			}
		}
		if got, ok := backends.As[backends.Unwrapper](c); !ok || got.Unwrap() != s {
			t.Errorf("Checked(%T) does not unwrap to the store", s)
		}
	}
}

// recorder is a store with every capability that records what reached it.
type recorder struct {
	*memory.Backend
	calls []string
}

func (r *recorder) Has(ctx context.Context, name string) (bool, error) {
	r.calls = append(r.calls, "Has "+name)
	return false, nil
}

func (r *recorder) SetMany(ctx context.Context, names []string, values [][]byte) error {
	r.calls = append(r.calls, "SetMany")
	return nil
}

func TestCheckedValidatesForwardedCalls(t *testing.T) {
	ctx := context.Background()
	r := &recorder{Backend: memory.New()}
	c := backends.Checked(r)
	if _, err := c.(backends.Peeker).Has(ctx, "../x"); !errors.Is(err, backends.ErrInvalidName) {
		t.Errorf("Has(../x) = %v, want ErrInvalidName", err)
	}
	bs := c.(backends.BatchSetter)
	if err := bs.SetMany(ctx, []string{"ok", "a b"}, [][]byte{nil, nil}); !errors.Is(err, backends.ErrInvalidName) {
		t.Errorf("SetMany with a bad name = %v, want ErrInvalidName", err)
	}
	big := make([]byte, backends.MaxValueSize+1)
	if err := bs.SetMany(ctx, []string{"ok"}, [][]byte{big}); !errors.Is(err, backends.ErrTooBig) {
		t.Errorf("SetMany with a big value = %v, want ErrTooBig", err)
	}
	if len(r.calls) != 0 {
		t.Errorf("invalid calls reached the store: %q", r.calls)
	}
	if _, err := c.(backends.Peeker).Has(ctx, "db/prod"); err != nil || !slices.Equal(r.calls, []string{"Has db/prod"}) {
		t.Errorf("a valid Has did not reach the store: %v, %q", err, r.calls)
	}
	if got, ok := backends.As[*recorder](c); !ok || got != r {
		t.Error("As did not find the store inside Checked")
	}
	if _, ok := backends.As[*filevault.Vault](c); ok {
		t.Error("As found a type the chain does not hold")
	}
	if backends.Checked(c) != c {
		t.Error("Checked wrapped a checked store again")
	}
}
