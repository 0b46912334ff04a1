// Package samltest is an in-process SAML identity provider for tests and
// benchmarks of Rollcall's SP handlers: it mints signed Responses (with
// goxmldsig, exclusive c14n, RSA-SHA256, the Signature after the Issuer)
// and serves the metadata that configures an SP to trust it.
//
// It signs with the same library the SP verifies with, so it proves the
// handlers' flows, not interoperability: interop is proven against
// SimpleSAMLphp (testenv/ssp) and samlify (testenv/samlify).
package samltest

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// IdP is a test identity provider with its own key.
type IdP struct {
	EntityID string
	SSOURL   string
	Key      *rsa.PrivateKey
	Cert     *x509.Certificate
}

// New returns an IdP with a fresh 2048-bit key and a certificate valid
// from an hour ago for notAfter (zero: a year).
func New(tb testing.TB, entityID string, notAfter time.Time) *IdP {
	tb.Helper()
	return WithKey(tb, entityID, nil, notAfter)
}

// WithKey returns an IdP signing with key (to share one key across many
// IdPs in a benchmark) and a new certificate.
func WithKey(tb testing.TB, entityID string, key *rsa.PrivateKey, notAfter time.Time) *IdP {
	tb.Helper()
	idp, err := Generate(entityID, key, notAfter)
	if err != nil {
		tb.Fatal(err)
	}
	return idp
}

// Generate is New and WithKey for code outside tests (the load tool):
// an IdP signing with key (nil: a fresh 2048-bit key) and a new
// self-signed certificate valid from an hour ago for notAfter (zero: a
// year).
func Generate(entityID string, key *rsa.PrivateKey, notAfter time.Time) (*IdP, error) {
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, err
		}
	}
	if notAfter.IsZero() {
		notAfter = time.Now().AddDate(1, 0, 0)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "samltest IdP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &IdP{EntityID: entityID, SSOURL: "https://idp.test/sso", Key: key, Cert: cert}, nil
}

// CertPEM returns the signing certificate in PEM.
func (i *IdP) CertPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: i.Cert.Raw}))
}

// Metadata returns IdP metadata listing the signing certificates of the
// given IdPs (this one first), for rotation tests.
func (i *IdP) Metadata(also ...*IdP) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="%s">`, esc(i.EntityID))
	b.WriteString(`<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">`)
	for _, k := range append([]*IdP{i}, also...) {
		fmt.Fprintf(&b, `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
			base64.StdEncoding.EncodeToString(k.Cert.Raw))
	}
	fmt.Fprintf(&b, `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="%s"/>`, esc(i.SSOURL))
	b.WriteString(`</md:IDPSSODescriptor></md:EntityDescriptor>`)
	return []byte(b.String())
}

// Assertion describes a Response to mint. Zero times are filled in
// relative to Now (or time.Now()).
type Assertion struct {
	ACSURL       string // Destination and Recipient
	Audience     string // the SP entity ID
	InResponseTo string // empty for IdP-initiated
	NameID       string
	Attributes   map[string][]string
	Now          time.Time
	AssertionID  string // default random
	// SignResponse also signs the Response (the Assertion is always signed).
	SignResponse bool
	// SessionNotOnOrAfter, when set, caps the SP session (AuthnStatement).
	SessionNotOnOrAfter time.Time
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s)) // writing to a bytes.Buffer cannot fail
	return strings.ReplaceAll(b.String(), `"`, "&#34;")
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	return "_" + hex.EncodeToString(b[:])
}

// Response returns a signed SAML Response, base64-encoded as the HTTP-POST
// binding carries it.
func (i *IdP) Response(tb testing.TB, a Assertion) string {
	tb.Helper()
	raw, err := i.ResponseXML(a)
	if err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// ResponseXML returns a signed SAML Response document.
func (i *IdP) ResponseXML(a Assertion) ([]byte, error) {
	now := a.Now
	if now.IsZero() {
		now = time.Now()
	}
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	if a.AssertionID == "" {
		a.AssertionID = randomID()
	}
	irt := ""
	if a.InResponseTo != "" {
		irt = ` InResponseTo="` + esc(a.InResponseTo) + `"`
	}
	snoa := ""
	if !a.SessionNotOnOrAfter.IsZero() {
		snoa = ` SessionNotOnOrAfter="` + ts(a.SessionNotOnOrAfter) + `"`
	}
	var attrs strings.Builder
	if len(a.Attributes) > 0 {
		attrs.WriteString(`<saml:AttributeStatement>`)
		for name, vals := range a.Attributes {
			attrs.WriteString(`<saml:Attribute Name="` + esc(name) + `" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">`)
			for _, v := range vals {
				attrs.WriteString(`<saml:AttributeValue xsi:type="xs:string">` + esc(v) + `</saml:AttributeValue>`)
			}
			attrs.WriteString(`</saml:Attribute>`)
		}
		attrs.WriteString(`</saml:AttributeStatement>`)
	}
	assertion := `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="` +
		a.AssertionID + `" Version="2.0" IssueInstant="` + ts(now) + `"><saml:Issuer>` + esc(i.EntityID) + `</saml:Issuer>` +
		`<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">` + esc(a.NameID) + `</saml:NameID>` +
		`<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData` + irt +
		` NotOnOrAfter="` + ts(now.Add(5*time.Minute)) + `" Recipient="` + esc(a.ACSURL) + `"/></saml:SubjectConfirmation></saml:Subject>` +
		`<saml:Conditions NotBefore="` + ts(now.Add(-time.Minute)) + `" NotOnOrAfter="` + ts(now.Add(5*time.Minute)) + `"><saml:AudienceRestriction><saml:Audience>` +
		esc(a.Audience) + `</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
		`<saml:AuthnStatement AuthnInstant="` + ts(now.Add(-10*time.Second)) + `"` + snoa + ` SessionIndex="` + randomID() + `"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
		attrs.String() + `</saml:Assertion>`
	signed, err := i.sign([]byte(assertion))
	if err != nil {
		return nil, err
	}
	resp := `<?xml version="1.0" encoding="UTF-8"?><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="` +
		randomID() + `" Version="2.0" IssueInstant="` + ts(now) + `" Destination="` + esc(a.ACSURL) + `"` + irt + `><saml:Issuer>` + esc(i.EntityID) +
		`</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` + string(stripDecl(signed)) + `</samlp:Response>`
	if !a.SignResponse {
		return []byte(resp), nil
	}
	return i.sign([]byte(resp))
}

func stripDecl(b []byte) []byte {
	if bytes.HasPrefix(b, []byte("<?xml")) {
		if i := bytes.Index(b, []byte("?>")); i >= 0 {
			return bytes.TrimSpace(b[i+2:])
		}
	}
	return b
}

// sign signs the root element of data, placing the Signature right after
// its Issuer.
func (i *IdP) sign(data []byte) ([]byte, error) {
	d := etree.NewDocument()
	if err := d.ReadFromBytes(data); err != nil {
		return nil, err
	}
	el := d.Root()
	ctx, err := dsig.NewSigningContext(i.Key, [][]byte{i.Cert.Raw})
	if err != nil {
		return nil, err
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return nil, err
	}
	nsCtx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, err
	}
	detached, err := etreeutils.NSDetatch(nsCtx, el)
	if err != nil {
		return nil, err
	}
	sig, err := ctx.ConstructSignature(detached, true)
	if err != nil {
		return nil, err
	}
	at := 0
	for n, t := range el.Child {
		if e, ok := t.(*etree.Element); ok && e.Tag == "Issuer" {
			at = n + 1
			break
		}
	}
	kids := append([]etree.Token{}, el.Child[:at]...)
	kids = append(kids, sig)
	el.Child = append(kids, el.Child[at:]...)
	el.ReindexChildren()
	return d.WriteToBytes()
}

// RequestID extracts the AuthnRequest ID from an HTTP-Redirect binding URL
// (as the SP's /login redirects to).
func RequestID(tb testing.TB, redirect string) string {
	tb.Helper()
	id, err := ParseRequestID(redirect)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// ParseRequestID is RequestID for callers without a testing.TB (the load
// tool): it returns the AuthnRequest ID of an HTTP-Redirect binding URL.
func ParseRequestID(redirect string) (string, error) {
	u, err := url.Parse(redirect)
	if err != nil {
		return "", err
	}
	raw, err := base64.StdEncoding.DecodeString(u.Query().Get("SAMLRequest"))
	if err != nil {
		return "", fmt.Errorf("SAMLRequest: %w", err)
	}
	xmlDoc, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(raw)), 1<<20))
	if err != nil {
		return "", fmt.Errorf("inflate: %w", err)
	}
	var req struct {
		ID string `xml:"ID,attr"`
	}
	if err := xml.Unmarshal(xmlDoc, &req); err != nil || req.ID == "" {
		return "", fmt.Errorf("AuthnRequest %q: no ID (%v)", xmlDoc, err)
	}
	return req.ID, nil
}
