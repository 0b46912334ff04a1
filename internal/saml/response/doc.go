// Package response validates a SAML 2.0 Response posted to a workspace's
// Assertion Consumer Service and returns the signed facts in it.
//
// It is the security core of Rollcall's SAML SP. It drives goxmldsig for
// XML-DSig (signature, digest, canonicalization are never done here), does
// XML-Enc decryption itself, and does not use crewjam/saml: see
// /work/shared/research/saml.md §1 for why, and §2 for the attack catalogue
// the tests implement row by row.
//
// # Validation flow, and why each step exists
//
// Parse takes the decoded bytes, one workspace's Config and the current
// time. The steps run in this order; each one either passes or returns an
// *Error with a Reason.
//
//  1. Size. Reject more than Limits.MaxBytes before reading anything. The
//     HTTP layer must also cap the request body; this cap is for the decoded
//     value.
//
//  2. One streaming pass (scan.go) with encoding/xml's tokenizer, never a
//     tree, over untrusted bytes. It rejects:
//     - any DOCTYPE, ENTITY or other <!…> directive, and any processing
//     instruction but the leading XML declaration: no internal entities,
//     no XXE, no billion laughs, no parser disagreements about them;
//     - more than MaxElements elements, MaxDepth nesting, 64 attributes on
//     an element or 128 namespace declarations: bounded CPU and memory, and
//     element counts well below goxmldsig's 1000-node traversal limit (the
//     limit behind crewjam's pre-authentication panic);
//     - unbound prefixes, duplicate attributes (etree keeps the last one),
//     names with two colons, a second root: inputs on which two XML parsers
//     could disagree (the 2020 encoding/xml round-trip CVEs);
//     - duplicate ID values;
//     - any Assertion or EncryptedAssertion that is not a direct child of the
//     root Response, more than one of them, a nested Response, a Signature
//     anywhere but directly in the Response or the Assertion right after
//     the Issuer, two Signatures in one element, and ds:Object or
//     ds:Manifest in a Signature. Every XML signature wrapping permutation
//     (XSW1-8) and the multiple-assertion bypass (CVE-2022-41912) needs one
//     of these shapes, so they fail here, before any cryptography, and
//     the validator never has to guess which assertion was meant.
//     It also records each Signature's algorithms, Reference and KeyInfo
//     certificate, and the EncryptedAssertion's algorithms.
//
//  3. Status. A non-Success status is returned as ReasonStatus with the
//     IdP's codes and message, signed or not: it can only cause a rejection,
//     and it is what the admin needs to see ("user not assigned").
//
//  4. Algorithm policy (algorithms.go), still before cryptography: one
//     SignedInfo, one Reference whose URI is "#" + the ID of the
//     Signature's own parent, exclusive c14n only, RSA/ECDSA with
//     SHA-256/384/512 and SHA-256+ digests; SHA-1 only with AllowSHA1, with
//     an error that names the IdP setting. goxmldsig itself accepts SHA-1
//     and inclusive c14n. For encryption: RSA-OAEP key transport and AES
//     only; RSA PKCS#1 v1.5 (Bleichenbacher) and 3DES are refused.
//
//  5. Signatures (verify.go). If the Response is signed, goxmldsig verifies
//     it against the trusted certificates with the injected clock, and the
//     element it returns, re-parsed from the exact bytes it digested,
//     replaces the Response for everything that follows. The one Assertion
//     is taken from inside that verified Response; an EncryptedAssertion is
//     decrypted (decrypt.go) and its plaintext goes through steps 2 and 4
//     again. If the Assertion is signed it is verified the same way and,
//     again, only the returned element is read. If neither is signed, reject:
//     encryption is not authentication. The signing certificate must be
//     byte-identical to a configured one (no certificate substitution) and
//     valid now; expired and unknown certificates get distinct errors
//     because they are the two commonest rotation accidents.
//
//  6. Response checks (checkResponse). Version 2.0; IssueInstant within
//     the skew into the future and skew+MaxIssueDelay into the past (a
//     captured response cannot be used much later); Status Success;
//     Destination equal to the ACS URL, and required when the Response is
//     signed (SAML bindings §3.5.5.2); Issuer, when present, equal to the
//     IdP entity ID. When the Response is not signed these fields come
//     from the unverified envelope and are used only to reject, never to
//     identify anyone.
//
//  7. Assertion checks (checkAssertion), on verified content only: Version,
//     ID, IssueInstant as above; Issuer equal to the IdP entity ID (a
//     certificate may be shared by several IdP entities); exactly one
//     Conditions whose NotBefore/NotOnOrAfter include now (with skew), at
//     least one AudienceRestriction, each naming this SP (otherwise an
//     assertion for any other SP of the same IdP would work here), and no
//     unknown condition; exactly one Subject with exactly one NameID in the
//     SAML assertion namespace (GO-2026-6909), non-empty and free of
//     control characters, any Format; at least one bearer
//     SubjectConfirmation whose data has Recipient equal to the ACS URL, a
//     NotOnOrAfter still in the future, and an InResponseTo, if any, equal
//     to the Response's; at least one AuthnStatement, whose
//     SessionNotOnOrAfter, if any, has not passed. Text is read whole:
//     character data around a comment is concatenated, so the comment
//     injection trick (CVE-2017-11427 family) yields the full signed value.
//
// Parse recovers from any panic and returns ReasonInternal: an untrusted
// document must never be able to take down a worker.
//
// # What the caller must still do
//
//   - Choose cfg by the ACS URL's workspace, never by the Issuer in data.
//   - Check InResponseTo against the pending requests of this browser and
//     this workspace (consume the row atomically), or, if it is empty, that
//     the workspace allows IdP-initiated login.
//   - Insert (workspace, AssertionID) into the replay cache until
//     NotOnOrAfter, and accept only if the insert added a row.
//   - Show the browser only PublicMessage; log Error.Reason and Detail.
package response
