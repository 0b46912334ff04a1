// Package metadata reads an identity provider's SAML 2.0 metadata and writes
// the metadata of one workspace's service provider.
//
// IdP metadata is admin-supplied (uploaded, pasted or fetched from a URL the
// admin typed), so it is parsed with the same care as a SAML Response: a
// size cap, one streaming pass that refuses DOCTYPEs, entities and
// processing instructions and bounds depth and element count, and only then
// encoding/xml decoding into namespace-qualified structs. The metadata's own
// signature, if any, is not verified: trust comes from the admin choosing the
// document, and the certificates in it are what Rollcall will trust.
//
// Errors are written for the IT admin who configures SSO: they say what is
// wrong and, where it helps, what to do.
package metadata

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// Limits on IdP metadata. Okta's is about 3 KB and Entra's about 20 KB; a
// federation aggregate (InCommon, eduGAIN) is far larger and not supported.
const (
	MaxIdPBytes    = 2 << 20
	maxIdPElements = 50_000
	maxIdPDepth    = 32
)

// SAML 2.0 names used in metadata.
const (
	nsMD          = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsDS          = "http://www.w3.org/2000/09/xmldsig#"
	protocolSAML2 = "urn:oasis:names:tc:SAML:2.0:protocol"

	// BindingRedirect is the SAML 2.0 HTTP-Redirect binding.
	BindingRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	// BindingPOST is the SAML 2.0 HTTP-POST binding.
	BindingPOST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
)

// IdP is what the SP needs from an identity provider's metadata.
type IdP struct {
	// EntityID is the IdP's entity ID: the Issuer of its assertions.
	EntityID string
	// SSORedirectURL and SSOPostURL are the SingleSignOnService locations
	// for the HTTP-Redirect and HTTP-POST bindings; either may be empty, not
	// both.
	SSORedirectURL string
	SSOPostURL     string
	// SLORedirectURL and SLOPostURL are the SingleLogoutService locations,
	// if any.
	SLORedirectURL string
	SLOPostURL     string
	// SigningCertificates are every certificate of a KeyDescriptor with
	// use="signing" or no use, deduplicated, in document order. Several
	// are normal during a key rollover; all of them should be trusted.
	SigningCertificates []*x509.Certificate
	// WantAuthnRequestsSigned is the IDPSSODescriptor attribute.
	WantAuthnRequestsSigned bool
	// NameIDFormats are the formats the IdP advertises, for display.
	NameIDFormats []string
	// ValidUntil is the earliest validUntil on the IDPSSODescriptor, its
	// EntityDescriptor or an enclosing EntitiesDescriptor; zero if none.
	// ParseIdP has no clock: the caller decides what an expired document
	// means (refuse a refresh, warn the admin).
	ValidUntil time.Time
}

type entitiesDescriptor struct {
	ValidUntil string               `xml:"validUntil,attr"`
	Entities   []entityDescriptor   `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntityDescriptor"`
	Groups     []entitiesDescriptor `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntitiesDescriptor"`
}

type entityDescriptor struct {
	EntityID   string          `xml:"entityID,attr"`
	ValidUntil string          `xml:"validUntil,attr"`
	IdPs       []idpDescriptor `xml:"urn:oasis:names:tc:SAML:2.0:metadata IDPSSODescriptor"`
	SPs        []struct{}      `xml:"urn:oasis:names:tc:SAML:2.0:metadata SPSSODescriptor"`
	validUntil time.Time       // the earliest of the enclosing groups'
}

type idpDescriptor struct {
	Protocols     string          `xml:"protocolSupportEnumeration,attr"`
	WantSigned    string          `xml:"WantAuthnRequestsSigned,attr"`
	ValidUntil    string          `xml:"validUntil,attr"`
	Keys          []keyDescriptor `xml:"urn:oasis:names:tc:SAML:2.0:metadata KeyDescriptor"`
	SSO           []endpoint      `xml:"urn:oasis:names:tc:SAML:2.0:metadata SingleSignOnService"`
	SLO           []endpoint      `xml:"urn:oasis:names:tc:SAML:2.0:metadata SingleLogoutService"`
	NameIDFormats []string        `xml:"urn:oasis:names:tc:SAML:2.0:metadata NameIDFormat"`
}

type keyDescriptor struct {
	Use     string    `xml:"use,attr"`
	KeyInfo []keyInfo `xml:"http://www.w3.org/2000/09/xmldsig# KeyInfo"`
}

type keyInfo struct {
	X509Data []x509Data `xml:"http://www.w3.org/2000/09/xmldsig# X509Data"`
}

type x509Data struct {
	Certificates []string `xml:"http://www.w3.org/2000/09/xmldsig# X509Certificate"`
}

type endpoint struct {
	Binding  string `xml:"Binding,attr"`
	Location string `xml:"Location,attr"`
}

// ParseIdP reads IdP metadata: an EntityDescriptor, or an
// EntitiesDescriptor holding exactly one SAML 2.0 identity provider. Use
// ParseIdPEntity when a file describes several.
func ParseIdP(data []byte) (*IdP, error) {
	return ParseIdPEntity(data, "")
}

// ParseIdPEntity is ParseIdP for the identity provider with the given
// entity ID. An empty entityID means "the only one".
func ParseIdPEntity(data []byte, entityID string) (*IdP, error) {
	root, err := precheck(data)
	if err != nil {
		return nil, err
	}
	var entities []entityDescriptor
	switch root {
	case "EntityDescriptor":
		var e entityDescriptor
		if err := xml.Unmarshal(data, &e); err != nil {
			return nil, fmt.Errorf("the metadata cannot be read: %w", err)
		}
		entities = []entityDescriptor{e}
	case "EntitiesDescriptor":
		var g entitiesDescriptor
		if err := xml.Unmarshal(data, &g); err != nil {
			return nil, fmt.Errorf("the metadata cannot be read: %w", err)
		}
		if entities, err = flatten(g, time.Time{}); err != nil {
			return nil, err
		}
	}
	e, err := pick(entities, entityID)
	if err != nil {
		return nil, err
	}
	return e.idp()
}

// precheck bounds and screens the document before any decoding and returns
// the root element's local name.
func precheck(data []byte) (string, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return "", errors.New("the metadata is empty")
	}
	if len(data) > MaxIdPBytes {
		return "", fmt.Errorf("the metadata is %d bytes; the limit is %d (federation aggregates are not supported: use the IdP's own metadata)", len(data), MaxIdPBytes)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	var root string
	depth, elems, tokens := 0, 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("the metadata is not well-formed XML: %w", err)
		}
		tokens++
		switch t := tok.(type) {
		case xml.StartElement:
			elems++
			depth++
			if elems > maxIdPElements || depth > maxIdPDepth {
				return "", errors.New("the metadata is too large or too deeply nested")
			}
			if root == "" {
				if t.Name.Space != nsMD || (t.Name.Local != "EntityDescriptor" && t.Name.Local != "EntitiesDescriptor") {
					return "", fmt.Errorf("this is not SAML 2.0 metadata: the document is a <%s> in namespace %q, not an md:EntityDescriptor", t.Name.Local, t.Name.Space)
				}
				root = t.Name.Local
			} else if depth == 1 {
				return "", errors.New("the metadata has more than one root element")
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) != 0 {
				return "", errors.New("the metadata is not well-formed XML: text outside the root element (was a web page or JSON saved instead?)")
			}
		case xml.Directive:
			return "", errors.New("the metadata contains a DOCTYPE or entity declaration, which is not allowed")
		case xml.ProcInst:
			if t.Target != "xml" || tokens != 1 {
				return "", fmt.Errorf("the metadata contains a processing instruction <?%s?>, which is not allowed", t.Target)
			}
		}
	}
	if root == "" {
		return "", errors.New("the metadata has no root element")
	}
	return root, nil
}

func flatten(g entitiesDescriptor, inherited time.Time) ([]entityDescriptor, error) {
	vu, err := parseValidUntil(g.ValidUntil)
	if err != nil {
		return nil, err
	}
	vu = earliest(inherited, vu)
	var out []entityDescriptor
	for _, e := range g.Entities {
		e.validUntil = vu
		out = append(out, e)
	}
	for _, sub := range g.Groups {
		more, err := flatten(sub, vu)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}

func pick(entities []entityDescriptor, entityID string) (*entityDescriptor, error) {
	var idps []*entityDescriptor
	sps := 0
	for i := range entities {
		if entities[i].saml2IdPs() > 0 {
			idps = append(idps, &entities[i])
		}
		sps += len(entities[i].SPs)
	}
	if entityID != "" {
		for _, e := range idps {
			if e.EntityID == entityID {
				return e, nil
			}
		}
		return nil, fmt.Errorf("the metadata has no identity provider with entity ID %q; it has: %s", entityID, listIDs(idps))
	}
	switch {
	case len(idps) == 1:
		return idps[0], nil
	case len(idps) > 1:
		return nil, fmt.Errorf("the metadata describes %d identity providers (%s); choose one by its entity ID", len(idps), listIDs(idps))
	case sps > 0:
		return nil, errors.New("no IDPSSODescriptor: is this the IdP's metadata and not the SP's? Download the metadata from the identity provider's SAML app settings")
	default:
		return nil, errors.New("no IDPSSODescriptor for SAML 2.0 in the metadata: this file does not describe a SAML 2.0 identity provider")
	}
}

func listIDs(es []*entityDescriptor) string {
	const max = 5
	var ids []string
	for i, e := range es {
		if i == max {
			ids = append(ids, fmt.Sprintf("and %d more", len(es)-max))
			break
		}
		ids = append(ids, fmt.Sprintf("%q", e.EntityID))
	}
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

func (e *entityDescriptor) saml2IdPs() int {
	n := 0
	for _, d := range e.IdPs {
		if d.supportsSAML2() {
			n++
		}
	}
	return n
}

func (d *idpDescriptor) supportsSAML2() bool {
	for _, p := range strings.Fields(d.Protocols) {
		if p == protocolSAML2 {
			return true
		}
	}
	return false
}

func (e *entityDescriptor) idp() (*IdP, error) {
	if strings.TrimSpace(e.EntityID) == "" {
		return nil, errors.New("the EntityDescriptor has no entityID")
	}
	if e.saml2IdPs() != 1 {
		return nil, fmt.Errorf("entity %q has %d SAML 2.0 IDPSSODescriptors; expected one", e.EntityID, e.saml2IdPs())
	}
	var d idpDescriptor
	for _, x := range e.IdPs {
		if x.supportsSAML2() {
			d = x
		}
	}
	out := &IdP{EntityID: e.EntityID, NameIDFormats: trimAll(d.NameIDFormats)}
	var err error
	if out.WantAuthnRequestsSigned, err = parseBool(d.WantSigned, "WantAuthnRequestsSigned"); err != nil {
		return nil, err
	}
	entityVU, err := parseValidUntil(e.ValidUntil)
	if err != nil {
		return nil, err
	}
	descVU, err := parseValidUntil(d.ValidUntil)
	if err != nil {
		return nil, err
	}
	out.ValidUntil = earliest(earliest(e.validUntil, entityVU), descVU)

	if out.SSORedirectURL, out.SSOPostURL, err = endpoints(d.SSO, "SingleSignOnService"); err != nil {
		return nil, err
	}
	if out.SSORedirectURL == "" && out.SSOPostURL == "" {
		return nil, errors.New("the IdP metadata has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding")
	}
	if out.SLORedirectURL, out.SLOPostURL, err = endpoints(d.SLO, "SingleLogoutService"); err != nil {
		return nil, err
	}

	n := 0
	for _, k := range d.Keys {
		if k.Use != "" && k.Use != "signing" {
			continue
		}
		for _, ki := range k.KeyInfo {
			for _, xd := range ki.X509Data {
				for _, c := range xd.Certificates {
					n++
					cert, err := parseBase64DER(c)
					if err != nil {
						return nil, fmt.Errorf("signing certificate %d in the IdP metadata is not valid base64 DER: %w", n, err)
					}
					if !containsCert(out.SigningCertificates, cert) {
						out.SigningCertificates = append(out.SigningCertificates, cert)
					}
				}
			}
		}
	}
	if len(out.SigningCertificates) == 0 {
		return nil, errors.New(`the IdP metadata has no signing certificate (a KeyDescriptor with use="signing" and an X509Certificate)`)
	}
	return out, nil
}

// endpoints returns the first Location for the Redirect and POST bindings.
// Locations must be absolute http(s) URLs: Rollcall redirects browsers to
// them and renders them as form actions, where a javascript: URL would be
// script injection.
func endpoints(es []endpoint, what string) (redirect, post string, err error) {
	for _, e := range es {
		if e.Binding != BindingRedirect && e.Binding != BindingPOST {
			continue
		}
		loc := strings.TrimSpace(e.Location)
		if err := checkURL(loc); err != nil {
			return "", "", fmt.Errorf("the %s Location %q %v", what, loc, err)
		}
		switch {
		case e.Binding == BindingRedirect && redirect == "":
			redirect = loc
		case e.Binding == BindingPOST && post == "":
			post = loc
		}
	}
	return redirect, post, nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("is not a URL")
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("is not an absolute http(s) URL")
	}
	return nil
}

func parseValidUntil(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("validUntil %q is not a date and time", s)
	}
	return t.UTC(), nil
}

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

func parseBool(s, what string) (bool, error) {
	switch strings.TrimSpace(s) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, fmt.Errorf("%s is %q, not a boolean", what, s)
}

func trimAll(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func containsCert(certs []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range certs {
		if x.Equal(c) {
			return true
		}
	}
	return false
}

// ParseCertificate reads a certificate an admin pasted: a PEM block
// ("-----BEGIN CERTIFICATE-----") or bare base64 DER as IdP consoles show
// it, with any whitespace and line breaks.
func ParseCertificate(pemOrBase64 string) (*x509.Certificate, error) {
	s := strings.TrimSpace(pemOrBase64)
	if s == "" {
		return nil, errors.New("the certificate is empty")
	}
	if !strings.Contains(s, "-----BEGIN") {
		c, err := parseBase64DER(s)
		if err != nil {
			return nil, fmt.Errorf("the certificate is neither PEM nor base64 DER: %w", err)
		}
		return c, nil
	}
	block, rest := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("the PEM block is damaged: check that the BEGIN and END lines were copied whole")
	}
	switch {
	case strings.Contains(block.Type, "PRIVATE KEY"):
		return nil, errors.New("this is a private key, not a certificate: paste the IdP's public signing certificate, and treat this key as leaked")
	case block.Type != "CERTIFICATE":
		return nil, fmt.Errorf("the PEM block is a %q, not a CERTIFICATE", block.Type)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("there is more than one PEM block: paste one certificate at a time")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the PEM block is not a valid X.509 certificate: %w", err)
	}
	return c, nil
}

func parseBase64DER(s string) (*x509.Certificate, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r':
			return -1
		}
		return r
	}, s)
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if der, err = base64.RawStdEncoding.DecodeString(s); err != nil {
			return nil, errors.New("not valid base64")
		}
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("not an X.509 certificate (%v)", err)
	}
	return c, nil
}
