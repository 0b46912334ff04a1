package saml_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"rollcall/internal/directory"
	"rollcall/internal/saml"
	"rollcall/internal/session"
	"rollcall/internal/testenv/dbtest"
	"rollcall/internal/testenv/samlify"
	"rollcall/internal/testenv/samltest"
)

// TestInteropSamlify has samlify (Node.js, xml-crypto), a signer
// independent of the goxmldsig code the SP verifies with, answer
// SP-initiated sign-ins. The HTTP client stands in for the browser: it
// starts at /login, POSTs the Response to the ACS and follows the 303 to
// /complete with the same cookies.
func TestInteropSamlify(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the samlify interop test, which runs Node.js")
	}
	t.Parallel()
	db := dbtest.Open(t, "sqlite")
	f := &fixture{db: db, dir: directory.NewService(db)}
	w, err := f.dir.CreateWorkspace(context.Background(), "Acme")
	if err != nil {
		t.Fatal(err)
	}
	f.ws = w.ID
	f.a = newSP(t, db, nil)
	alice := f.member(t, "alice@example.com", true, directory.RoleMember)

	// samltest only makes the key pairs here; samlify signs.
	const entityID = "https://samlify-idp.test/metadata"
	trusted := samltest.New(t, entityID, time.Time{})
	stranger := samltest.New(t, entityID, time.Time{})
	if _, err := f.a.srv.Configure(context.Background(), f.ws, saml.Settings{
		SSOURL: "https://samlify-idp.test/sso", EntityID: entityID, Certificates: []string{trusted.CertPEM()},
	}); err != nil {
		t.Fatal(err)
	}
	acs, audience := f.a.srv.ACSURL(f.ws), f.a.srv.EntityID(f.ws)
	home := "/w/" + f.ws + "/"

	// signIn starts a sign-in, has samlify answer it as change says, and
	// POSTs the answer to the ACS.
	signIn := func(t *testing.T, c *http.Client, key *samltest.IdP, change func(*samlify.MintOptions)) *http.Response {
		t.Helper()
		resp := get(t, c, f.a.url+"/saml/"+f.ws+"/login?return_to="+url.QueryEscape(home))
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "https://samlify-idp.test/sso?") {
			t.Fatalf("login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		opts := samlify.MintOptions{
			IdPEntityID: entityID, IdPKeyPEM: keyPEM(key), IdPCertPEM: key.CertPEM(),
			SPEntityID: audience, ACSURL: acs, InResponseTo: samltest.RequestID(t, resp.Header.Get("Location")),
			NameID: "alice@example.com", Attributes: []samlify.Attribute{{Name: "email", Values: []string{"alice@example.com"}}},
		}
		if change != nil {
			change(&opts)
		}
		return f.post(t, c, f.a, samlify.Mint(t, opts).SAMLResponse, "")
	}

	t.Run("accepted", func(t *testing.T) {
		c := browser(t)
		resp := signIn(t, c, trusted, nil)
		next := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(next, f.a.url+"/saml/"+f.ws+"/complete?code=") {
			t.Fatalf("acs: %d %q %s", resp.StatusCode, next, body(t, resp))
		}
		done := get(t, c, next)
		if done.StatusCode != http.StatusSeeOther || done.Header.Get("Location") != home {
			t.Fatalf("complete: %d %q %s", done.StatusCode, done.Header.Get("Location"), body(t, done))
		}
		code, who := whoami(t, c, f.a)
		if code != http.StatusOK || who["member_id"] != alice.ID || who["user_name"] != "alice@example.com" ||
			who["workspace_id"] != f.ws || who["auth_method"] != "saml" {
			t.Fatalf("session: %d %v", code, who)
		}
	})

	for _, tc := range []struct {
		name   string
		key    *samltest.IdP
		change func(*samlify.MintOptions)
		reason string
	}{
		{"wrong audience", trusted, func(o *samlify.MintOptions) { o.Audience = "https://other-sp.example/metadata" }, "response_audience"},
		{"expired", trusted, func(o *samlify.MintOptions) {
			// Issued 4 minutes ago, so the IssueInstant still passes; ended
			// 4 minutes ago, beyond the 3-minute clock skew allowed.
			o.Now = time.Now().Add(-4 * time.Minute)
			o.NotBefore = o.Now.Add(-time.Minute)
			o.NotOnOrAfter = o.Now
		}, "response_expired"},
		{"wrong recipient", trusted, func(o *samlify.MintOptions) { o.Recipient = f.a.url + "/saml/other/acs" }, "response_recipient"},
		{"wrong destination", trusted, func(o *samlify.MintOptions) {
			o.Destination = f.a.url + "/saml/other/acs"
			o.SignResponse = samlify.Bool(true) // a Response meant for another ACS, signed as a whole
		}, "response_destination"},
		{"untrusted key", stranger, nil, "response_untrusted_certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := browser(t)
			before := len(f.auditReasons(t))
			resp := signIn(t, c, tc.key, tc.change)
			b := body(t, resp)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(b, "Authentication failed") {
				t.Errorf("acs: %d %q, want 403 Authentication failed", resp.StatusCode, b)
			}
			for _, ck := range resp.Cookies() {
				if ck.Name == session.CookieName {
					t.Errorf("a refused sign-in set a session cookie")
				}
			}
			if code, who := whoami(t, c, f.a); code != http.StatusUnauthorized {
				t.Errorf("session after a refusal: %d %v", code, who)
			}
			reasons := f.auditReasons(t)
			if len(reasons) != before+1 || reasons[0] != tc.reason {
				t.Errorf("audit refusals %v (newest first), want %q added to %d earlier", reasons, tc.reason, before)
			}
		})
	}
}

// keyPEM returns an IdP's private key in PKCS #1 PEM, as samlify reads it.
func keyPEM(i *samltest.IdP) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(i.Key)}))
}
