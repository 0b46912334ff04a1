package response

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// These tests cross-check the vectors with xmlsec1 (libxmlsec1, libxml2's
// c14n, OpenSSL), an implementation independent of goxmldsig: xmlsec1 must
// verify what the test signer produces, and Parse must accept what xmlsec1
// signs and encrypts. Without the binary they skip, unless
// ROLLCALL_TEST_STRICT=1, when they fail.

func xmlsec1(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("xmlsec1")
	if err != nil {
		if os.Getenv("ROLLCALL_TEST_STRICT") == "1" {
			t.Fatal("xmlsec1 is not installed and ROLLCALL_TEST_STRICT=1 (apt-get install -y xmlsec1)")
		}
		t.Skip("xmlsec1 is not installed (apt-get install -y xmlsec1); ROLLCALL_TEST_STRICT=1 makes this a failure")
	}
	return path
}

type xmlsecDir struct {
	t    *testing.T
	bin  string
	dir  string
	keys *testKeys
}

func newXMLSecDir(t *testing.T) *xmlsecDir {
	bin := xmlsec1(t)
	x := &xmlsecDir{t: t, bin: bin, dir: t.TempDir(), keys: loadKeys(t)}
	x.write("idp.pem", pemCert(x.keys.idpCert))
	x.write("sp.pem", pemCert(spCert(t, x.keys)))
	key, err := os.ReadFile(filepath.Join("testdata", "idp.key"))
	if err != nil {
		t.Fatal(err)
	}
	x.write("idp.key", key)
	return x
}

func (x *xmlsecDir) write(name string, data []byte) string {
	x.t.Helper()
	p := filepath.Join(x.dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		x.t.Fatal(err)
	}
	return p
}

// run runs xmlsec1 with args and returns its output file (if out is set)
// and whether it succeeded.
func (x *xmlsecDir) run(out string, args ...string) ([]byte, bool) {
	x.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out != "" { // the command (--sign, --encrypt) must come first
		args = append([]string{args[0], "--output", filepath.Join(x.dir, out)}, args[1:]...)
	}
	cmd := exec.CommandContext(ctx, x.bin, args...)
	cmd.Dir = x.dir
	msg, err := cmd.CombinedOutput()
	if err != nil {
		x.t.Logf("xmlsec1 %s: %v\n%s", strings.Join(args, " "), err, msg)
		return nil, false
	}
	if out == "" {
		return nil, true
	}
	b, err := os.ReadFile(filepath.Join(x.dir, out))
	if err != nil {
		x.t.Fatal(err)
	}
	return b, true
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func spCert(tb testing.TB, k *testKeys) *x509.Certificate {
	c, err := selfSigned(10, "rollcall sp", k.sp, [2]time.Time{testNow.AddDate(-1, 0, 0), testNow.AddDate(1, 0, 0)})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

const (
	idAssertion = "--id-attr:ID urn:oasis:names:tc:SAML:2.0:assertion:Assertion"
	idResponse  = "--id-attr:ID urn:oasis:names:tc:SAML:2.0:protocol:Response"
)

// TestXMLSecVerifiesVectors: xmlsec1 agrees with the test signer, and
// rejects the tampered vector (so this cross-check can fail).
func TestXMLSecVerifiesVectors(t *testing.T) {
	x := newXMLSecDir(t)
	k := x.keys
	tests := []struct {
		name string
		data []byte
		id   string
		ok   bool
	}{
		{"baseline (a), Assertion signature", baselineA(t, k), idAssertion, true},
		{"Response-only signature", responseOnlySigned(t, newDoc(), k.idpSigner()), idResponse, true},
		{"comment injection", replaceOnce(t, signedAssertionResponse(t, docWith(func(d *doc) { d.NameID = "admin@victim.com.evil.test" }), k.idpSigner()),
			"admin@victim.com.evil.test<", "admin@victim.com<!---->.evil.test<"), idAssertion, true},
		{"tampered NameID", replaceOnce(t, baselineA(t, k), ">alice@example.com</saml:NameID>", ">admin@example.com</saml:NameID>"), idAssertion, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x.t = t
			f := x.write("in.xml", tc.data)
			args := append([]string{"--verify", "--pubkey-cert-pem", "idp.pem"}, strings.Fields(tc.id)...)
			if _, ok := x.run("", append(args, f)...); ok != tc.ok {
				t.Errorf("xmlsec1 --verify ok = %v, want %v", ok, tc.ok)
			}
		})
	}
}

const sigTemplate = `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>` +
	`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
	`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
	`<ds:Reference URI="#ID"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
	`<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>` +
	`<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo>` +
	`<ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>`

// xmlsecSign signs the element with the given ID, whose Issuer is the
// first "</saml:Issuer>" at or after the element's start tag.
func (x *xmlsecDir) sign(data []byte, id, startTag, idAttr string) []byte {
	x.t.Helper()
	i := bytes.Index(data, []byte(startTag))
	j := bytes.Index(data[i:], []byte("</saml:Issuer>"))
	if i < 0 || j < 0 {
		x.t.Fatalf("no %s with an Issuer", startTag)
	}
	at := i + j + len("</saml:Issuer>")
	tmpl := append(append(append([]byte{}, data[:at]...), strings.Replace(sigTemplate, "#ID", "#"+id, 1)...), data[at:]...)
	f := x.write("tmpl.xml", tmpl)
	args := append([]string{"--sign", "--privkey-pem", "idp.key,idp.pem"}, strings.Fields(idAttr)...)
	out, ok := x.run("signed.xml", append(args, f)...)
	if !ok {
		x.t.Fatal("xmlsec1 --sign failed")
	}
	return out
}

// TestXMLSecSignedAccepted: Parse accepts responses signed by xmlsec1.
func TestXMLSecSignedAccepted(t *testing.T) {
	x := newXMLSecDir(t)
	base := newDoc()
	plain := []byte(base.response(base.assertion()))
	assertionSigned := x.sign(plain, base.AssertionID, "<saml:Assertion", idAssertion)
	both := x.sign(assertionSigned, base.ResponseID, "<samlp:Response", idResponse)
	for _, tc := range []struct {
		name         string
		data         []byte
		resp, assert bool
	}{
		{"Assertion signed by xmlsec1", assertionSigned, false, true},
		{"Response and Assertion signed by xmlsec1", both, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Parse(tc.data, testConfig(t), testNow)
			if err != nil {
				t.Fatalf("Parse() = %v", err)
			}
			wantBaseline(tc.resp, tc.assert)(t, a)
		})
	}
}

const encTemplate = `<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element">` +
	`<xenc:EncryptionMethod Algorithm="DATA"/><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey>` +
	`<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/>` +
	`<xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>` +
	`<xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>`

// TestXMLSecEncryptedAccepted: Parse decrypts what xmlsec1 encrypts.
func TestXMLSecEncryptedAccepted(t *testing.T) {
	x := newXMLSecDir(t)
	signed := signedAssertion(t, newDoc(), x.keys.idpSigner())
	for _, tc := range []struct{ alg, session string }{
		{encAES128CBC, "aes-128"},
		{encAES256CBC, "aes-256"},
		{encAES128GCM, "aes-128"},
		{encAES256GCM, "aes-256"},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			x.t = t
			data := x.write("assertion.xml", []byte(signed))
			tmpl := x.write("enc-tmpl.xml", []byte(strings.Replace(encTemplate, "DATA", tc.alg, 1)))
			enc, ok := x.run("enc.xml", "--encrypt", "--pubkey-cert-pem", "sp.pem", "--session-key", tc.session, "--xml-data", data, tmpl)
			if !ok {
				t.Fatal("xmlsec1 --encrypt failed")
			}
			enc = bytes.TrimSpace(bytes.TrimPrefix(enc, []byte(`<?xml version="1.0"?>`)))
			d := newDoc()
			resp := d.response(`<saml:EncryptedAssertion>` + string(enc) + `</saml:EncryptedAssertion>`)
			a, err := Parse([]byte(resp), testConfig(t), testNow)
			if err != nil {
				t.Fatalf("Parse() = %v", err)
			}
			if !a.Encrypted || a.NameID != "alice@example.com" {
				t.Errorf("Parse() = Encrypted %v NameID %q", a.Encrypted, a.NameID)
			}
		})
	}
}
