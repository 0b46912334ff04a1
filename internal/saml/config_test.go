package saml_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"rollcall/internal/directory"
	"rollcall/internal/saml"
	"rollcall/internal/saml/metadata"
	"rollcall/internal/testenv/dbtest"
	"rollcall/internal/testenv/samltest"
)

func TestConfigureErrors(t *testing.T) {
	f := setup(t, "sqlite")
	ctx := context.Background()
	tests := []struct {
		name string
		in   saml.Settings
		want string
	}{
		{"two ways", saml.Settings{MetadataXML: f.idp.Metadata(), SSOURL: "https://x"}, "give the IdP one way"},
		{"not metadata", saml.Settings{MetadataXML: []byte("<html>login</html>")}, "not usable"},
		{"bad cert", saml.Settings{SSOURL: "https://idp.test/sso", EntityID: "e", Certificates: []string{"hello"}}, "IdP certificate 1 is not a PEM or base64"},
		{"no entity", saml.Settings{SSOURL: "https://idp.test/sso", Certificates: []string{f.idp.CertPEM()}}, "entity ID is required"},
		{"relative sso", saml.Settings{SSOURL: "/sso", EntityID: "e", Certificates: []string{f.idp.CertPEM()}}, "must be an absolute https:// URL"},
		{"plain http URL", saml.Settings{MetadataURL: "http://idp.example.com/metadata"}, "must use https"},
		{"loopback URL", saml.Settings{MetadataURL: "https://127.0.0.1:1/metadata"}, "loopback, private or link-local"},
		{"link-local URL", saml.Settings{MetadataURL: "https://169.254.169.254/latest/meta-data"}, "loopback, private or link-local"},
		{"private URL", saml.Settings{MetadataURL: "https://10.1.2.3/metadata"}, "loopback, private or link-local"},
		{"name resolving to loopback", saml.Settings{MetadataURL: "https://localhost:1/metadata"}, "loopback, private or link-local"},
		{"bad preset", saml.Settings{Preset: ptr("ping")}, "unknown attribute preset"},
		{"bad skew", saml.Settings{ClockSkew: ptr(-time.Second)}, "clock skew"},
	}
	for _, tc := range tests {
		_, err := f.a.srv.Configure(ctx, f.ws, tc.in)
		if directory.ErrorCode(err) != directory.EINVALID || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an EINVALID error containing %q", tc.name, err, tc.want)
		}
	}
	// A failed configuration changes nothing.
	info, err := f.a.srv.Show(ctx, f.ws)
	if err != nil || info.IdPEntityID != f.idp.EntityID || len(info.IdPCertificates) != 1 {
		t.Fatalf("after failed changes: %+v %v", info, err)
	}
	// Manual setup with a bare base64 certificate.
	cert := strings.Join(strings.Split(f.idp.CertPEM(), "\n")[1:len(strings.Split(f.idp.CertPEM(), "\n"))-2], "")
	if _, err := f.a.srv.Configure(ctx, f.ws, saml.Settings{SSOURL: "https://idp.test/sso", EntityID: f.idp.EntityID, Certificates: []string{cert}}); err != nil {
		t.Fatalf("manual setup with bare base64: %v", err)
	}
}

// TestMetadataRefreshRotation serves IdP metadata from a URL, rotates the
// IdP's key there, and checks a refresh picks the new certificate up with
// no human involved, on every engine.
func TestMetadataRefreshRotation(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			db, dir, ws := newWorkspace(t, engine, "Rotating")
			ctx := context.Background()
			old := samltest.New(t, "https://idp.example.com/rot", time.Time{})
			next := samltest.New(t, old.EntityID, time.Time{})
			var mu sync.Mutex
			served := old.Metadata()
			mdSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				_, _ = w.Write(served)
			}))
			defer mdSrv.Close()
			a := newSP(t, db, &saml.Fetcher{AllowPrivate: true})
			now := time.Now()
			a.srv.SetClock(func() time.Time { return now })
			if _, err := a.srv.Configure(ctx, ws, saml.Settings{MetadataURL: mdSrv.URL}); err != nil {
				t.Fatal(err)
			}
			_, err := dir.CreateMember(ctx, ws, &directory.Member{UserName: "r@acme.test", Active: true})
			if err != nil {
				t.Fatal(err)
			}
			f := &fixture{db: db, dir: dir, ws: ws, idp: next, a: a}
			signIn := func() int {
				c := browser(t)
				resp := get(t, c, a.url+"/saml/"+ws+"/login")
				id := samltest.RequestID(t, resp.Header.Get("Location"))
				as := f.assertion(a, "r@acme.test", id)
				as.Now = now
				r := next.Response(t, as)
				return f.post(t, c, a, r, "").StatusCode
			}
			if code := signIn(); code != http.StatusForbidden {
				t.Fatalf("new key before the IdP published it: %d", code)
			}
			// The IdP publishes both certificates, then switches keys.
			mu.Lock()
			served = old.Metadata(next)
			mu.Unlock()
			// Not yet due: nothing happens.
			if err := a.srv.RefreshDue(ctx); err != nil {
				t.Fatal(err)
			}
			if code := signIn(); code != http.StatusForbidden {
				t.Fatalf("refreshed before due: %d", code)
			}
			now = now.Add(7 * time.Hour)
			if err := a.srv.RefreshDue(ctx); err != nil {
				t.Fatal(err)
			}
			if code := signIn(); code != http.StatusSeeOther {
				t.Fatalf("after refresh: %d", code)
			}
			entries, err := db.Audit(ctx, ws, directory.AuditQuery{Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range entries {
				found = found || e.Action == "sso.idp_certificates_changed"
			}
			if !found {
				t.Fatal("certificate change not in the audit log")
			}
			// A broken IdP endpoint keeps the certificates and records why.
			mu.Lock()
			served = []byte("<oops/>")
			mu.Unlock()
			now = now.Add(7 * time.Hour)
			if err := a.srv.RefreshDue(ctx); err != nil {
				t.Fatal(err)
			}
			info, err := a.srv.Show(ctx, ws)
			if err != nil {
				t.Fatal(err)
			}
			if info.IdPMetadataError == "" || len(info.IdPCertificates) != 2 {
				t.Fatalf("after a failed refresh: error %q, %d certificates", info.IdPMetadataError, len(info.IdPCertificates))
			}
			if code := signIn(); code != http.StatusSeeOther {
				t.Fatalf("sign-in after a failed refresh: %d", code)
			}
		})
	}
}

func TestCertificateWarnings(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			db, _, ws := newWorkspace(t, engine, "Expiring")
			ctx := context.Background()
			idp := samltest.New(t, "https://idp.example.com/exp", time.Now().Add(45*24*time.Hour))
			// Several replicas run the check at the same moment; each warning is
			// still given once.
			var replicas []*sp
			now := time.Now()
			for range 4 {
				r := newSP(t, db, nil)
				r.srv.SetClock(func() time.Time { return now })
				replicas = append(replicas, r)
			}
			a := replicas[0]
			if _, err := a.srv.Configure(ctx, ws, saml.Settings{MetadataXML: idp.Metadata()}); err != nil {
				t.Fatal(err)
			}
			warnings := func() []string {
				entries, err := db.Audit(ctx, ws, directory.AuditQuery{Limit: 50})
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, e := range entries {
					if strings.HasPrefix(e.Action, "sso.certificate_") {
						var d struct {
							Threshold int `json:"threshold_days"`
						}
						if err := json.Unmarshal(e.Detail, &d); err != nil {
							t.Fatalf("%s detail %s: %v", e.Action, e.Detail, err)
						}
						out = append(out, e.Action+"@"+strconv.Itoa(d.Threshold))
					}
				}
				return out
			}
			for step, want := range []struct {
				advance time.Duration
				n       int
				last    string
			}{
				{0, 1, "sso.certificate_expiring@60"},
				{time.Hour, 1, "sso.certificate_expiring@60"}, // said once
				{20 * 24 * time.Hour, 2, "sso.certificate_expiring@30"},
				{20 * 24 * time.Hour, 3, "sso.certificate_expiring@7"},
				{10 * 24 * time.Hour, 4, "sso.certificate_expired@0"},
				{24 * time.Hour, 4, "sso.certificate_expired@0"},
			} {
				now = now.Add(want.advance)
				var wg sync.WaitGroup
				for _, r := range replicas {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := r.srv.CheckCertificates(ctx); err != nil {
							t.Error(err)
						}
					}()
				}
				wg.Wait()
				got := warnings()
				if len(got) != want.n || got[0] != want.last {
					t.Fatalf("step %d: warnings %v, want %d ending %s", step, got, want.n, want.last)
				}
			}
		})
	}
}

func TestSPKeyRollover(t *testing.T) {
	f := setup(t, "sqlite")
	ctx := context.Background()
	md, err := f.a.srv.SPMetadata(ctx, f.ws)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(md), "<ds:X509Certificate>"); n != 2 { // signing + encryption of the current key
		t.Fatalf("metadata has %d certificates before rollover", n)
	}
	if err := f.a.srv.BeginKeyRollover(ctx, f.ws); err != nil {
		t.Fatal(err)
	}
	if err := f.a.srv.BeginKeyRollover(ctx, f.ws); directory.ErrorCode(err) != directory.ECONFLICT {
		t.Fatalf("second begin: %v", err)
	}
	if md, err = f.a.srv.SPMetadata(ctx, f.ws); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(md), "<ds:X509Certificate>"); n != 4 {
		t.Fatalf("metadata has %d certificates during rollover, want current and next", n)
	}
	if err := f.a.srv.CompleteKeyRollover(ctx, f.ws); err != nil {
		t.Fatal(err)
	}
	if err := f.a.srv.CompleteKeyRollover(ctx, f.ws); directory.ErrorCode(err) != directory.ECONFLICT {
		t.Fatalf("second complete: %v", err)
	}
	info, err := f.a.srv.Show(ctx, f.ws)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.SPCertificates) != 1 {
		t.Fatalf("after rollover: %d SP certificates shown", len(info.SPCertificates))
	}
	// The served metadata is what a strict parser accepts as SP metadata.
	resp := get(t, browser(t), f.a.url+"/saml/"+f.ws+"/metadata")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/samlmetadata+xml" {
		t.Fatalf("metadata: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if _, err := metadata.ParseIdP([]byte(body(t, resp))); err == nil || !strings.Contains(err.Error(), "IDPSSODescriptor") {
		t.Fatalf("SP metadata parsed as IdP metadata: %v", err)
	}
}
