package response

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"
)

// FuzzParse feeds mutations of every catalogue vector (and a few encrypted
// ones) to Parse. Parse recovers panics itself, so a recovered panic shows up
// as ReasonInternal, which fails the target; so does an accepted Assertion
// that lacks a NameID or a verified signature.
func FuzzParse(f *testing.F) {
	k := loadKeys(f)
	for _, v := range catalogue() {
		if v.build == nil {
			continue
		}
		if data := v.build(f, k); len(data) < 64<<10 {
			f.Add(data)
		}
	}
	x := newDoc()
	f.Add([]byte(x.response(defaultEncryption.encrypt(f, signedAssertion(f, x, k.idpSigner()), &k.sp.PublicKey))))
	f.Add([]byte(x.response(encryption{keyAlg: encRSAOAEP, dataAlg: encAES256GCM, digest: crypto.SHA256, mgf: crypto.SHA256}.encrypt(f, x.assertion(), &k.sp.PublicKey))))
	cfg := testConfig(f)
	cfg.IdPCertificates = append(cfg.IdPCertificates, k.idp2Cert)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse(data, cfg, testNow)
		if ReasonOf(err) == ReasonInternal {
			t.Fatalf("Parse() = %v", err)
		}
		if err == nil && (a.NameID == "" || !(a.ResponseSigned || a.AssertionSigned) || a.Certificate == nil) {
			t.Fatalf("Parse() accepted %+v", a)
		}
	})
}

// BenchmarkParse measures a typical response: unsigned Response, signed
// Assertion with a few attributes (baseline (a)), and the other common shapes.
func BenchmarkParse(b *testing.B) {
	k := loadKeys(b)
	x := newDoc()
	cases := []struct {
		name string
		data []byte
	}{
		{"assertion-signed", baselineA(b, k)},
		{"both-signed", bothSigned(b, x, k.idpSigner())},
		{"encrypted", []byte(x.response(defaultEncryption.encrypt(b, signedAssertion(b, x, k.idpSigner()), &k.sp.PublicKey)))},
	}
	cfg := testConfig(b)
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(c.data, cfg, testNow); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRSAVerify is the floor BenchmarkParse is compared with: one
// RSA-2048 PKCS#1 v1.5 verification of a SHA-256 digest.
func BenchmarkRSAVerify(b *testing.B) {
	k := loadKeys(b)
	digest := sha256.Sum256([]byte("signed info"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.idp, crypto.SHA256, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(&k.idp.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}
