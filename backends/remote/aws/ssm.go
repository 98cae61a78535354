package aws

import (
	"context"
	"sort"
	"strings"

	"github.com/kr-keyring/kr/backends"
)

// SSM is AWS Systems Manager Parameter Store as a kr store: kr's NAME is
// the parameter /NAME (hierarchies start with a slash), read decrypted,
// so a SecureString reads as its plaintext.
type SSM struct{ c *client }

var _ backends.Backend = (*SSM)(nil)

// NewSSM reads the user's AWS configuration; nothing is sent until a
// value or a listing is asked for.
func NewSSM(opts Options) (*SSM, error) {
	c, err := newClient(opts, "ssm", "AmazonSSM", "SSM")
	if err != nil {
		return nil, err
	}
	return &SSM{c}, nil
}

func (s *SSM) Name() string { return "aws-ssm" }

func (s *SSM) Get(ctx context.Context, name string) ([]byte, error) {
	var out struct {
		Parameter struct{ Value string }
	}
	err := s.c.call(ctx, "GetParameter", map[string]any{"Name": "/" + name, "WithDecryption": true}, &out)
	if err != nil {
		return nil, notFound(err, "ParameterNotFound", name)
	}
	return []byte(out.Parameter.Value), nil
}

func (s *SSM) Set(context.Context, string, []byte) error { return ErrReadOnly }
func (s *SSM) Delete(context.Context, string) error      { return ErrReadOnly }

// List asks for the parameters' descriptions, never their values.
func (s *SSM) List(ctx context.Context, prefix string) ([]string, error) {
	type filter struct {
		Key    string
		Option string
		Values []string
	}
	in := struct {
		MaxResults       int
		NextToken        string   `json:",omitempty"`
		ParameterFilters []filter `json:",omitempty"`
	}{MaxResults: 50}
	if prefix != "" {
		in.ParameterFilters = []filter{{"Name", "BeginsWith", []string{"/" + prefix}}}
	}
	var names []string
	for page := 0; page < 1000; page++ {
		var out struct {
			Parameters []struct{ Name string }
			NextToken  string
		}
		if err := s.c.call(ctx, "DescribeParameters", in, &out); err != nil {
			return nil, err
		}
		for _, p := range out.Parameters {
			n := strings.TrimPrefix(p.Name, "/")
			if strings.HasPrefix(n, prefix) && backends.ValidateName(n) == nil {
				names = append(names, n)
			}
		}
		if out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	sort.Strings(names)
	return names, nil
}
