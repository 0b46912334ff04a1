package saml_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rollcall/internal/credential"
	"rollcall/internal/directory"
	"rollcall/internal/httpx"
	"rollcall/internal/saml"
	"rollcall/internal/session"
	"rollcall/internal/store"
	"rollcall/internal/testenv/dbtest"
	"rollcall/internal/testenv/samltest"
	"rollcall/internal/web"
)

// sp is one SP server (one "replica") in front of a database.
type sp struct {
	url  string
	srv  *saml.Server
	web  *web.Server
	http *httptest.Server
}

type fixture struct {
	db  *store.DB
	dir *directory.Service
	ws  string
	idp *samltest.IdP
	a   *sp
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newSP(t testing.TB, db *store.DB, fetcher *saml.Fetcher, opts ...func(*saml.Config)) *sp {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	dir := directory.NewService(db)
	sessions := &session.Manager{Store: db}
	pages, err := web.New(&web.Server{BaseURL: base, Dir: dir, Store: db, Sessions: sessions, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if fetcher == nil {
		fetcher = &saml.Fetcher{}
	}
	cfg := saml.Config{BaseURL: base, Log: quiet()}
	for _, o := range opts {
		o(&cfg)
	}
	srv := saml.New(cfg, dir, db, sessions, pages, fetcher)
	pages.SSO = func(ctx context.Context, ws string) bool {
		ok, err := db.HasConnection(ctx, ws)
		if err != nil {
			t.Error(err)
		}
		return ok
	}
	mux := http.NewServeMux()
	srv.Register(mux)
	pages.Register(mux)
	ts.Config.Handler = httpx.Handler(mux, quiet(), nil)
	ts.Start()
	t.Cleanup(ts.Close)
	return &sp{url: base, srv: srv, web: pages, http: ts}
}

func setup(t *testing.T, engine string) *fixture {
	t.Helper()
	db, dir, ws := newWorkspace(t, engine, "Acme")
	f := &fixture{db: db, dir: dir, ws: ws}
	f.a = newSP(t, db, nil)
	f.idp = samltest.New(t, "https://idp.example.com/acme", time.Time{})
	f.configure(t, f.idp.Metadata(), saml.Settings{})
	f.member(t, "alice@acme.test", true, directory.RoleMember)
	return f
}

// newWorkspace opens a fresh database on engine with one workspace.
func newWorkspace(t *testing.T, engine, name string) (*store.DB, *directory.Service, string) {
	t.Helper()
	db := dbtest.Open(t, engine)
	dir := directory.NewService(db)
	w, err := dir.CreateWorkspace(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return db, dir, w.ID
}

func (f *fixture) configure(t *testing.T, md []byte, extra saml.Settings) {
	t.Helper()
	extra.MetadataXML = md
	if _, err := f.a.srv.Configure(context.Background(), f.ws, extra); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) member(t *testing.T, user string, active bool, role directory.Role) *directory.Member {
	t.Helper()
	m, err := f.dir.CreateMember(context.Background(), f.ws, &directory.Member{UserName: user, Active: active, Source: directory.SourceSCIM,
		Assigned: directory.RoleRef{Role: role}, Emails: []directory.Email{{Value: user, Primary: true}}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// browser is an HTTP client with its own cookies that does not follow
// redirects, so each step of the flow can be checked.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) *http.Response {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func (f *fixture) post(t *testing.T, c *http.Client, s *sp, samlResponse, relay string) *http.Response {
	t.Helper()
	form := url.Values{"SAMLResponse": {samlResponse}}
	if relay != "" {
		form.Set("RelayState", relay)
	}
	resp, err := c.PostForm(s.url+"/saml/"+f.ws+"/acs", form)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// start begins an SP-initiated sign-in and returns the AuthnRequest ID.
func (f *fixture) start(t *testing.T, c *http.Client, returnTo string) string {
	t.Helper()
	return f.startAt(t, c, f.a, returnTo)
}

// startAt is start through the SP s.
func (f *fixture) startAt(t *testing.T, c *http.Client, s *sp, returnTo string) string {
	t.Helper()
	resp := get(t, c, s.url+"/saml/"+f.ws+"/login?return_to="+url.QueryEscape(returnTo))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), f.idp.SSOURL) {
		t.Fatalf("login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return samltest.RequestID(t, resp.Header.Get("Location"))
}

func (f *fixture) response(t *testing.T, s *sp, nameID, inResponseTo string) string {
	return f.idp.Response(t, f.assertion(s, nameID, inResponseTo))
}

// assertion is an assertion for the workspace at s (its ACS and audience),
// for tests that set more fields before minting it.
func (f *fixture) assertion(s *sp, nameID, inResponseTo string) samltest.Assertion {
	return samltest.Assertion{ACSURL: s.url + "/saml/" + f.ws + "/acs", Audience: s.url + "/saml/" + f.ws + "/metadata",
		InResponseTo: inResponseTo, NameID: nameID}
}

// whoami asks the session API who the browser is.
func whoami(t *testing.T, c *http.Client, s *sp) (int, map[string]any) {
	t.Helper()
	resp := get(t, c, s.url+"/api/v1/session")
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (f *fixture) auditReasons(t *testing.T) []string {
	t.Helper()
	entries, err := f.db.Audit(context.Background(), f.ws, directory.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.Action == "sso.login_refused" {
			var d struct{ Reason string }
			if err := json.Unmarshal(e.Detail, &d); err != nil {
				t.Fatal(err)
			}
			out = append(out, d.Reason)
		}
	}
	return out
}

func TestSPInitiated(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := setup(t, engine)
			c := browser(t)
			id := f.start(t, c, "/w/"+f.ws+"/projects?x=1")
			if code, _ := whoami(t, c, f.a); code != http.StatusUnauthorized {
				t.Fatalf("session before sign-in: %d", code)
			}
			resp := f.post(t, c, f.a, f.response(t, f.a, "ALICE@acme.test", id), "")
			if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/complete?code=") {
				t.Fatalf("acs: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body(t, resp))
			}
			done := get(t, c, resp.Header.Get("Location"))
			if done.StatusCode != http.StatusSeeOther || done.Header.Get("Location") != "/w/"+f.ws+"/projects?x=1" {
				t.Fatalf("complete: %d %q %s", done.StatusCode, done.Header.Get("Location"), body(t, done))
			}
			code, who := whoami(t, c, f.a)
			if code != 200 || who["user_name"] != "alice@acme.test" || who["workspace_id"] != f.ws || who["auth_method"] != "saml" || who["role"] != "member" || who["email"] != "alice@acme.test" {
				t.Fatalf("session: %d %v", code, who)
			}
			// The same code cannot be used twice.
			again := get(t, c, resp.Header.Get("Location"))
			if again.StatusCode != http.StatusBadRequest {
				t.Fatalf("second completion: %d", again.StatusCode)
			}
			// Home page.
			home := get(t, c, f.a.url+"/w/"+f.ws+"/")
			if b := body(t, home); home.StatusCode != 200 || !strings.Contains(b, "alice@acme.test") {
				t.Fatalf("home: %d %s", home.StatusCode, b)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := setup(t, engine)
			f.member(t, "gone@acme.test", false, directory.RoleMember)
			tests := []struct {
				name   string
				run    func(t *testing.T) *http.Response
				status int
				text   string
				reason string
			}{
				{"same response twice", func(t *testing.T) *http.Response {
					c := browser(t)
					id := f.start(t, c, "")
					r := f.response(t, f.a, "alice@acme.test", id)
					f.post(t, c, f.a, r, "")
					return f.post(t, c, f.a, r, "")
				}, 403, "Authentication failed", "unknown_request"},
				{"unknown InResponseTo", func(t *testing.T) *http.Response {
					return f.post(t, browser(t), f.a, f.response(t, f.a, "alice@acme.test", "_never-asked"), "")
				}, 403, "Authentication failed", "unknown_request"},
				{"answer to an expired request", func(t *testing.T) *http.Response {
					// The request is made 11 minutes ago (its lifetime is 10).
					b := newSP(t, f.db, nil)
					var shift atomic.Int64
					shift.Store(int64(-11 * time.Minute))
					b.srv.SetClock(func() time.Time { return time.Now().Add(time.Duration(shift.Load())) })
					c := browser(t)
					id := f.startAt(t, c, b, "")
					shift.Store(0)
					return f.post(t, c, b, f.response(t, b, "alice@acme.test", id), "")
				}, 403, "Authentication failed", "unknown_request"},
				{"IdP-initiated not allowed", func(t *testing.T) *http.Response {
					return f.post(t, browser(t), f.a, f.response(t, f.a, "alice@acme.test", ""), "")
				}, 403, "Authentication failed", "idp_initiated_disabled"},
				{"not a member", func(t *testing.T) *http.Response {
					c := browser(t)
					return f.post(t, c, f.a, f.response(t, f.a, "mallory@evil.test", f.start(t, c, "")), "")
				}, 403, "not a member", "not_a_member"},
				{"deactivated member", func(t *testing.T) *http.Response {
					c := browser(t)
					return f.post(t, c, f.a, f.response(t, f.a, "gone@acme.test", f.start(t, c, "")), "")
				}, 403, "deactivated", "member_inactive"},
				{"signed by another key", func(t *testing.T) *http.Response {
					c := browser(t)
					other := samltest.New(t, f.idp.EntityID, time.Time{})
					return f.post(t, c, f.a, other.Response(t, samltest.Assertion{ACSURL: f.a.url + "/saml/" + f.ws + "/acs",
						Audience: f.a.url + "/saml/" + f.ws + "/metadata", InResponseTo: f.start(t, c, ""), NameID: "alice@acme.test"}), "")
				}, 403, "Authentication failed", "response_untrusted_certificate"},
				{"garbage", func(t *testing.T) *http.Response {
					return f.post(t, browser(t), f.a, "PD94bWwgdmVyc2lvbj0iMS4wIj8+PCFET0NUWVBFIHg+PHgvPg==", "")
				}, 403, "Authentication failed", "response_forbidden_xml"},
				// Last: it allows IdP-initiated sign-ins on the shared connection.
				{"replay from another replica", func(t *testing.T) *http.Response {
					c := browser(t)
					id := f.start(t, c, "")
					r := f.response(t, f.a, "alice@acme.test", id)
					if resp := f.post(t, c, f.a, r, ""); resp.StatusCode != http.StatusSeeOther {
						t.Fatalf("first use: %d", resp.StatusCode)
					}
					b := newSP(t, f.db, nil)
					// Replica B has another URL; make the same response valid there too
					// by minting its twin with the same assertion ID.
					twin := f.assertion(b, "alice@acme.test", "")
					twin.AssertionID = mustAssertionID(t, r)
					f.configureFor(t, b)
					return f.post(t, browser(t), b, f.idp.Response(t, twin), "")
				}, 403, "Authentication failed", "replay"},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					resp := tc.run(t)
					b := body(t, resp)
					if resp.StatusCode != tc.status || !strings.Contains(b, tc.text) {
						t.Fatalf("got %d %q, want %d with %q", resp.StatusCode, b, tc.status, tc.text)
					}
					if strings.Contains(b, "rollcall_session") || len(resp.Header.Values("Set-Cookie")) > 0 && strings.Contains(strings.Join(resp.Header.Values("Set-Cookie"), ";"), session.CookieName) {
						t.Fatal("a refused sign-in set a session cookie")
					}
					found := false
					for _, r := range f.auditReasons(t) {
						found = found || r == tc.reason
					}
					if !found {
						t.Fatalf("audit log lacks reason %q: %v", tc.reason, f.auditReasons(t))
					}
				})
			}
		})
	}
}

func mustAssertionID(t *testing.T, b64 string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	i := strings.Index(s, "<saml:Assertion ")
	j := strings.Index(s[i:], ` ID="`) + i + len(` ID="`)
	return s[j : j+strings.Index(s[j:], `"`)]
}

// configureFor lets the twin, an unsolicited response, through replica b;
// the connection is shared by every replica (one database), only the
// replicas' URLs differ in tests.
func (f *fixture) configureFor(t *testing.T, b *sp) {
	t.Helper()
	if _, err := b.srv.Configure(context.Background(), f.ws, saml.Settings{MetadataXML: f.idp.Metadata(), AllowIdPInitiated: ptr(true)}); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestLoginCSRF posts a valid response started in the attacker's browser
// into the victim's browser: the completion must refuse it.
func TestLoginCSRF(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := setup(t, engine)
			attacker, victim := browser(t), browser(t)
			id := f.start(t, attacker, "")
			resp := f.post(t, victim, f.a, f.response(t, f.a, "alice@acme.test", id), "")
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("acs: %d", resp.StatusCode)
			}
			done := get(t, victim, resp.Header.Get("Location"))
			if done.StatusCode != http.StatusForbidden || !strings.Contains(body(t, done), "another browser") {
				t.Fatalf("completion in another browser: %d", done.StatusCode)
			}
			if code, _ := whoami(t, victim, f.a); code != http.StatusUnauthorized {
				t.Fatal("victim got a session")
			}
		})
	}
}

// TestDeactivatedWhileSigningIn: a member deactivated between the ACS and
// the completion gets no session, not even one that a later reactivation
// would bring back to life.
func TestDeactivatedWhileSigningIn(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := setup(t, engine)
			c := browser(t)
			resp := f.post(t, c, f.a, f.response(t, f.a, "alice@acme.test", f.start(t, c, "")), "")
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("acs: %d %s", resp.StatusCode, body(t, resp))
			}
			m, err := f.db.MemberByUserName(context.Background(), f.ws, "alice@acme.test")
			if err != nil {
				t.Fatal(err)
			}
			setActive := func(active bool) {
				t.Helper()
				if _, err := f.dir.UpdateMember(context.Background(), f.ws, m.ID, directory.UpdateOptions{}, func(m *directory.Member) error {
					m.Active = active
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			setActive(false)
			done := get(t, c, resp.Header.Get("Location"))
			if done.StatusCode != http.StatusForbidden || !strings.Contains(body(t, done), "deactivated") || done.Header.Get("Set-Cookie") != "" {
				t.Fatalf("completion for a deactivated member: %d %q", done.StatusCode, done.Header.Get("Set-Cookie"))
			}
			setActive(true)
			if code, _ := whoami(t, c, f.a); code != http.StatusUnauthorized {
				t.Fatalf("a session was stored for the deactivated member: %d", code)
			}
			if again := get(t, c, resp.Header.Get("Location")); again.StatusCode != http.StatusBadRequest {
				t.Fatalf("the code was not used up: %d", again.StatusCode)
			}
		})
	}
}

// TestSessionNotOnOrAfter: the IdP's SessionNotOnOrAfter caps the session,
// in the database and in the cookie; without it our own limit applies.
func TestSessionNotOnOrAfter(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := setup(t, engine)
			for _, capIn := range []time.Duration{10 * time.Minute, 0} {
				c := browser(t)
				a := f.assertion(f.a, "alice@acme.test", f.start(t, c, ""))
				if capIn > 0 {
					a.SessionNotOnOrAfter = time.Now().Add(capIn).Truncate(time.Millisecond)
				}
				resp := f.post(t, c, f.a, f.idp.Response(t, a), "")
				done := get(t, c, resp.Header.Get("Location"))
				var cookie *http.Cookie
				for _, ck := range done.Cookies() {
					if ck.Name == "rollcall_session" {
						cookie = ck
					}
				}
				if done.StatusCode != http.StatusSeeOther || cookie == nil {
					t.Fatalf("cap %v: completion %d without a session cookie", capIn, done.StatusCode)
				}
				id, _, _ := strings.Cut(cookie.Value, ".")
				sess, err := f.db.Session(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				want := a.SessionNotOnOrAfter
				if capIn == 0 {
					want = sess.Created.Add(7 * 24 * time.Hour) // the default absolute limit
				}
				if !sess.Expires.Equal(want.UTC()) || cookie.Expires.Unix() != want.Unix() {
					t.Errorf("cap %v: session expires %v, cookie %v; want %v", capIn, sess.Expires, cookie.Expires, want.UTC())
				}
			}
			// An IdP session that ends between the ACS and the completion
			// gets no session at all, not one that is already over.
			var shift atomic.Int64
			f.a.srv.SetClock(func() time.Time { return time.Now().Add(time.Duration(shift.Load())) })
			c := browser(t)
			resp := f.post(t, c, f.a, f.idp.Response(t, samltest.Assertion{ACSURL: f.a.url + "/saml/" + f.ws + "/acs",
				Audience: f.a.url + "/saml/" + f.ws + "/metadata", InResponseTo: f.start(t, c, ""), NameID: "alice@acme.test",
				SessionNotOnOrAfter: time.Now().Add(time.Minute)}), "")
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("acs: %d %s", resp.StatusCode, body(t, resp))
			}
			shift.Store(int64(90 * time.Second)) // the code (2 minutes) is still valid
			if done := get(t, c, resp.Header.Get("Location")); done.StatusCode != http.StatusBadRequest || done.Header.Get("Set-Cookie") != "" {
				t.Fatalf("completion after the IdP's session ended: %d %q", done.StatusCode, done.Header.Get("Set-Cookie"))
			}
		})
	}
}

// TestSealedSPKeys: with a secret key, SP private keys are stored sealed
// (new ones at once, older ones by SealKeys, never by a request) and
// sign-ins work; a server without the key, or with another one, refuses
// to use them and says why.
func TestSealedSPKeys(t *testing.T) {
	sealer := func(bs ...byte) func(*saml.Config) {
		var keys [][]byte
		for _, b := range bs {
			keys = append(keys, bytes.Repeat([]byte{b}, 32))
		}
		s, err := credential.NewSealer(keys...)
		if err != nil {
			t.Fatal(err)
		}
		return func(c *saml.Config) { c.Sealer = s }
	}
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := setup(t, engine) // its server has no secret key
			ctx := context.Background()
			keys := func() []*saml.SPKey {
				t.Helper()
				ks, err := f.db.SPKeys(ctx, f.ws)
				if err != nil || len(ks) == 0 {
					t.Fatalf("SP keys: %v %v", ks, err)
				}
				return ks
			}
			if k := keys()[0]; !strings.HasPrefix(k.KeyPEM, "-----BEGIN") {
				t.Fatalf("without a secret key the key is stored as %.20q", k.KeyPEM)
			}

			b := newSP(t, f.db, nil, sealer(1))
			c := browser(t)
			resp := f.post(t, c, b, f.response(t, b, "alice@acme.test", f.start(t, c, "")), "")
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("acs with a sealed key: %d %s", resp.StatusCode, body(t, resp))
			}
			if done := get(t, c, resp.Header.Get("Location")); done.StatusCode != http.StatusSeeOther {
				t.Fatalf("complete: %d", done.StatusCode)
			}
			if r := get(t, browser(t), b.url+"/saml/"+f.ws+"/metadata"); r.StatusCode != http.StatusOK {
				t.Fatalf("metadata: %d", r.StatusCode)
			}
			if k := keys()[0]; !strings.HasPrefix(k.KeyPEM, "-----BEGIN") {
				t.Fatalf("requests wrote the key: stored as %.20q", k.KeyPEM)
			}
			for i, want := range []int{1, 0} { // the second run finds nothing left
				if n, err := b.srv.SealKeys(ctx); err != nil || n != want {
					t.Fatalf("SealKeys run %d = %d, %v; want %d", i+1, n, err, want)
				}
			}
			if n, err := f.a.srv.SealKeys(ctx); err != nil || n != 0 { // no secret key: nothing to do
				t.Fatalf("SealKeys without a secret key = %d, %v", n, err)
			}
			if err := b.srv.BeginKeyRollover(ctx, f.ws); err != nil {
				t.Fatal(err)
			}
			for _, k := range keys() {
				if !credential.IsSealed(k.KeyPEM) || strings.Contains(k.KeyPEM, "PRIVATE KEY") {
					t.Fatalf("%s key %s stored as %.20q", k.Status, k.ID, k.KeyPEM)
				}
			}
			// A sealed key copied into another workspace's row does not
			// open there, even though this server has it cached.
			if _, err := b.srv.Show(ctx, f.ws); err != nil { // caches the sealed keys
				t.Fatal(err)
			}
			w2, err := f.dir.CreateWorkspace(ctx, "Other")
			if err != nil {
				t.Fatal(err)
			}
			stolen := *keys()[0]
			stolen.WorkspaceID, stolen.Status = w2.ID, saml.KeyCurrent
			if err := f.db.InsertSPKey(ctx, &stolen); err != nil {
				t.Fatal(err)
			}
			if _, err := b.srv.Show(ctx, w2.ID); err == nil || !strings.Contains(err.Error(), "does not open") {
				t.Fatalf("a sealed key moved to another workspace: Show error = %v", err)
			}
			// The sealed keys still sign: an SP-initiated start through b.
			if r := get(t, browser(t), b.url+"/saml/"+f.ws+"/login"); r.StatusCode != http.StatusFound {
				t.Fatalf("login with sealed keys: %d", r.StatusCode)
			}

			for name, s := range map[string]*sp{"no secret key": f.a, "another secret key": newSP(t, f.db, nil, sealer(2))} {
				_, err := s.srv.Show(ctx, f.ws)
				want := map[string]string{"no secret key": "no --secret-key", "another secret key": "does not open"}[name]
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("%s: Show error = %v, want one containing %q", name, err, want)
				}
				if r := get(t, browser(t), s.url+"/saml/"+f.ws+"/login"); r.StatusCode != http.StatusInternalServerError {
					t.Errorf("%s: login answered %d", name, r.StatusCode)
				}
			}

			// The ACS needs the SP key only to decrypt: an unencrypted
			// response is accepted even where the key cannot be opened.
			if _, err := b.srv.Configure(ctx, f.ws, saml.Settings{MetadataXML: f.idp.Metadata(), AllowIdPInitiated: ptr(true)}); err != nil {
				t.Fatal(err)
			}
			if resp := f.post(t, browser(t), f.a, f.response(t, f.a, "alice@acme.test", ""), ""); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("unencrypted response at a server without the secret key: %d %s", resp.StatusCode, body(t, resp))
			}

			// Rotating the secret key: a server with the new key first and
			// the old one after it signs with keys the old one sealed.
			// Neither it nor a server with the keys the other way round
			// moves sealed keys at upkeep (SealKeys); ResealKeys moves them
			// to the new key and checks them all. The key copied into the
			// other workspace opens with neither and is reported, after the
			// others are done.
			r, back := newSP(t, f.db, nil, sealer(3, 1)), newSP(t, f.db, nil, sealer(1, 3))
			if resp := get(t, browser(t), r.url+"/saml/"+f.ws+"/login"); resp.StatusCode != http.StatusFound {
				t.Fatalf("login while rotating, before sealing again: %d", resp.StatusCode)
			}
			if n, err := r.srv.SealKeys(ctx); n != 0 || err != nil {
				t.Fatalf("SealKeys while rotating = %d, %v; want nothing done", n, err)
			}
			for i, want := range []int{2, 0} { // the current and next keys, then nothing
				n, err := r.srv.ResealKeys(ctx)
				if n != want || err == nil || !strings.Contains(err.Error(), "does not open") || !strings.Contains(err.Error(), w2.ID) || strings.Contains(err.Error(), f.ws) {
					t.Fatalf("ResealKeys run %d = %d, %v; want %d and an error naming workspace %s alone", i+1, n, err, want, w2.ID)
				}
			}
			if n, err := back.srv.SealKeys(ctx); n != 0 || err != nil {
				t.Fatalf("SealKeys with the old key first = %d, %v; want nothing done", n, err)
			}
			// A replacement is compare-and-set, and says whether it happened.
			k := keys()[0]
			if done, err := f.db.ReplaceSPKeyPEM(ctx, f.ws, k.ID, k.KeyPEM+"stale", "replacement"); done || err != nil || keys()[0].KeyPEM != k.KeyPEM {
				t.Fatalf("ReplaceSPKeyPEM from a stale value = %v, %v", done, err)
			}
			for name, s := range map[string]*sp{"the old key": b, "the new key": newSP(t, f.db, nil, sealer(3))} {
				resp := get(t, browser(t), s.url+"/saml/"+f.ws+"/login")
				if want := map[string]int{"the old key": http.StatusInternalServerError, "the new key": http.StatusFound}[name]; resp.StatusCode != want {
					t.Errorf("login with %s alone after sealing again: %d, want %d", name, resp.StatusCode, want)
				}
			}

			// A key another process keeps under an older secret key while
			// ResealKeys runs (its compare-and-set loses) is named, not
			// counted.
			cfg := saml.Config{BaseURL: r.url, Log: quiet()}
			sealer(5, 3)(&cfg)
			losing := saml.New(cfg, f.dir, &losingStore{DB: f.db}, nil, nil, nil)
			if n, err := losing.ResealKeys(ctx); n != 1 || err == nil || !strings.Contains(err.Error(), "not sealed with the current secret key") {
				t.Fatalf("ResealKeys losing one replacement = %d, %v", n, err)
			}
		})
	}
}

// losingStore loses its first compare-and-set of an SP key, as if another
// process had written the key in between.
type losingStore struct {
	*store.DB
	lost bool
}

func (s *losingStore) ReplaceSPKeyPEM(ctx context.Context, ws, id, old, replacement string) (bool, error) {
	if !s.lost {
		s.lost = true
		return false, nil
	}
	return s.DB.ReplaceSPKeyPEM(ctx, ws, id, old, replacement)
}

// TestFirstKeyRace: servers making a workspace's first SP key at the same
// moment (replicas, or the metadata and a sign-in) end with one current
// key, which all of them then use.
func TestFirstKeyRace(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			db, _, ws := newWorkspace(t, engine, "Race")
			ctx := context.Background()
			const n = 6
			infos := make([]*saml.Info, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				s := newSP(t, db, nil) // each its own server, as replicas are
				wg.Add(1)
				go func() {
					defer wg.Done()
					infos[i], errs[i] = s.srv.Show(ctx, ws)
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("server %d: %v", i, err)
				}
				if len(infos[i].SPCertificates) != 1 || infos[i].SPCertificates[0].Fingerprint != infos[0].SPCertificates[0].Fingerprint {
					t.Fatalf("server %d shows SP certificates %v, server 0 %v", i, infos[i].SPCertificates, infos[0].SPCertificates)
				}
			}
			keys, err := db.SPKeys(ctx, ws)
			if err != nil || len(keys) != 1 {
				t.Fatalf("%d SP keys stored (%v), want 1", len(keys), err)
			}
		})
	}
}

// TestKeyChangesBesideAnotherReplica: another replica reading or making
// the workspace's SP keys between any two store calls of a reset or a
// rollover neither breaks the reset (which leaves exactly its own key) nor
// turns a lost rollover race into an internal error.
func TestKeyChangesBesideAnotherReplica(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := setup(t, engine)
			ctx := context.Background()
			other := newSP(t, f.db, nil)
			meddling := &meddlingStore{DB: f.db}
			srv := saml.New(saml.Config{BaseURL: f.a.url, Log: quiet()}, f.dir, meddling, nil, nil, nil)

			// The other replica shows the workspace (making a first key if
			// there is none) after each of the reset's store calls.
			meddling.meddle = func() {
				if _, err := other.srv.Show(ctx, f.ws); err != nil {
					t.Errorf("the other replica: %v", err)
				}
			}
			if err := srv.ResetKeys(ctx, f.ws); err != nil {
				t.Fatalf("reset beside another replica: %v", err)
			}
			meddling.meddle = nil
			keys, err := f.db.SPKeys(ctx, f.ws)
			if err != nil || len(keys) != 1 || keys[0].Status != saml.KeyCurrent {
				t.Fatalf("after the reset: %d keys (%v), want one current key", len(keys), err)
			}
			entries, err := f.db.Audit(ctx, f.ws, directory.AuditQuery{Limit: 100})
			if err != nil || !slices.ContainsFunc(entries, func(e directory.AuditEntry) bool { return e.Action == "sso.sp_keys_reset" }) {
				t.Fatalf("the reset was not audited (%v)", err)
			}

			// The other replica begins a rollover after this one has read
			// the keys and before it adds its next key.
			meddling.meddle = func() {
				meddling.meddle = nil
				if err := other.srv.BeginKeyRollover(ctx, f.ws); err != nil {
					t.Errorf("the other replica's rollover: %v", err)
				}
			}
			if err := srv.BeginKeyRollover(ctx, f.ws); directory.ErrorCode(err) != directory.ECONFLICT {
				t.Fatalf("a rollover that lost the race: %v (%s), want a conflict", err, directory.ErrorCode(err))
			}
		})
	}
}

// meddlingStore runs meddle, when set, after each SP key call, as another
// replica would in between.
type meddlingStore struct {
	*store.DB
	meddle func()
}

func (s *meddlingStore) after() {
	if s.meddle != nil {
		s.meddle()
	}
}

func (s *meddlingStore) SPKeys(ctx context.Context, ws string) ([]*saml.SPKey, error) {
	defer s.after()
	return s.DB.SPKeys(ctx, ws)
}

func (s *meddlingStore) SetSPKeyStatus(ctx context.Context, ws string, status map[string]string) error {
	defer s.after()
	return s.DB.SetSPKeyStatus(ctx, ws, status)
}

func (s *meddlingStore) ReplaceSPKeys(ctx context.Context, ws string, k *saml.SPKey) ([]string, error) {
	defer s.after()
	return s.DB.ReplaceSPKeys(ctx, ws, k)
}

func TestIdPInitiated(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := setup(t, engine)
			f.configure(t, f.idp.Metadata(), saml.Settings{AllowIdPInitiated: ptr(true)})
			for relay, want := range map[string]string{
				"/w/" + f.ws + "/boards": "/w/" + f.ws + "/boards",
				"https://evil.example":   "/w/" + f.ws + "/",
				"//evil.example":         "/w/" + f.ws + "/",
				"/\\evil.example":        "/w/" + f.ws + "/",
				"javascript:alert(1)":    "/w/" + f.ws + "/",
				"/ok\r\nSet-Cookie: x=1": "/w/" + f.ws + "/",
				"":                       "/w/" + f.ws + "/",
			} {
				c := browser(t)
				resp := f.post(t, c, f.a, f.response(t, f.a, "alice@acme.test", ""), relay)
				if resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("relay %q: acs %d %s", relay, resp.StatusCode, body(t, resp))
				}
				done := get(t, c, resp.Header.Get("Location"))
				if done.StatusCode != http.StatusSeeOther || done.Header.Get("Location") != want {
					t.Errorf("relay %q: landed on %q, want %q", relay, done.Header.Get("Location"), want)
				}
			}
			// A response with someone else's InResponseTo is refused even
			// though unsolicited responses are allowed.
			victim := browser(t)
			id := f.start(t, victim, "")
			resp := f.post(t, browser(t), f.a, f.response(t, f.a, "alice@acme.test", id+"x"), "")
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("foreign InResponseTo: %d", resp.StatusCode)
			}
		})
	}
}

func TestJITAndSessions(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := setup(t, engine)
			f.configure(t, f.idp.Metadata(), saml.Settings{JIT: ptr(true)})
			c := browser(t)
			id := f.start(t, c, "")
			a := f.assertion(f.a, "00u-opaque-id", id)
			a.Attributes = map[string][]string{"email": {"newbie@acme.test"}, "firstName": {"New"}, "lastName": {"Bie"}}
			r := f.idp.Response(t, a)
			resp := f.post(t, c, f.a, r, "")
			get(t, c, resp.Header.Get("Location"))
			code, who := whoami(t, c, f.a)
			if code != 200 || who["user_name"] != "newbie@acme.test" || who["role"] != "member" {
				t.Fatalf("JIT sign-in: %d %v", code, who)
			}
			m, err := f.db.MemberByUserName(context.Background(), f.ws, "newbie@acme.test")
			if err != nil || m.Source != directory.SourceSSO || m.DisplayName != "New Bie" {
				t.Fatalf("JIT member: %+v %v", m, err)
			}
			// Deactivation ends the session at once.
			if _, err := f.dir.UpdateMember(context.Background(), f.ws, m.ID, directory.UpdateOptions{}, func(m *directory.Member) error {
				m.Active = false
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if code, _ := whoami(t, c, f.a); code != http.StatusUnauthorized {
				t.Fatalf("session survived deactivation: %d", code)
			}
			// The admin's debugging record.
			info, err := f.a.srv.Show(context.Background(), f.ws)
			if err != nil || !strings.Contains(string(info.LastLogin), "newbie@acme.test") || !strings.Contains(string(info.LastLogin), "firstName") {
				t.Fatalf("last login: %s %v", info.LastLogin, err)
			}
		})
	}
}

func TestSignOut(t *testing.T) {
	f := setup(t, "sqlite")
	c := browser(t)
	id := f.start(t, c, "")
	resp := f.post(t, c, f.a, f.response(t, f.a, "alice@acme.test", id), "")
	get(t, c, resp.Header.Get("Location"))
	req, _ := http.NewRequest("POST", f.a.url+"/signout", nil)
	req.Header.Set("Origin", "https://evil.example")
	r, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if code, _ := whoami(t, c, f.a); code != 200 {
		t.Fatal("a cross-site post signed the member out")
	}
	req, _ = http.NewRequest("POST", f.a.url+"/signout", nil)
	req.Header.Set("Origin", f.a.url)
	r, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if code, _ := whoami(t, c, f.a); code != http.StatusUnauthorized {
		t.Fatal("still signed in after sign-out")
	}
}
