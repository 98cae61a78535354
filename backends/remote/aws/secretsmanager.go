package aws

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/kr-keyring/kr/backends"
)

// ErrReadOnly is returned by writes: kr reads cloud stores, and writes to
// them later, if ever, with their own tools' care for versions.
var ErrReadOnly = errors.New("this store is mounted read-only; change it with the cloud's own tools")

// SecretsManager is AWS Secrets Manager as a kr store: the secret named
// NAME is kr's NAME. A binary secret reads as its bytes.
type SecretsManager struct{ c *client }

var _ backends.Backend = (*SecretsManager)(nil)

// NewSecretsManager reads the user's AWS configuration; nothing is sent
// until a value or a listing is asked for.
func NewSecretsManager(opts Options) (*SecretsManager, error) {
	c, err := newClient(opts, "secretsmanager", "secretsmanager", "SECRETS_MANAGER")
	if err != nil {
		return nil, err
	}
	return &SecretsManager{c}, nil
}

func (s *SecretsManager) Name() string { return "aws-secretsmanager" }

func (s *SecretsManager) Get(ctx context.Context, name string) ([]byte, error) {
	var out struct {
		SecretString *string
		SecretBinary []byte
	}
	err := s.c.call(ctx, "GetSecretValue", map[string]string{"SecretId": name}, &out)
	if err != nil {
		return nil, notFound(err, "ResourceNotFoundException", name)
	}
	if out.SecretString != nil {
		return []byte(*out.SecretString), nil
	}
	return out.SecretBinary, nil
}

func (s *SecretsManager) Set(context.Context, string, []byte) error { return ErrReadOnly }
func (s *SecretsManager) Delete(context.Context, string) error      { return ErrReadOnly }

func (s *SecretsManager) List(ctx context.Context, prefix string) ([]string, error) {
	type filter struct {
		Key    string
		Values []string
	}
	in := struct {
		MaxResults int
		NextToken  string   `json:",omitempty"`
		Filters    []filter `json:",omitempty"`
	}{MaxResults: 100}
	if prefix != "" {
		in.Filters = []filter{{"name", []string{prefix}}}
	}
	var names []string
	for page := 0; page < 1000; page++ {
		var out struct {
			SecretList []struct{ Name string }
			NextToken  string
		}
		if err := s.c.call(ctx, "ListSecrets", in, &out); err != nil {
			return nil, err
		}
		for _, e := range out.SecretList {
			// The name filter matches words anywhere in some regions'
			// answers: keep what starts with the prefix, and names kr
			// can address.
			if strings.HasPrefix(e.Name, prefix) && backends.ValidateName(e.Name) == nil {
				names = append(names, e.Name)
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

// notFound turns AWS's answer for a missing name into ErrNotFound.
func notFound(err error, awsType, name string) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.Type == awsType {
		return fmt.Errorf("%w: %s", backends.ErrNotFound, name)
	}
	return err
}
