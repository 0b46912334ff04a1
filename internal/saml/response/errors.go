package response

import (
	"errors"
	"strings"
)

// PublicMessage is the only text a browser may see when Parse fails. The
// Error's Reason and Detail belong in the log and the audit log: they tell an
// attacker which check to work on next, and they may quote IdP data.
const PublicMessage = "Authentication failed"

// Reason is a machine-readable code for why a SAML Response was rejected.
// The values are stable strings, safe to store in an audit log and to count
// in metrics.
type Reason string

// The reasons Parse reports. Each names one family of checks; the Error's
// Detail says which check and what was found.
const (
	// ReasonConfig means the workspace configuration is unusable (no IdP
	// certificate, no entity ID, a negative skew): nothing was checked.
	ReasonConfig Reason = "config"
	// ReasonTooLarge means a size, depth, element or namespace limit was
	// exceeded before any parsing into a tree.
	ReasonTooLarge Reason = "too_large"
	// ReasonMalformed means the bytes are not a well-formed SAML 2.0 Response
	// (bad XML, an unbound prefix, a missing required element or attribute,
	// an unparsable time).
	ReasonMalformed Reason = "malformed"
	// ReasonForbiddenXML means a DOCTYPE, an entity declaration, another
	// directive or a processing instruction was present.
	ReasonForbiddenXML Reason = "forbidden_xml"
	// ReasonStructure means the document has a shape that signature-wrapping
	// attacks use: several assertions, an Assertion or Signature outside its
	// one legal place, duplicate IDs, a Reference that does not point at its
	// parent.
	ReasonStructure Reason = "structure"
	// ReasonAlgorithm means a signature, digest, canonicalization, transform
	// or encryption algorithm outside the allow-list.
	ReasonAlgorithm Reason = "algorithm"
	// ReasonSHA1 means SHA-1 was used for a signature or digest and the
	// workspace does not allow it. The Detail names the IdP setting to change.
	ReasonSHA1 Reason = "sha1"
	// ReasonUnsigned means neither the Response nor the Assertion carries a
	// signature.
	ReasonUnsigned Reason = "unsigned"
	// ReasonSignature means a signature is present but does not verify.
	ReasonSignature Reason = "signature"
	// ReasonUntrustedCert means the signature names a certificate that is not
	// among the workspace's IdP certificates.
	ReasonUntrustedCert Reason = "untrusted_certificate"
	// ReasonCertExpired means the signing certificate is trusted but outside
	// its NotBefore/NotAfter window.
	ReasonCertExpired Reason = "certificate_expired"
	// ReasonDecrypt means an EncryptedAssertion could not be decrypted. Every
	// decryption failure has the same Detail, on purpose.
	ReasonDecrypt Reason = "decrypt"
	// ReasonStatus means the IdP reported a failure; Error.Status has the
	// codes and message.
	ReasonStatus Reason = "status"
	// ReasonDestination means the Response's Destination is missing (on a
	// signed Response) or is not this workspace's ACS URL.
	ReasonDestination Reason = "destination"
	// ReasonIssuer means the Response or Assertion Issuer is not the
	// workspace's IdP entity ID.
	ReasonIssuer Reason = "issuer"
	// ReasonVersion means a Version other than 2.0.
	ReasonVersion Reason = "version"
	// ReasonIssueInstant means an IssueInstant too old or in the future.
	ReasonIssueInstant Reason = "issue_instant"
	// ReasonExpired means a NotOnOrAfter (Conditions, SubjectConfirmationData
	// or SessionNotOnOrAfter) has passed.
	ReasonExpired Reason = "expired"
	// ReasonNotYetValid means a NotBefore is still in the future.
	ReasonNotYetValid Reason = "not_yet_valid"
	// ReasonConditions means Conditions is missing, repeated, or holds a
	// condition this SP does not understand.
	ReasonConditions Reason = "conditions"
	// ReasonAudience means AudienceRestriction is missing or does not name
	// this workspace's SP entity ID.
	ReasonAudience Reason = "audience"
	// ReasonSubject means Subject or a usable saml:NameID is missing.
	ReasonSubject Reason = "subject"
	// ReasonSubjectConfirmation means no bearer SubjectConfirmation is present.
	ReasonSubjectConfirmation Reason = "subject_confirmation"
	// ReasonRecipient means a bearer SubjectConfirmationData's Recipient is
	// not this workspace's ACS URL.
	ReasonRecipient Reason = "recipient"
	// ReasonInResponseTo means the assertion's InResponseTo disagrees with the
	// Response's.
	ReasonInResponseTo Reason = "in_response_to"
	// ReasonAuthnStatement means the assertion has no AuthnStatement.
	ReasonAuthnStatement Reason = "authn_statement"
	// ReasonInternal means a bug: a recovered panic or an impossible state.
	ReasonInternal Reason = "internal"
)

// Error is the only error type Parse returns. Reason is for code, Detail is
// for the workspace admin and the audit log, Status is the IdP's own report
// when Reason is ReasonStatus. None of it is for the browser: show
// PublicMessage there.
type Error struct {
	Reason Reason
	Detail string
	Status *Status
	Err    error
}

// Error returns the reason, the detail and the cause, for logs.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("saml response: ")
	b.WriteString(string(e.Reason))
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the Reason of err if it is (or wraps) an *Error, and
// ReasonInternal for any other non-nil error. It returns "" for nil.
func ReasonOf(err error) Reason {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonInternal
}

// Status is the IdP's StatusCode hierarchy and StatusMessage.
type Status struct {
	// Code is the top-level StatusCode Value, e.g.
	// urn:oasis:names:tc:SAML:2.0:status:Responder.
	Code string
	// SubCodes are the nested StatusCode Values, outermost first, e.g.
	// urn:oasis:names:tc:SAML:2.0:status:RequestDenied.
	SubCodes []string
	// Message is the StatusMessage text, if any.
	Message string
}

// Success reports whether the top-level code is Success.
func (s *Status) Success() bool { return s != nil && s.Code == statusSuccess }

// String renders the status for an admin, e.g.
// "Responder/RequestDenied: User is not assigned to this application".
func (s *Status) String() string {
	if s == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(shortStatus(s.Code))
	for _, c := range s.SubCodes {
		b.WriteString("/")
		b.WriteString(shortStatus(c))
	}
	if s.Message != "" {
		b.WriteString(": ")
		b.WriteString(s.Message)
	}
	return b.String()
}

func shortStatus(code string) string {
	const prefix = "urn:oasis:names:tc:SAML:2.0:status:"
	if rest, ok := strings.CutPrefix(code, prefix); ok && rest != "" {
		return rest
	}
	return code
}

func fail(r Reason, detail string) *Error { return &Error{Reason: r, Detail: detail} }

func failErr(r Reason, detail string, err error) *Error {
	return &Error{Reason: r, Detail: detail, Err: err}
}
