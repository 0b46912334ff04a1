package metadata

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"
)

// NameIDFormatUnspecified lets the IdP choose the NameID format, which is
// what Okta, Entra ID and JumpCloud default to. Requesting a specific format
// (crewjam asks for transient by default) breaks account linking.
const NameIDFormatUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"

// SPConfig is one workspace's service provider.
type SPConfig struct {
	// EntityID is the workspace's SP entity ID, e.g.
	// https://host/saml/{workspace}/metadata.
	EntityID string
	// ACSURL is the workspace's externally visible Assertion Consumer
	// Service URL; published with the HTTP-POST binding only (no Artifact:
	// that would make Rollcall call out to the IdP).
	ACSURL string
	// SigningCertificates are the SP's request-signing certificates: the
	// current one and, during a rollover, the next.
	SigningCertificates []*x509.Certificate
	// EncryptionCertificates are the certificates IdPs may encrypt
	// assertions to: the current one and, during a rollover, the next.
	EncryptionCertificates []*x509.Certificate
	// AuthnRequestsSigned says whether this SP signs its AuthnRequests.
	AuthnRequestsSigned bool
	// ValidUntil, if set, is published as validUntil.
	ValidUntil time.Time
}

// encryptionMethods lists the algorithms response.Parse can decrypt, best
// first, so an IdP that reads them picks a supported one.
const encryptionMethods = `<md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm"/>` +
	`<md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes128-gcm"/>` +
	`<md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc"/>` +
	`<md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>` +
	`<md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#rsa-oaep"/>` +
	`<md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/>`

// SP renders the workspace's SP metadata: schema-valid SAML 2.0 metadata
// with WantAssertionsSigned="true", NameIDFormat unspecified and one HTTP-POST
// AssertionConsumerService (index 0, default). It fails only on an unusable
// configuration.
func SP(cfg SPConfig) ([]byte, error) {
	if strings.TrimSpace(cfg.EntityID) == "" {
		return nil, errors.New("the SP entity ID is empty")
	}
	if err := checkURL(cfg.ACSURL); err != nil {
		return nil, fmt.Errorf("the ACS URL %q %v", cfg.ACSURL, err)
	}
	if cfg.AuthnRequestsSigned && len(cfg.SigningCertificates) == 0 {
		return nil, errors.New("AuthnRequestsSigned needs at least one signing certificate")
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="`)
	escape(&b, cfg.EntityID)
	b.WriteString(`"`)
	if !cfg.ValidUntil.IsZero() {
		b.WriteString(` validUntil="` + cfg.ValidUntil.UTC().Format(time.RFC3339) + `"`)
	}
	b.WriteString(">\n")
	fmt.Fprintf(&b, `  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="%t" WantAssertionsSigned="true">`+"\n", cfg.AuthnRequestsSigned)
	for _, c := range cfg.SigningCertificates {
		if err := writeKeyDescriptor(&b, "signing", c, false); err != nil {
			return nil, err
		}
	}
	for _, c := range cfg.EncryptionCertificates {
		if err := writeKeyDescriptor(&b, "encryption", c, true); err != nil {
			return nil, err
		}
	}
	b.WriteString(`    <md:NameIDFormat>` + NameIDFormatUnspecified + "</md:NameIDFormat>\n")
	b.WriteString(`    <md:AssertionConsumerService Binding="` + BindingPOST + `" Location="`)
	escape(&b, cfg.ACSURL)
	b.WriteString(`" index="0" isDefault="true"/>` + "\n")
	b.WriteString("  </md:SPSSODescriptor>\n</md:EntityDescriptor>\n")
	return []byte(b.String()), nil
}

func writeKeyDescriptor(b *strings.Builder, use string, c *x509.Certificate, methods bool) error {
	if c == nil || len(c.Raw) == 0 {
		return fmt.Errorf("an SP %s certificate is empty", use)
	}
	b.WriteString(`    <md:KeyDescriptor use="` + use + `"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>`)
	b.WriteString(base64.StdEncoding.EncodeToString(c.Raw))
	b.WriteString(`</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`)
	if methods {
		b.WriteString(encryptionMethods)
	}
	b.WriteString("</md:KeyDescriptor>\n")
	return nil
}

// escape writes s escaped for XML text and attribute values.
func escape(b *strings.Builder, s string) {
	// xml.EscapeText escapes quotes too; strings.Builder never fails.
	_ = xml.EscapeText(b, []byte(s))
}
