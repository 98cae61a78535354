package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kr-keyring/kr/backends/remote/aws"
	"github.com/kr-keyring/kr/backends/remote/vault/vaulttest"
	"github.com/kr-keyring/kr/internal/testenv"
)

// TestCloudScripts runs the scripts in testdata/cloud against moto's AWS
// server (moto_server) and a Vault KV v2 server that checks each request as
// Vault's API documents it. Each script gets its own servers.
func TestCloudScripts(t *testing.T) {
	moto := testenv.Tool(t, "moto_server", "python3-moto (pip install 'moto[server]')")
	cmds := map[string]func(ts *testscript.TestScript, neg bool, args []string){}
	for k, v := range scriptCmds {
		cmds[k] = v
	}
	// moto: start moto_server behind a proxy that counts requests by
	// X-Amz-Target, create an IAM user allowed everything, and put its
	// keys in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
	cmds["moto"] = func(ts *testscript.TestScript, neg bool, args []string) {
		m := startMoto(ts, moto)
		ts.Setenv("AWS_ENDPOINT_URL", m.url)
		ts.Setenv("AWS_ACCESS_KEY_ID", m.keyID)
		ts.Setenv("AWS_SECRET_ACCESS_KEY", m.secret)
		cloudState.Store(ts, m)
	}
	// awsput secretsmanager|ssm NAME FILE: store FILE's content as a
	// secret, or as a SecureString parameter /NAME.
	cmds["awsput"] = func(ts *testscript.TestScript, neg bool, args []string) {
		m := motoOf(ts)
		v, err := os.ReadFile(ts.MkAbs(args[2]))
		ts.Check(err)
		switch args[0] {
		case "secretsmanager":
			m.call(ts, "secretsmanager", "secretsmanager.CreateSecret", map[string]any{"Name": args[1], "SecretString": string(v)})
		case "ssm":
			m.call(ts, "ssm", "AmazonSSM.PutParameter", map[string]any{"Name": "/" + args[1], "Value": string(v), "Type": "SecureString"})
		default:
			ts.Fatalf("awsput secretsmanager|ssm NAME FILE")
		}
	}
	// awscount TARGET N: moto was asked TARGET (an X-Amz-Target) N times.
	cmds["awscount"] = func(ts *testscript.TestScript, neg bool, args []string) {
		m := motoOf(ts)
		want, _ := strconv.Atoi(args[1])
		if got := m.count(args[0]); got != want {
			ts.Fatalf("%s was asked %d times, want %d", args[0], got, want)
		}
	}
	// vaultserver: start the checking Vault server; VAULT_ADDR and
	// VAULT_TOKEN name it.
	cmds["vaultserver"] = func(ts *testscript.TestScript, neg bool, args []string) {
		v := vaulttest.New("root-token", "secret")
		srv := httptest.NewServer(v)
		ts.Defer(srv.Close)
		ts.Setenv("VAULT_ADDR", srv.URL)
		ts.Setenv("VAULT_TOKEN", "root-token")
		cloudState.Store(vaultKey{ts}, v)
	}
	// vaultput PATH KEY=FILE...: store a KV v2 secret.
	cmds["vaultput"] = func(ts *testscript.TestScript, neg bool, args []string) {
		v := vaultOf(ts)
		data := map[string]string{}
		for _, kv := range args[1:] {
			k, f, _ := strings.Cut(kv, "=")
			b, err := os.ReadFile(ts.MkAbs(f))
			ts.Check(err)
			data[k] = string(b)
		}
		v.Put(args[0], data)
	}
	// vaultbad: the Vault server saw no request that breaks its API.
	cmds["vaultcheck"] = func(ts *testscript.TestScript, neg bool, args []string) {
		v := vaultOf(ts)
		if errs := v.Violations(); len(errs) > 0 {
			ts.Fatalf("requests Vault would refuse: %s", strings.Join(errs, "; "))
		}
	}
	// hangserver VAR: a server that accepts connections and never
	// answers, its URL in VAR.
	cmds["hangserver"] = func(ts *testscript.TestScript, neg bool, args []string) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		ts.Check(err)
		var conns []net.Conn
		var mu sync.Mutex
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
		ts.Defer(func() {
			l.Close()
			mu.Lock()
			for _, c := range conns {
				c.Close()
			}
			mu.Unlock()
		})
		ts.Setenv(args[0], "http://"+l.Addr().String())
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/cloud",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			if err := scriptSetup(e); err != nil {
				return err
			}
			e.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			e.Setenv("AWS_CONFIG_FILE", e.WorkDir+"/no-aws-config")
			e.Setenv("AWS_SHARED_CREDENTIALS_FILE", e.WorkDir+"/no-aws-credentials")
			return nil
		},
		Cmds: cmds,
		Condition: func(cond string) (bool, error) {
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// cloudState holds each script's servers.
var cloudState sync.Map

type vaultKey struct{ ts *testscript.TestScript }

func motoOf(ts *testscript.TestScript) *motoServer {
	m, ok := cloudState.Load(ts)
	if !ok {
		ts.Fatalf("run moto first")
	}
	return m.(*motoServer)
}

func vaultOf(ts *testscript.TestScript) *vaulttest.Server {
	v, ok := cloudState.Load(vaultKey{ts})
	if !ok {
		ts.Fatalf("run vaultserver first")
	}
	return v.(*vaulttest.Server)
}

type motoServer struct {
	url           string
	keyID, secret string
	mu            sync.Mutex
	counts        map[string]int
}

func (m *motoServer) count(target string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counts[target]
}

// startMoto runs moto_server on a free port, checking credentials from the
// first request on, and puts a counting proxy in front of it.
func startMoto(ts *testscript.TestScript, moto string) *motoServer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(moto, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "INITIAL_NO_AUTH_ACTION_COUNT=0", "AWS_EC2_METADATA_DISABLED=true")
	stderr, err := cmd.StderrPipe()
	ts.Check(err)
	cmd.Stdout = io.Discard
	ts.Check(cmd.Start())
	ts.Defer(func() { cmd.Process.Kill(); cmd.Wait() })
	// moto (werkzeug) says when it listens; the hang guard is the test's.
	ready := make(chan bool, 1)
	var log bytes.Buffer
	go func() {
		sc := bufio.NewScanner(stderr)
		said := false
		for sc.Scan() {
			if !said {
				log.WriteString(sc.Text() + "\n")
			}
			if !said && strings.Contains(sc.Text(), "Running on") {
				said = true
				ready <- true
			}
		}
		if !said {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			ts.Fatalf("moto_server stopped:\n%s", log.String())
		}
	case <-time.After(60 * time.Second):
		ts.Fatalf("moto_server did not start in 60s")
	}
	backend, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", port))
	m := &motoServer{counts: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(backend)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.counts[r.Header.Get("X-Amz-Target")]++
		m.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	ts.Defer(srv.Close)
	m.url = srv.URL

	// Three IAM calls without credentials make the user kr signs in as.
	req, err := http.NewRequest("POST", m.url+"/moto-api/reset-auth", strings.NewReader("3"))
	ts.Check(err)
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	resp.Body.Close()
	m.keyID, m.secret = "AKIDSETUP", "setup"
	m.query(ts, "iam", "Action=CreateUser&UserName=kr&Version=2010-05-08")
	m.query(ts, "iam", "Action=PutUserPolicy&UserName=kr&PolicyName=all&Version=2010-05-08&PolicyDocument="+
		url.QueryEscape(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`))
	out := m.query(ts, "iam", "Action=CreateAccessKey&UserName=kr&Version=2010-05-08")
	m.keyID = between(out, "<AccessKeyId>", "</AccessKeyId>")
	m.secret = between(out, "<SecretAccessKey>", "</SecretAccessKey>")
	if m.keyID == "" || m.secret == "" {
		ts.Fatalf("CreateAccessKey: %s", out)
	}
	return m
}

func between(s, a, b string) string {
	_, rest, ok := strings.Cut(s, a)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, b)
	return v
}

func (m *motoServer) creds() aws.Credentials {
	return aws.Credentials{AccessKeyID: m.keyID, SecretAccessKey: m.secret}
}

// query sends a signed query-protocol request (IAM).
func (m *motoServer) query(ts *testscript.TestScript, service, form string) string {
	req, err := http.NewRequestWithContext(context.Background(), "POST", m.url+"/", strings.NewReader(form))
	ts.Check(err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	aws.Sign(req, []byte(form), m.creds(), "us-east-1", service, time.Now())
	return m.send(ts, req)
}

// call sends a signed JSON-protocol request.
func (m *motoServer) call(ts *testscript.TestScript, service, target string, in any) string {
	body, err := json.Marshal(in)
	ts.Check(err)
	req, err := http.NewRequestWithContext(context.Background(), "POST", m.url+"/", bytes.NewReader(body))
	ts.Check(err)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	aws.Sign(req, body, m.creds(), "us-east-1", service, time.Now())
	return m.send(ts, req)
}

func (m *motoServer) send(ts *testscript.TestScript, req *http.Request) string {
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	ts.Check(err)
	if resp.StatusCode != 200 {
		ts.Fatalf("%s %s: HTTP %d: %s", req.Header.Get("X-Amz-Target"), req.URL, resp.StatusCode, b)
	}
	return string(b)
}
