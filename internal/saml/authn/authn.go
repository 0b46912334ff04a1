// Package authn builds SAML 2.0 AuthnRequests for SP-initiated login and
// encodes them for the HTTP-Redirect binding (a URL to redirect the browser
// to) or the HTTP-POST binding (form fields for an auto-submitting page).
//
// The request asks for the NameID format "unspecified", lets the IdP create
// an identifier (AllowCreate), and asks for the response on the HTTP-POST
// binding at the workspace's ACS URL. Its ID is returned so that the caller
// can store it as a pending request and later match the response's
// InResponseTo against it.
//
// Signing, when an SP key is configured, follows the binding: for
// HTTP-Redirect a detached RSA-SHA256 signature over the exact query string
// (SAML bindings §3.4.4.1), for HTTP-POST an enveloped XML signature made by
// goxmldsig. Nothing here ever decompresses data: Rollcall only deflates what
// it sends.
package authn

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// SAML names used in AuthnRequests.
const (
	// SigAlgRSASHA256 is the only signature algorithm this package uses.
	SigAlgRSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"

	bindingPOST             = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
	nameIDFormatUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"

	// MaxRelayState is the RelayState limit of SAML bindings §3.4.3 and
	// §3.5.3: 80 bytes. Use an opaque handle to server-side state, never a
	// URL (an open redirect once it comes back).
	MaxRelayState = 80
)

// Config is what one workspace's AuthnRequests need.
type Config struct {
	// SPEntityID is the Issuer.
	SPEntityID string
	// ACSURL is the AssertionConsumerServiceURL: where the IdP must post
	// the Response.
	ACSURL string
	// IdPSSOURL is the IdP's SingleSignOnService location for the binding
	// that will carry the request (metadata.IdP.SSORedirectURL or
	// SSOPostURL). It becomes the Destination.
	IdPSSOURL string
	// SigningKey signs requests when set; SigningCertificate must then be
	// its certificate (it goes into the POST binding's KeyInfo).
	SigningKey         *rsa.PrivateKey
	SigningCertificate *x509.Certificate
	// ForceAuthn asks the IdP to re-authenticate the user.
	ForceAuthn bool
}

// Request is one AuthnRequest, ready to be encoded for a binding.
type Request struct {
	// ID is the request ID ("_" + 32 hex digits). Store it: the Response's
	// InResponseTo must match it.
	ID string
	// IssueInstant is when the request was made.
	IssueInstant time.Time
	// XML is the unsigned AuthnRequest.
	XML []byte

	cfg Config
}

// New builds an AuthnRequest. now is the current time; random is the
// source of the ID (crypto/rand.Reader if nil).
func New(cfg Config, now time.Time, random io.Reader) (*Request, error) {
	if strings.TrimSpace(cfg.SPEntityID) == "" {
		return nil, errors.New("authn: the SP entity ID is empty")
	}
	if err := checkURL(cfg.ACSURL); err != nil {
		return nil, fmt.Errorf("authn: the ACS URL %q %v", cfg.ACSURL, err)
	}
	if err := checkURL(cfg.IdPSSOURL); err != nil {
		return nil, fmt.Errorf("authn: the IdP SSO URL %q %v", cfg.IdPSSOURL, err)
	}
	if cfg.SigningKey != nil && cfg.SigningCertificate == nil {
		return nil, errors.New("authn: a signing key needs its certificate")
	}
	if now.IsZero() {
		return nil, errors.New("authn: no current time given")
	}
	if random == nil {
		random = rand.Reader
	}
	var id [16]byte
	if _, err := io.ReadFull(random, id[:]); err != nil {
		return nil, fmt.Errorf("authn: request ID: %w", err)
	}
	r := &Request{ID: "_" + hex.EncodeToString(id[:]), IssueInstant: now.UTC().Truncate(time.Second), cfg: cfg}

	var b strings.Builder
	b.WriteString(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"`)
	b.WriteString(` ID="` + r.ID + `" Version="2.0" IssueInstant="` + r.IssueInstant.Format(time.RFC3339) + `" Destination="`)
	escape(&b, cfg.IdPSSOURL)
	b.WriteString(`" AssertionConsumerServiceURL="`)
	escape(&b, cfg.ACSURL)
	b.WriteString(`" ProtocolBinding="` + bindingPOST + `"`)
	if cfg.ForceAuthn {
		b.WriteString(` ForceAuthn="true"`)
	}
	b.WriteString(`><saml:Issuer>`)
	escape(&b, cfg.SPEntityID)
	b.WriteString(`</saml:Issuer><samlp:NameIDPolicy Format="` + nameIDFormatUnspecified + `" AllowCreate="true"/></samlp:AuthnRequest>`)
	r.XML = []byte(b.String())
	return r, nil
}

// RedirectURL encodes the request for the HTTP-Redirect binding: the
// returned URL is the IdP SSO URL with SAMLRequest (deflated, base64),
// RelayState, and, with a signing key, SigAlg and Signature appended. The
// signature covers the exact bytes
// "SAMLRequest=…&RelayState=…&SigAlg=…" as they appear in the URL.
func (r *Request) RedirectURL(relayState string) (string, error) {
	if err := checkRelayState(relayState); err != nil {
		return "", err
	}
	var z bytes.Buffer
	w, err := flate.NewWriter(&z, flate.BestCompression)
	if err != nil {
		return "", fmt.Errorf("authn: deflate: %w", err)
	}
	if _, err := w.Write(r.XML); err != nil {
		return "", fmt.Errorf("authn: deflate: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("authn: deflate: %w", err)
	}
	q := "SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString(z.Bytes()))
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	if r.cfg.SigningKey != nil {
		q += "&SigAlg=" + url.QueryEscape(SigAlgRSASHA256)
		sum := sha256.Sum256([]byte(q))
		sig, err := rsa.SignPKCS1v15(nil, r.cfg.SigningKey, crypto.SHA256, sum[:])
		if err != nil {
			return "", fmt.Errorf("authn: sign: %w", err)
		}
		q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	}
	sep := "?"
	if strings.Contains(r.cfg.IdPSSOURL, "?") {
		sep = "&" // e.g. Google: https://accounts.google.com/o/saml2/idp?idpid=…
	}
	return r.cfg.IdPSSOURL + sep + q, nil
}

// Form is an HTTP-POST binding message. Render it as
// <form method="post" action="{URL}"> with hidden inputs SAMLRequest and,
// if not empty, RelayState, submitted by script (with a no-script button).
type Form struct {
	URL         string
	SAMLRequest string
	RelayState  string
}

// PostForm encodes the request for the HTTP-POST binding. With a signing
// key the AuthnRequest carries an enveloped XML signature (RSA-SHA256,
// exclusive c14n) right after its Issuer.
func (r *Request) PostForm(relayState string) (*Form, error) {
	if err := checkRelayState(relayState); err != nil {
		return nil, err
	}
	msg := r.XML
	if r.cfg.SigningKey != nil {
		var err error
		if msg, err = r.signXML(); err != nil {
			return nil, err
		}
	}
	return &Form{URL: r.cfg.IdPSSOURL, SAMLRequest: base64.StdEncoding.EncodeToString(msg), RelayState: relayState}, nil
}

func (r *Request) signXML() ([]byte, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(r.XML); err != nil {
		return nil, fmt.Errorf("authn: %w", err)
	}
	root := doc.Root()
	ctx, err := dsig.NewSigningContext(r.cfg.SigningKey, [][]byte{r.cfg.SigningCertificate.Raw})
	if err != nil {
		return nil, fmt.Errorf("authn: sign: %w", err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return nil, fmt.Errorf("authn: sign: %w", err)
	}
	// ConstructSignature canonicalizes its argument in place, so it gets a
	// copy; the root declares every namespace it uses.
	sig, err := ctx.ConstructSignature(root.Copy(), true)
	if err != nil {
		return nil, fmt.Errorf("authn: sign: %w", err)
	}
	// The schema wants the Signature right after the Issuer (the first
	// child). The child list is rebuilt rather than using InsertChildAt on
	// the freshly built signature (see research §1.5 on etree indices).
	kids := make([]etree.Token, 0, len(root.Child)+1)
	kids = append(kids, root.Child[0], sig)
	kids = append(kids, root.Child[1:]...)
	root.Child = kids
	root.ReindexChildren()
	out, err := doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("authn: %w", err)
	}
	return out, nil
}

func checkRelayState(rs string) error {
	if len(rs) > MaxRelayState {
		return fmt.Errorf("authn: RelayState is %d bytes; the SAML bindings allow %d (use a handle to server-side state)", len(rs), MaxRelayState)
	}
	return nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("is not a URL")
	case (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return errors.New("is not an absolute http(s) URL")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return errors.New("has a #fragment")
	}
	return nil
}

func escape(b *strings.Builder, s string) {
	// xml.EscapeText escapes quotes too; strings.Builder never fails.
	_ = xml.EscapeText(b, []byte(s))
}
