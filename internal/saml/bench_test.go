package saml_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"rollcall/internal/directory"
	"rollcall/internal/saml"
	"rollcall/internal/testenv/dbtest"
	"rollcall/internal/testenv/samltest"
)

// BenchmarkSignIn measures a completed sign-in over HTTP on loopback: the
// ACS POST (validation, the one-transaction bookkeeping) and the /complete
// GET that creates the session. Responses are minted before timing.
func BenchmarkSignIn(b *testing.B) {
	for _, engine := range dbtest.Engines() {
		b.Run(engine, func(b *testing.B) {
			db := dbtest.Open(b, engine)
			dir := directory.NewService(db)
			ctx := context.Background()
			w, _ := dir.CreateWorkspace(ctx, "Bench")
			if _, err := dir.CreateMember(ctx, w.ID, &directory.Member{UserName: "alice@acme.test", Active: true}); err != nil {
				b.Fatal(err)
			}
			sp := newSP(b, db, nil)
			idp := samltest.New(b, "https://idp.example.com/bench", time.Time{})
			if _, err := sp.srv.Configure(ctx, w.ID, saml.Settings{MetadataXML: idp.Metadata(), AllowIdPInitiated: ptr(true)}); err != nil {
				b.Fatal(err)
			}
			n := b.N
			if n > 20000 {
				n = 20000
			}
			responses := make([]string, 0, n)
			for range n {
				responses = append(responses, idp.Response(b, samltest.Assertion{ACSURL: sp.url + "/saml/" + w.ID + "/acs",
					Audience: sp.url + "/saml/" + w.ID + "/metadata", NameID: "alice@acme.test"}))
			}
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				resp, err := client.PostForm(sp.url+"/saml/"+w.ID+"/acs", url.Values{"SAMLResponse": {responses[i%len(responses)]}})
				if err != nil || resp.StatusCode != http.StatusSeeOther {
					b.Fatalf("acs: %v %v", err, resp.Status)
				}
				io.Copy(io.Discard, resp.Body) // drained, so the connection is reused as a browser's would be
				resp.Body.Close()
				done, err := client.Get(resp.Header.Get("Location"))
				if err != nil || done.StatusCode != http.StatusSeeOther || !strings.Contains(done.Header.Get("Set-Cookie"), "rollcall_session") {
					b.Fatalf("complete: %v %v", err, done.Status)
				}
				io.Copy(io.Discard, done.Body)
				done.Body.Close()
			}
		})
	}
}

// BenchmarkRSAVerify is the raw cost a sign-in cannot go below: one RSA-2048
// signature verification.
func BenchmarkRSAVerify(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("signed info"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}
