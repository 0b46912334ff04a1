package ssp_test

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"rollcall/internal/testenv/ssp"
)

const (
	rsaSHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	rsaSHA1   = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	sha1URI   = "http://www.w3.org/2000/09/xmldsig#sha1"
	sha256URI = "http://www.w3.org/2001/04/xmlenc#sha256"
)

// testSP is a throwaway SP: metadata with an ACS on an httptest server that
// records what it receives.
type testSP struct {
	srv      *httptest.Server
	entityID string
	acs      string
	key      *rsa.PrivateKey
	certDER  []byte
	// wantAssertionsSigned is the metadata's WantAssertionsSigned.
	wantAssertionsSigned bool

	mu    sync.Mutex
	posts []url.Values
}

func newTestSP(t *testing.T) *testSP {
	t.Helper()
	return newTestSPWith(t, nil)
}

// newTestSPWith is newTestSP with extra routes, registered before the
// server starts and after the SP's fields are set.
func newTestSPWith(t *testing.T, routes func(sp *testSP, mux *http.ServeMux)) *testSP {
	t.Helper()
	sp := &testSP{wantAssertionsSigned: true}
	sp.key, sp.certDER = newCert(t, "test-sp")
	mux := http.NewServeMux()
	sp.srv = httptest.NewUnstartedServer(mux)
	base := "http://" + sp.srv.Listener.Addr().String()
	sp.entityID = base + "/saml/metadata"
	sp.acs = base + "/acs"
	if routes != nil {
		routes(sp, mux)
	} else {
		mux.HandleFunc("POST /acs", func(w http.ResponseWriter, r *http.Request) {
			if err := r.ParseForm(); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			sp.mu.Lock()
			sp.posts = append(sp.posts, r.PostForm)
			sp.mu.Unlock()
			fmt.Fprintln(w, "ACS got it")
		})
	}
	sp.srv.Start()
	t.Cleanup(sp.srv.Close)
	return sp
}

func (sp *testSP) metadata() []byte {
	cert := base64.StdEncoding.EncodeToString(sp.certDER)
	return fmt.Appendf(nil, `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="%s">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="false" WantAssertionsSigned="%t">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="%s" index="1"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
`, sp.entityID, sp.wantAssertionsSigned, cert, cert, sp.acs)
}

func (sp *testSP) received() []url.Values {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return slices.Clone(sp.posts)
}

// authnRequestURL returns an unsigned HTTP-Redirect AuthnRequest URL.
func authnRequestURL(t *testing.T, idp *ssp.IdP, sp *testSP, id, relayState string) string {
	t.Helper()
	req := fmt.Sprintf(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="%s" Version="2.0" IssueInstant="%s" Destination="%s" AssertionConsumerServiceURL="%s" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"><saml:Issuer>%s</saml:Issuer></samlp:AuthnRequest>`,
		id, time.Now().UTC().Format(time.RFC3339), idp.SSOURL(), sp.acs, sp.entityID)
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	q := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(buf.Bytes())}, "RelayState": {relayState}}
	return idp.SSOURL() + "?" + q.Encode()
}

func newCert(t *testing.T, cn string) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

func newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// Parsed SAML, only what the tests look at.

type signature struct {
	SignatureMethod struct {
		Algorithm string `xml:"Algorithm,attr"`
	} `xml:"SignedInfo>SignatureMethod"`
	DigestMethod struct {
		Algorithm string `xml:"Algorithm,attr"`
	} `xml:"SignedInfo>Reference>DigestMethod"`
	X509Certificate string `xml:"KeyInfo>X509Data>X509Certificate"`
}

type assertion struct {
	Issuer    string     `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	Signature *signature `xml:"http://www.w3.org/2000/09/xmldsig# Signature"`
	NameID    struct {
		Format string `xml:"Format,attr"`
		Value  string `xml:",chardata"`
	} `xml:"Subject>NameID"`
	SubjectConfirmationData struct {
		InResponseTo string `xml:"InResponseTo,attr"`
		Recipient    string `xml:"Recipient,attr"`
	} `xml:"Subject>SubjectConfirmation>SubjectConfirmationData"`
	Audience   string `xml:"Conditions>AudienceRestriction>Audience"`
	Attributes []struct {
		Name       string   `xml:"Name,attr"`
		NameFormat string   `xml:"NameFormat,attr"`
		Values     []string `xml:"AttributeValue"`
	} `xml:"AttributeStatement>Attribute"`
}

func (a *assertion) attr(name string) []string {
	for _, at := range a.Attributes {
		if at.Name == name {
			return at.Values
		}
	}
	return nil
}

type response struct {
	XMLName      xml.Name   `xml:"urn:oasis:names:tc:SAML:2.0:protocol Response"`
	InResponseTo string     `xml:"InResponseTo,attr"`
	Destination  string     `xml:"Destination,attr"`
	Issuer       string     `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	Signature    *signature `xml:"http://www.w3.org/2000/09/xmldsig# Signature"`
	StatusCode   struct {
		Value string `xml:"Value,attr"`
	} `xml:"Status>StatusCode"`
	Assertions          []assertion `xml:"urn:oasis:names:tc:SAML:2.0:assertion Assertion"`
	EncryptedAssertions []struct {
		DataMethod struct {
			Algorithm string `xml:"Algorithm,attr"`
		} `xml:"EncryptedData>EncryptionMethod"`
		KeyMethod struct {
			Algorithm string `xml:"Algorithm,attr"`
		} `xml:"EncryptedData>KeyInfo>EncryptedKey>EncryptionMethod"`
		KeyCipher  string `xml:"EncryptedData>KeyInfo>EncryptedKey>CipherData>CipherValue"`
		DataCipher string `xml:"EncryptedData>CipherData>CipherValue"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:assertion EncryptedAssertion"`
}

func parseResponse(t *testing.T, p *ssp.Post) (*response, []byte) {
	t.Helper()
	raw, err := p.XML()
	if err != nil {
		t.Fatal(err)
	}
	var r response
	if err := xml.Unmarshal(raw, &r); err != nil {
		t.Fatalf("SAMLResponse is not a samlp:Response: %v\n%s", err, raw)
	}
	return &r, raw
}

func TestSPInitiatedLogin(t *testing.T) {
	t.Parallel()
	idp := ssp.Start(t, ssp.Options{})
	sp := newTestSP(t)
	if got := idp.SetSPMetadata(t, sp.metadata()); got != sp.entityID {
		t.Fatalf("SetSPMetadata = %q, want %q", got, sp.entityID)
	}
	client := newClient(t)

	post, err := idp.Login(t, client, authnRequestURL(t, idp, sp, "_req-one", "rs-123"), "alice", "alicepass")
	if err != nil {
		t.Fatal(err)
	}
	if post.Action != sp.acs || post.RelayState() != "rs-123" {
		t.Errorf("form posts to %q with RelayState %q, want %q and %q", post.Action, post.RelayState(), sp.acs, "rs-123")
	}
	r, raw := parseResponse(t, post)
	if r.InResponseTo != "_req-one" || r.Destination != sp.acs || r.Issuer != idp.EntityID() {
		t.Errorf("Response InResponseTo=%q Destination=%q Issuer=%q, want _req-one, %s, %s", r.InResponseTo, r.Destination, r.Issuer, sp.acs, idp.EntityID())
	}
	if r.StatusCode.Value != "urn:oasis:names:tc:SAML:2.0:status:Success" {
		t.Errorf("status = %q", r.StatusCode.Value)
	}
	if r.Signature == nil || r.Signature.SignatureMethod.Algorithm != rsaSHA256 {
		t.Errorf("Response signature = %+v, want one with %s", r.Signature, rsaSHA256)
	}
	if len(r.Assertions) != 1 {
		t.Fatalf("%d assertions, want 1:\n%s", len(r.Assertions), raw)
	}
	a := &r.Assertions[0]
	if a.Signature == nil || a.Signature.SignatureMethod.Algorithm != rsaSHA256 || a.Signature.DigestMethod.Algorithm != sha256URI {
		t.Errorf("Assertion signature = %+v, want rsa-sha256 with sha256 digests", a.Signature)
	}
	if want := base64.StdEncoding.EncodeToString(idp.Certificate().Raw); a.Signature != nil && compact(a.Signature.X509Certificate) != want {
		t.Errorf("KeyInfo certificate is not the IdP's")
	}
	if a.NameID.Value != "alice@example.com" || a.NameID.Format != ssp.NameIDEmail {
		t.Errorf("NameID = %q (%s), want alice@example.com (%s)", a.NameID.Value, a.NameID.Format, ssp.NameIDEmail)
	}
	if a.SubjectConfirmationData.InResponseTo != "_req-one" || a.SubjectConfirmationData.Recipient != sp.acs || a.Audience != sp.entityID {
		t.Errorf("SubjectConfirmationData %+v, Audience %q", a.SubjectConfirmationData, a.Audience)
	}
	if got := a.attr("groups"); !slices.Equal(got, []string{"engineering", "admins"}) {
		t.Errorf("groups = %q, want [engineering admins]", got)
	}
	if got := a.attr("email"); !slices.Equal(got, []string{"alice@example.com"}) {
		t.Errorf("email = %q", got)
	}

	// Deliver it, as the browser would.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := post.Submit(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := sp.received(); len(got) != 1 || got[0].Get("SAMLResponse") != post.SAMLResponse() || got[0].Get("RelayState") != "rs-123" {
		t.Errorf("ACS received %d posts, want the SAMLResponse and RelayState", len(got))
	}

	// The IdP session in the jar logs in again without the form.
	post2, err := idp.Login(t, client, authnRequestURL(t, idp, sp, "_req-two", ""), "", "")
	if err != nil {
		t.Fatalf("second login with the IdP session: %v", err)
	}
	if r2, _ := parseResponse(t, post2); r2.InResponseTo != "_req-two" {
		t.Errorf("second Response InResponseTo = %q", r2.InResponseTo)
	}
}

func TestWrongPassword(t *testing.T) {
	t.Parallel()
	idp := ssp.Start(t, ssp.Options{Users: []ssp.User{{Username: "carol", Password: "right", Attributes: map[string][]string{"email": {"carol@example.com"}}}}})
	sp := newTestSP(t)
	idp.SetSPMetadata(t, sp.metadata())
	_, err := idp.Login(t, newClient(t), authnRequestURL(t, idp, sp, "_req-x", ""), "carol", "wrong")
	if !errors.Is(err, ssp.ErrLoginRejected) {
		t.Fatalf("Login with a wrong password: %v, want ErrLoginRejected", err)
	}
	post, err := idp.Login(t, newClient(t), authnRequestURL(t, idp, sp, "_req-y", ""), "carol", "right")
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := parseResponse(t, post); r.Assertions[0].NameID.Value != "carol@example.com" {
		t.Errorf("NameID = %q", r.Assertions[0].NameID.Value)
	}
}

func TestUnknownSP(t *testing.T) {
	t.Parallel()
	idp := ssp.Start(t, ssp.Options{})
	sp := newTestSP(t) // never registered
	_, err := idp.Login(t, newClient(t), authnRequestURL(t, idp, sp, "_req-x", ""), "alice", "alicepass")
	if err == nil {
		t.Fatal("Login for an SP the IdP does not know succeeded")
	}
	t.Logf("expected error: %v", err)
}

func TestIdPInitiatedLogin(t *testing.T) {
	t.Parallel()
	idp := ssp.Start(t, ssp.Options{})
	sp := newTestSP(t)
	idp.SetSPMetadata(t, sp.metadata())

	post, err := idp.Login(t, newClient(t), idp.IdPInitiatedURL(sp.entityID, "/dashboard"), "bob", "bobpass")
	if err != nil {
		t.Fatal(err)
	}
	if post.Action != sp.acs || post.RelayState() != "/dashboard" {
		t.Errorf("form posts to %q with RelayState %q", post.Action, post.RelayState())
	}
	r, _ := parseResponse(t, post)
	if r.InResponseTo != "" {
		t.Errorf("IdP-initiated Response has InResponseTo %q", r.InResponseTo)
	}
	if len(r.Assertions) != 1 || r.Assertions[0].NameID.Value != "bob@example.com" || r.Signature == nil || r.Assertions[0].Signature == nil {
		t.Errorf("want one signed assertion for bob@example.com in a signed Response")
	}
}

func TestSignatureOptions(t *testing.T) {
	t.Parallel()
	idp := ssp.Start(t, ssp.Options{SignatureAlgorithm: "rsa-sha1"})
	sp := newTestSP(t)
	idp.SetSPMetadata(t, sp.metadata())
	login := func() *response {
		t.Helper()
		post, err := idp.Login(t, newClient(t), idp.IdPInitiatedURL(sp.entityID, ""), "alice", "alicepass")
		if err != nil {
			t.Fatal(err)
		}
		r, _ := parseResponse(t, post)
		return r
	}

	r := login()
	for name, sig := range map[string]*signature{"Response": r.Signature, "Assertion": r.Assertions[0].Signature} {
		if sig == nil || sig.SignatureMethod.Algorithm != rsaSHA1 || sig.DigestMethod.Algorithm != sha1URI {
			t.Errorf("%s signature %+v, want rsa-sha1 with sha1 digest", name, sig)
		}
	}

	// Back to SHA-256, and only the assertion signed: no restart.
	idp.SetOptions(t, ssp.Options{SignResponse: ssp.Bool(false)})
	r = login()
	if r.Signature != nil {
		t.Errorf("Response signed with SignResponse false")
	}
	if s := r.Assertions[0].Signature; s == nil || s.SignatureMethod.Algorithm != rsaSHA256 {
		t.Errorf("Assertion signature %+v, want rsa-sha256", s)
	}

	// WantAssertionsSigned="true" in the SP metadata overrides
	// SignAssertion false.
	idp.SetOptions(t, ssp.Options{SignAssertion: ssp.Bool(false)})
	r = login()
	if r.Signature == nil || r.Assertions[0].Signature == nil {
		t.Errorf("want both signed while the SP metadata says WantAssertionsSigned")
	}
	sp.wantAssertionsSigned = false
	idp.SetSPMetadata(t, sp.metadata())
	r = login()
	if r.Signature == nil || r.Assertions[0].Signature != nil {
		t.Errorf("want a signed Response around an unsigned Assertion")
	}
}

func TestEncryptAssertion(t *testing.T) {
	t.Parallel()
	idp := ssp.Start(t, ssp.Options{EncryptAssertion: true})
	sp := newTestSP(t)
	idp.SetSPMetadata(t, sp.metadata())
	post, err := idp.Login(t, newClient(t), authnRequestURL(t, idp, sp, "_enc", ""), "alice", "alicepass")
	if err != nil {
		t.Fatal(err)
	}
	r, raw := parseResponse(t, post)
	if len(r.Assertions) != 0 || len(r.EncryptedAssertions) != 1 {
		t.Fatalf("%d plain and %d encrypted assertions, want 0 and 1:\n%s", len(r.Assertions), len(r.EncryptedAssertions), raw)
	}
	ea := r.EncryptedAssertions[0]
	if ea.KeyMethod.Algorithm != "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p" || ea.DataMethod.Algorithm != "http://www.w3.org/2001/04/xmlenc#aes128-cbc" {
		t.Errorf("encryption methods %q / %q", ea.KeyMethod.Algorithm, ea.DataMethod.Algorithm)
	}

	// Only the SP's key (from KeyDescriptor use="encryption") opens it.
	wrapped, err := base64.StdEncoding.DecodeString(compact(ea.KeyCipher))
	if err != nil {
		t.Fatal(err)
	}
	aesKey, err := rsa.DecryptOAEP(sha1.New(), nil, sp.key, wrapped, nil)
	if err != nil {
		t.Fatalf("unwrap the content key with the SP's key: %v", err)
	}
	data, err := base64.StdEncoding.DecodeString(compact(ea.DataCipher))
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 2*aes.BlockSize || len(data)%aes.BlockSize != 0 {
		t.Fatalf("ciphertext length %d", len(data))
	}
	plain := make([]byte, len(data)-aes.BlockSize)
	cipher.NewCBCDecrypter(block, data[:aes.BlockSize]).CryptBlocks(plain, data[aes.BlockSize:])
	plain = plain[:len(plain)-int(plain[len(plain)-1])] // XML Encryption padding
	var a assertion
	if err := xml.Unmarshal(plain, &a); err != nil {
		t.Fatalf("decrypted assertion: %v\n%s", err, plain)
	}
	if a.NameID.Value != "alice@example.com" || a.Signature == nil {
		t.Errorf("decrypted assertion: NameID %q, signed %v", a.NameID.Value, a.Signature != nil)
	}
}

// idpMetadata is the part of the IdP metadata the rotation test reads.
type idpMetadata struct {
	Keys []struct {
		Use  string `xml:"use,attr"`
		Cert string `xml:"KeyInfo>X509Data>X509Certificate"`
	} `xml:"IDPSSODescriptor>KeyDescriptor"`
}

func signingCerts(t *testing.T, idp *ssp.IdP) []string {
	t.Helper()
	var md idpMetadata
	if err := xml.Unmarshal(idp.Metadata(t), &md); err != nil {
		t.Fatal(err)
	}
	var certs []string
	for _, k := range md.Keys {
		if k.Use == "signing" || k.Use == "" {
			certs = append(certs, compact(k.Cert))
		}
	}
	return certs
}

func pemToBase64(t *testing.T, s string) string {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatalf("not PEM: %q", s)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes)
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	idp := ssp.Start(t, ssp.Options{})
	sp := newTestSP(t)
	idp.SetSPMetadata(t, sp.metadata())
	signer := func() string {
		t.Helper()
		post, err := idp.Login(t, newClient(t), idp.IdPInitiatedURL(sp.entityID, ""), "alice", "alicepass")
		if err != nil {
			t.Fatal(err)
		}
		r, _ := parseResponse(t, post)
		return compact(r.Assertions[0].Signature.X509Certificate)
	}
	oldCert := pemToBase64(t, idp.CertificatePEM())
	if got := signingCerts(t, idp); !slices.Equal(got, []string{oldCert}) {
		t.Fatalf("before rotation: %d signing certs, want the one current", len(got))
	}

	idp.BeginKeyRotation(t)
	newCert := pemToBase64(t, idp.NextCertificatePEM())
	if got := signingCerts(t, idp); !slices.Equal(got, []string{newCert, oldCert}) {
		t.Fatalf("after BeginKeyRotation: %d signing certs, want new and old", len(got))
	}
	if signer() != oldCert {
		t.Errorf("during rotation the IdP must still sign with the old key")
	}

	idp.CompleteKeyRotation(t, true)
	if got := signingCerts(t, idp); !slices.Equal(got, []string{oldCert, newCert}) {
		t.Errorf("after CompleteKeyRotation(keepOld): want old and new certs in metadata")
	}
	if signer() != newCert {
		t.Errorf("after CompleteKeyRotation the IdP must sign with the new key")
	}
	if pemToBase64(t, idp.CertificatePEM()) != newCert || idp.NextCertificatePEM() != "" {
		t.Errorf("CertificatePEM/NextCertificatePEM not updated")
	}

	idp.BeginKeyRotation(t)
	idp.CompleteKeyRotation(t, false)
	third := pemToBase64(t, idp.CertificatePEM())
	if got := signingCerts(t, idp); !slices.Equal(got, []string{third}) {
		t.Errorf("after CompleteKeyRotation(false): want only the newest cert")
	}
	if signer() != third {
		t.Errorf("the IdP does not sign with the newest key")
	}
}

func TestSeveralSPs(t *testing.T) {
	t.Parallel()
	idp := ssp.Start(t, ssp.Options{})
	a, b := newTestSP(t), newTestSP(t)
	idp.SetSPMetadata(t, a.metadata())
	idp.SetSPMetadata(t, b.metadata())
	client := newClient(t)
	for _, sp := range []*testSP{a, b} {
		post, err := idp.Login(t, client, authnRequestURL(t, idp, sp, "_r", ""), "alice", "alicepass")
		if err != nil {
			t.Fatal(err)
		}
		if r, _ := parseResponse(t, post); post.Action != sp.acs || r.Assertions[0].Audience != sp.entityID {
			t.Errorf("login to %s went to %s", sp.entityID, post.Action)
		}
	}
	idp.RemoveSP(t, b.entityID)
	if _, err := idp.Login(t, client, authnRequestURL(t, idp, b, "_r", ""), "alice", "alicepass"); err == nil {
		t.Errorf("login to a removed SP succeeded")
	}
}

func compact(s string) string {
	return strings.Join(strings.Fields(s), "")
}
