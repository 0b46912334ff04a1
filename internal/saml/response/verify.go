package response

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// verify checks the enveloped signature of el with goxmldsig and returns the
// element goxmldsig re-parsed from the bytes it digested, with the verified
// Signature removed, plus the trusted certificate that verified it. Every
// later check must read that returned element, never el.
//
// si is the scan's unverified view of the same Signature. It is used only to
// choose which trusted certificate to try and to word the admin's error
// ("expired", "not trusted"); goxmldsig independently insists that the
// KeyInfo certificate is byte-identical to a trusted root, and checks the
// certificate's validity period against the same clock.
func (s *settings) verify(el *etree.Element, si *sigInfo, what string) (*etree.Element, *x509.Certificate, error) {
	candidates, el, err := s.candidateRoots(el, si, what)
	if err != nil {
		return nil, nil, err
	}
	var lastErr error
	for _, root := range candidates {
		ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{root}})
		ctx.Clock = dsig.NewFakeClockAt(s.now)
		out, err := ctx.Validate(el)
		if err == nil {
			if out == nil || out.Tag != el.Tag || out.NamespaceURI() != el.NamespaceURI() {
				return nil, nil, fail(ReasonInternal, "the verified "+what+" is not the element that was checked")
			}
			return out, root, nil
		}
		lastErr = err
	}
	if errors.Is(lastErr, etreeutils.ErrTraversalLimit) {
		return nil, nil, failErr(ReasonTooLarge, "the "+what+" is too large to verify", lastErr)
	}
	return nil, nil, failErr(ReasonSignature, "the "+what+" signature does not verify", lastErr)
}

// candidateRoots picks the trusted certificates to verify with. With a
// KeyInfo certificate, that is the one trusted certificate equal to it; an
// untrusted or expired one gets its own admin-readable error. Without one
// (some IdPs send a bare KeyInfo or none at all) each currently valid trusted
// certificate is tried alone: goxmldsig refuses to guess between several, and
// would otherwise break every login during a rotation window.
func (s *settings) candidateRoots(el *etree.Element, si *sigInfo, what string) ([]*x509.Certificate, *etree.Element, error) {
	if si.certSeen && strings.TrimSpace(si.cert) != "" {
		der, err := base64.StdEncoding.DecodeString(stripSpace(si.cert))
		if err != nil {
			return nil, nil, failErr(ReasonSignature, "the certificate in the "+what+" Signature is not valid base64", err)
		}
		presented, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, failErr(ReasonSignature, "the certificate in the "+what+" Signature cannot be parsed", err)
		}
		for _, root := range s.IdPCertificates {
			if root.Equal(presented) {
				if err := s.checkValidity(root, what); err != nil {
					return nil, nil, err
				}
				return []*x509.Certificate{root}, el, nil
			}
		}
		return nil, nil, fail(ReasonUntrustedCert, "the "+what+" is signed by a certificate that is not trusted ("+
			describeCert(presented)+"); has the IdP rotated its key? refresh the IdP metadata or add the new certificate")
	}

	var valid []*x509.Certificate
	var firstErr error
	for _, root := range s.IdPCertificates {
		if err := s.checkValidity(root, what); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		valid = append(valid, root)
	}
	if len(valid) == 0 {
		return nil, nil, firstErr
	}
	if si.keyInfo {
		// A KeyInfo without an X509Certificate (a KeyName, a bare
		// RSAKeyValue) would make goxmldsig fail; it is outside SignedInfo,
		// so removing it from a copy changes nothing that is verified.
		el = el.Copy()
		if err := removeKeyInfo(el); err != nil {
			return nil, nil, err
		}
	}
	return valid, el, nil
}

func removeKeyInfo(el *etree.Element) error {
	for _, sig := range children(el, nsDSig, "Signature") {
		for _, ki := range children(sig, nsDSig, "KeyInfo") {
			if sig.RemoveChild(ki) == nil {
				return fail(ReasonInternal, "cannot remove an empty KeyInfo")
			}
		}
	}
	return nil
}

func (s *settings) checkValidity(c *x509.Certificate, what string) error {
	switch {
	case s.now.After(c.NotAfter):
		return fail(ReasonCertExpired, "the IdP signing certificate expired on "+fmtTime(c.NotAfter)+" ("+
			describeCert(c)+"); the "+what+" cannot be trusted: upload the IdP's current certificate or refresh the IdP metadata")
	case s.now.Before(c.NotBefore):
		return fail(ReasonCertExpired, "the IdP signing certificate is not valid until "+fmtTime(c.NotBefore)+" ("+
			describeCert(c)+"); check the server clock, or wait until the IdP's new certificate becomes valid")
	}
	return nil
}

// describeCert names a certificate the way an admin can match it against the
// IdP's console: subject, SHA-256 fingerprint, validity end.
func describeCert(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	subject := c.Subject.String()
	if subject == "" {
		subject = "no subject"
	}
	return "subject " + quote(subject) + ", SHA-256 fingerprint " + hex.EncodeToString(sum[:]) +
		", valid until " + c.NotAfter.UTC().Format(time.DateOnly)
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r':
			return -1
		}
		return r
	}, s)
}
