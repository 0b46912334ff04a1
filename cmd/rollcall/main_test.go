package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"rollcall/internal/testenv/dbtest"
	"rollcall/internal/testenv/samltest"
)

// cli runs the program in-process with the given environment.
func cli(t *testing.T, envs map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), args, func(k string) string { return envs[k] }, &out, &errb)
	return out.String(), errb.String(), err
}

func TestBadInvocations(t *testing.T) {
	t.Parallel()
	env := map[string]string{"ROLLCALL_DATABASE": filepath.Join(t.TempDir(), "db.sqlite")}
	tests := []struct {
		args  []string
		want  string
		usage bool
	}{
		{[]string{"bogus"}, `unknown command "bogus"`, true},
		{[]string{"workspace"}, "workspace needs a subcommand", true},
		{[]string{"workspace", "create", "--nme", "x"}, "flag provided but not defined: -nme", true},
		{[]string{"workspace", "create"}, "--name is required", true},
		{[]string{"role", "list"}, "--workspace is required", true},
		{[]string{"serve", "--listen", "nonsense"}, `--listen "nonsense"`, true},
		{[]string{"workspace", "list", "--base-url", "ftp://x"}, "--base-url", true},
		{[]string{"workspace", "list", "--secret-key", "c2hvcnQ="}, "--secret-key (ROLLCALL_SECRET_KEY): the secret key must be 32 bytes (it decodes to 5)", true},
		{[]string{"sso", "show", "--workspace", "w", "--secret-key", "not base64!"}, "openssl rand -base64 32", true},
		{[]string{"workspace", "list", "--database", "postgres://nobody@127.0.0.1:1/x?connect_timeout=2"}, "cannot open database", false},
		{[]string{"role", "list", "--workspace", "nope"}, `workspace "nope" not found`, false},
		{[]string{"member", "add", "--workspace", "w", "--email", "not-an-email"}, "--email must be an email address", true},
	}
	for _, tc := range tests {
		_, _, err := cli(t, env, tc.args...)
		if err == nil {
			t.Errorf("%v: no error", tc.args)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %q, want one line containing %q", tc.args, err, tc.want)
		}
		var u usageError
		if isUsage := errorAs(err, &u); isUsage != tc.usage {
			t.Errorf("%v: usage error = %v, want %v", tc.args, isUsage, tc.usage)
		}
	}
	// -h lists the command's own flags with their defaults.
	_, stderr, err := cli(t, env, "serve", "-h")
	var u usageError
	if err == nil || !errorAs(err, &u) || !strings.Contains(stderr, "-scim-filter-max-terms") || !strings.Contains(stderr, "(default 200)") {
		t.Errorf("serve -h: error %v, stderr %q; want a usage error and the flags with their defaults", err, stderr)
	}
	// A bad value in the environment is refused like one on the command line.
	for key, val := range map[string]string{"ROLLCALL_SCIM_RATE": "fast", "ROLLCALL_SESSION_IDLE": "12", "ROLLCALL_SCIM_BURST": "1e6",
		"ROLLCALL_ALLOW_PRIVATE_ADDRESSES": "yes"} {
		bad := maps.Clone(env)
		bad[key] = val
		_, _, err := cli(t, bad, "serve", "--listen", freeAddr(t))
		var u usageError
		if err == nil || !errorAs(err, &u) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%s: error %v, want a usage error naming it", key, val, err)
		}
	}
}

func errorAs(err error, u *usageError) bool {
	e, ok := err.(usageError)
	if ok {
		*u = e
	}
	return ok
}

func TestAdminCommands(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			env := cliEnv(t, engine)
			out, _, err := cli(t, env, "workspace", "create", "--name", "Acme", "--json")
			if err != nil {
				t.Fatal(err)
			}
			var w struct {
				ID, Name    string
				SCIMBaseURL string `json:"scim_base_url"`
			}
			decodeOne(t, out, &w)
			if w.Name != "Acme" || w.SCIMBaseURL != "https://sso.example.com/scim/v2/"+w.ID {
				t.Fatalf("workspace = %+v", w)
			}
			out, _, err = cli(t, env, "role", "create", "--workspace", w.ID, "--name", "Editor", "--base-role", "guest", "--json")
			if err != nil {
				t.Fatal(err)
			}
			var role struct {
				ID, Name string
				BaseRole string `json:"base_role"`
			}
			decodeOne(t, out, &role)
			if role.ID == "" || role.Name != "Editor" || role.BaseRole != "guest" {
				t.Fatalf("role = %+v", role)
			}
			out, _, err = cli(t, env, "role", "list", "--workspace", w.ID, "--json")
			if err != nil || !strings.Contains(out, role.ID) {
				t.Fatalf("role list = %q %v", out, err)
			}
			out, _, err = cli(t, env, "member", "add", "--workspace", w.ID, "--email", "o@acme.test", "--name", "Olive Owner", "--role", "owner", "--json")
			if err != nil {
				t.Fatal(err)
			}
			var m struct {
				ID, Role  string
				GivenName string `json:"given_name"`
			}
			decodeOne(t, out, &m)
			if m.Role != "owner" || m.GivenName != "Olive" {
				t.Fatalf("member = %+v", m)
			}
			out, _, err = cli(t, env, "member", "add", "--workspace", w.ID, "--email", "e@acme.test", "--role", "editor", "--json")
			if err != nil || !strings.Contains(out, role.ID) {
				t.Fatalf("member with custom role by name: %q %v", out, err)
			}
			out, _, err = cli(t, env, "api-key", "create", "--workspace", w.ID, "--label", "app", "--json")
			if err != nil {
				t.Fatal(err)
			}
			var k struct{ ID, Key string }
			decodeOne(t, out, &k)
			if !strings.HasPrefix(k.Key, "rcak_"+k.ID+"_") {
				t.Fatalf("key = %+v", k)
			}
			out, _, err = cli(t, env, "workspace", "list", "--json")
			if err != nil || !strings.Contains(out, w.ID) {
				t.Fatalf("list = %q %v", out, err)
			}
			// SP keys made with a secret key are sealed: a command without
			// the key cannot use them, and says so.
			keyEnv := maps.Clone(env)
			keyEnv["ROLLCALL_SECRET_KEY"] = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
			if _, _, err := cli(t, keyEnv, "sso", "sp-key", "begin-rollover", "--workspace", w.ID); err != nil {
				t.Fatal(err)
			}
			if _, _, err := cli(t, env, "sso", "sp-key", "complete-rollover", "--workspace", w.ID); err == nil || !strings.Contains(err.Error(), "no --secret-key") {
				t.Fatalf("complete-rollover without the secret key: %v", err)
			}
			if _, _, err := cli(t, keyEnv, "sso", "sp-key", "complete-rollover", "--workspace", w.ID); err != nil {
				t.Fatal(err)
			}
			// Rotating the secret key: with the new key first and the old
			// one after it, seal moves both SP keys (current and previous)
			// to the new key, after which the new key alone opens them and
			// the old one no longer does.
			secret := func(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }
			withKey := func(k string) map[string]string {
				m := maps.Clone(env)
				m["ROLLCALL_SECRET_KEY"] = k
				return m
			}
			if _, _, err := cli(t, env, "sso", "sp-key", "seal"); err == nil || !strings.Contains(err.Error(), "give the secret key") {
				t.Fatalf("seal without a secret key: %v", err)
			}
			for i, want := range []string{"sealed 2 SP private keys", "sealed 0 SP private keys"} {
				out, _, err := cli(t, withKey(secret(10)+","+secret(9)), "sso", "sp-key", "seal")
				if err != nil || !strings.Contains(out, want) || !strings.Contains(out, "every SP private key opens with the current secret key") {
					t.Fatalf("seal run %d while rotating = %q, %v", i+1, out, err)
				}
			}
			if _, _, err := cli(t, withKey(secret(10)), "sso", "show", "--workspace", w.ID); err != nil {
				t.Fatalf("the new secret key alone after sealing: %v", err)
			}
			if _, _, err := cli(t, keyEnv, "sso", "show", "--workspace", w.ID); err == nil || !strings.Contains(err.Error(), "does not open") {
				t.Fatalf("the old secret key alone after sealing: %v", err)
			}
			// seal checks every key, also with a single secret key.
			for _, k := range []string{secret(11), secret(11) + "," + secret(12)} {
				if out, _, err := cli(t, withKey(k), "sso", "sp-key", "seal"); err == nil || !strings.Contains(err.Error(), "does not open") || !strings.Contains(out, "sealed 0") {
					t.Fatalf("seal with keys that open nothing = %q, %v", out, err)
				}
			}
			// A lost secret key: reset discards the keys it cannot open and
			// makes a new one, after which SSO works without the old key.
			if _, _, err := cli(t, env, "sso", "show", "--workspace", w.ID); err == nil {
				t.Fatal("sso show read sealed keys without the secret key")
			}
			if _, _, err := cli(t, env, "sso", "sp-key", "reset", "--workspace", w.ID); err != nil {
				t.Fatalf("reset without the secret key: %v", err)
			}
			if out, _, err := cli(t, env, "sso", "show", "--workspace", w.ID, "--json"); err != nil || strings.Count(out, `"sha256_fingerprint"`) != 1 {
				t.Fatalf("after reset, sso show = %q %v (want one SP certificate)", out, err)
			}
			if out, _, err = cli(t, env, "migrate"); err != nil || !strings.Contains(out, "0001_directory.sql") && !strings.Contains(out, "migration") {
				t.Fatalf("migrate = %q %v", out, err)
			}
		})
	}
}

// TestSSOPolicyNeedsIdP: requiring SSO in a workspace without an IdP would
// lock out every member but the owners, so the command refuses it (exit
// status 1, not a usage error) and names the command to run first.
func TestSSOPolicyNeedsIdP(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			env := cliEnv(t, engine)
			out, _, err := cli(t, env, "workspace", "create", "--name", "Acme", "--json")
			if err != nil {
				t.Fatal(err)
			}
			var w struct{ ID string }
			decodeOne(t, out, &w)
			_, _, err = cli(t, env, "sso", "policy", "--workspace", w.ID, "required")
			var u usageError
			if err == nil || errorAs(err, &u) || strings.Contains(err.Error(), "\n") ||
				!strings.Contains(err.Error(), "no IdP configured") || !strings.Contains(err.Error(), "rollcall sso configure --workspace "+w.ID+" --idp-metadata") {
				t.Fatalf("required without an IdP: %v, want a one-line refusal naming sso configure", err)
			}
			if _, _, err := cli(t, env, "sso", "policy", "--workspace", "nope", "required"); err == nil || !strings.Contains(err.Error(), `workspace "nope" not found`) {
				t.Fatalf("unknown workspace: %v", err)
			}
			if out, _, err := cli(t, env, "sso", "policy", "--workspace", w.ID, "optional"); err != nil || !strings.Contains(out, "SSO is now optional") {
				t.Fatalf("optional without an IdP: %q %v", out, err)
			}
			cert := filepath.Join(t.TempDir(), "idp.pem")
			if err := os.WriteFile(cert, []byte(samltest.New(t, "https://idp.test", time.Time{}).CertPEM()), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, _, err := cli(t, env, "sso", "configure", "--workspace", w.ID, "--idp-sso-url", "https://idp.test/sso",
				"--idp-entity-id", "https://idp.test", "--idp-cert", cert); err != nil {
				t.Fatal(err)
			}
			if out, _, err := cli(t, env, "sso", "policy", "--workspace", w.ID, "required"); err != nil || !strings.Contains(out, "SSO is now required") {
				t.Fatalf("required with an IdP: %q %v", out, err)
			}
		})
	}
}

// cliEnv is the environment of CLI commands on a fresh database of engine.
func cliEnv(t *testing.T, engine string) map[string]string {
	database := filepath.Join(t.TempDir(), "rc.db")
	if engine == "postgres" {
		database = dbtest.Schema(t)
	}
	return map[string]string{"ROLLCALL_DATABASE": database, "ROLLCALL_BASE_URL": "https://sso.example.com/"}
}

func decodeOne(t *testing.T, out string, v any) {
	t.Helper()
	if strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("want exactly one JSON line, got %q", out)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServe starts the server twice on the same database: the first start
// creates a workspace and explains what to do next, the second prints one
// line. It also checks /healthz, /readyz, a port in use, and that shutdown
// lets an in-flight request finish.
func TestServe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := freeAddr(t)
	// The address is a flag, not in the environment: the commands the
	// guidance prints must then carry it themselves.
	env := map[string]string{"ROLLCALL_DATABASE": filepath.Join(dir, "data", "rc.db")}
	start := func() (*syncBuffer, context.CancelFunc, chan error) {
		out := &syncBuffer{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"serve", "--listen", addr}, func(k string) string { return env[k] }, out, io.Discard)
		}()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
				resp.Body.Close()
				return out, cancel, done
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		t.Fatalf("server did not start; output %q", out.String())
		return nil, nil, nil
	}
	out, cancel, done := start()
	if !strings.Contains(out.String(), "created your first workspace") || !strings.Contains(out.String(), "--role owner") ||
		!strings.Contains(out.String(), "rollcall member reset-link --base-url http://"+addr+" --workspace ") {
		t.Fatalf("first start output = %q", out.String())
	}
	// The sign-in page the guidance names is there.
	_, signin, _ := strings.Cut(out.String(), "to sign in at ")
	signin, _, _ = strings.Cut(signin, ":\n")
	if resp, err := http.Get(signin); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the sign-in page %q: %v %v", signin, resp, err)
	} else {
		resp.Body.Close()
	}
	// The member commands it prints work as printed, and the reset link
	// leads to this server's sign-in page.
	var linkOut string
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "  rollcall member ") {
			var err error
			if linkOut, _, err = cli(t, env, strings.Fields(line)[1:]...); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
		}
	}
	if !strings.Contains(linkOut, signin+"/") {
		t.Fatalf("reset-link printed %q, want a link under %s", linkOut, signin)
	}
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", resp, err)
	}
	resp.Body.Close()
	// A second server on the same port fails with one clear line.
	_, _, err = cli(t, env, "serve", "--listen", addr)
	if err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("port in use: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
	// An SP key made before the server had a secret key is sealed by the
	// server once it has one (at start, not by a request): afterwards a
	// command without the secret key cannot use it.
	list, _, err := cli(t, env, "workspace", "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var ws struct{ Workspaces []struct{ ID string } }
	if decodeOne(t, list, &ws); len(ws.Workspaces) != 1 {
		t.Fatalf("workspace list = %q", list)
	}
	w := ws.Workspaces[0]
	if _, _, err := cli(t, env, "sso", "show", "--workspace", w.ID); err != nil {
		t.Fatal(err)
	}
	plain := maps.Clone(env)
	env["ROLLCALL_SECRET_KEY"] = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	out, cancel, done = start()
	defer cancel()
	if lines := strings.Count(out.String(), "\n"); lines != 1 || !strings.Contains(out.String(), "listening on http://"+addr) {
		t.Fatalf("second start output = %q", out.String())
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, _, err := cli(t, plain, "sso", "show", "--workspace", w.ID)
		if err != nil && strings.Contains(err.Error(), "no --secret-key") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the SP key was not sealed after the server started with a secret key: sso show without it = %v", err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestGracefulShutdown runs the real binary, sends SIGTERM while a slow
// request is in flight, and checks the request completes.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "rollcall")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--listen", addr, "--database", filepath.Join(t.TempDir(), "rc.db"))
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for i := 0; ; i++ {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if i > 500 {
			t.Fatalf("server did not start: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A request whose body arrives slowly is in flight during shutdown.
	pr, pw := io.Pipe()
	result := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/workspaces/x/roles", pr)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			result <- -1
			return
		}
		resp.Body.Close()
		result <- resp.StatusCode
	}()
	_, _ = pw.Write([]byte(`{"name":`))
	time.Sleep(100 * time.Millisecond)
	if err := cmd.Process.Signal(syscallSIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	_, _ = pw.Write([]byte(`"x"}`))
	pw.Close()
	if code := <-result; code != http.StatusUnauthorized {
		t.Fatalf("in-flight request got %d, want a full answer (401)", code)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v; stderr %s", err, stderr.String())
	}
}
