package response

import (
	"bytes"
	"fmt"
	"time"

	"github.com/beevik/etree"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// Parse validates a SAML 2.0 Response received with the HTTP-POST binding and
// returns the assertion it carries. data is the base64-decoded SAMLResponse
// form value; cfg is the trust configuration of the workspace whose ACS URL
// received it (chosen by the URL, never by anything inside data); now is the
// current time.
//
// Parse is pure: no I/O, no globals, safe for concurrent use. Every failure
// is an *Error. Two checks are left to the caller because they need the
// database: that InResponseTo names a request this browser started (or is
// empty and IdP-initiated login is allowed), and that AssertionID has not
// been seen before (remember it until NotOnOrAfter).
func Parse(data []byte, cfg *Config, now time.Time) (a *Assertion, err error) {
	defer func() {
		if r := recover(); r != nil {
			a, err = nil, &Error{Reason: ReasonInternal, Detail: fmt.Sprintf("panic while checking a SAML Response: %v", r)}
		}
	}()
	s, err := newSettings(cfg, now)
	if err != nil {
		return nil, err
	}
	return s.parse(data)
}

func (s *settings) parse(data []byte) (*Assertion, error) {
	// 1. Bound the work before looking at the content.
	if len(data) > s.maxBytes {
		return nil, fail(ReasonTooLarge, "the Response is "+itoa(len(data))+" bytes; the limit is "+itoa(s.maxBytes))
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))

	// 2. One streaming pass: forbidden XML, limits, structure.
	sc, err := scan(data, modeResponse, s.maxElements, s.maxDepth)
	if err != nil {
		return nil, err
	}
	doc, err := readTree(data, s.maxDepth)
	if err != nil {
		return nil, err
	}
	envelope := doc.Root()

	// 3. An IdP's failure report rarely carries an assertion or a
	// signature; report its status so the admin sees why. Reading it
	// unverified is harmless: it can only make Parse reject.
	st, err := readStatus(envelope)
	if err != nil {
		return nil, err
	}
	if !st.Success() {
		detail := "the IdP returned status " + st.String()
		if sc.responseSig == nil {
			detail += " (in an unsigned Response)"
		}
		return nil, &Error{Reason: ReasonStatus, Detail: detail, Status: st}
	}
	if sc.assertions != 1 {
		return nil, fail(ReasonStructure, "the Response carries no Assertion")
	}

	// 4. Algorithm policy, before any cryptography.
	if sc.responseSig != nil {
		if err := checkSignaturePolicy(sc.responseSig, "Response", s.AllowSHA1); err != nil {
			return nil, err
		}
	}
	if sc.assertionSig != nil {
		if err := checkSignaturePolicy(sc.assertionSig, "Assertion", s.AllowSHA1); err != nil {
			return nil, err
		}
	}
	if sc.encrypted {
		if err := checkEncryptionPolicy(sc.encAlgs); err != nil {
			return nil, err
		}
	}

	// 5. Signatures. From here on, resp is the verified Response when it
	// is signed, and the unverified envelope only otherwise.
	a := &Assertion{}
	resp := envelope
	if sc.responseSig != nil {
		resp, a.Certificate, err = s.verify(envelope, sc.responseSig, "Response")
		if err != nil {
			return nil, err
		}
		a.ResponseSigned = true
	}
	el, asig, err := s.assertionElement(resp, sc, a)
	if err != nil {
		return nil, err
	}
	switch {
	case asig != nil:
		// Detach with the in-scope namespace declarations; exclusive c14n
		// makes the digest independent of the ancestors anyway.
		ctx, err := etreeutils.NSBuildParentContext(el)
		if err != nil {
			return nil, failErr(ReasonMalformed, "namespace error around the Assertion", err)
		}
		detached, err := etreeutils.NSDetatch(ctx, el)
		if err != nil {
			return nil, failErr(ReasonTooLarge, "the Assertion is too large to verify", err)
		}
		el, a.Certificate, err = s.verify(detached, asig, "Assertion")
		if err != nil {
			return nil, err
		}
		a.AssertionSigned = true
	case !a.ResponseSigned:
		// Also the EncryptedAssertion-wrapping case: encryption is not
		// authentication, anyone can encrypt to the SP's public key.
		return nil, fail(ReasonUnsigned, "neither the Response nor the Assertion is signed; the IdP must sign the assertion, the response, or both")
	}

	// 6. Semantics, on verified content only (see checkResponse for the
	// restrictive checks made on an unsigned envelope).
	respIRT, err := s.checkResponse(resp, a.ResponseSigned, a)
	if err != nil {
		return nil, err
	}
	if err := s.checkAssertion(el, respIRT, a); err != nil {
		return nil, err
	}
	return a, nil
}

// assertionElement returns the one Assertion of resp, decrypting it if it is
// an EncryptedAssertion, and the scan of its Signature if it has one.
func (s *settings) assertionElement(resp *etree.Element, sc *scanResult, a *Assertion) (*etree.Element, *sigInfo, error) {
	if !sc.encrypted {
		as := children(resp, nsSAML, "Assertion")
		if len(as) != 1 {
			return nil, nil, fail(ReasonStructure, "the Response must contain exactly one Assertion")
		}
		return as[0], sc.assertionSig, nil
	}
	encs := children(resp, nsSAML, "EncryptedAssertion")
	if len(encs) != 1 {
		return nil, nil, fail(ReasonStructure, "the Response must contain exactly one EncryptedAssertion")
	}
	pt, err := decrypt(encs[0], s.DecryptionKeys)
	if err != nil {
		return nil, nil, err
	}
	a.Encrypted = true
	// The plaintext gets the same pre-parse checks as the Response. Until
	// it is known to be well-formed XML within the limits, every failure is
	// the generic decryption error: "it parsed" versus "it did not" is the
	// format oracle. After that, policy errors (SHA-1, structure) are about
	// the IdP's configuration and tell an attacker nothing the signature
	// check would not.
	pt = bytes.TrimPrefix(pt, []byte("\uFEFF"))
	if len(pt) > s.maxBytes {
		return nil, nil, errDecrypt()
	}
	psc, err := scan(pt, modeAssertion, s.maxElements, s.maxDepth)
	if err != nil {
		switch ReasonOf(err) {
		case ReasonMalformed, ReasonTooLarge, ReasonForbiddenXML:
			return nil, nil, errDecrypt()
		}
		return nil, nil, err
	}
	if psc.assertionSig != nil {
		if err := checkSignaturePolicy(psc.assertionSig, "Assertion", s.AllowSHA1); err != nil {
			return nil, nil, err
		}
	}
	pdoc, err := readTree(pt, s.maxDepth)
	if err != nil {
		return nil, nil, errDecrypt()
	}
	return pdoc.Root(), psc.assertionSig, nil
}

// readTree parses bytes that scan has accepted. etree and scan share
// encoding/xml's tokenizer, so they see the same elements.
func readTree(data []byte, maxDepth int) (*etree.Document, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.MaxDepth = maxDepth + 1
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, failErr(ReasonMalformed, "the XML cannot be parsed", err)
	}
	if doc.Root() == nil {
		return nil, fail(ReasonMalformed, "the document has no root element")
	}
	return doc, nil
}
