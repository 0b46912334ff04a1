package response

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// doc describes one Response. The zero value of an optional field omits the
// element or attribute; newDoc fills in the research baseline (§2.1).
type doc struct {
	ResponseID, AssertionID string
	Destination             string
	InResponseTo            string // on the Response
	ResponseIssuer          string
	Issuer                  string // on the Assertion
	IssueInstant            time.Time
	AssertionIssueInstant   time.Time
	StatusCode              string
	SubStatusCode           string
	StatusMessage           string

	NameID, NameIDFormat string
	NameIDNamespace      string // if set, the NameID element is in this namespace (GO-2026-6909)
	NameIDRaw            string // if set, replaces the NameID element verbatim

	SCDInResponseTo string
	Recipient       string
	SCDNotOnOrAfter time.Time
	NotBefore       time.Time
	NotOnOrAfter    time.Time
	Audience        string
	SessionIndex    string

	NoConditions, NoAudienceRestriction, NoSubject, NoSubjectConfirmation, NoAuthnStatement bool

	Attributes []Attribute
}

func newDoc() doc {
	return doc{
		ResponseID:            "_resp-1a2b3c",
		AssertionID:           "_assert-4d5e6f",
		Destination:           testACSURL,
		InResponseTo:          testRequestID,
		ResponseIssuer:        testIdPEntityID,
		Issuer:                testIdPEntityID,
		IssueInstant:          testNow,
		AssertionIssueInstant: testNow,
		StatusCode:            statusSuccess,
		NameID:                "alice@example.com",
		NameIDFormat:          "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
		SCDInResponseTo:       testRequestID,
		Recipient:             testACSURL,
		SCDNotOnOrAfter:       testNow.Add(5 * time.Minute),
		NotBefore:             testNow.Add(-1 * time.Minute),
		NotOnOrAfter:          testNow.Add(10 * time.Minute),
		Audience:              testSPEntityID,
		SessionIndex:          "_session-77",
		Attributes: []Attribute{
			{Name: "email", NameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", Values: []string{"alice@example.com"}},
			{Name: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname", FriendlyName: "givenName", Values: []string{"Alice"}},
			{Name: "groups", Values: []string{"engineering", "admins"}},
		},
	}
}

func esc(s string) string {
	var b strings.Builder
	if err := xml.EscapeText(&b, []byte(s)); err != nil {
		panic(err)
	}
	return b.String()
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func optAttr(name, v string) string {
	if v == "" {
		return ""
	}
	return " " + name + `="` + esc(v) + `"`
}

func optTime(name string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return " " + name + `="` + ts(t) + `"`
}

// assertion renders the Assertion with its own namespace declarations, so
// that it stands alone once encrypted.
func (d doc) assertion() string {
	var b strings.Builder
	b.WriteString(`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"`)
	b.WriteString(optAttr("ID", d.AssertionID) + ` Version="2.0"` + optTime("IssueInstant", d.AssertionIssueInstant) + `>`)
	b.WriteString(`<saml:Issuer>` + esc(d.Issuer) + `</saml:Issuer>`)
	if !d.NoSubject {
		b.WriteString(`<saml:Subject>`)
		switch {
		case d.NameIDRaw != "":
			b.WriteString(d.NameIDRaw)
		case d.NameIDNamespace != "":
			b.WriteString(`<x:NameID xmlns:x="` + esc(d.NameIDNamespace) + `">` + esc(d.NameID) + `</x:NameID>`)
		default:
			b.WriteString(`<saml:NameID` + optAttr("Format", d.NameIDFormat) + `>` + esc(d.NameID) + `</saml:NameID>`)
		}
		if !d.NoSubjectConfirmation {
			b.WriteString(`<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData` +
				optAttr("InResponseTo", d.SCDInResponseTo) + optTime("NotOnOrAfter", d.SCDNotOnOrAfter) + optAttr("Recipient", d.Recipient) +
				`/></saml:SubjectConfirmation>`)
		}
		b.WriteString(`</saml:Subject>`)
	}
	if !d.NoConditions {
		b.WriteString(`<saml:Conditions` + optTime("NotBefore", d.NotBefore) + optTime("NotOnOrAfter", d.NotOnOrAfter) + `>`)
		if !d.NoAudienceRestriction {
			b.WriteString(`<saml:AudienceRestriction><saml:Audience>` + esc(d.Audience) + `</saml:Audience></saml:AudienceRestriction>`)
		}
		b.WriteString(`</saml:Conditions>`)
	}
	if !d.NoAuthnStatement {
		b.WriteString(`<saml:AuthnStatement AuthnInstant="` + ts(d.AssertionIssueInstant.Add(-30*time.Second)) + `"` + optAttr("SessionIndex", d.SessionIndex) +
			`><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`)
	}
	if len(d.Attributes) > 0 {
		b.WriteString(`<saml:AttributeStatement>`)
		for _, a := range d.Attributes {
			b.WriteString(`<saml:Attribute` + optAttr("Name", a.Name) + optAttr("NameFormat", a.NameFormat) + optAttr("FriendlyName", a.FriendlyName) + `>`)
			for _, v := range a.Values {
				b.WriteString(`<saml:AttributeValue xsi:type="xs:string">` + esc(v) + `</saml:AttributeValue>`)
			}
			b.WriteString(`</saml:Attribute>`)
		}
		b.WriteString(`</saml:AttributeStatement>`)
	}
	b.WriteString(`</saml:Assertion>`)
	return b.String()
}

// response renders the Response around inner (an Assertion, an
// EncryptedAssertion, several, or nothing).
func (d doc) response(inner string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	b.WriteString(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"`)
	b.WriteString(optAttr("ID", d.ResponseID) + ` Version="2.0"` + optTime("IssueInstant", d.IssueInstant) +
		optAttr("Destination", d.Destination) + optAttr("InResponseTo", d.InResponseTo) + `>`)
	if d.ResponseIssuer != "" {
		b.WriteString(`<saml:Issuer>` + esc(d.ResponseIssuer) + `</saml:Issuer>`)
	}
	b.WriteString(`<samlp:Status><samlp:StatusCode Value="` + esc(d.StatusCode) + `">`)
	if d.SubStatusCode != "" {
		b.WriteString(`<samlp:StatusCode Value="` + esc(d.SubStatusCode) + `"/>`)
	}
	b.WriteString(`</samlp:StatusCode>`)
	if d.StatusMessage != "" {
		b.WriteString(`<samlp:StatusMessage>` + esc(d.StatusMessage) + `</samlp:StatusMessage>`)
	}
	b.WriteString(`</samlp:Status>`)
	b.WriteString(inner)
	b.WriteString(`</samlp:Response>`)
	return b.String()
}

// signer signs elements the way an IdP does: enveloped signature,
// exclusive c14n, the Signature right after the Issuer.
type signer struct {
	key       crypto.Signer
	cert      *x509.Certificate
	method    string // default RSA-SHA256 (or ECDSA-SHA256 for an EC key)
	noKeyInfo bool
}

func (k *testKeys) idpSigner() signer { return signer{key: k.idp, cert: k.idpCert} }

type target int

const (
	signResponse target = iota
	signAssertion
)

// sign signs the Response or its Assertion in data. Sign the Assertion
// first when both are to be signed.
func (s signer) sign(tb testing.TB, data []byte, t target) []byte {
	tb.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(data); err != nil {
		tb.Fatalf("sign: parse: %v", err)
	}
	el := d.Root()
	if t == signAssertion && el.Tag != "Assertion" {
		el = firstChild(el, "Assertion")
		if el == nil {
			tb.Fatalf("sign: no Assertion")
		}
	}
	ctx, err := dsig.NewSigningContext(s.key, [][]byte{s.cert.Raw})
	if err != nil {
		tb.Fatal(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	method := s.method
	if method == "" {
		method = dsig.RSASHA256SignatureMethod
		if _, ok := s.key.Public().(*rsa.PublicKey); !ok {
			method = dsig.ECDSASHA256SignatureMethod
		}
	}
	if err := ctx.SetSignatureMethod(method); err != nil {
		tb.Fatal(err)
	}
	// Sign a detached copy: goxmldsig canonicalizes in place, and needs the
	// in-scope namespace declarations on the element.
	nsCtx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		tb.Fatal(err)
	}
	detached, err := etreeutils.NSDetatch(nsCtx, el)
	if err != nil {
		tb.Fatal(err)
	}
	sig, err := ctx.ConstructSignature(detached, true)
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	if s.noKeyInfo {
		removeChildTag(sig, "KeyInfo")
	}
	// Insert after the Issuer by rebuilding the child list: the research
	// notes that etree index bookkeeping is unreliable on freshly signed
	// elements, so no RemoveChild/Index on them.
	insertAfterIssuer(el, sig)
	out, err := d.WriteToBytes()
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func insertAfterIssuer(el, child *etree.Element) {
	at := 0
	for i, t := range el.Child {
		if e, ok := t.(*etree.Element); ok && e.Tag == "Issuer" {
			at = i + 1
			break
		}
	}
	kids := append([]etree.Token{}, el.Child[:at]...)
	kids = append(kids, child)
	kids = append(kids, el.Child[at:]...)
	el.Child = kids
	el.ReindexChildren()
}

func removeChildTag(el *etree.Element, tag string) {
	var kids []etree.Token
	for _, t := range el.Child {
		if e, ok := t.(*etree.Element); ok && e.Tag == tag {
			continue
		}
		kids = append(kids, t)
	}
	el.Child = kids
	el.ReindexChildren()
}

func firstChild(el *etree.Element, tag string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == tag {
			return c
		}
	}
	return nil
}

// signedAssertionResponse is baseline (a): unsigned Response, signed
// Assertion.
func signedAssertionResponse(tb testing.TB, d doc, s signer) []byte {
	tb.Helper()
	return s.sign(tb, []byte(d.response(d.assertion())), signAssertion)
}

// bothSigned is baseline (b).
func bothSigned(tb testing.TB, d doc, s signer) []byte {
	tb.Helper()
	return s.sign(tb, signedAssertionResponse(tb, d, s), signResponse)
}

// responseOnlySigned signs the Response and not the Assertion.
func responseOnlySigned(tb testing.TB, d doc, s signer) []byte {
	tb.Helper()
	return s.sign(tb, []byte(d.response(d.assertion())), signResponse)
}

// signedAssertion returns just the signed Assertion element, to be
// encrypted or embedded.
func signedAssertion(tb testing.TB, d doc, s signer) string {
	tb.Helper()
	return string(s.sign(tb, []byte(d.assertion()), signAssertion))
}

// encryption describes how an Assertion is encrypted for the SP.
type encryption struct {
	keyAlg     string      // encRSAOAEPMGF1P, encRSAOAEP, encRSA15
	dataAlg    string      // encAES128CBC …
	digest     crypto.Hash // OAEP digest; 0 = SHA-1, not written
	mgf        crypto.Hash // MGF1 hash for xmlenc11 rsa-oaep; 0 = SHA-1, not written
	siblingKey bool        // EncryptedKey beside EncryptedData (Okta) instead of inside KeyInfo
}

var hashURI = map[crypto.Hash]string{crypto.SHA1: digestSHA1, crypto.SHA256: digestSHA256, crypto.SHA512: digestSHA512}
var mgfURI = map[crypto.Hash]string{crypto.SHA1: mgf1SHA1, crypto.SHA256: mgf1SHA256, crypto.SHA512: mgf1SHA512}

// encrypt returns an EncryptedAssertion holding plaintext, for pub.
func (e encryption) encrypt(tb testing.TB, plaintext string, pub *rsa.PublicKey) string {
	tb.Helper()
	keyLen := map[string]int{encAES128CBC: 16, encAES192CBC: 24, encAES256CBC: 32, encAES128GCM: 16, encAES256GCM: 32, enc3DES: 24}[e.dataAlg]
	cek := make([]byte, keyLen)
	rand.Read(cek)
	var data []byte
	switch e.dataAlg {
	case encAES128GCM, encAES256GCM:
		block, _ := aes.NewCipher(cek)
		aead, _ := cipher.NewGCM(block)
		nonce := make([]byte, aead.NonceSize())
		rand.Read(nonce)
		data = aead.Seal(nonce, nonce, []byte(plaintext), nil)
	case enc3DES:
		data = make([]byte, 64) // never decrypted: refused by policy
	default:
		block, _ := aes.NewCipher(cek)
		pad := 16 - len(plaintext)%16
		pt := append([]byte(plaintext), bytes.Repeat([]byte{byte(pad)}, pad)...)
		data = make([]byte, 16+len(pt))
		rand.Read(data[:16])
		cipher.NewCBCEncrypter(block, data[:16]).CryptBlocks(data[16:], pt)
	}
	var wrapped []byte
	var err error
	if e.keyAlg == encRSA15 {
		// Refused by policy before any decryption, so the bytes do not matter.
		wrapped = make([]byte, pub.Size())
		rand.Read(wrapped)
	} else {
		opts := &rsa.OAEPOptions{Hash: crypto.SHA1, MGFHash: crypto.SHA1}
		if e.digest != 0 {
			opts.Hash = e.digest
		}
		if e.mgf != 0 {
			opts.MGFHash = e.mgf
		}
		wrapped, err = rsa.EncryptOAEPWithOptions(rand.Reader, pub, cek, opts)
	}
	if err != nil {
		tb.Fatal(err)
	}
	var km strings.Builder
	km.WriteString(`<xenc:EncryptionMethod Algorithm="` + e.keyAlg + `">`)
	if e.digest != 0 {
		km.WriteString(`<ds:DigestMethod Algorithm="` + hashURI[e.digest] + `"/>`)
	}
	if e.mgf != 0 {
		km.WriteString(`<xenc11:MGF xmlns:xenc11="http://www.w3.org/2009/xmlenc11#" Algorithm="` + mgfURI[e.mgf] + `"/>`)
	}
	km.WriteString(`</xenc:EncryptionMethod>`)
	ek := `<xenc:EncryptedKey xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">` + km.String() +
		`<xenc:CipherData><xenc:CipherValue>` + base64.StdEncoding.EncodeToString(wrapped) + `</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>`
	keyInfo, sibling := `<ds:KeyInfo>`+ek+`</ds:KeyInfo>`, ""
	if e.siblingKey {
		keyInfo = `<ds:KeyInfo><ds:RetrievalMethod URI="#_ek" Type="http://www.w3.org/2001/04/xmlenc#EncryptedKey"/></ds:KeyInfo>`
		sibling = ek
	}
	return `<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Type="http://www.w3.org/2001/04/xmlenc#Element">` +
		`<xenc:EncryptionMethod Algorithm="` + e.dataAlg + `"/>` + keyInfo +
		`<xenc:CipherData><xenc:CipherValue>` + base64.StdEncoding.EncodeToString(data) + `</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>` +
		sibling + `</saml:EncryptedAssertion>`
}

var defaultEncryption = encryption{keyAlg: encRSAOAEPMGF1P, dataAlg: encAES128CBC}

// mutate parses data, lets f change the tree, and serializes it again. Used
// for the attacks that happen after signing.
func mutate(tb testing.TB, data []byte, f func(root *etree.Element)) []byte {
	tb.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(data); err != nil {
		tb.Fatalf("mutate: %v", err)
	}
	f(d.Root())
	out, err := d.WriteToBytes()
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// replaceOnce replaces exactly one occurrence, failing the test otherwise,
// so a vector cannot silently stop being the attack it claims to be.
func replaceOnce(tb testing.TB, data []byte, old, new string) []byte {
	tb.Helper()
	if n := bytes.Count(data, []byte(old)); n != 1 {
		tb.Fatalf("replaceOnce(%q): %d occurrences, want 1", old, n)
	}
	return bytes.Replace(data, []byte(old), []byte(new), 1)
}

// evilify turns a copy of an Assertion into the attacker's: a new subject,
// optionally a new ID.
func evilify(a *etree.Element, newID string) {
	if newID != "" {
		a.CreateAttr("ID", newID)
	}
	for _, e := range a.FindElements(".//NameID") {
		e.SetText("admin@victim.example")
	}
}

func withoutSignature(el *etree.Element) *etree.Element {
	c := el.Copy()
	removeChildTag(c, "Signature")
	return c
}

func appendChild(parent, child *etree.Element) {
	parent.Child = append(parent.Child, child)
	parent.ReindexChildren()
}

func insertBefore(parent, before, child *etree.Element) {
	var kids []etree.Token
	for _, t := range parent.Child {
		if t == before {
			kids = append(kids, child)
		}
		kids = append(kids, t)
	}
	parent.Child = kids
	parent.ReindexChildren()
}

func replaceChild(parent, old, new *etree.Element) {
	for i, t := range parent.Child {
		if t == old {
			parent.Child[i] = new
		}
	}
	parent.ReindexChildren()
}
