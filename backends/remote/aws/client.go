package aws

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/limitio"
	"github.com/kr-keyring/kr/internal/wait"
)

// maxResponse bounds an answer: a value is at most 64 KiB in Secrets
// Manager, less in SSM; a page of a listing is small.
const maxResponse = 4 << 20

// Options say where and how a store reaches AWS.
type Options struct {
	// Region, when the mount names one; else the user's configuration's.
	Region string
	Env    Env
	// HTTP is the client; nil is one with no timeout of its own (every
	// call carries its context's deadline).
	HTTP *http.Client
	// Guard, when set, is asked before a credential_process runs: kr
	// refuses one that would read its credentials through the same store.
	Guard func(argv []string) error
}

// client speaks the AWS JSON protocol (POST /, X-Amz-Target) to one
// service.
type client struct {
	opts     Options
	service  string // signing name: secretsmanager, ssm
	target   string // X-Amz-Target prefix: secretsmanager, AmazonSSM
	endpoint string
	region   string
	conf     *Config
}

func newClient(opts Options, service, target, envName string) (*client, error) {
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{}
	}
	conf, err := LoadConfig(opts.Env)
	if err != nil {
		return nil, err
	}
	region := firstOf(opts.Region, conf.Region)
	if region == "" {
		return nil, fmt.Errorf("no AWS region: the mount names none and AWS_REGION, AWS_DEFAULT_REGION and profile %s set none", conf.Profile)
	}
	if conf.CredentialProcess != nil && opts.Guard != nil {
		if err := opts.Guard(conf.CredentialProcess); err != nil {
			return nil, err
		}
	}
	return &client{opts: opts, service: service, target: target, region: region, conf: conf,
		endpoint: Endpoint(opts.Env, envName, service, region)}, nil
}

// APIError is an error AWS answered with.
type APIError struct {
	Status  int
	Type    string // e.g. ResourceNotFoundException
	Message string
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%s (HTTP %d)", e.Type, e.Status)
	}
	return fmt.Sprintf("%s: %s", e.Type, e.Message)
}

// credentialErrors are the answers that mean the keys, not the request,
// are wrong.
var credentialErrors = []string{"UnrecognizedClientException", "InvalidSignatureException", "SignatureDoesNotMatch",
	"InvalidClientTokenId", "ExpiredTokenException", "IncompleteSignature", "MissingAuthenticationToken", "AccessDeniedException"}

// ErrCredentials is wrapped when AWS refused the credentials.
var ErrCredentials = errors.New("AWS refused the credentials")

// call sends op with in as its JSON body and decodes the answer into out,
// within one wait of --timeout.
func (c *client) call(ctx context.Context, op string, in, out any) error {
	ctx, end := wait.Bound(ctx, fmt.Sprintf("AWS (%s) did not answer", c.endpoint))
	return end(c.send(ctx, op, in, out))
}

func (c *client) send(ctx context.Context, op string, in, out any) error {
	creds, err := c.conf.Credentials(ctx)
	if err != nil {
		return err
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s endpoint %s: %w", c.service, c.endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", c.target+"."+op)
	Sign(req, body, creds, c.region, c.service, time.Now())
	resp, err := c.opts.HTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s at %s: %w", op, c.endpoint, ctx.Err())
		}
		return fmt.Errorf("%w: %s at %s: %v", backends.ErrUnavailable, op, c.endpoint, unwrapURL(err))
	}
	defer resp.Body.Close()
	b, err := limitio.Read(resp.Body, op+" answer", maxResponse)
	if err != nil {
		return fmt.Errorf("%s at %s: %w", op, c.endpoint, err)
	}
	defer clear(b)
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type     string `json:"__type"`
			Message  string `json:"message"`
			Message2 string `json:"Message"`
		}
		if json.Unmarshal(b, &e) != nil {
			// Some answers (and moto's to a bad signature) are XML.
			var x struct {
				Code    string `xml:"Error>Code"`
				Message string `xml:"Error>Message"`
				Code2   string `xml:"Code"`
				Msg2    string `xml:"Message"`
				Code3   string `xml:"Errors>Error>Code"`
				Msg3    string `xml:"Errors>Error>Message"`
			}
			xml.Unmarshal(b, &x)
			e.Type, e.Message = firstOf(x.Code, x.Code2, x.Code3), firstOf(x.Message, x.Msg2, x.Msg3)
		}
		e.Type = firstOf(e.Type, resp.Header.Get("X-Amzn-Errortype"))
		if i := strings.IndexByte(e.Type, ':'); i >= 0 {
			e.Type = e.Type[:i]
		}
		ae := &APIError{Status: resp.StatusCode, Type: e.Type[strings.LastIndexByte(e.Type, '#')+1:], Message: firstOf(e.Message, e.Message2)}
		if ae.Type == "" {
			ae.Type = http.StatusText(resp.StatusCode)
		}
		for _, t := range credentialErrors {
			if ae.Type == t {
				return fmt.Errorf("%w (%s): %w", ErrCredentials, c.conf.From, ae)
			}
		}
		return ae
	}
	return json.Unmarshal(b, out)
}

// unwrapURL drops net/http's "Post URL:" wrapping: the caller names the
// endpoint once.
func unwrapURL(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}
