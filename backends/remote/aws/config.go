package aws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kr-keyring/kr/internal/awsconfig"
	"github.com/kr-keyring/kr/internal/limitio"
)

// Env is where the user's AWS configuration is read from: the process's
// environment, or a test's.
type Env func(key string) string

// maxConfig bounds the shared config and credentials files.
const maxConfig = 1 << 20

// profile is the profile the AWS tools would use.
func (e Env) profile() string {
	if p := e("AWS_PROFILE"); p != "" {
		return p
	}
	if p := e("AWS_DEFAULT_PROFILE"); p != "" {
		return p
	}
	return "default"
}

func (e Env) home() string {
	if h := e("HOME"); h != "" {
		return h
	}
	h, _ := os.UserHomeDir()
	return h
}

func (e Env) file(env, name string, kind awsconfig.Kind) (*awsconfig.File, string, error) {
	path := e(env)
	if path == "" {
		path = filepath.Join(e.home(), ".aws", name)
	} else if strings.HasPrefix(path, "~/") {
		path = filepath.Join(e.home(), path[2:])
	}
	b, err := limitio.ReadFile(path, maxConfig)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, path, nil
	}
	if err != nil {
		return nil, path, err
	}
	f, err := awsconfig.Parse(b, kind)
	if err != nil {
		return nil, path, fmt.Errorf("%s: %w", path, err)
	}
	return f, path, nil
}

// Config is the profile's settings kr uses, from the shared config file.
type Config struct {
	Profile string
	// Region from AWS_REGION, AWS_DEFAULT_REGION or the profile.
	Region string
	// CredentialProcess is the profile's credential_process, split as
	// the AWS tools split it; nil when the credentials come from
	// elsewhere (the environment, the credentials file, the profile's own
	// keys), which are used first.
	CredentialProcess []string
	// From says where the credentials come from, for messages.
	From   string
	static *Credentials
}

// LoadConfig reads what the AWS CLI would for credentials and region: the
// environment's keys, then the profile in the credentials file, then the
// profile's keys or credential_process in the config file.
func LoadConfig(e Env) (*Config, error) {
	c := &Config{Profile: e.profile()}
	conf, confPath, err := e.file("AWS_CONFIG_FILE", "config", awsconfig.Config)
	if err != nil {
		return nil, err
	}
	get := func(f *awsconfig.File, key string) string {
		if f == nil {
			return ""
		}
		v, _ := f.Get(c.Profile, key)
		return v
	}
	c.Region = firstOf(e("AWS_REGION"), e("AWS_DEFAULT_REGION"), get(conf, "region"))

	if id, secret := e("AWS_ACCESS_KEY_ID"), e("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		c.static = &Credentials{id, secret, e("AWS_SESSION_TOKEN")}
		c.From = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
		return c, nil
	}
	creds, credsPath, err := e.file("AWS_SHARED_CREDENTIALS_FILE", "credentials", awsconfig.Credentials)
	if err != nil {
		return nil, err
	}
	// botocore's order: the credentials file, the profile's
	// credential_process, the profile's keys in the config file.
	if id, secret := get(creds, "aws_access_key_id"), get(creds, "aws_secret_access_key"); id != "" && secret != "" {
		c.static = &Credentials{id, secret, get(creds, "aws_session_token")}
		c.From = fmt.Sprintf("profile %s in %s", c.Profile, credsPath)
		return c, nil
	}
	if p := get(conf, "credential_process"); p != "" {
		argv, err := awsconfig.SplitCommand(p)
		if err != nil || len(argv) == 0 {
			return nil, fmt.Errorf("profile %s in %s: credential_process does not split into a command", c.Profile, confPath)
		}
		c.CredentialProcess = argv
		c.From = fmt.Sprintf("the credential_process of profile %s in %s", c.Profile, confPath)
		return c, nil
	}
	if id, secret := get(conf, "aws_access_key_id"), get(conf, "aws_secret_access_key"); id != "" && secret != "" {
		c.static = &Credentials{id, secret, get(conf, "aws_session_token")}
		c.From = fmt.Sprintf("profile %s in %s", c.Profile, confPath)
		return c, nil
	}
	return nil, fmt.Errorf("no AWS credentials: AWS_ACCESS_KEY_ID is unset and profile %s has no keys or credential_process in %s or %s (kr reads no SSO or instance credentials)",
		c.Profile, credsPath, confPath)
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// Credentials returns the keys to sign with, running the credential_process
// when the profile has one.
func (c *Config) Credentials(ctx context.Context) (Credentials, error) {
	if c.static != nil {
		return *c.static, nil
	}
	cmd := exec.CommandContext(ctx, c.CredentialProcess[0], c.CredentialProcess[1:]...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	defer clear(out)
	if ctx.Err() != nil {
		return Credentials{}, fmt.Errorf("%s: %w", c.From, ctx.Err())
	}
	if err != nil {
		return Credentials{}, fmt.Errorf("%s: %w", c.From, err)
	}
	var doc struct {
		Version         int
		AccessKeyId     string
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
	if err := json.NewDecoder(bytes.NewReader(out)).Decode(&doc); err != nil || doc.Version != 1 || doc.AccessKeyId == "" || doc.SecretAccessKey == "" {
		return Credentials{}, fmt.Errorf("%s printed no Version 1 credentials", c.From)
	}
	if doc.Expiration != "" {
		if t, err := time.Parse(time.RFC3339, doc.Expiration); err == nil && time.Now().After(t) {
			return Credentials{}, fmt.Errorf("%s printed credentials that expired at %s", c.From, doc.Expiration)
		}
	}
	return Credentials{doc.AccessKeyId, doc.SecretAccessKey, doc.SessionToken}, nil
}

// Endpoint is the URL of service (its endpoint-URL name, e.g.
// SECRETS_MANAGER) in region: AWS_ENDPOINT_URL_<SERVICE>, else
// AWS_ENDPOINT_URL, else the AWS endpoint, as the AWS SDKs choose it.
func Endpoint(e Env, envName, host, region string) string {
	if u := firstOf(e("AWS_ENDPOINT_URL_"+envName), e("AWS_ENDPOINT_URL")); u != "" {
		return strings.TrimSuffix(u, "/")
	}
	return "https://" + host + "." + region + ".amazonaws.com"
}
