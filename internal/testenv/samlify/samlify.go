// Package samlify mints SAML 2.0 Responses with the npm package samlify
// (2.13.1, which signs with xml-crypto), driven from Go tests. It is a
// second signer, independent of the goxmldsig code that Rollcall's SP
// verifies with, for Responses whose every field a test chooses: validity
// windows, InResponseTo, audiences, attributes, what is signed and with
// which algorithm.
//
// # Node.js, npm and the install
//
// It needs node (18 or newer) and npm on PATH; Debian: apt-get install -y
// nodejs npm. The Node program is mint.js beside this file, with
// package.json and package-lock.json pinning samlify@2.13.1 (14 packages
// in all, among them xml-crypto 6 and @xmldom/xmldom 0.8). All three files
// are embedded in the Go package.
//
// On first use, [Mint] installs them with `npm ci --ignore-scripts` into a
// cache directory OUTSIDE the repository:
//
//	$ROLLCALL_NPM_CACHE, or else os.UserCacheDir()/rollcall-testenv
//	  └── samlify-<hash of the three files>/ (mint.js, package*.json, node_modules/)
//
// so nothing is written into the work tree, and a change to any of the
// files gets a fresh directory. The install is serialized across test
// processes with a lock file, is bounded to 3 minutes, needs only the npm
// registry, and is atomic (a staging directory renamed into place). Later
// runs reuse it. The `.ci/run` script can warm it, or CI can simply let
// the first test install it (about 3 s here).
//
// When node or npm is missing, or the install fails, Mint skips the test
// with a message that says what to install, or fails it when
// ROLLCALL_TEST_STRICT=1.
package samlify

import (
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"rollcall/internal/testenv/npmcache"
)

//go:embed mint.js
var mintJS []byte

//go:embed package.json
var packageJSON []byte

//go:embed package-lock.json
var packageLock []byte

// InstallHint says what to install for this package.
const InstallHint = "apt-get install -y nodejs npm (Node.js 18 or newer); Mint then runs npm ci for samlify@2.13.1 itself"

// CacheEnv is the environment variable that chooses the directory that
// holds the npm install.
const CacheEnv = npmcache.CacheEnv

const (
	strictEnv      = "ROLLCALL_TEST_STRICT"
	installTimeout = 3 * time.Minute
	mintTimeout    = 30 * time.Second
)

// Name formats and algorithms for [MintOptions].
const (
	NameIDEmail       = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	NameIDUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	NameIDPersistent  = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"

	AttrNameFormatBasic = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"

	RSASHA1   = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	RSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	RSASHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"

	PasswordProtectedTransport = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
)

// Attribute is a SAML attribute with one or more values.
type Attribute struct {
	Name   string
	Values []string
}

// MintOptions describes the Response to mint. The IdP and SP fields are
// required; every other field has a default that makes a valid Response.
type MintOptions struct {
	// IdPEntityID is the Issuer of the Response and the Assertion.
	IdPEntityID string
	// IdPKeyPEM is the signing key (PKCS #1 or PKCS #8 PEM).
	IdPKeyPEM string
	// IdPCertPEM is the certificate placed in the signatures' KeyInfo.
	IdPCertPEM string

	// SPEntityID is the Audience, unless Audience is set.
	SPEntityID string
	// ACSURL is the Destination and the SubjectConfirmationData
	// Recipient, unless Destination or Recipient is set.
	ACSURL string
	// Destination overrides the Response's Destination.
	Destination string
	// Recipient overrides the SubjectConfirmationData's Recipient.
	Recipient string
	// Audience overrides the Audience.
	Audience string

	// InResponseTo is the AuthnRequest ID answered, on the Response and
	// the SubjectConfirmationData. Empty leaves both attributes out, as
	// in an IdP-initiated Response.
	InResponseTo string

	// NameID is the subject's NameID value.
	NameID string
	// NameIDFormat is its Format. Empty means NameIDEmail.
	NameIDFormat string

	// Attributes go into one AttributeStatement, in order, values typed
	// xs:string. None means no AttributeStatement.
	Attributes []Attribute
	// AttributeNameFormat is the attributes' NameFormat. Empty means
	// AttrNameFormatBasic.
	AttributeNameFormat string

	// SignAssertion and SignResponse choose what is signed (the Assertion
	// first, then the Response). Nil means true for SignAssertion and
	// false for SignResponse. samlify cannot leave both unsigned: Mint
	// fails the test if both are false.
	SignAssertion, SignResponse *bool
	// SignatureAlgorithm is the signature method URI, with the matching
	// digest. Empty means RSASHA256.
	SignatureAlgorithm string

	// Now is the IssueInstant, the AuthnInstant and the default
	// NotBefore. Zero means the current time.
	Now time.Time
	// NotBefore is the Conditions' NotBefore. Zero means Now.
	NotBefore time.Time
	// NotOnOrAfter ends the Conditions and the SubjectConfirmationData.
	// Zero means Now plus 5 minutes.
	NotOnOrAfter time.Time

	// ResponseID and AssertionID are the documents' IDs. Empty means
	// random "_"-prefixed IDs.
	ResponseID, AssertionID string
	// SessionIndex is the AuthnStatement's SessionIndex. Empty means a
	// random one.
	SessionIndex string
	// AuthnContextClassRef is the AuthnStatement's class. Empty means
	// PasswordProtectedTransport.
	AuthnContextClassRef string
}

// Bool returns a pointer to b, for SignAssertion and SignResponse.
func Bool(b bool) *bool { return &b }

// Minted is a Response minted by samlify.
type Minted struct {
	// SAMLResponse is the base64 document, the value of the SAMLResponse
	// form field of the HTTP-POST binding, exactly as samlify encoded it.
	SAMLResponse string
	// XML is the decoded document.
	XML []byte
	// ResponseID and AssertionID are the IDs in the document.
	ResponseID, AssertionID string
}

// request is what mint.js reads on stdin.
type request struct {
	IdPEntityID          string      `json:"idpEntityID"`
	IdPKeyPEM            string      `json:"idpKeyPEM"`
	IdPCertPEM           string      `json:"idpCertPEM"`
	SPEntityID           string      `json:"spEntityID"`
	ACSURL               string      `json:"acsURL"`
	Destination          string      `json:"destination"`
	Recipient            string      `json:"recipient"`
	Audience             string      `json:"audience"`
	InResponseTo         string      `json:"inResponseTo"`
	NameID               string      `json:"nameID"`
	NameIDFormat         string      `json:"nameIDFormat"`
	Attributes           []attribute `json:"attributes"`
	AttributeNameFormat  string      `json:"attributeNameFormat"`
	SignAssertion        bool        `json:"signAssertion"`
	SignResponse         bool        `json:"signResponse"`
	SignatureAlgorithm   string      `json:"signatureAlgorithm"`
	IssueInstant         string      `json:"issueInstant"`
	NotBefore            string      `json:"notBefore"`
	NotOnOrAfter         string      `json:"notOnOrAfter"`
	ResponseID           string      `json:"responseID"`
	AssertionID          string      `json:"assertionID"`
	SessionIndex         string      `json:"sessionIndex"`
	AuthnContextClassRef string      `json:"authnContextClassRef"`
}

type attribute struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// Mint has samlify mint a Response as opts describes. It fails the test
// when samlify fails, and skips it (fails under ROLLCALL_TEST_STRICT=1)
// when Node.js, npm or the samlify install is unavailable.
func Mint(tb testing.TB, opts MintOptions) Minted {
	tb.Helper()
	req, err := buildRequest(opts)
	if err != nil {
		tb.Fatalf("samlify.Mint: %v", err)
	}
	dir := ensureInstalled(tb)
	in, err := json.Marshal(req)
	if err != nil {
		tb.Fatalf("samlify.Mint: encode request: %v", err)
	}
	out, err := npmcache.Run(dir, mintTimeout, in, "node", "mint.js")
	if err != nil {
		tb.Fatalf("samlify.Mint: %v", err)
	}
	var res struct {
		SAMLResponse string `json:"samlResponse"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		tb.Fatalf("samlify.Mint: mint.js printed %q: %v", out, err)
	}
	raw, err := base64.StdEncoding.DecodeString(res.SAMLResponse)
	if err != nil {
		tb.Fatalf("samlify.Mint: SAMLResponse is not base64: %v", err)
	}
	return Minted{SAMLResponse: res.SAMLResponse, XML: raw, ResponseID: req.ResponseID, AssertionID: req.AssertionID}
}

func buildRequest(o MintOptions) (request, error) {
	for name, v := range map[string]string{"IdPEntityID": o.IdPEntityID, "IdPKeyPEM": o.IdPKeyPEM, "IdPCertPEM": o.IdPCertPEM, "SPEntityID": o.SPEntityID, "ACSURL": o.ACSURL} {
		if v == "" {
			return request{}, fmt.Errorf("MintOptions.%s is required", name)
		}
	}
	signAssertion, signResponse := true, false
	if o.SignAssertion != nil {
		signAssertion = *o.SignAssertion
	}
	if o.SignResponse != nil {
		signResponse = *o.SignResponse
	}
	if !signAssertion && !signResponse {
		return request{}, errors.New("samlify always signs the Response or the Assertion; SignAssertion and SignResponse cannot both be false")
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	notBefore := o.NotBefore
	if notBefore.IsZero() {
		notBefore = now
	}
	notOnOrAfter := o.NotOnOrAfter
	if notOnOrAfter.IsZero() {
		notOnOrAfter = now.Add(5 * time.Minute)
	}
	attrs := make([]attribute, 0, len(o.Attributes))
	for _, a := range o.Attributes {
		if len(a.Values) == 0 {
			return request{}, fmt.Errorf("attribute %q has no values", a.Name)
		}
		attrs = append(attrs, attribute(a))
	}
	return request{
		IdPEntityID:          o.IdPEntityID,
		IdPKeyPEM:            o.IdPKeyPEM,
		IdPCertPEM:           o.IdPCertPEM,
		SPEntityID:           o.SPEntityID,
		ACSURL:               o.ACSURL,
		Destination:          or(o.Destination, o.ACSURL),
		Recipient:            or(o.Recipient, o.ACSURL),
		Audience:             or(o.Audience, o.SPEntityID),
		InResponseTo:         o.InResponseTo,
		NameID:               o.NameID,
		NameIDFormat:         or(o.NameIDFormat, NameIDEmail),
		Attributes:           attrs,
		AttributeNameFormat:  or(o.AttributeNameFormat, AttrNameFormatBasic),
		SignAssertion:        signAssertion,
		SignResponse:         signResponse,
		SignatureAlgorithm:   or(o.SignatureAlgorithm, RSASHA256),
		IssueInstant:         samlTime(now),
		NotBefore:            samlTime(notBefore),
		NotOnOrAfter:         samlTime(notOnOrAfter),
		ResponseID:           or(o.ResponseID, randomID()),
		AssertionID:          or(o.AssertionID, randomID()),
		SessionIndex:         or(o.SessionIndex, randomID()),
		AuthnContextClassRef: or(o.AuthnContextClassRef, PasswordProtectedTransport),
	}, nil
}

// ensureInstalled returns the directory that holds mint.js and its
// node_modules, installing them first if needed.
func ensureInstalled(tb testing.TB) string {
	tb.Helper()
	dir, _, err := npmcache.Ensure("samlify-2.13.1", map[string][]byte{
		"mint.js": mintJS, "package.json": packageJSON, "package-lock.json": packageLock}, installTimeout)
	if err != nil {
		unavailable(tb, err.Error())
	}
	return dir
}

func unavailable(tb testing.TB, msg string) {
	tb.Helper()
	msg = "samlify unavailable: " + msg
	if os.Getenv(strictEnv) == "1" {
		tb.Fatal(msg + " (" + strictEnv + "=1, so this is a failure)")
	}
	tb.Skip(msg)
}

func samlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func randomID() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return "_" + hex.EncodeToString(b)
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
