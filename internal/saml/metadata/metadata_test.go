package metadata

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var certsOnce = sync.OnceValues(func() ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for i := range 3 {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 1)),
			Subject:      pkix.Name{CommonName: "test " + string(rune('a'+i))},
			NotBefore:    time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
			NotAfter:     time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return nil, err
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
})

func testCerts(tb testing.TB) []*x509.Certificate {
	tb.Helper()
	c, err := certsOnce()
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func b64(c *x509.Certificate) string { return base64.StdEncoding.EncodeToString(c.Raw) }

// wrapped is base64 with line breaks and indentation, as IdPs publish it.
func wrapped(c *x509.Certificate) string {
	s := b64(c)
	var b strings.Builder
	for len(s) > 64 {
		b.WriteString("\n        " + s[:64])
		s = s[64:]
	}
	b.WriteString("\n        " + s + "\n")
	return b.String()
}

func keyDesc(use, cert string) string {
	u := ""
	if use != "" {
		u = ` use="` + use + `"`
	}
	return `<md:KeyDescriptor` + u + `><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>` + cert +
		`</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`
}

func idpEntity(entityID, inner string) string {
	return `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + entityID + `">` + inner + `</md:EntityDescriptor>`
}

func idpSSO(inner string) string {
	return `<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` + inner + `</md:IDPSSODescriptor>`
}

const (
	ssoBoth = `<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>` +
		`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example/sso/post"/>` +
		`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example/sso/redirect"/>`
	spDescriptor = `<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
		`<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example/acs" index="0"/></md:SPSSODescriptor>`
)

func TestParseIdP(t *testing.T) {
	certs := testCerts(t)
	okta := idpEntity("http://www.okta.com/exk1", idpSSO(keyDesc("signing", wrapped(certs[0]))+ssoBoth))
	tests := []struct {
		name    string
		xml     string
		hint    string
		want    *IdP
		wantErr string
	}{
		{name: "Okta-like", xml: okta, want: &IdP{
			EntityID: "http://www.okta.com/exk1", SSORedirectURL: "https://idp.example/sso/redirect", SSOPostURL: "https://idp.example/sso/post",
			SigningCertificates: certs[:1], NameIDFormats: []string{"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"},
		}},
		{name: "Entra-like: metadata Signature, WS-Fed RoleDescriptor, two signing certs, validUntil, encryption key ignored",
			xml: `<?xml version="1.0" encoding="utf-8"?><EntityDescriptor ID="_x" entityID="https://sts.windows.net/tenant/" validUntil="2027-01-01T00:00:00Z" xmlns="urn:oasis:names:tc:SAML:2.0:metadata">` +
				`<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo/></Signature>` +
				`<RoleDescriptor xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="fed:SecurityTokenServiceType" protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706"/>` +
				`<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" validUntil="2026-12-01T00:00:00Z">` +
				`<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>` + b64(certs[0]) + `</X509Certificate></X509Data></KeyInfo></KeyDescriptor>` +
				`<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>` + b64(certs[1]) + `</X509Certificate></X509Data></KeyInfo></KeyDescriptor>` +
				`<KeyDescriptor use="encryption"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>` + b64(certs[2]) + `</X509Certificate></X509Data></KeyInfo></KeyDescriptor>` +
				`<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://login.microsoftonline.com/tenant/saml2"/>` +
				`<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://login.microsoftonline.com/tenant/saml2"/>` +
				`<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://login.microsoftonline.com/tenant/saml2"/>` +
				`</IDPSSODescriptor></EntityDescriptor>`,
			want: &IdP{
				EntityID: "https://sts.windows.net/tenant/", SSORedirectURL: "https://login.microsoftonline.com/tenant/saml2", SSOPostURL: "https://login.microsoftonline.com/tenant/saml2",
				SLORedirectURL: "https://login.microsoftonline.com/tenant/saml2", SigningCertificates: certs[:2],
				ValidUntil: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
			}},
		{name: "KeyDescriptor without use, duplicate certificate, POST only, WantAuthnRequestsSigned",
			xml: idpEntity("https://idp.example", strings.Replace(idpSSO(keyDesc("", b64(certs[1]))+keyDesc("signing", b64(certs[1]))+
				`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example/sso"/>`), `"false"`, `"true"`, 1)),
			want: &IdP{EntityID: "https://idp.example", SSOPostURL: "https://idp.example/sso", SigningCertificates: certs[1:2], WantAuthnRequestsSigned: true}},
		{name: "EntitiesDescriptor with one IdP and one SP, validUntil inherited",
			xml: `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" validUntil="2026-06-01T00:00:00Z">` +
				idpEntity("https://sp.example", spDescriptor) + okta + `</md:EntitiesDescriptor>`,
			want: &IdP{
				EntityID: "http://www.okta.com/exk1", SSORedirectURL: "https://idp.example/sso/redirect", SSOPostURL: "https://idp.example/sso/post",
				SigningCertificates: certs[:1], NameIDFormats: []string{"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"},
				ValidUntil: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
			}},
		{name: "two IdPs need a hint",
			xml: `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` + okta +
				idpEntity("https://idp2.example", idpSSO(keyDesc("signing", b64(certs[1]))+ssoBoth)) + `</md:EntitiesDescriptor>`,
			wantErr: `2 identity providers ("http://www.okta.com/exk1", "https://idp2.example"); choose one by its entity ID`},
		{name: "two IdPs with a hint",
			xml: `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` + okta +
				`<md:EntitiesDescriptor>` + idpEntity("https://idp2.example", idpSSO(keyDesc("signing", b64(certs[1]))+ssoBoth)) + `</md:EntitiesDescriptor></md:EntitiesDescriptor>`,
			hint: "https://idp2.example",
			want: &IdP{
				EntityID: "https://idp2.example", SSORedirectURL: "https://idp.example/sso/redirect", SSOPostURL: "https://idp.example/sso/post",
				SigningCertificates: certs[1:2], NameIDFormats: []string{"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"},
			}},
		{name: "hint not found", xml: okta, hint: "https://other.example", wantErr: `no identity provider with entity ID "https://other.example"; it has: "http://www.okta.com/exk1"`},
		{name: "SP metadata", xml: idpEntity("https://sp.example", spDescriptor), wantErr: "is this the IdP's metadata and not the SP's?"},
		{name: "SAML 1.1 only", xml: idpEntity("https://idp.example", strings.Replace(idpSSO(ssoBoth), "SAML:2.0:protocol", "SAML:1.1:protocol", 1)),
			wantErr: "no IDPSSODescriptor for SAML 2.0"},
		{name: "DOCTYPE", xml: `<!DOCTYPE x [<!ENTITY a "b">]>` + okta, wantErr: "DOCTYPE"},
		{name: "processing instruction", xml: `<?xml-stylesheet href="x"?>` + okta, wantErr: "processing instruction"},
		{name: "not metadata", xml: `<html><body>Sign in</body></html>`, wantErr: "this is not SAML 2.0 metadata"},
		{name: "not XML", xml: `{"issuer": "x"}`, wantErr: "not well-formed XML"},
		{name: "empty", xml: " \n", wantErr: "the metadata is empty"},
		{name: "bad second certificate",
			xml:     idpEntity("https://idp.example", idpSSO(keyDesc("signing", b64(certs[0]))+keyDesc("signing", "not-base64!")+ssoBoth)),
			wantErr: "signing certificate 2 in the IdP metadata is not valid base64 DER"},
		{name: "no signing certificate",
			xml: idpEntity("https://idp.example", idpSSO(keyDesc("encryption", b64(certs[0]))+ssoBoth)), wantErr: "no signing certificate"},
		{name: "no SSO service",
			xml: idpEntity("https://idp.example", idpSSO(keyDesc("signing", b64(certs[0])))), wantErr: "no SingleSignOnService"},
		{name: "javascript: SSO location",
			xml: idpEntity("https://idp.example", idpSSO(keyDesc("signing", b64(certs[0]))+
				`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="javascript:alert(1)"/>`)),
			wantErr: "is not an absolute http(s) URL"},
		{name: "no entityID", xml: idpEntity("", idpSSO(keyDesc("signing", b64(certs[0]))+ssoBoth)), wantErr: "no entityID"},
		{name: "too large", xml: okta + strings.Repeat(" ", MaxIdPBytes), wantErr: "the limit is"},
		{name: "too deep", xml: idpEntity("https://idp.example", strings.Repeat("<x>", 40)+strings.Repeat("</x>", 40)), wantErr: "too large or too deeply nested"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseIdPEntity([]byte(tc.xml), tc.hint)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseIdPEntity() error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseIdPEntity() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b *x509.Certificate) bool { return a.Equal(b) })); diff != "" {
				t.Errorf("ParseIdPEntity() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseCertificate(t *testing.T) {
	c := testCerts(t)[0]
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{name: "PEM", in: pemText},
		{name: "PEM with surrounding blank lines", in: "\n\n  " + pemText + "\n"},
		{name: "bare base64", in: b64(c)},
		{name: "base64 with line breaks and spaces", in: wrapped(c)},
		{name: "base64 without padding", in: strings.TrimRight(b64(c), "=")},
		{name: "empty", in: "  ", wantErr: "empty"},
		{name: "private key", in: "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n", wantErr: "this is a private key"},
		{name: "two certificates", in: pemText + pemText, wantErr: "more than one PEM block"},
		{name: "public key", in: "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n", wantErr: `"PUBLIC KEY", not a CERTIFICATE`},
		{name: "truncated PEM", in: "-----BEGIN CERTIFICATE-----\nMIIB", wantErr: "PEM block is damaged"},
		{name: "not base64", in: "hello, world", wantErr: "neither PEM nor base64 DER"},
		{name: "base64 but not a certificate", in: base64.StdEncoding.EncodeToString([]byte("hello")), wantErr: "not an X.509 certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCertificate(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseCertificate() error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !got.Equal(c) {
				t.Fatalf("ParseCertificate() = %v, %v", got, err)
			}
		})
	}
}

func testSPConfig(tb testing.TB) SPConfig {
	certs := testCerts(tb)
	return SPConfig{
		EntityID:               "https://rollcall.test/saml/ws-a/metadata",
		ACSURL:                 "https://rollcall.test/saml/ws-a/acs?x=1&y=2",
		SigningCertificates:    certs[:2],
		EncryptionCertificates: certs[1:3],
		AuthnRequestsSigned:    true,
		ValidUntil:             time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

func TestSP(t *testing.T) {
	out, err := SP(testSPConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{
		`entityID="https://rollcall.test/saml/ws-a/metadata"`,
		`validUntil="2027-01-01T00:00:00Z"`,
		`AuthnRequestsSigned="true" WantAssertionsSigned="true"`,
		`<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>`,
		`<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://rollcall.test/saml/ws-a/acs?x=1&amp;y=2" index="0" isDefault="true"/>`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("SP() output lacks %s\n%s", want, s)
		}
	}
	if n := strings.Count(s, `use="signing"`); n != 2 {
		t.Errorf("signing KeyDescriptors = %d, want 2", n)
	}
	if n := strings.Count(s, `use="encryption"`); n != 2 {
		t.Errorf("encryption KeyDescriptors = %d, want 2", n)
	}
	if strings.Contains(s, "Artifact") {
		t.Error("SP() advertises the Artifact binding")
	}
	// Our own IdP parser recognises it as SP metadata.
	if _, err := ParseIdP(out); err == nil || !strings.Contains(err.Error(), "not the SP's") {
		t.Errorf("ParseIdP(SP metadata) = %v", err)
	}
}

func TestSPErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*SPConfig)
	}{
		{"no entity ID", func(c *SPConfig) { c.EntityID = "" }},
		{"relative ACS", func(c *SPConfig) { c.ACSURL = "/saml/acs" }},
		{"javascript ACS", func(c *SPConfig) { c.ACSURL = "javascript:alert(1)" }},
		{"signed requests without a certificate", func(c *SPConfig) { c.SigningCertificates = nil }},
		{"nil certificate", func(c *SPConfig) { c.EncryptionCertificates = []*x509.Certificate{nil} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testSPConfig(t)
			tc.mod(&cfg)
			if _, err := SP(cfg); err == nil {
				t.Error("SP() succeeded")
			}
		})
	}
}

// sspScript validates the document against the SAML 2.0 metadata schema
// shipped with SimpleSAMLphp and loads it with SimpleSAMLphp's own metadata
// parser, the one behind its XML metadata source.
const sspScript = `<?php
require '/usr/share/simplesamlphp/lib/_autoload.php';
$xml = file_get_contents($argv[1]);
libxml_use_internal_errors(true);
$doc = new DOMDocument();
$doc->loadXML($xml);
if (!$doc->schemaValidate('/usr/share/simplesamlphp/schemas/saml-schema-metadata-2.0.xsd')) {
  foreach (libxml_get_errors() as $e) { fwrite(STDERR, trim($e->message) . "\n"); }
  exit(2);
}
$out = [];
foreach (\SimpleSAML\Metadata\SAMLParser::parseDescriptorsString($xml) as $id => $e) {
  $out[$id] = $e->getMetadata20SP();
}
echo json_encode($out);
`

// TestSPAcceptedBySimpleSAMLphp needs php and SimpleSAMLphp (Debian's
// simplesamlphp package). It skips without them unless
// ROLLCALL_TEST_STRICT=1.
func TestSPAcceptedBySimpleSAMLphp(t *testing.T) {
	php, err := exec.LookPath("php")
	if _, serr := os.Stat("/usr/share/simplesamlphp/lib/_autoload.php"); err != nil || serr != nil {
		if os.Getenv("ROLLCALL_TEST_STRICT") == "1" {
			t.Fatal("php or SimpleSAMLphp missing and ROLLCALL_TEST_STRICT=1 (apt-get install simplesamlphp php-cli php-xml)")
		}
		t.Skip("php or SimpleSAMLphp is not installed")
	}
	for _, tc := range []struct {
		name string
		cfg  func(SPConfig) SPConfig
	}{
		{"full", func(c SPConfig) SPConfig { return c }},
		{"minimal", func(c SPConfig) SPConfig {
			return SPConfig{EntityID: c.EntityID, ACSURL: c.ACSURL}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg(testSPConfig(t))
			out, err := SP(cfg)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			script, doc := filepath.Join(dir, "check.php"), filepath.Join(dir, "sp.xml")
			if err := os.WriteFile(script, []byte(sspScript), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(doc, out, 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, php, script, doc)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			stdout, err := cmd.Output()
			if err != nil {
				t.Fatalf("SimpleSAMLphp rejected the metadata: %v\n%s\n%s", err, stderr.String(), out)
			}
			var got map[string]struct {
				EntityID string `json:"entityid"`
				ACS      []struct {
					Binding, Location string
				} `json:"AssertionConsumerService"`
				Keys []struct {
					Encryption, Signing bool
					X509Certificate     string
				} `json:"keys"`
				SignAssertion bool `json:"saml20.sign.assertion"`
			}
			if err := json.Unmarshal(stdout, &got); err != nil {
				t.Fatalf("%v: %s", err, stdout)
			}
			m, ok := got[cfg.EntityID]
			if !ok || m.EntityID != cfg.EntityID {
				t.Fatalf("SimpleSAMLphp saw %s", stdout)
			}
			if len(m.ACS) != 1 || m.ACS[0].Location != cfg.ACSURL || m.ACS[0].Binding != BindingPOST {
				t.Errorf("ACS = %+v", m.ACS)
			}
			if want := len(cfg.SigningCertificates) + len(cfg.EncryptionCertificates); len(m.Keys) != want {
				t.Errorf("SimpleSAMLphp saw %d keys, want %d", len(m.Keys), want)
			}
			if !m.SignAssertion {
				t.Error("SimpleSAMLphp did not read WantAssertionsSigned")
			}
		})
	}
}

// FuzzParseIdP must never panic, and whatever it accepts must be usable.
func FuzzParseIdP(f *testing.F) {
	certs := testCerts(f)
	f.Add([]byte(idpEntity("http://www.okta.com/exk1", idpSSO(keyDesc("signing", wrapped(certs[0]))+ssoBoth))))
	f.Add([]byte(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` +
		idpEntity("https://sp.example", spDescriptor) + idpEntity("https://idp.example", idpSSO(keyDesc("", b64(certs[1]))+ssoBoth)) + `</md:EntitiesDescriptor>`))
	if out, err := SP(testSPConfig(f)); err == nil {
		f.Add(out)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		idp, err := ParseIdP(data)
		if err == nil && (idp.EntityID == "" || len(idp.SigningCertificates) == 0 || idp.SSOPostURL+idp.SSORedirectURL == "") {
			t.Fatalf("ParseIdP accepted %+v", idp)
		}
		_, _ = ParseCertificate(string(data)) // must not panic either
	})
}
