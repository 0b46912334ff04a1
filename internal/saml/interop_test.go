package saml_test

// Interoperability tests: Rollcall's SP against IdP software it did not
// write, in a real browser. SimpleSAMLphp (PHP, xmlseclibs) is the IdP, on
// 127.0.0.2 so that its auto-POST to the SP on 127.0.0.1 is cross-site for
// Chromium's SameSite rules, as in production; headless Chromium is the
// browser. The second, browser-less signer (samlify) is in
// interop_samlify_test.go.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"rollcall/internal/directory"
	"rollcall/internal/httpx"
	"rollcall/internal/saml"
	"rollcall/internal/session"
	"rollcall/internal/store"
	headless "rollcall/internal/testenv/browser"
	"rollcall/internal/testenv/dbtest"
	"rollcall/internal/testenv/ssp"
	"rollcall/internal/web"
)

// flowTimeout bounds each subtest's browser steps; a flow takes 1 to 3 s
// here, far more on 2 busy CI cores with -race.
const flowTimeout = 60 * time.Second

// hit is a request the SP received on a /saml/ path.
type hit struct {
	method, path string
	nonce        bool   // it carried a rollcall_sso_* cookie
	fetchSite    string // its Sec-Fetch-Site header: how the browser saw it
}

// recorder keeps the SAML requests an SP received, to show which cookies
// the browser sent where.
type recorder struct {
	mu   sync.Mutex
	hits []hit
}

func (rec *recorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/saml/") {
			h := hit{method: r.Method, path: r.URL.Path, fetchSite: r.Header.Get("Sec-Fetch-Site")}
			for _, c := range r.Cookies() {
				h.nonce = h.nonce || strings.HasPrefix(c.Name, "rollcall_sso_")
			}
			rec.mu.Lock()
			rec.hits = append(rec.hits, h)
			rec.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

// take returns the requests recorded so far and forgets them.
func (rec *recorder) take() []hit {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := rec.hits
	rec.hits = nil
	return out
}

// newRecordingSP is newSP (saml_test.go) with rec in front of the
// handlers. The handler cannot be wrapped after newSP started the server
// without a data race, hence the copy.
func newRecordingSP(t *testing.T, db *store.DB, fetcher *saml.Fetcher, rec *recorder) *sp {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	dir := directory.NewService(db)
	sessions := &session.Manager{Store: db}
	pages, err := web.New(&web.Server{BaseURL: base, Dir: dir, Store: db, Sessions: sessions, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	srv := saml.New(saml.Config{BaseURL: base, Log: quiet()}, dir, db, sessions, pages, fetcher)
	pages.SSO = func(ctx context.Context, ws string) bool { _, err := db.Connection(ctx, ws); return err == nil }
	mux := http.NewServeMux()
	srv.Register(mux)
	pages.Register(mux)
	ts.Config.Handler = rec.wrap(httpx.Handler(mux, quiet(), nil))
	ts.Start()
	t.Cleanup(ts.Close)
	return &sp{url: base, srv: srv, web: pages, http: ts}
}

// clock is the SP's clock: real time plus an offset a test may move.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) set(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = d
}

// idpUsers are SimpleSAMLphp's accounts: alice and bob, and carol, whom
// the workspaces know as a deactivated member.
func idpUsers() []ssp.User {
	return append(ssp.DefaultUsers(), ssp.User{Username: "carol", Password: "carolpass", Attributes: map[string][]string{
		"uid": {"carol"}, "email": {"carol@example.com"}, "firstName": {"Carol"}, "lastName": {"Gone"}}})
}

// logsSince returns what SimpleSAMLphp logged after its log was n bytes
// long. (It keeps 4 MiB, far more than these tests make it write.)
func logsSince(idp *ssp.IdP, n int) string {
	logs := idp.Logs()
	if n > len(logs) {
		return logs
	}
	return logs[n:]
}

// interop is one Rollcall (database, SP server, workspace) trusting a
// SimpleSAMLphp IdP through its metadata URL, as an admin sets it up.
type interop struct {
	*fixture
	idp   *ssp.IdP // hides fixture.idp, the in-process IdP, unused here
	rec   *recorder
	clock *clock
	alice *directory.Member
}

func newInterop(t *testing.T, engine string, idp *ssp.IdP) *interop {
	t.Helper()
	db, dir, ws := newWorkspace(t, engine, "Acme on "+engine)
	e := &interop{fixture: &fixture{db: db, dir: dir, ws: ws}, idp: idp, rec: &recorder{}, clock: &clock{}}
	e.a = newRecordingSP(t, db, &saml.Fetcher{AllowPrivate: true}, e.rec)
	e.a.srv.SetClock(e.clock.now)
	e.alice = e.member(t, "alice@example.com", true, directory.RoleMember)
	e.member(t, "carol@example.com", false, directory.RoleMember)
	e.connect(t, e.ws)
	return e
}

// connect configures workspace ws from the IdP's metadata URL and gives the
// IdP the SP metadata that ws serves, as an admin would.
func (e *interop) connect(t *testing.T, ws string) {
	t.Helper()
	if _, err := e.a.srv.Configure(context.Background(), ws, saml.Settings{MetadataURL: e.idp.MetadataURL()}); err != nil {
		t.Fatal(err)
	}
	resp := get(t, browser(t), e.a.srv.EntityID(ws))
	md := body(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("SP metadata: %d %s", resp.StatusCode, md)
	}
	if got := e.idp.SetSPMetadata(t, []byte(md)); got != e.a.srv.EntityID(ws) {
		t.Fatalf("the IdP registered SP %q, want %q", got, e.a.srv.EntityID(ws))
	}
}

func (e *interop) set(t *testing.T, s saml.Settings) {
	t.Helper()
	if _, err := e.a.srv.Configure(context.Background(), e.ws, s); err != nil {
		t.Fatal(err)
	}
}

// tab is one Chromium shared by the subtests of a test; each flow starts
// from a browser with no cookies.
type tab struct{ root context.Context }

// fresh clears every cookie (the SP's and the IdP's session) and returns a
// context for the subtest's browser steps, bounded by flowTimeout.
func (b tab) fresh(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.root, flowTimeout)
	t.Cleanup(cancel)
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatalf("clear cookies: %v", err)
	}
	headless.Navigate(t, ctx, "about:blank")
	return ctx
}

// arrive waits for the end of a sign-in: a fully loaded page of the SP
// once the browser has left the IdP (redirects through the SP commit no
// page, so this is where the flow stopped), and returns its URL and text.
func (e *interop) arrive(t *testing.T, ctx context.Context) (loc, text string) {
	t.Helper()
	for {
		l, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil {
			loc = l
			if strings.HasPrefix(loc, e.a.url+"/") {
				s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
					`document.readyState === "complete" && document.body ? document.body.innerText : ""`))
				if err == nil && s != "" {
					return loc, s
				}
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the browser never settled on a page of the SP: %v; last URL %s", ctx.Err(), loc)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logIn fills SimpleSAMLphp's login form, which the browser is heading to.
func (e *interop) logIn(t *testing.T, ctx context.Context, user, password string) {
	t.Helper()
	headless.WaitURL(t, ctx, e.idp.BaseURL()+"module.php/core/loginuserpass.php")
	headless.SubmitForm(t, ctx, ssp.LoginFormSelector, map[string]string{"username": user, "password": password})
}

// startAtSP begins an SP-initiated sign-in and logs in at the IdP.
func (e *interop) startAtSP(t *testing.T, ctx context.Context, user, password string) {
	t.Helper()
	headless.Navigate(t, ctx, e.a.url+"/saml/"+e.ws+"/login?return_to="+url.QueryEscape("/w/"+e.ws+"/"))
	e.logIn(t, ctx, user, password)
}

// session asks the session API, in the browser, who is signed in.
func (e *interop) session(t *testing.T, ctx context.Context) (int, map[string]any) {
	t.Helper()
	code := headless.Navigate(t, ctx, e.a.url+"/api/v1/session")
	text := headless.Text(t, ctx)
	var who map[string]any
	if err := json.Unmarshal([]byte(text), &who); err != nil {
		t.Fatalf("session API answered %d %q: %v", code, text, err)
	}
	return code, who
}

// wantSignedIn checks that the browser landed on path (relative to the SP)
// signed in as alice with SAML, and that the audit log's newest sign-in
// is her accepted one.
func (e *interop) wantSignedIn(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	loc, text := e.arrive(t, ctx)
	if loc != e.a.url+path || !strings.Contains(text, "You are signed in.") {
		t.Fatalf("landed on %s, which says %q; want %s, signed in", loc, text, e.a.url+path)
	}
	if st := headless.Status(t, ctx); st != http.StatusOK {
		t.Errorf("landing page status %d", st)
	}
	if !strings.Contains(text, "alice@example.com") || !strings.Contains(text, "saml") {
		t.Errorf("home page does not show alice signed in with saml: %q", text)
	}
	code, who := e.session(t, ctx)
	if code != http.StatusOK || who["member_id"] != e.alice.ID || who["user_name"] != "alice@example.com" ||
		who["workspace_id"] != e.ws || who["auth_method"] != "saml" {
		t.Errorf("session API: %d %v, want alice (%s) in %s by saml", code, who, e.alice.ID, e.ws)
	}
	if action, target := e.lastSignIn(t); action != "sso.login_accepted" || target != e.alice.ID {
		t.Errorf("newest sign-in in the audit log: %s of %s, want sso.login_accepted of %s", action, target, e.alice.ID)
	}
}

// lastSignIn returns the newest sso.login_* audit entry's action and
// target.
func (e *interop) lastSignIn(t *testing.T) (action, target string) {
	t.Helper()
	entries, err := e.db.Audit(context.Background(), e.ws, directory.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if strings.HasPrefix(en.Action, "sso.login_") {
			return en.Action, en.TargetID
		}
	}
	return "", ""
}

// wantRefused checks that the sign-in ended on the ACS with the status and
// text given, with reason recorded as the newest refusal after the before
// earlier ones, and with no session in the browser.
func (e *interop) wantRefused(t *testing.T, ctx context.Context, before, status int, text, reason string) {
	t.Helper()
	loc, got := e.arrive(t, ctx)
	if loc != e.a.srv.ACSURL(e.ws) || !strings.Contains(got, text) {
		t.Fatalf("landed on %s, which says %q; want the ACS saying %q", loc, got, text)
	}
	if st := headless.Status(t, ctx); st != status {
		t.Errorf("refusal page status %d, want %d", st, status)
	}
	if c := headless.Cookie(t, ctx, e.a.url+"/", session.CookieName); c != nil {
		t.Errorf("a refused sign-in left a session cookie: %+v", c)
	}
	if code, who := e.session(t, ctx); code != http.StatusUnauthorized {
		t.Errorf("session API after a refusal: %d %v", code, who)
	}
	reasons := e.auditReasons(t)
	if len(reasons) != before+1 || reasons[0] != reason {
		t.Errorf("audit refusals %v (newest first), want %q added to %d earlier", reasons, reason, before)
	}
}

// TestInteropSimpleSAMLphp signs in to Rollcall through SimpleSAMLphp 1.19
// in headless Chromium. One IdP and one browser serve every subtest, which
// therefore run in order; each restores what it changes on the IdP.
func TestInteropSimpleSAMLphp(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the SimpleSAMLphp and Chromium interop test")
	}
	t.Parallel()
	base := ssp.Options{Host: "127.0.0.2", Users: idpUsers()}
	idp := ssp.Start(t, base)
	chromium := tab{root: headless.NewWithTimeout(t, 5*time.Minute)}
	envs := map[string]*interop{}
	for _, engine := range dbtest.Engines() {
		envs[engine] = newInterop(t, engine, idp)
	}
	e := envs["sqlite"]

	// 1 and 7: an SP-initiated sign-in, with the browser binding checked
	// where it matters — the nonce cookie is Lax, absent from the IdP's
	// cross-site POST to the ACS, and present at the completion URL — and
	// the SP's signed AuthnRequest validated by SimpleSAMLphp.
	for _, engine := range dbtest.Engines() {
		t.Run("sp-initiated/"+engine, func(t *testing.T) {
			e := envs[engine]
			ctx := chromium.fresh(t)
			logFrom := len(idp.Logs())
			e.rec.take()
			headless.Navigate(t, ctx, e.a.url+"/saml/"+e.ws+"/login?return_to="+url.QueryEscape("/w/"+e.ws+"/"))
			headless.WaitURL(t, ctx, idp.BaseURL()+"module.php/core/loginuserpass.php")
			nonce := headless.Cookie(t, ctx, e.a.url+"/saml/"+e.ws+"/complete", saml.NonceCookie(e.ws))
			if nonce == nil {
				var names []string
				for _, c := range headless.Cookies(t, ctx, e.a.url+"/saml/"+e.ws+"/complete") {
					names = append(names, c.Name)
				}
				t.Fatalf("no nonce cookie for the SP after /login; the browser holds %v", names)
			}
			if nonce.SameSite != network.CookieSameSiteLax || !nonce.HTTPOnly || nonce.Path != "/saml/"+e.ws+"/" || nonce.Domain != "127.0.0.1" {
				t.Errorf("nonce cookie %+v, want HttpOnly, SameSite=Lax, path /saml/%s/ on 127.0.0.1", nonce, e.ws)
			}
			headless.SubmitForm(t, ctx, ssp.LoginFormSelector, map[string]string{"username": "alice", "password": "alicepass"})
			e.wantSignedIn(t, ctx, "/w/"+e.ws+"/")

			var steps []string
			for _, h := range e.rec.take() {
				steps = append(steps, h.method+" "+strings.TrimPrefix(h.path, "/saml/"+e.ws))
				switch {
				case h.method == http.MethodPost && strings.HasSuffix(h.path, "/acs"):
					if h.nonce || h.fetchSite != "cross-site" {
						t.Errorf("ACS POST: nonce cookie sent %v, Sec-Fetch-Site %q; want a cross-site POST without the Lax cookie", h.nonce, h.fetchSite)
					}
				case strings.HasSuffix(h.path, "/complete"):
					// Still cross-site (the redirect chain began at the
					// IdP), but a top-level GET: Lax lets the cookie through.
					if !h.nonce || h.fetchSite != "cross-site" {
						t.Errorf("completion GET: nonce cookie sent %v, Sec-Fetch-Site %q; want the Lax cookie on a cross-site top-level GET", h.nonce, h.fetchSite)
					}
				}
			}
			if want := []string{"GET /login", "POST /acs", "GET /complete"}; !slices.Equal(steps, want) {
				t.Errorf("SP saw %v, want %v", steps, want)
			}
			// The SP metadata says AuthnRequestsSigned="true", so
			// SimpleSAMLphp checks the signature before it reads the request.
			logs := logsSince(idp, logFrom)
			valid := strings.Index(logs, "Has 1 candidate keys for validation.\n")
			read := strings.Index(logs, "incoming authentication request: '"+e.a.srv.EntityID(e.ws)+"'")
			if valid < 0 || read < valid || !strings.Contains(logs[valid:read], "Validation with key #0 succeeded.") {
				t.Errorf("SimpleSAMLphp did not log validating the AuthnRequest's signature with the SP's key; its log:\n%s", logs)
			}
		})
	}

	// An IdP whose metadata offers only the HTTP-POST binding for SSO: the
	// SP sends its AuthnRequest from an auto-submitting page, which must
	// get past that page's Content-Security-Policy in a real browser.
	t.Run("sp-initiated/post-binding", func(t *testing.T) {
		opts := base
		opts.Hosted = map[string]any{"SingleSignOnServiceBinding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"}
		idp.SetOptions(t, opts)
		e.connect(t, e.ws)
		t.Cleanup(func() {
			idp.SetOptions(t, base)
			e.connect(t, e.ws)
		})
		logFrom := len(idp.Logs())
		ctx := chromium.fresh(t)
		e.startAtSP(t, ctx, "alice", "alicepass")
		e.wantSignedIn(t, ctx, "/w/"+e.ws+"/")
		logs := logsSince(idp, logFrom)
		if !strings.Contains(logs, "]: POST /saml2/idp/SSOService.php") || !strings.Contains(logs, "Validation with key #0 succeeded.") {
			t.Errorf("SimpleSAMLphp did not receive a signed AuthnRequest by POST; its log:\n%s", logs)
		}
	})

	// 2: IdP-initiated sign-ins (dashboard tiles).
	t.Run("idp-initiated", func(t *testing.T) {
		e.set(t, saml.Settings{AllowIdPInitiated: ptr(true)})
		t.Cleanup(func() { e.set(t, saml.Settings{AllowIdPInitiated: ptr(false)}) })
		for _, tc := range []struct{ relay, land string }{
			// A RelayState other than the home page shows it was honoured.
			{"/w/" + e.ws + "/?via=idp", "/w/" + e.ws + "/?via=idp"},
			{"https://evil.example", "/w/" + e.ws + "/"},
		} {
			ctx := chromium.fresh(t)
			headless.Navigate(t, ctx, idp.IdPInitiatedURL(e.a.srv.EntityID(e.ws), tc.relay))
			e.logIn(t, ctx, "alice", "alicepass")
			e.wantSignedIn(t, ctx, tc.land)
		}
	})
	t.Run("idp-initiated/not-allowed", func(t *testing.T) {
		ctx := chromium.fresh(t)
		before := len(e.auditReasons(t))
		headless.Navigate(t, ctx, idp.IdPInitiatedURL(e.a.srv.EntityID(e.ws), "/w/"+e.ws+"/"))
		e.logIn(t, ctx, "alice", "alicepass")
		e.wantRefused(t, ctx, before, http.StatusForbidden, "Authentication failed", "idp_initiated_disabled")
	})

	// 3: an assertion encrypted to the SP metadata's encryption certificate.
	t.Run("encrypted-assertion", func(t *testing.T) {
		opts := base
		opts.EncryptAssertion = true
		idp.SetOptions(t, opts)
		t.Cleanup(func() { idp.SetOptions(t, base) })
		ctx := chromium.fresh(t)
		e.startAtSP(t, ctx, "alice", "alicepass")
		e.wantSignedIn(t, ctx, "/w/"+e.ws+"/")
		info, err := e.a.srv.Show(context.Background(), e.ws)
		if err != nil {
			t.Fatal(err)
		}
		var last struct {
			Encrypted       bool   `json:"encrypted"`
			SignedAssertion bool   `json:"signed_assertion"`
			NameID          string `json:"name_id"`
		}
		if err := json.Unmarshal(info.LastLogin, &last); err != nil || !last.Encrypted || !last.SignedAssertion || last.NameID != "alice@example.com" {
			t.Errorf("last login %s (%v), want an encrypted, signed assertion for alice", info.LastLogin, err)
		}
	})

	// 4: SHA-1 signatures are refused unless the workspace opts in.
	t.Run("sha1", func(t *testing.T) {
		opts := base
		opts.SignatureAlgorithm = "rsa-sha1"
		idp.SetOptions(t, opts)
		t.Cleanup(func() {
			idp.SetOptions(t, base)
			e.set(t, saml.Settings{AllowSHA1: ptr(false)})
		})
		ctx := chromium.fresh(t)
		before := len(e.auditReasons(t))
		e.startAtSP(t, ctx, "alice", "alicepass")
		e.wantRefused(t, ctx, before, http.StatusForbidden, "Authentication failed", "response_sha1")

		e.set(t, saml.Settings{AllowSHA1: ptr(true)})
		ctx = chromium.fresh(t)
		e.startAtSP(t, ctx, "alice", "alicepass")
		e.wantSignedIn(t, ctx, "/w/"+e.ws+"/")
	})

	// 6: members only, and active ones.
	t.Run("inactive-member", func(t *testing.T) {
		ctx := chromium.fresh(t)
		before := len(e.auditReasons(t))
		e.startAtSP(t, ctx, "carol", "carolpass")
		e.wantRefused(t, ctx, before, http.StatusForbidden, "Your access to this workspace is deactivated", "member_inactive")
	})
	t.Run("not-a-member", func(t *testing.T) {
		ctx := chromium.fresh(t)
		before := len(e.auditReasons(t))
		e.startAtSP(t, ctx, "bob", "bobpass")
		e.wantRefused(t, ctx, before, http.StatusForbidden, "You are not a member of this workspace", "not_a_member")
	})

	// 5, last because the IdP keeps its new key: a key rotation reaches the
	// SP through its metadata refresh. A second workspace, configured later
	// and so not yet due for a refresh, shows the new key is trusted only
	// because of it.
	t.Run("key-rotation", func(t *testing.T) {
		ctx := context.Background()
		stale, err := e.dir.CreateWorkspace(ctx, "Stale")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.dir.CreateMember(ctx, stale.ID, &directory.Member{UserName: "alice@example.com", Active: true}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.clock.set(0) })
		if _, err := e.a.srv.SPMetadata(ctx, stale.ID); err != nil { // its SP key, dated now
			t.Fatal(err)
		}
		e.clock.set(2 * time.Hour)
		e.connect(t, stale.ID) // next refresh due 8 h from now
		e.clock.set(0)

		idp.BeginKeyRotation(t)
		e.clock.set(7 * time.Hour) // past e.ws's 6-hour refresh, before stale's
		if err := e.a.srv.RefreshDue(ctx); err != nil {
			t.Fatal(err)
		}
		e.clock.set(0)
		for ws, n := range map[string]int{e.ws: 2, stale.ID: 1} {
			info, err := e.a.srv.Show(ctx, ws)
			if err != nil || len(info.IdPCertificates) != n || info.IdPMetadataError != "" {
				t.Fatalf("after the refresh, %s trusts %d certificates (error %q, %v), want %d", ws, len(info.IdPCertificates), info.IdPMetadataError, err, n)
			}
		}
		idp.CompleteKeyRotation(t, false)

		c := chromium.fresh(t)
		e.startAtSP(t, c, "alice", "alicepass")
		e.wantSignedIn(t, c, "/w/"+e.ws+"/")

		// The workspace that missed the refresh does not know the new key.
		staleEnv := &interop{fixture: &fixture{db: e.db, dir: e.dir, ws: stale.ID, a: e.a}, idp: idp, rec: e.rec, clock: e.clock}
		c = chromium.fresh(t)
		before := len(staleEnv.auditReasons(t))
		staleEnv.startAtSP(t, c, "alice", "alicepass")
		staleEnv.wantRefused(t, c, before, http.StatusForbidden, "Authentication failed", "response_untrusted_certificate")
	})
}
