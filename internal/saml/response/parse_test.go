package response

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"
)

// TestEncryption covers the XML-Enc algorithms and key handling beyond
// catalogue row 48.
func TestEncryption(t *testing.T) {
	k := loadKeys(t)
	signedInner := func(tb testing.TB) string { return signedAssertion(tb, newDoc(), k.idpSigner()) }
	tests := []struct {
		name   string
		enc    encryption
		to     *rsa.PublicKey // default: the current SP key
		keys   func(*testKeys) []*rsa.PrivateKey
		build  func(tb testing.TB, enc string) []byte // default: unsigned Response around enc
		inner  func(tb testing.TB) string             // default: signed Assertion
		mangle func(tb testing.TB, b []byte) []byte
		want   Reason
	}{
		{name: "rsa-oaep-mgf1p + aes128-cbc (SimpleSAMLphp)", enc: defaultEncryption},
		{name: "rsa-oaep-mgf1p sha256 digest + aes256-cbc (Okta)", enc: encryption{keyAlg: encRSAOAEPMGF1P, dataAlg: encAES256CBC, digest: crypto.SHA256}},
		{name: "aes192-cbc", enc: encryption{keyAlg: encRSAOAEPMGF1P, dataAlg: encAES192CBC}},
		{name: "xmlenc11 rsa-oaep mgf1sha256 + aes256-gcm", enc: encryption{keyAlg: encRSAOAEP, dataAlg: encAES256GCM, digest: crypto.SHA256, mgf: crypto.SHA256}},
		{name: "xmlenc11 rsa-oaep default MGF + aes128-gcm", enc: encryption{keyAlg: encRSAOAEP, dataAlg: encAES128GCM}},
		{name: "EncryptedKey beside EncryptedData", enc: encryption{keyAlg: encRSAOAEPMGF1P, dataAlg: encAES128CBC, siblingKey: true}},
		{name: "SP key rollover: encrypted to the next key", enc: defaultEncryption, to: &k.sp2.PublicKey,
			keys: func(k *testKeys) []*rsa.PrivateKey { return []*rsa.PrivateKey{k.sp, k.sp2} }},
		{name: "encrypted to a key the SP does not hold", enc: defaultEncryption, to: &k.sp2.PublicKey, want: ReasonDecrypt},
		{name: "no SP decryption key configured", enc: defaultEncryption, keys: func(*testKeys) []*rsa.PrivateKey { return nil }, want: ReasonDecrypt},
		{name: "rsa-1_5 key transport is refused", enc: encryption{keyAlg: encRSA15, dataAlg: encAES128CBC}, want: ReasonAlgorithm},
		{name: "3DES is refused", enc: encryption{keyAlg: encRSAOAEPMGF1P, dataAlg: enc3DES}, want: ReasonAlgorithm},
		{name: "signed Response around an unsigned encrypted Assertion", enc: defaultEncryption,
			inner: func(tb testing.TB) string { return newDoc().assertion() },
			build: func(tb testing.TB, enc string) []byte {
				x := newDoc()
				return k.idpSigner().sign(tb, []byte(x.response(enc)), signResponse)
			}},
		{name: "decrypted plaintext is not XML", enc: defaultEncryption, want: ReasonDecrypt,
			inner: func(tb testing.TB) string { return "not <xml" }},
		{name: "decrypted plaintext has a DOCTYPE", enc: defaultEncryption, want: ReasonDecrypt,
			inner: func(tb testing.TB) string { return `<!DOCTYPE x>` + signedInner(tb) }},
		{name: "decrypted plaintext is a Response", enc: defaultEncryption, want: ReasonDecrypt,
			inner: func(tb testing.TB) string { x := newDoc(); return x.response("") }},
		{name: "decrypted assertion signed with SHA-1", enc: defaultEncryption, want: ReasonSHA1,
			inner: func(tb testing.TB) string {
				return signedAssertion(tb, newDoc(), signer{key: k.idp, cert: k.idpCert, method: "http://www.w3.org/2000/09/xmldsig#rsa-sha1"})
			}},
		{name: "CBC ciphertext with a flipped last byte", enc: defaultEncryption, want: ReasonDecrypt,
			mangle: flipCipherByte},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			inner := signedInner
			if tc.inner != nil {
				inner = tc.inner
			}
			to := &k.sp.PublicKey
			if tc.to != nil {
				to = tc.to
			}
			enc := tc.enc.encrypt(t, inner(t), to)
			var data []byte
			if tc.build != nil {
				data = tc.build(t, enc)
			} else {
				x := newDoc()
				data = []byte(x.response(enc))
			}
			if tc.mangle != nil {
				data = tc.mangle(t, data)
			}
			cfg := testConfig(t)
			if tc.keys != nil {
				cfg.DecryptionKeys = tc.keys(k)
			}
			a, err := Parse(data, cfg, testNow)
			checkOutcome(t, a, err, tc.want, "")
			if err == nil {
				if !a.Encrypted || a.NameID != "alice@example.com" {
					t.Errorf("Parse() = Encrypted %v NameID %q", a.Encrypted, a.NameID)
				}
			}
		})
	}
}

// flipCipherByte corrupts the last byte of the EncryptedData's ciphertext,
// which with CBC changes the padding byte: the padding-oracle probe.
func flipCipherByte(tb testing.TB, data []byte) []byte {
	return mutate(tb, data, func(r *etree.Element) {
		cv := r.FindElement("./EncryptedAssertion/EncryptedData/CipherData/CipherValue")
		if cv == nil {
			tb.Fatal("no CipherValue")
		}
		b := []byte(cv.Text())
		i := len(b) - 3 // inside the last full base64 quantum
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		cv.SetText(string(b))
	})
}

// TestDecryptionFailuresLookAlike: whatever fails inside decryption, the
// error is byte-for-byte the same.
func TestDecryptionFailuresLookAlike(t *testing.T) {
	k := loadKeys(t)
	x := newDoc()
	cfg := testConfig(t)
	wrongKey := []byte(x.response(defaultEncryption.encrypt(t, x.assertion(), &k.sp2.PublicKey)))
	badPadding := flipCipherByte(t, []byte(x.response(defaultEncryption.encrypt(t, x.assertion(), &k.sp.PublicKey))))
	notXML := []byte(x.response(defaultEncryption.encrypt(t, "\x00\x01 garbage", &k.sp.PublicKey)))
	var msgs []string
	for _, data := range [][]byte{wrongKey, badPadding, notXML} {
		_, err := Parse(data, cfg, testNow)
		var e *Error
		if !errors.As(err, &e) || e.Reason != ReasonDecrypt {
			t.Fatalf("Parse() = %v, want %s", err, ReasonDecrypt)
		}
		msgs = append(msgs, err.Error())
	}
	for _, m := range msgs[1:] {
		if m != msgs[0] {
			t.Errorf("decryption errors differ:\n%s\n%s", msgs[0], m)
		}
	}
}

// TestParseChecks covers checks beyond the catalogue rows.
func TestParseChecks(t *testing.T) {
	k := loadKeys(t)
	tests := []struct {
		name   string
		build  func(tb testing.TB) []byte
		config func(*Config)
		want   Reason
		check  func(t *testing.T, a *Assertion)
	}{
		{name: "ECDSA-SHA256 signature",
			build: func(tb testing.TB) []byte {
				return signedAssertionResponse(tb, newDoc(), signer{key: k.ec, cert: k.ecCert})
			},
			config: func(c *Config) { c.IdPCertificates = []*x509.Certificate{k.ecCert} }},
		{name: "JumpCloud SAML 1.0 unspecified NameID format",
			build: assertionSignedDocTB(func(x *doc) { x.NameIDFormat = "urn:oasis:names:tc:SAML:1.0:nameid-format:unspecified" }),
			check: func(t *testing.T, a *Assertion) {
				if a.NameIDFormat != "urn:oasis:names:tc:SAML:1.0:nameid-format:unspecified" {
					t.Errorf("NameIDFormat = %q", a.NameIDFormat)
				}
			}},
		{name: "NameID without Format", build: assertionSignedDocTB(func(x *doc) { x.NameIDFormat = "" })},
		{name: "empty NameID", want: ReasonSubject, build: assertionSignedDocTB(func(x *doc) { x.NameID = "" })},
		{name: "NameID with a newline", want: ReasonSubject, build: assertionSignedDocTB(func(x *doc) { x.NameID = "alice\nadmin" })},
		{name: "NameID with a C1 control", want: ReasonSubject, build: assertionSignedDocTB(func(x *doc) { x.NameID = "alice\u0085" })},
		{name: "two NameIDs", want: ReasonSubject,
			build: assertionSignedDocTB(func(x *doc) { x.NameIDRaw = `<saml:NameID>alice</saml:NameID><saml:NameID>bob</saml:NameID>` })},
		{name: "EncryptedID", want: ReasonSubject,
			build: assertionSignedDocTB(func(x *doc) { x.NameIDRaw = `<saml:EncryptedID/>` })},
		{name: "NameID with a child element", want: ReasonSubject,
			build: assertionSignedDocTB(func(x *doc) { x.NameIDRaw = `<saml:NameID>alice<b/></saml:NameID>` })},
		{name: "SCD without NotOnOrAfter", want: ReasonSubjectConfirmation,
			build: assertionSignedDocTB(func(x *doc) { x.SCDNotOnOrAfter = time.Time{} })},
		{name: "SCD without Recipient", want: ReasonRecipient, build: assertionSignedDocTB(func(x *doc) { x.Recipient = "" })},
		{name: "SCD without InResponseTo (IdP-initiated)",
			build: assertionSignedDocTB(func(x *doc) { x.SCDInResponseTo, x.InResponseTo = "", "" }),
			check: func(t *testing.T, a *Assertion) {
				if a.InResponseTo != "" {
					t.Errorf("InResponseTo = %q, want empty", a.InResponseTo)
				}
			}},
		{name: "no AuthnStatement", want: ReasonAuthnStatement, build: assertionSignedDocTB(func(x *doc) { x.NoAuthnStatement = true })},
		{name: "Assertion Version 1.1", want: ReasonVersion,
			build: func(tb testing.TB) []byte {
				x := newDoc()
				a := strings.Replace(x.assertion(), `Version="2.0"`, `Version="1.1"`, 1)
				return k.idpSigner().sign(tb, []byte(x.response(a)), signAssertion)
			}},
		{name: "Conditions without times", build: assertionSignedDocTB(func(x *doc) { x.NotBefore, x.NotOnOrAfter = time.Time{}, time.Time{} }),
			check: func(t *testing.T, a *Assertion) {
				if want := testNow.Add(5*time.Minute + DefaultClockSkew); !a.NotOnOrAfter.Equal(want) {
					t.Errorf("NotOnOrAfter = %v, want SCD NotOnOrAfter + skew %v", a.NotOnOrAfter, want)
				}
			}},
		{name: "clock skew tolerates an IdP 2 min ahead",
			build: assertionSignedDocTB(func(x *doc) {
				x.IssueInstant, x.AssertionIssueInstant, x.NotBefore = testNow.Add(2*time.Minute), testNow.Add(2*time.Minute), testNow.Add(2*time.Minute)
			})},
		{name: "signed Response around an Assertion whose own signature is broken", want: ReasonSignature,
			build: func(tb testing.TB) []byte {
				b := signedAssertionResponse(tb, newDoc(), k.idpSigner())
				b = mutate(tb, b, func(r *etree.Element) {
					sv := assertionOf(r).FindElement("./Signature/SignatureValue")
					sv.SetText("AAAA" + sv.Text()[4:])
				})
				return k.idpSigner().sign(tb, b, signResponse)
			}},
		{name: "KeyInfo with only a KeyName, two trusted certificates",
			config: func(c *Config) { rotation(c, k) },
			build: func(tb testing.TB) []byte {
				b := signedAssertionResponse(tb, newDoc(), signer{key: k.idp2, cert: k.idp2Cert, noKeyInfo: true})
				return replaceOnce(tb, b, "</ds:SignatureValue>", "</ds:SignatureValue><ds:KeyInfo><ds:KeyName>idp</ds:KeyName></ds:KeyInfo>")
			}},
		{name: "a Status message is carried in Error.Status", want: ReasonStatus,
			build: func(tb testing.TB) []byte {
				x := newDoc()
				x.StatusCode, x.SubStatusCode, x.StatusMessage = "urn:oasis:names:tc:SAML:2.0:status:Requester", "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy", "bad policy"
				return []byte(x.response(""))
			}},
		{name: "Success without an assertion", want: ReasonStructure,
			build: func(tb testing.TB) []byte { x := newDoc(); return []byte(x.response("")) }},
		{name: "Attributes are merged across statements and xsi:nil is skipped",
			build: func(tb testing.TB) []byte {
				x := newDoc()
				extra := `<saml:AttributeStatement><saml:Attribute Name="groups"><saml:AttributeValue>ops</saml:AttributeValue><saml:AttributeValue xsi:nil="true"/></saml:Attribute></saml:AttributeStatement></saml:Assertion>`
				a := strings.Replace(x.assertion(), `</saml:Assertion>`, extra, 1)
				return k.idpSigner().sign(tb, []byte(x.response(a)), signAssertion)
			},
			check: func(t *testing.T, a *Assertion) {
				if diff := cmp.Diff([]string{"engineering", "admins", "ops"}, a.Attributes["groups"].Values); diff != "" {
					t.Errorf("groups (-want +got):\n%s", diff)
				}
				if a.First("email") != "alice@example.com" || a.First("missing") != "" {
					t.Errorf("First() = %q / %q", a.First("email"), a.First("missing"))
				}
			}},
		{name: "OneTimeUse is accepted", build: conditionsExtra(`<saml:OneTimeUse/>`)},
		{name: "an unknown Condition is refused", want: ReasonConditions, build: conditionsExtra(`<saml:Condition xsi:type="x:Mine"/>`)},
		{name: "every AudienceRestriction must name the SP", want: ReasonAudience,
			build: conditionsExtra(`<saml:AudienceRestriction><saml:Audience>https://other.example</saml:Audience></saml:AudienceRestriction>`)},
		{name: "SessionNotOnOrAfter in the past", want: ReasonExpired,
			build: func(tb testing.TB) []byte {
				x := newDoc()
				a := strings.Replace(x.assertion(), `SessionIndex=`, `SessionNotOnOrAfter="`+ts(testNow.Add(-time.Hour))+`" SessionIndex=`, 1)
				return k.idpSigner().sign(tb, []byte(x.response(a)), signAssertion)
			}},
		{name: "a large but legal assertion (800 group values)",
			build: func(tb testing.TB) []byte {
				x := newDoc()
				vals := make([]string, 800)
				for i := range vals {
					vals[i] = "group-" + strconv.Itoa(i)
				}
				x.Attributes = append(x.Attributes, Attribute{Name: "many", Values: vals})
				return bothSigned(tb, x, k.idpSigner())
			},
			check: func(t *testing.T, a *Assertion) {
				if n := len(a.Attributes["many"].Values); n != 800 {
					t.Errorf("got %d values", n)
				}
			}},
		{name: "Signature not directly after the Issuer", want: ReasonStructure,
			build: func(tb testing.TB) []byte {
				return mutate(tb, baselineA(tb, k), func(r *etree.Element) {
					a := assertionOf(r)
					sig := firstChild(a, "Signature")
					removeChildTag(a, "Signature")
					appendChild(a, sig)
				})
			}},
		{name: "Reference to the whole document", want: ReasonStructure,
			build: func(tb testing.TB) []byte {
				return replaceOnce(tb, baselineA(tb, k), `URI="#_assert-4d5e6f"`, `URI=""`)
			}},
		{name: "duplicate attribute", want: ReasonMalformed,
			build: func(tb testing.TB) []byte {
				return replaceOnce(tb, baselineA(tb, k), `<samlp:Response `, `<samlp:Response ID="_dup" `)
			}},
		{name: "prefixed ID beside the ID", want: ReasonMalformed,
			build: func(tb testing.TB) []byte {
				return replaceOnce(tb, baselineA(tb, k), `<samlp:Response `, `<samlp:Response saml:ID="_dup" `)
			}},
		{name: "undeclared prefix", want: ReasonMalformed,
			build: func(tb testing.TB) []byte {
				return replaceOnce(tb, baselineA(tb, k), `</samlp:Status>`, `</samlp:Status><q:x/>`)
			}},
		{name: "second root element", want: ReasonMalformed,
			build: func(tb testing.TB) []byte { return append(baselineA(tb, k), "<x/>"...) }},
		{name: "UTF-16 declaration", want: ReasonMalformed,
			build: func(tb testing.TB) []byte {
				return replaceOnce(tb, baselineA(tb, k), `encoding="UTF-8"`, `encoding="UTF-16"`)
			}},
		{name: "UTF-8 byte order mark", build: func(tb testing.TB) []byte { return append([]byte("\uFEFF"), baselineA(tb, k)...) }},
		{name: "depth limit", want: ReasonTooLarge,
			build: func(tb testing.TB) []byte {
				return replaceOnce(tb, baselineA(tb, k), `</samlp:Status>`, `</samlp:Status>`+strings.Repeat("<x>", 40)+strings.Repeat("</x>", 40))
			}},
		{name: "namespace declaration flood", want: ReasonTooLarge,
			build: func(tb testing.TB) []byte {
				var b strings.Builder
				for e := range 3 { // 150 declarations, 50 per element (under the attribute cap)
					b.WriteString("<x")
					for i := range 50 {
						fmt.Fprintf(&b, ` xmlns:p%d_%d="urn:x"`, e, i)
					}
					b.WriteString("/>")
				}
				return replaceOnce(tb, baselineA(tb, k), `</samlp:Status>`, `</samlp:Status>`+b.String())
			}},
		{name: "attribute flood", want: ReasonTooLarge,
			build: func(tb testing.TB) []byte {
				var b strings.Builder
				for i := range 65 {
					fmt.Fprintf(&b, ` a%d="x"`, i)
				}
				return replaceOnce(tb, baselineA(tb, k), `</samlp:Status>`, `</samlp:Status><x`+b.String()+`/>`)
			}},
		{name: "smaller configured limit", want: ReasonTooLarge, config: func(c *Config) { c.Limits.MaxBytes = 1000 }, build: func(tb testing.TB) []byte { return baselineA(tb, k) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			if tc.config != nil {
				tc.config(cfg)
			}
			a, err := Parse(tc.build(t), cfg, testNow)
			t.Logf("Parse() error: %v", err)
			checkOutcome(t, a, err, tc.want, "")
			if err == nil && tc.check != nil {
				tc.check(t, a)
			}
		})
	}
}

func conditionsExtra(xmlText string) func(testing.TB) []byte {
	return func(tb testing.TB) []byte {
		k := loadKeys(tb)
		x := newDoc()
		a := strings.Replace(x.assertion(), `</saml:AudienceRestriction>`, `</saml:AudienceRestriction>`+xmlText, 1)
		a = strings.Replace(a, `<saml:Assertion `, `<saml:Assertion xmlns:x="urn:x" `, 1)
		return k.idpSigner().sign(tb, []byte(x.response(a)), signAssertion)
	}
}

func assertionSignedDocTB(f func(*doc)) func(testing.TB) []byte {
	return func(tb testing.TB) []byte { return assertionSignedDoc(f)(tb, loadKeys(tb)) }
}

func TestStatusError(t *testing.T) {
	x := newDoc()
	x.StatusCode = "urn:oasis:names:tc:SAML:2.0:status:Responder"
	x.SubStatusCode = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
	x.StatusMessage = "MFA failed"
	_, err := Parse([]byte(x.response("")), testConfig(t), testNow)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse() = %v", err)
	}
	want := &Status{Code: "urn:oasis:names:tc:SAML:2.0:status:Responder", SubCodes: []string{"urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"}, Message: "MFA failed"}
	if diff := cmp.Diff(want, e.Status); diff != "" {
		t.Errorf("Status (-want +got):\n%s", diff)
	}
	if got := e.Status.String(); got != "Responder/AuthnFailed: MFA failed" {
		t.Errorf("Status.String() = %q", got)
	}
}

func TestConfigErrors(t *testing.T) {
	k := loadKeys(t)
	data := baselineA(t, k)
	tests := []struct {
		name string
		cfg  func(*Config) *Config
		now  time.Time
	}{
		{"nil config", func(*Config) *Config { return nil }, testNow},
		{"no SP entity ID", func(c *Config) *Config { c.SPEntityID = ""; return c }, testNow},
		{"no ACS URL", func(c *Config) *Config { c.ACSURL = ""; return c }, testNow},
		{"no IdP entity ID", func(c *Config) *Config { c.IdPEntityID = ""; return c }, testNow},
		{"no certificates", func(c *Config) *Config { c.IdPCertificates = nil; return c }, testNow},
		{"nil certificate", func(c *Config) *Config { c.IdPCertificates = []*x509.Certificate{nil}; return c }, testNow},
		{"nil decryption key", func(c *Config) *Config { c.DecryptionKeys = []*rsa.PrivateKey{nil}; return c }, testNow},
		{"negative skew", func(c *Config) *Config { c.ClockSkew = -time.Second; return c }, testNow},
		{"zero time", func(c *Config) *Config { return c }, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(data, tc.cfg(testConfig(t)), tc.now)
			if ReasonOf(err) != ReasonConfig {
				t.Errorf("Parse() = %v, want %s", err, ReasonConfig)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-11-23T12:00:00Z", testNow, true},
		{"2026-11-23T12:00:00.123Z", testNow.Add(123 * time.Millisecond), true},
		{"2026-11-23T13:00:00+01:00", testNow, true},
		{"2026-11-23T12:00:00", testNow, true},
		{"2026-11-23", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tc := range tests {
		got, ok := parseTime(tc.in)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestErrorFormatting(t *testing.T) {
	cause := errors.New("cause")
	e := failErr(ReasonSignature, "the Assertion signature does not verify", cause)
	if got, want := e.Error(), "saml response: signature: the Assertion signature does not verify: cause"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(e, cause) {
		t.Error("errors.Is(e, cause) = false")
	}
	wrapped := fmt.Errorf("acs: %w", e)
	for _, tc := range []struct {
		err  error
		want Reason
	}{{nil, ""}, {wrapped, ReasonSignature}, {errors.New("x"), ReasonInternal}} {
		if got := ReasonOf(tc.err); got != tc.want {
			t.Errorf("ReasonOf(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestNoInflate backs catalogue row 42: no SAML package decompresses
// anything, so no deflate bomb can reach it. The Redirect binding's
// SAMLRequest is only ever deflated (authn), and the ACS uses the POST
// binding, which is not compressed. A future SLO-over-Redirect handler must
// inflate through an io.LimitReader and must update this test.
func TestNoInflate(t *testing.T) {
	fset := token.NewFileSet()
	for _, dir := range []string{".", "../metadata", "../authn"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				switch path {
				case "compress/gzip", "compress/zlib", "compress/lzw", "compress/bzip2":
					t.Errorf("%s imports %s", name, path)
				}
			}
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(src), "flate.NewReader") {
				t.Errorf("%s calls flate.NewReader", name)
			}
		}
	}
}
