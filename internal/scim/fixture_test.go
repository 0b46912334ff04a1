package scim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"rollcall/internal/credential"
	"rollcall/internal/directory"
	"rollcall/internal/scim"
	"rollcall/internal/server"
	"rollcall/internal/testenv/dbtest"
)

// fixture is a real Rollcall server (the same wiring as `rollcall serve`)
// on a fresh database of one engine, with one workspace and a SCIM token.
type fixture struct {
	t     testing.TB
	srv   *server.Server
	http  *httptest.Server
	ws    string
	token string
	base  string // the workspace's SCIM base URL
	dsn   string
}

// newFixture starts a server. cfg tunes the SCIM door (zero: defaults).
func newFixture(t testing.TB, engine string, cfg scim.Config) *fixture {
	t.Helper()
	var dsn string
	if engine == "postgres" {
		dsn = dbtest.Schema(t)
	} else {
		dsn = t.TempDir() + "/rollcall.db"
	}
	srv, ts := startServer(t, dsn, cfg)
	baseURL := ts.URL
	ctx := context.Background()
	w, err := srv.Dir.CreateWorkspace(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	_, tok, err := srv.Creds.Create(ctx, w.ID, credential.KindSCIMToken, "test IdP")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, srv: srv, http: ts, ws: w.ID, token: tok, base: baseURL + "/scim/v2/" + w.ID, dsn: dsn}
}

func startServer(t testing.TB, dsn string, cfg scim.Config) (*server.Server, *httptest.Server) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	srv, err := server.New(context.Background(), server.Config{Database: dsn, BaseURL: "http://" + ts.Listener.Addr().String(), SCIM: cfg,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return srv, ts
}

// twin starts a second server on the same database, for the same
// workspace and token: another replica (on SQLite, another process's worth
// of connections to the same file).
func (f *fixture) twin(t testing.TB) *fixture {
	t.Helper()
	srv, ts := startServer(t, f.dsn, scim.Config{})
	return &fixture{t: t, srv: srv, http: ts, ws: f.ws, token: f.token, base: ts.URL + "/scim/v2/" + f.ws, dsn: f.dsn}
}

// response is a decoded HTTP response.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

// do sends a SCIM request with the fixture's token. path is relative to
// the SCIM base URL ("/Users?filter=…") unless it starts with "http".
func (f *fixture) do(method, path, body string, headers ...string) response {
	f.t.Helper()
	u := path
	if !strings.HasPrefix(path, "http") {
		u = f.base + path
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := f.http.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&out.Body); err != nil {
			f.t.Fatalf("%s %s: response is not a JSON object: %q", method, path, raw)
		}
	}
	return out
}

// want fails the test unless the response has the status.
func (r response) want(t testing.TB, status int) response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Raw)
	}
	return r
}

// str returns a string at a dotted path of the body ("meta.version").
func (r response) str(path string) string {
	v := r.get(path)
	s, _ := v.(string)
	return s
}

// get returns the value at a dotted path of the body; list indexes are
// numbers ("Resources.0.id").
func (r response) get(path string) any {
	var cur any = r.Body
	for _, p := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			i := 0
			for _, ch := range p {
				i = i*10 + int(ch-'0')
			}
			if i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// total returns totalResults of a list response, or -1 without one.
func (r response) total() int {
	v, ok := r.Body["totalResults"].(json.Number)
	if !ok {
		return -1
	}
	n, _ := v.Int64()
	return int(n)
}

// member reads a member straight from the store (what the workspace sees).
func (f *fixture) member(userName string) *directory.Member {
	f.t.Helper()
	m, err := f.srv.DB.MemberByUserName(context.Background(), f.ws, userName)
	if err != nil {
		f.t.Fatalf("member %s: %v", userName, err)
	}
	return m
}
