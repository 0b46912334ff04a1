package browser_test

import (
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"rollcall/internal/testenv/browser"
)

func TestSubmitFormAndCookies(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		seen []string
	)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "rt", Value: "abc", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		fmt.Fprint(w, `<!doctype html><title>form</title>
<form id="f" method="post" action="/submit"><input name="q"><input type="hidden" name="h" value="hidden-value"><button>Go</button></form>`)
	})
	mux.HandleFunc("POST /submit", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c, err := r.Cookie("rt")
		got := "no cookie"
		if err == nil {
			got = c.Value
		}
		mu.Lock()
		seen = append(seen, fmt.Sprintf("q=%s h=%s rt=%s", r.PostForm.Get("q"), r.PostForm.Get("h"), got))
		mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "after", Value: "1", Path: "/", SameSite: http.SameSiteLaxMode})
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, "<p>thanks, %s</p>", html.EscapeString(r.PostForm.Get("q")))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	ctx := browser.New(t)
	if status := browser.Navigate(t, ctx, srv.URL+"/"); status != http.StatusOK {
		t.Errorf("GET / status %d", status)
	}
	browser.SubmitForm(t, ctx, "#f", map[string]string{"q": `Ada & "Grace"`})
	if got := browser.WaitURL(t, ctx, srv.URL+"/submit"); got != srv.URL+"/submit" {
		t.Errorf("landed on %s", got)
	}
	if text := browser.Text(t, ctx); text != `thanks, Ada & "Grace"` {
		t.Errorf("page text %q", text)
	}
	if s := browser.Status(t, ctx); s != http.StatusAccepted {
		t.Errorf("Status = %d, want 202", s)
	}
	mu.Lock()
	got := slices.Clone(seen)
	mu.Unlock()
	if want := []string{`q=Ada & "Grace" h=hidden-value rt=abc`}; !slices.Equal(got, want) {
		t.Errorf("server saw %q, want %q", got, want)
	}
	var names []string
	for _, c := range browser.Cookies(t, ctx, srv.URL+"/") {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"after", "rt"}) {
		t.Errorf("cookies for %s: %q, want after and rt", srv.URL, names)
	}
	if c := browser.Cookie(t, ctx, srv.URL+"/", "rt"); c == nil || !c.HTTPOnly || c.Value != "abc" {
		t.Errorf("rt cookie = %+v", c)
	}
}

// cookieLog records which cookies each SP endpoint received.
type cookieLog struct {
	mu  sync.Mutex
	got map[string][]string
}

func (l *cookieLog) record(step string, r *http.Request) {
	var names []string
	for _, c := range r.Cookies() {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got[step] = names
}

func (l *cookieLog) take() map[string][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	got := l.got
	l.got = map[string][]string{}
	return got
}

// TestSameSite measures what the package doc says about SameSite cookies on
// loopback: an "IdP" page auto-POSTs a form to the "SP" ACS, which answers
// 303 to a completion URL, and the SP records the cookies of each request.
// The IdP is once on another port of 127.0.0.1 (same site) and once on
// 127.0.0.2 (cross-site).
func TestSameSite(t *testing.T) {
	t.Parallel()
	log := &cookieLog{got: map[string][]string{}}
	sp := http.NewServeMux()
	sp.HandleFunc("GET /start", func(w http.ResponseWriter, r *http.Request) {
		for _, c := range []*http.Cookie{
			{Name: "lax", Value: "1", Path: "/", SameSite: http.SameSiteLaxMode},
			{Name: "strict", Value: "1", Path: "/", SameSite: http.SameSiteStrictMode},
			{Name: "none_secure", Value: "1", Path: "/", SameSite: http.SameSiteNoneMode, Secure: true},
			{Name: "unset", Value: "1", Path: "/"},
		} {
			http.SetCookie(w, c)
		}
		fmt.Fprint(w, "started")
	})
	sp.HandleFunc("POST /acs", func(w http.ResponseWriter, r *http.Request) {
		log.record("acs", r)
		http.Redirect(w, r, "/complete", http.StatusSeeOther)
	})
	sp.HandleFunc("GET /complete", func(w http.ResponseWriter, r *http.Request) {
		log.record("complete", r)
		fmt.Fprint(w, "complete")
	})
	spSrv := httptest.NewServer(sp)
	t.Cleanup(spSrv.Close)

	idp := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><body onload="document.forms[0].submit()">
<form method="post" action="%s"><input type="hidden" name="SAMLResponse" value="x"></form></body>`,
			html.EscapeString(r.URL.Query().Get("to")))
	})
	sameSite := httptest.NewServer(idp)
	t.Cleanup(sameSite.Close)
	crossSite := httptest.NewUnstartedServer(idp)
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.2: %v", err)
	}
	crossSite.Listener = ln
	crossSite.Start()
	t.Cleanup(crossSite.Close)

	ctx := browser.New(t)
	cases := []struct {
		name, idpURL string
		// What the ACS POST and the 303'd completion GET must carry.
		acs, complete []string
	}{
		{"same-site (other port)", sameSite.URL,
			[]string{"lax", "none_secure", "strict", "unset"},
			[]string{"lax", "none_secure", "strict", "unset"}},
		// "unset" reaches the ACS only because the cookie is less than
		// 2 minutes old (Lax-allowing-unsafe).
		{"cross-site (127.0.0.2)", crossSite.URL,
			[]string{"none_secure", "unset"},
			[]string{"lax", "none_secure", "unset"}},
	}
	for _, c := range cases {
		browser.Navigate(t, ctx, spSrv.URL+"/start")
		log.take()
		browser.Navigate(t, ctx, c.idpURL+"/post?to="+url.QueryEscape(spSrv.URL+"/acs"))
		browser.WaitURL(t, ctx, spSrv.URL+"/complete")
		got := log.take()
		t.Logf("%s: ACS POST carried %q; completion GET after 303 carried %q", c.name, got["acs"], got["complete"])
		if !slices.Equal(got["acs"], c.acs) || !slices.Equal(got["complete"], c.complete) {
			t.Errorf("%s: ACS got %q, want %q; completion got %q, want %q", c.name, got["acs"], c.acs, got["complete"], c.complete)
		}
	}
	if text := browser.Text(t, ctx); !strings.Contains(text, "complete") {
		t.Errorf("final page %q", text)
	}
}
