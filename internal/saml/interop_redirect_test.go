package saml_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"

	"rollcall/internal/saml"
	headless "rollcall/internal/testenv/browser"
	"rollcall/internal/testenv/ssp"
)

// TestPostBindingCrossOriginRedirect signs in through an IdP that offers
// only the HTTP-POST binding and whose POST endpoint redirects to another
// origin: the auto-submitting page's Content-Security-Policy must not block
// the redirect (browsers apply form-action to it).
func TestPostBindingCrossOriginRedirect(t *testing.T) {
	if testing.Short() {
		t.Skip("starts SimpleSAMLphp and Chromium")
	}
	base := ssp.Options{Host: "127.0.0.2", Users: idpUsers()}
	opts := base
	opts.Hosted = map[string]any{"SingleSignOnServiceBinding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"}
	idp := ssp.Start(t, opts)
	chromium := tab{root: headless.NewWithTimeout(t, 20*time.Second)}
	e := newInterop(t, "sqlite", idp)
	ln, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	front := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, idp.SSOURL(), http.StatusTemporaryRedirect)
	})}
	go func() { _ = front.Serve(ln) }() // ends with Close
	t.Cleanup(func() { front.Close() })
	md := idp.Metadata(t)
	md = bytes.ReplaceAll(md, []byte(`Location="`+idp.SSOURL()+`"`), []byte(`Location="http://`+ln.Addr().String()+`/sso"`))
	if _, err := e.a.srv.Configure(context.Background(), e.ws, saml.Settings{MetadataXML: md}); err != nil {
		t.Fatal(err)
	}
	ctx := chromium.fresh(t)
	_ = chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*cdplog.EventEntryAdded); ok {
			t.Logf("CONSOLE %s: %s", e.Entry.Level, e.Entry.Text)
		}
	})
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	e.startAtSP(t, ctx, "alice", "alicepass")
	e.wantSignedIn(t, ctx, "/w/"+e.ws+"/")
}
