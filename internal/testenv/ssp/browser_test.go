package ssp_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"rollcall/internal/testenv/browser"
	"rollcall/internal/testenv/ssp"
)

// TestBrowserLogin logs in through SimpleSAMLphp in headless Chromium, with
// the IdP on 127.0.0.2 so that it is cross-site to the SP on 127.0.0.1, as
// in production. The SP sets a SameSite=Lax nonce cookie when the login
// starts; the IdP's auto-POST to the ACS must arrive without it, and the
// ACS's 303 to a completion URL must bring it back. This is the browser
// binding Rollcall's SP relies on.
func TestBrowserLogin(t *testing.T) {
	t.Parallel()
	idp := ssp.Start(t, ssp.Options{Host: "127.0.0.2"})

	var (
		mu                 sync.Mutex
		nonceAtACS         = "unset"
		nonceAtComplete    = "unset"
		samlResponseAtACS  string
		relayStateAtACS    string
		completionRequests int
	)
	sp := newTestSPWith(t, func(sp *testSP, mux *http.ServeMux) {
		mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "rollcall_sso_nonce", Value: "n-123", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
			http.Redirect(w, r, authnRequestURL(t, idp, sp, "_browser-req", "relay-1"), http.StatusFound)
		})
		mux.HandleFunc("POST /acs", func(w http.ResponseWriter, r *http.Request) {
			if err := r.ParseForm(); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			mu.Lock()
			nonceAtACS = cookieValue(r, "rollcall_sso_nonce")
			samlResponseAtACS = r.PostForm.Get("SAMLResponse")
			relayStateAtACS = r.PostForm.Get("RelayState")
			mu.Unlock()
			http.Redirect(w, r, "/complete?code=c-1", http.StatusSeeOther)
		})
		mux.HandleFunc("GET /complete", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			nonceAtComplete = cookieValue(r, "rollcall_sso_nonce")
			completionRequests++
			mu.Unlock()
			fmt.Fprint(w, "<h1>Welcome</h1>")
		})
	})
	idp.SetSPMetadata(t, sp.metadata())

	ctx := browser.New(t)
	browser.Navigate(t, ctx, sp.srv.URL+"/login")
	browser.WaitURL(t, ctx, idp.BaseURL()+"module.php/core/loginuserpass.php")
	browser.SubmitForm(t, ctx, ssp.LoginFormSelector, map[string]string{"username": "alice", "password": "alicepass"})
	browser.WaitURL(t, ctx, sp.srv.URL+"/complete")
	if text := browser.Text(t, ctx); text != "Welcome" {
		t.Errorf("completion page says %q", text)
	}

	mu.Lock()
	defer mu.Unlock()
	if nonceAtACS != "" {
		t.Errorf("the cross-site POST to the ACS carried the Lax nonce cookie (%q); it must not", nonceAtACS)
	}
	if nonceAtComplete != "n-123" || completionRequests != 1 {
		t.Errorf("completion GET after the 303 carried nonce %q (%d requests), want n-123 once", nonceAtComplete, completionRequests)
	}
	if relayStateAtACS != "relay-1" || samlResponseAtACS == "" {
		t.Errorf("ACS got RelayState %q and a SAMLResponse of %d bytes", relayStateAtACS, len(samlResponseAtACS))
	}
	post := &ssp.Post{Fields: map[string][]string{"SAMLResponse": {samlResponseAtACS}}}
	r, _ := parseResponse(t, post)
	if r.InResponseTo != "_browser-req" || len(r.Assertions) != 1 || r.Assertions[0].NameID.Value != "alice@example.com" {
		t.Errorf("Response InResponseTo %q, %d assertions", r.InResponseTo, len(r.Assertions))
	}
}

// cookieValue returns the named cookie's value, or "" when the request has
// none.
func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}
