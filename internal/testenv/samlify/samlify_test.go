package samlify_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"io"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"rollcall/internal/testenv/samlify"
)

type idpKey struct {
	key     *rsa.PrivateKey
	keyPEM  string
	certPEM string
	certB64 string
}

func newIdPKey(t *testing.T) idpKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "samlify-test-idp"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return idpKey{
		key:     key,
		keyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})),
		certPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		certB64: base64.StdEncoding.EncodeToString(der),
	}
}

type signature struct {
	SignatureMethod struct {
		Algorithm string `xml:"Algorithm,attr"`
	} `xml:"SignedInfo>SignatureMethod"`
	Reference struct {
		URI string `xml:"URI,attr"`
	} `xml:"SignedInfo>Reference"`
	Value string `xml:"SignatureValue"`
	Cert  string `xml:"KeyInfo>X509Data>X509Certificate"`
}

type response struct {
	XMLName      xml.Name   `xml:"urn:oasis:names:tc:SAML:2.0:protocol Response"`
	ID           string     `xml:"ID,attr"`
	InResponseTo *string    `xml:"InResponseTo,attr"`
	Destination  string     `xml:"Destination,attr"`
	Signature    *signature `xml:"http://www.w3.org/2000/09/xmldsig# Signature"`
	Assertion    []struct {
		ID        string     `xml:"ID,attr"`
		Issuer    string     `xml:"Issuer"`
		Signature *signature `xml:"http://www.w3.org/2000/09/xmldsig# Signature"`
		NameID    struct {
			Format string `xml:"Format,attr"`
			Value  string `xml:",chardata"`
		} `xml:"Subject>NameID"`
		SCD struct {
			InResponseTo *string `xml:"InResponseTo,attr"`
			Recipient    string  `xml:"Recipient,attr"`
			NotOnOrAfter string  `xml:"NotOnOrAfter,attr"`
		} `xml:"Subject>SubjectConfirmation>SubjectConfirmationData"`
		Audience   string `xml:"Conditions>AudienceRestriction>Audience"`
		Attributes []struct {
			Name   string   `xml:"Name,attr"`
			Values []string `xml:"AttributeValue"`
		} `xml:"AttributeStatement>Attribute"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:assertion Assertion"`
}

// wellFormed reads every token, which encoding/xml checks for
// well-formedness (Unmarshal alone stops early).
func wellFormed(t *testing.T, doc []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("minted XML is not well-formed: %v\n%s", err, doc)
		}
	}
}

var (
	signedInfoRE = regexp.MustCompile(`<ds:SignedInfo>.*?</ds:SignedInfo>`)
	emptyElemRE  = regexp.MustCompile(`<(ds:[A-Za-z]+)([^<>]*?)/>`)
)

// verifySignedInfo checks the n-th SignatureValue over its SignedInfo with
// the IdP's public key. samlify writes SignedInfo without whitespace and
// with the ds prefix declared on ds:Signature, so its exclusive
// canonical form is the text with that declaration added and empty
// elements written out. (The digests are not recomputed here.)
func verifySignedInfo(t *testing.T, doc []byte, n int, sig *signature, pub *rsa.PublicKey) {
	t.Helper()
	infos := signedInfoRE.FindAll(doc, -1)
	if n >= len(infos) {
		t.Fatalf("want SignedInfo #%d, have %d", n, len(infos))
	}
	c14n := strings.Replace(string(infos[n]), "<ds:SignedInfo>", `<ds:SignedInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">`, 1)
	c14n = emptyElemRE.ReplaceAllString(c14n, "<$1$2></$1>")
	value, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(sig.Value), ""))
	if err != nil {
		t.Fatal(err)
	}
	hash := crypto.SHA256
	if sig.SignatureMethod.Algorithm == samlify.RSASHA1 {
		hash = crypto.SHA1
	}
	h := hash.New()
	h.Write([]byte(c14n))
	if err := rsa.VerifyPKCS1v15(pub, hash, h.Sum(nil), value); err != nil {
		t.Errorf("SignatureValue #%d does not verify with the IdP key: %v", n, err)
	}
}

func TestMint(t *testing.T) {
	t.Parallel()
	k := newIdPKey(t)
	notOnOrAfter := time.Now().Add(10 * time.Minute).UTC().Truncate(time.Second)
	m := samlify.Mint(t, samlify.MintOptions{
		IdPEntityID:  "https://idp.example.test/metadata",
		IdPKeyPEM:    k.keyPEM,
		IdPCertPEM:   k.certPEM,
		SPEntityID:   "https://rollcall.test/saml/acme/metadata",
		ACSURL:       "https://rollcall.test/saml/acme/acs",
		InResponseTo: "_req-42",
		NameID:       "ada@example.com",
		Attributes: []samlify.Attribute{
			{Name: "email", Values: []string{"ada@example.com"}},
			{Name: "groups", Values: []string{"eng", `R&D <"core">`}},
		},
		NotOnOrAfter: notOnOrAfter,
	})
	wellFormed(t, m.XML)
	var r response
	if err := xml.Unmarshal(m.XML, &r); err != nil {
		t.Fatalf("not a samlp:Response: %v\n%s", err, m.XML)
	}
	if r.ID != m.ResponseID || r.InResponseTo == nil || *r.InResponseTo != "_req-42" || r.Destination != "https://rollcall.test/saml/acme/acs" {
		t.Errorf("Response ID %q InResponseTo %v Destination %q", r.ID, r.InResponseTo, r.Destination)
	}
	if r.Signature != nil {
		t.Errorf("Response signed; by default only the Assertion is")
	}
	if len(r.Assertion) != 1 {
		t.Fatalf("%d assertions", len(r.Assertion))
	}
	a := r.Assertion[0]
	if a.ID != m.AssertionID || a.Issuer != "https://idp.example.test/metadata" || a.Audience != "https://rollcall.test/saml/acme/metadata" {
		t.Errorf("Assertion ID %q Issuer %q Audience %q", a.ID, a.Issuer, a.Audience)
	}
	if a.NameID.Value != "ada@example.com" || a.NameID.Format != samlify.NameIDEmail {
		t.Errorf("NameID %q (%s)", a.NameID.Value, a.NameID.Format)
	}
	if a.SCD.InResponseTo == nil || *a.SCD.InResponseTo != "_req-42" || a.SCD.Recipient != "https://rollcall.test/saml/acme/acs" ||
		a.SCD.NotOnOrAfter != notOnOrAfter.Format("2006-01-02T15:04:05Z") {
		t.Errorf("SubjectConfirmationData %+v", a.SCD)
	}
	if len(a.Attributes) != 2 || !slices.Equal(a.Attributes[1].Values, []string{"eng", `R&D <"core">`}) {
		t.Errorf("attributes %+v", a.Attributes)
	}
	if a.Signature == nil {
		t.Fatalf("Assertion not signed:\n%s", m.XML)
	}
	if a.Signature.SignatureMethod.Algorithm != samlify.RSASHA256 || a.Signature.Reference.URI != "#"+a.ID ||
		strings.Join(strings.Fields(a.Signature.Cert), "") != k.certB64 {
		t.Errorf("Assertion signature: method %q, reference %q, KeyInfo cert matches: %v",
			a.Signature.SignatureMethod.Algorithm, a.Signature.Reference.URI, strings.Join(strings.Fields(a.Signature.Cert), "") == k.certB64)
	}
	verifySignedInfo(t, m.XML, 0, a.Signature, &k.key.PublicKey)
	if got, _ := base64.StdEncoding.DecodeString(m.SAMLResponse); !bytes.Equal(got, m.XML) {
		t.Errorf("SAMLResponse does not decode to XML")
	}
}

func TestMintUnsolicitedSHA1ResponseSigned(t *testing.T) {
	t.Parallel()
	k := newIdPKey(t)
	m := samlify.Mint(t, samlify.MintOptions{
		IdPEntityID:        "https://idp.example.test/metadata",
		IdPKeyPEM:          k.keyPEM,
		IdPCertPEM:         k.certPEM,
		SPEntityID:         "https://rollcall.test/sp",
		ACSURL:             "https://rollcall.test/acs",
		NameID:             "grace@example.com",
		SignAssertion:      samlify.Bool(false),
		SignResponse:       samlify.Bool(true),
		SignatureAlgorithm: samlify.RSASHA1,
	})
	wellFormed(t, m.XML)
	var r response
	if err := xml.Unmarshal(m.XML, &r); err != nil {
		t.Fatal(err)
	}
	if r.InResponseTo != nil || r.Assertion[0].SCD.InResponseTo != nil {
		t.Errorf("unsolicited Response has InResponseTo attributes")
	}
	if r.Assertion[0].Signature != nil || r.Signature == nil {
		t.Fatalf("want only the Response signed:\n%s", m.XML)
	}
	if r.Signature.SignatureMethod.Algorithm != samlify.RSASHA1 || r.Signature.Reference.URI != "#"+r.ID {
		t.Errorf("Response signature method %q reference %q", r.Signature.SignatureMethod.Algorithm, r.Signature.Reference.URI)
	}
	if !bytes.Contains(m.XML, []byte(`<ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>`)) {
		t.Errorf("want a SHA-1 digest with rsa-sha1")
	}
	verifySignedInfo(t, m.XML, 0, r.Signature, &k.key.PublicKey)
}

func TestMintBothSigned(t *testing.T) {
	t.Parallel()
	k := newIdPKey(t)
	m := samlify.Mint(t, samlify.MintOptions{
		IdPEntityID: "https://idp.example.test/metadata", IdPKeyPEM: k.keyPEM, IdPCertPEM: k.certPEM,
		SPEntityID: "https://rollcall.test/sp", ACSURL: "https://rollcall.test/acs",
		NameID: "x@example.com", SignResponse: samlify.Bool(true),
	})
	var r response
	if err := xml.Unmarshal(m.XML, &r); err != nil {
		t.Fatal(err)
	}
	if r.Signature == nil || r.Assertion[0].Signature == nil {
		t.Fatalf("want Response and Assertion signed")
	}
	// Document order: the Response's signature (after its Issuer) first.
	verifySignedInfo(t, m.XML, 0, r.Signature, &k.key.PublicKey)
	verifySignedInfo(t, m.XML, 1, r.Assertion[0].Signature, &k.key.PublicKey)
}
