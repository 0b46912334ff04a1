package response

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	dsig "github.com/russellhaering/goxmldsig"
)

// vector is one document of the attack catalogue in
// /work/shared/research/saml.md §2.2, with the exact outcome Parse must
// produce. Rows the caller enforces say so in caller.
type vector struct {
	row    int
	name   string
	build  func(tb testing.TB, k *testKeys) []byte
	config func(c *Config, k *testKeys) // changes to testConfig, if any
	now    time.Time                    // zero means testNow
	want   Reason                       // "" means accept
	detail string                       // a substring the Detail must contain, if set
	check  func(t *testing.T, a *Assertion)
	caller string // the layer that enforces the rest of this row
}

func docWith(f func(*doc)) doc {
	x := newDoc()
	if f != nil {
		f(&x)
	}
	return x
}

// baselineA is research baseline (a): unsigned Response, signed Assertion.
func baselineA(tb testing.TB, k *testKeys) []byte {
	return signedAssertionResponse(tb, newDoc(), k.idpSigner())
}

// assertionSignedDoc builds baseline (a) from a changed doc.
func assertionSignedDoc(f func(*doc)) func(testing.TB, *testKeys) []byte {
	return func(tb testing.TB, k *testKeys) []byte { return signedAssertionResponse(tb, docWith(f), k.idpSigner()) }
}

func bothSignedDoc(f func(*doc)) func(testing.TB, *testKeys) []byte {
	return func(tb testing.TB, k *testKeys) []byte { return bothSigned(tb, docWith(f), k.idpSigner()) }
}

func withDoctype(decl string) func(testing.TB, *testKeys) []byte {
	return func(tb testing.TB, k *testKeys) []byte {
		return replaceOnce(tb, baselineA(tb, k), "?>", "?>"+decl)
	}
}

func replaceAlg(old, new string) func(testing.TB, *testKeys) []byte {
	return func(tb testing.TB, k *testKeys) []byte {
		return replaceOnce(tb, baselineA(tb, k), `Algorithm="`+old+`"`, `Algorithm="`+new+`"`)
	}
}

func assertionOf(root *etree.Element) *etree.Element { return firstChild(root, "Assertion") }

// baselineWant is what Parse returns for newDoc().
func baselineWant(responseSigned, assertionSigned bool) *Assertion {
	return &Assertion{
		ResponseID:   "_resp-1a2b3c",
		AssertionID:  "_assert-4d5e6f",
		InResponseTo: testRequestID,
		Issuer:       testIdPEntityID,
		NameID:       "alice@example.com",
		NameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
		SessionIndex: "_session-77",
		AuthnInstant: testNow.Add(-30 * time.Second),
		Attributes: map[string]Attribute{
			"email": {Name: "email", NameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", Values: []string{"alice@example.com"}},
			"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname": {
				Name: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname", FriendlyName: "givenName", Values: []string{"Alice"}},
			"groups": {Name: "groups", Values: []string{"engineering", "admins"}},
		},
		IssueInstant:    testNow,
		NotOnOrAfter:    testNow.Add(10*time.Minute + DefaultClockSkew), // Conditions (10 min) > SCD (5 min)
		ResponseSigned:  responseSigned,
		AssertionSigned: assertionSigned,
	}
}

func wantBaseline(responseSigned, assertionSigned bool) func(*testing.T, *Assertion) {
	return func(t *testing.T, a *Assertion) {
		t.Helper()
		want := baselineWant(responseSigned, assertionSigned)
		if diff := cmp.Diff(want, a, cmpopts.IgnoreFields(Assertion{}, "Certificate")); diff != "" {
			t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
		}
	}
}

func wantCert(get func(*testKeys) *x509.Certificate) func(*testing.T, *Assertion) {
	return func(t *testing.T, a *Assertion) {
		t.Helper()
		if want := get(loadKeys(t)); !want.Equal(a.Certificate) {
			t.Errorf("Certificate = %v, want %v", a.Certificate.Subject, want.Subject)
		}
	}
}

// catalogue returns every row of research §2.2, plus a few sub-cases
// (numbered with the row they belong to).
func catalogue() []vector {
	sha1 := signer{method: dsig.RSASHA1SignatureMethod}
	return []vector{
		{row: 1, name: "baseline (a): unsigned Response, signed Assertion", build: baselineA, check: wantBaseline(false, true)},
		{row: 2, name: "baseline (b): signed Response and Assertion",
			build: func(tb testing.TB, k *testKeys) []byte { return bothSigned(tb, newDoc(), k.idpSigner()) },
			check: wantBaseline(true, true)},
		{row: 3, name: "Response signed, Assertion not",
			build: func(tb testing.TB, k *testKeys) []byte { return responseOnlySigned(tb, newDoc(), k.idpSigner()) },
			check: wantBaseline(true, false)},
		{row: 4, name: "Assertion signed, bare unsigned envelope (Google Workspace default)",
			build: assertionSignedDoc(func(x *doc) { x.Destination, x.ResponseIssuer = "", "" }),
			check: wantBaseline(false, true)},
		{row: 5, name: "signature stripping", want: ReasonUnsigned,
			build: func(tb testing.TB, k *testKeys) []byte {
				return mutate(tb, bothSigned(tb, newDoc(), k.idpSigner()), func(r *etree.Element) {
					removeChildTag(r, "Signature")
					removeChildTag(assertionOf(r), "Signature")
				})
			}},
		{row: 6, name: "tamper with the NameID after signing", want: ReasonSignature,
			build: func(tb testing.TB, k *testKeys) []byte {
				return replaceOnce(tb, baselineA(tb, k), ">alice@example.com</saml:NameID>", ">admin@example.com</saml:NameID>")
			}},
		{row: 7, name: "certificate substitution: attacker key, attacker cert in KeyInfo", want: ReasonUntrustedCert, detail: "rotated",
			build: func(tb testing.TB, k *testKeys) []byte {
				return signedAssertionResponse(tb, newDoc(), signer{key: k.attacker, cert: k.attackerCert})
			}},
		{row: 7, name: "attacker key, no KeyInfo", want: ReasonSignature,
			build: func(tb testing.TB, k *testKeys) []byte {
				return signedAssertionResponse(tb, newDoc(), signer{key: k.attacker, cert: k.attackerCert, noKeyInfo: true})
			}},
		{row: 8, name: "XSW1: signed Response cloned into its own Signature", want: ReasonStructure,
			build: func(tb testing.TB, k *testKeys) []byte {
				return mutate(tb, responseOnlySigned(tb, newDoc(), k.idpSigner()), func(r *etree.Element) {
					clone := withoutSignature(r)
					appendChild(firstChild(r, "Signature"), clone)
					r.CreateAttr("ID", "_evil-response")
					evilify(assertionOf(r), "")
				})
			}},
		{row: 9, name: "XSW2: signed Response clone before the Signature", want: ReasonStructure,
			build: func(tb testing.TB, k *testKeys) []byte {
				return mutate(tb, responseOnlySigned(tb, newDoc(), k.idpSigner()), func(r *etree.Element) {
					clone := withoutSignature(r)
					insertBefore(r, firstChild(r, "Signature"), clone)
					r.CreateAttr("ID", "_evil-response")
					evilify(assertionOf(r), "")
				})
			}},
		{row: 10, name: "XSW3: evil Assertion before the signed one", want: ReasonStructure,
			build: func(tb testing.TB, k *testKeys) []byte {
				return mutate(tb, baselineA(tb, k), func(r *etree.Element) {
					a := assertionOf(r)
					evil := withoutSignature(a)
					evilify(evil, "_evil-assertion")
					insertBefore(r, a, evil)
				})
			}},
		{row: 11, name: "XSW4: signed Assertion moved inside an evil one", want: ReasonStructure,
			build: func(tb testing.TB, k *testKeys) []byte {
				return mutate(tb, baselineA(tb, k), func(r *etree.Element) {
					a := assertionOf(r)
					evil := withoutSignature(a)
					evilify(evil, "_evil-assertion")
					appendChild(evil, a.Copy())
					replaceChild(r, a, evil)
				})
			}},
		{row: 12, name: "XSW5: evil-ified signed Assertion plus an unsigned original", want: ReasonStructure,
			build: func(tb testing.TB, k *testKeys) []byte {
				return mutate(tb, baselineA(tb, k), func(r *etree.Element) {
					a := assertionOf(r)
					orig := withoutSignature(a)
					evilify(a, "_evil-assertion")
					appendChild(r, orig)
				})
			}},
		{row: 13, name: "XSW6: original inside the evil Assertion's Signature", want: ReasonStructure,
			build: func(tb testing.TB, k *testKeys) []byte {
				return mutate(tb, baselineA(tb, k), func(r *etree.Element) {
					a := assertionOf(r)
					orig := withoutSignature(a)
					evilify(a, "_evil-assertion")
					appendChild(firstChild(a, "Signature"), orig)
				})
			}},
		{row: 14, name: "XSW7: evil copy with the same ID in an unqualified Extensions", want: ReasonStructure,
			build: func(tb testing.TB, k *testKeys) []byte {
				return mutate(tb, baselineA(tb, k), func(r *etree.Element) {
					a := assertionOf(r)
					evil := withoutSignature(a)
					evilify(evil, "")
					ext := etree.NewElement("Extensions")
					appendChild(ext, evil)
					insertBefore(r, a, ext)
				})
			}},
		{row: 15, name: "XSW8: original in Signature/Object, evil Assertion keeps the ID", want: ReasonStructure,
			build: func(tb testing.TB, k *testKeys) []byte {
				return mutate(tb, baselineA(tb, k), func(r *etree.Element) {
					a := assertionOf(r)
					orig := withoutSignature(a)
					evilify(a, "")
					obj := etree.NewElement("ds:Object")
					appendChild(obj, orig)
					appendChild(firstChild(a, "Signature"), obj)
				})
			}},
		{row: 16, name: "multiple assertions: evil unsigned first", want: ReasonStructure,
			build: func(tb testing.TB, k *testKeys) []byte {
				x := newDoc()
				evil := docWith(func(e *doc) { e.AssertionID, e.NameID = "_evil", "admin@victim.example" })
				return []byte(x.response(evil.assertion() + signedAssertion(tb, x, k.idpSigner())))
			}},
		{row: 16, name: "multiple assertions: signed first", want: ReasonStructure,
			build: func(tb testing.TB, k *testKeys) []byte {
				x := newDoc()
				evil := docWith(func(e *doc) { e.AssertionID, e.NameID = "_evil", "admin@victim.example" })
				return []byte(x.response(signedAssertion(tb, x, k.idpSigner()) + evil.assertion()))
			}},
		{row: 17, name: "comment injection returns the full signed NameID",
			build: func(tb testing.TB, k *testKeys) []byte {
				signed := signedAssertionResponse(tb, docWith(func(x *doc) { x.NameID = "admin@victim.com.evil.test" }), k.idpSigner())
				return replaceOnce(tb, signed, "admin@victim.com.evil.test<", "admin@victim.com<!---->.evil.test<")
			},
			check: func(t *testing.T, a *Assertion) {
				if a.NameID != "admin@victim.com.evil.test" {
					t.Errorf("NameID = %q, want the full signed value", a.NameID)
				}
			}},
		{row: 18, name: "NameID in a foreign namespace (GO-2026-6909)", want: ReasonSubject, detail: "urn:evil",
			build: assertionSignedDoc(func(x *doc) { x.NameIDNamespace, x.NameID = "urn:evil", "victim" })},
		{row: 19, name: "replay: Parse accepts; the caller's replay cache keys on AssertionID until NotOnOrAfter",
			caller: "internal/saml ACS handler: INSERT (workspace, AssertionID) into the replay cache until Assertion.NotOnOrAfter; see TestReplayInputsAreStable",
			build:  baselineA, check: wantBaseline(false, true)},
		{row: 20, name: "SubjectConfirmationData NotOnOrAfter 10 min ago", want: ReasonExpired,
			build: assertionSignedDoc(func(x *doc) { x.SCDNotOnOrAfter = testNow.Add(-10 * time.Minute) })},
		{row: 20, name: "Conditions NotOnOrAfter 10 min ago", want: ReasonExpired,
			build: assertionSignedDoc(func(x *doc) { x.NotOnOrAfter = testNow.Add(-10 * time.Minute) })},
		{row: 21, name: "Conditions NotBefore 10 min ahead", want: ReasonNotYetValid,
			build: assertionSignedDoc(func(x *doc) { x.NotBefore = testNow.Add(10 * time.Minute) })},
		{row: 22, name: "stale IssueInstant (older than skew + max delay)", want: ReasonIssueInstant, detail: "older than",
			build: assertionSignedDoc(func(x *doc) {
				x.IssueInstant = testNow.Add(-DefaultClockSkew - DefaultMaxIssueDelay - time.Second)
				x.AssertionIssueInstant = x.IssueInstant
			})},
		{row: 22, name: "IssueInstant 2 min old with a 90 s window (crewjam's MaxIssueDelay)", want: ReasonIssueInstant,
			config: func(c *Config, _ *testKeys) { c.ClockSkew, c.MaxIssueDelay = 60*time.Second, 30*time.Second },
			build: assertionSignedDoc(func(x *doc) {
				x.IssueInstant = testNow.Add(-2 * time.Minute)
				x.AssertionIssueInstant = x.IssueInstant
			})},
		{row: 23, name: "IssueInstant 1 h ahead", want: ReasonIssueInstant, detail: "future",
			build: assertionSignedDoc(func(x *doc) { x.AssertionIssueInstant = testNow.Add(time.Hour) })},
		{row: 24, name: "Audience is another SP", want: ReasonAudience,
			build: assertionSignedDoc(func(x *doc) { x.Audience = "https://other-sp.example/metadata" })},
		{row: 25, name: "AudienceRestriction missing", want: ReasonAudience,
			build: assertionSignedDoc(func(x *doc) { x.NoAudienceRestriction = true })},
		{row: 26, name: "Conditions missing", want: ReasonConditions,
			build: assertionSignedDoc(func(x *doc) { x.NoConditions = true })},
		{row: 27, name: "Subject missing", want: ReasonSubject,
			build: assertionSignedDoc(func(x *doc) { x.NoSubject = true })},
		{row: 28, name: "SubjectConfirmation missing", want: ReasonSubjectConfirmation,
			build: assertionSignedDoc(func(x *doc) { x.NoSubjectConfirmation = true })},
		{row: 29, name: "Recipient is another ACS", want: ReasonRecipient,
			build: assertionSignedDoc(func(x *doc) { x.Recipient = "https://evil.example/acs" })},
		{row: 30, name: "Destination is another URL", want: ReasonDestination,
			build: bothSignedDoc(func(x *doc) { x.Destination = "https://evil.example/acs" })},
		{row: 30, name: "signed Response without Destination", want: ReasonDestination,
			build: bothSignedDoc(func(x *doc) { x.Destination = "" })},
		{row: 30, name: "unsigned envelope with a wrong Destination", want: ReasonDestination,
			build: assertionSignedDoc(func(x *doc) { x.Destination = "https://evil.example/acs" })},
		{row: 31, name: "InResponseTo of another request: returned for the caller to reject",
			caller: "internal/saml ACS handler: consume the pending request (request ID, workspace, browser) atomically; Parse only returns InResponseTo",
			build:  assertionSignedDoc(func(x *doc) { x.InResponseTo, x.SCDInResponseTo = "id-other", "id-other" }),
			check: func(t *testing.T, a *Assertion) {
				if a.InResponseTo != "id-other" {
					t.Errorf("InResponseTo = %q, want id-other", a.InResponseTo)
				}
			}},
		{row: 31, name: "assertion InResponseTo differs from the Response's", want: ReasonInResponseTo,
			build: assertionSignedDoc(func(x *doc) { x.SCDInResponseTo = "id-other" })},
		{row: 32, name: "wrong Assertion Issuer, trusted key", want: ReasonIssuer,
			build: assertionSignedDoc(func(x *doc) { x.Issuer = "https://other-idp.example" })},
		{row: 32, name: "wrong Response Issuer, trusted key", want: ReasonIssuer,
			build: bothSignedDoc(func(x *doc) { x.ResponseIssuer = "https://other-idp.example" })},
		{row: 33, name: "cross-tenant: workspace B trusts another IdP certificate", want: ReasonUntrustedCert,
			caller: "internal/saml ACS handler: choose the Config by the ACS URL's workspace, never by the Issuer",
			build:  baselineA, config: workspaceB(false)},
		{row: 33, name: "cross-tenant: workspace B uses the same IdP", want: ReasonDestination,
			build: bothSignedDoc(nil), config: workspaceB(true)},
		{row: 33, name: "cross-tenant: same IdP, unsigned envelope without Destination", want: ReasonAudience,
			build: assertionSignedDoc(func(x *doc) { x.Destination = "" }), config: workspaceB(true)},
		{row: 34, name: "Status Responder with a valid assertion", want: ReasonStatus, detail: "Responder/RequestDenied: User is not assigned",
			build: assertionSignedDoc(func(x *doc) {
				x.StatusCode = "urn:oasis:names:tc:SAML:2.0:status:Responder"
				x.SubStatusCode = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"
				x.StatusMessage = "User is not assigned to this application"
			})},
		{row: 35, name: "DOCTYPE with an internal entity", want: ReasonForbiddenXML,
			build: withDoctype(`<!DOCTYPE r [<!ENTITY x "evil">]>`)},
		{row: 36, name: "XXE", want: ReasonForbiddenXML,
			build: func(tb testing.TB, k *testKeys) []byte {
				b := replaceOnce(tb, baselineA(tb, k), "?>", `?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>`)
				return replaceOnce(tb, b, ">alice@example.com</saml:NameID>", ">&xxe;</saml:NameID>")
			}},
		{row: 37, name: "billion laughs", want: ReasonForbiddenXML,
			build: withDoctype(`<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>`)},
		{row: 38, name: "bare DOCTYPE", want: ReasonForbiddenXML, build: withDoctype(`<!DOCTYPE samlp:Response>`)},
		{row: 38, name: "processing instruction", want: ReasonForbiddenXML, build: withDoctype(`<?xml-stylesheet href="x"?>`)},
		{row: 39, name: "RSA-SHA1 refused by default", want: ReasonSHA1, detail: "OneLogin: SAML Signature Algorithm",
			build: func(tb testing.TB, k *testKeys) []byte {
				s := sha1
				s.key, s.cert = k.idp, k.idpCert
				return signedAssertionResponse(tb, newDoc(), s)
			}},
		{row: 39, name: "RSA-SHA1 accepted when the workspace allows it",
			config: func(c *Config, _ *testKeys) { c.AllowSHA1 = true },
			build: func(tb testing.TB, k *testKeys) []byte {
				s := sha1
				s.key, s.cert = k.idp, k.idpCert
				return signedAssertionResponse(tb, newDoc(), s)
			}, check: wantBaseline(false, true)},
		{row: 39, name: "SHA-1 digest alone is refused", want: ReasonSHA1, build: replaceAlg(digestSHA256, digestSHA1)},
		{row: 40, name: "hmac-sha1 SignatureMethod", want: ReasonAlgorithm,
			build: replaceAlg(dsig.RSASHA256SignatureMethod, "http://www.w3.org/2000/09/xmldsig#hmac-sha1")},
		{row: 40, name: "rsa-md5 SignatureMethod", want: ReasonAlgorithm,
			build: replaceAlg(dsig.RSASHA256SignatureMethod, "http://www.w3.org/2001/04/xmldsig-more#rsa-md5")},
		{row: 40, name: `SignatureMethod "none"`, want: ReasonAlgorithm, build: replaceAlg(dsig.RSASHA256SignatureMethod, "none")},
		{row: 40, name: "md5 digest", want: ReasonAlgorithm, build: replaceAlg(digestSHA256, "http://www.w3.org/2001/04/xmldsig-more#md5")},
		{row: 40, name: "inclusive c14n", want: ReasonAlgorithm,
			build: func(tb testing.TB, k *testKeys) []byte {
				b := baselineA(tb, k)
				return bytes.ReplaceAll(b, []byte(c14nExclusive), []byte(dsig.CanonicalXML10RecAlgorithmId))
			}},
		{row: 40, name: "XSLT transform", want: ReasonAlgorithm,
			build: replaceAlg(transformEnveloped, "http://www.w3.org/TR/1999/REC-xslt-19991116")},
		{row: 41, name: "1,100 elements and a dummy Signature, before authentication", want: ReasonTooLarge,
			build: func(tb testing.TB, k *testKeys) []byte {
				x := newDoc()
				return []byte(x.response(`<saml:Assertion ID="_big" Version="2.0" IssueInstant="` + ts(testNow) + `"><saml:Issuer>` + testIdPEntityID +
					`</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/>` + strings.Repeat("<a/>", 1100) + `</saml:Assertion>`))
			}},
		{row: 41, name: "a signed assertion over the element limit", want: ReasonTooLarge,
			build: func(tb testing.TB, k *testKeys) []byte {
				x := newDoc()
				vals := make([]string, 900)
				for i := range vals {
					vals[i] = fmt.Sprintf("group-%d", i)
				}
				x.Attributes = append(x.Attributes, Attribute{Name: "huge", Values: vals})
				return signedAssertionResponse(tb, x, k.idpSigner())
			}},
		{row: 42, name: "a 2 MiB response is refused before parsing", want: ReasonTooLarge,
			caller: "HTTP layer: http.MaxBytesReader on the ACS body; nothing in internal/saml inflates (TestNoInflate)",
			build: func(tb testing.TB, k *testKeys) []byte {
				return replaceOnce(tb, baselineA(tb, k), "</samlp:Status>", "</samlp:Status><!--"+strings.Repeat("x", 2<<20)+"-->")
			}},
		{row: 43, name: "RelayState open redirect",
			caller: "ACS handler: RelayState is an opaque handle to a stored request, or a same-origin path; Parse never sees it (authn: TestRelayStateLimit)"},
		{row: 44, name: "unsolicited response carrying another session's request ID: the signed InResponseTo survives",
			caller: "ACS handler: a non-empty InResponseTo must match a pending request of this browser, even when IdP-initiated login is allowed",
			build: func(tb testing.TB, k *testKeys) []byte {
				b := signedAssertionResponse(tb, docWith(func(x *doc) { x.SCDInResponseTo = "_victims-request" }), k.idpSigner())
				return replaceOnce(tb, b, ` InResponseTo="`+testRequestID+`"`, "")
			},
			check: func(t *testing.T, a *Assertion) {
				if a.InResponseTo != "_victims-request" {
					t.Errorf("InResponseTo = %q, want the signed _victims-request", a.InResponseTo)
				}
			}},
		{row: 45, name: "login CSRF / session swap",
			caller: "ACS handler: bind the response to the browser (303 to /sso/complete with a one-time code checked against a Lax cookie); a valid response is indistinguishable here"},
		{row: 46, name: "expired IdP certificate", want: ReasonCertExpired, detail: "expired on 2021-01-01",
			config: func(c *Config, k *testKeys) { c.IdPCertificates = []*x509.Certificate{k.expiredCert} },
			build: func(tb testing.TB, k *testKeys) []byte {
				return signedAssertionResponse(tb, newDoc(), signer{key: k.idp, cert: k.expiredCert})
			}},
		{row: 46, name: "expired IdP certificate, no KeyInfo", want: ReasonCertExpired,
			config: func(c *Config, k *testKeys) { c.IdPCertificates = []*x509.Certificate{k.expiredCert} },
			build: func(tb testing.TB, k *testKeys) []byte {
				return signedAssertionResponse(tb, newDoc(), signer{key: k.idp, cert: k.expiredCert, noKeyInfo: true})
			}},
		{row: 47, name: "rotation: old and new trusted, signed by the new key",
			config: rotation, check: wantCert(func(k *testKeys) *x509.Certificate { return k.idp2Cert }),
			build: func(tb testing.TB, k *testKeys) []byte {
				return signedAssertionResponse(tb, newDoc(), signer{key: k.idp2, cert: k.idp2Cert})
			}},
		{row: 47, name: "rotation: old and new trusted, signed by the old key",
			config: rotation, build: baselineA, check: wantCert(func(k *testKeys) *x509.Certificate { return k.idpCert })},
		{row: 47, name: "rotation: old and new trusted, new key, no KeyInfo",
			config: rotation, check: wantCert(func(k *testKeys) *x509.Certificate { return k.idp2Cert }),
			build: func(tb testing.TB, k *testKeys) []byte {
				return signedAssertionResponse(tb, newDoc(), signer{key: k.idp2, cert: k.idp2Cert, noKeyInfo: true})
			}},
		{row: 47, name: "rotation: only the old certificate trusted, signed by the new key", want: ReasonUntrustedCert,
			build: func(tb testing.TB, k *testKeys) []byte {
				return signedAssertionResponse(tb, newDoc(), signer{key: k.idp2, cert: k.idp2Cert})
			}},
		{row: 48, name: "EncryptedAssertion of an unsigned Assertion in an unsigned Response", want: ReasonUnsigned,
			build: func(tb testing.TB, k *testKeys) []byte {
				x := newDoc()
				return []byte(x.response(defaultEncryption.encrypt(tb, x.assertion(), &k.sp.PublicKey)))
			}},
		{row: 48, name: "EncryptedAssertion of a signed Assertion",
			check: func(t *testing.T, a *Assertion) {
				if !a.Encrypted || !a.AssertionSigned || a.NameID != "alice@example.com" {
					t.Errorf("got Encrypted=%v AssertionSigned=%v NameID=%q", a.Encrypted, a.AssertionSigned, a.NameID)
				}
			},
			build: func(tb testing.TB, k *testKeys) []byte {
				x := newDoc()
				return []byte(x.response(defaultEncryption.encrypt(tb, signedAssertion(tb, x, k.idpSigner()), &k.sp.PublicKey)))
			}},
		{row: 49, name: "a LogoutRequest posted to the ACS", want: ReasonMalformed,
			caller: "SLO is not implemented; a future SLO endpoint must verify POST signatures and Redirect query signatures itself",
			build: func(tb testing.TB, k *testKeys) []byte {
				return []byte(`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_l" Version="2.0" IssueInstant="` +
					ts(testNow) + `"><saml:Issuer>` + testIdPEntityID + `</saml:Issuer><saml:NameID>alice@example.com</saml:NameID></samlp:LogoutRequest>`)
			}},
	}
}

func rotation(c *Config, k *testKeys) {
	c.IdPCertificates = []*x509.Certificate{k.idpCert, k.idp2Cert}
}

// workspaceB is another workspace: its own SP entity ID and ACS URL, and
// either the same IdP as workspace A or another one.
func workspaceB(sameIdP bool) func(*Config, *testKeys) {
	return func(c *Config, k *testKeys) {
		c.SPEntityID = "https://rollcall.test/saml/ws-b/metadata"
		c.ACSURL = "https://rollcall.test/saml/ws-b/acs"
		if !sameIdP {
			c.IdPCertificates = []*x509.Certificate{k.idp2Cert}
		}
	}
}

func (v vector) cfg(tb testing.TB) *Config {
	c := testConfig(tb)
	if v.config != nil {
		v.config(c, loadKeys(tb))
	}
	return c
}

func TestCatalogue(t *testing.T) {
	k := loadKeys(t)
	rows := map[int]bool{}
	for _, v := range catalogue() {
		rows[v.row] = true
		t.Run(fmt.Sprintf("%02d %s", v.row, v.name), func(t *testing.T) {
			t.Parallel()
			if v.caller != "" {
				t.Logf("enforced by the caller: %s", v.caller)
			}
			if v.build == nil {
				t.Skipf("row %d belongs to the caller: %s", v.row, v.caller)
			}
			now := v.now
			if now.IsZero() {
				now = testNow
			}
			data := v.build(t, k)
			a, err := Parse(data, v.cfg(t), now)
			checkOutcome(t, a, err, v.want, v.detail)
			if err == nil && v.check != nil {
				v.check(t, a)
			}
		})
	}
	for r := 1; r <= 49; r++ {
		if !rows[r] {
			t.Errorf("catalogue row %d has no vector", r)
		}
	}
}

func checkOutcome(t *testing.T, a *Assertion, err error, want Reason, detail string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("Parse() = %v, want success", err)
		}
		if a == nil {
			t.Fatal("Parse() = nil, nil")
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse() = %v, %v; want *Error with reason %s", a, err, want)
	}
	if a != nil {
		t.Errorf("Parse() returned an Assertion with an error")
	}
	if e.Reason != want {
		t.Fatalf("Parse() reason = %s (%v), want %s", e.Reason, err, want)
	}
	if detail != "" && !strings.Contains(e.Detail, detail) {
		t.Errorf("Parse() detail = %q, want it to contain %q", e.Detail, detail)
	}
}

// TestReplayInputsAreStable backs row 19: the caller's replay cache needs a
// stable key and an expiry after which Parse itself rejects the assertion.
func TestReplayInputsAreStable(t *testing.T) {
	k := loadKeys(t)
	data := baselineA(t, k)
	cfg := testConfig(t)
	first, err := Parse(data, cfg, testNow)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Parse(data, cfg, testNow.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if first.AssertionID != second.AssertionID || !first.NotOnOrAfter.Equal(second.NotOnOrAfter) {
		t.Errorf("replay key changed: %s/%v then %s/%v", first.AssertionID, first.NotOnOrAfter, second.AssertionID, second.NotOnOrAfter)
	}
	if want := testNow.Add(10*time.Minute + DefaultClockSkew); !first.NotOnOrAfter.Equal(want) {
		t.Errorf("NotOnOrAfter = %v, want %v (Conditions NotOnOrAfter + skew)", first.NotOnOrAfter, want)
	}
	// Once the cache entry may be dropped, Parse must reject on its own.
	if _, err := Parse(data, cfg, first.NotOnOrAfter); err == nil {
		t.Errorf("Parse() at NotOnOrAfter succeeded; the replay cache entry would expire too early")
	}
}
