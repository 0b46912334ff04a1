package response

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// testNow is the clock of every vector. Fixed, so that vectors are
// reproducible byte for byte and fuzzing processes agree on them.
var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

const (
	testSPEntityID  = "https://rollcall.test/saml/ws-a/metadata"
	testACSURL      = "https://rollcall.test/saml/ws-a/acs"
	testIdPEntityID = "https://idp.test/metadata"
	testRequestID   = "_4f1c2a9e0b7d4c3e8a6f5b1d2e3c4a5b"
)

// testKeys are the stored test keys (testdata/*.key) and certificates built
// from them deterministically.
type testKeys struct {
	idp, idp2, attacker, sp, sp2 *rsa.PrivateKey
	ec                           *ecdsa.PrivateKey

	idpCert      *x509.Certificate // trusted, valid 2025..2035
	idp2Cert     *x509.Certificate // the rotation successor
	attackerCert *x509.Certificate // same subject as idpCert, attacker key
	expiredCert  *x509.Certificate // idp key, valid 2020..2021
	ecCert       *x509.Certificate
}

var loadKeysOnce = sync.OnceValues(func() (*testKeys, error) {
	rsaKey := func(name string) (*rsa.PrivateKey, error) {
		k, err := readKey(name)
		if err != nil {
			return nil, err
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%s is not an RSA key", name)
		}
		return rk, nil
	}
	var k testKeys
	var err error
	for _, p := range []struct {
		dst  **rsa.PrivateKey
		name string
	}{{&k.idp, "idp"}, {&k.idp2, "idp2"}, {&k.attacker, "attacker"}, {&k.sp, "sp"}, {&k.sp2, "sp2"}} {
		if *p.dst, err = rsaKey(p.name); err != nil {
			return nil, err
		}
	}
	ec, err := readKey("idp-ec")
	if err != nil {
		return nil, err
	}
	k.ec = ec.(*ecdsa.PrivateKey)

	valid := [2]time.Time{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, c := range []struct {
		dst    **x509.Certificate
		serial int64
		cn     string
		key    crypto.Signer
		window [2]time.Time
	}{
		{&k.idpCert, 1, "idp.test", k.idp, valid},
		{&k.idp2Cert, 2, "idp.test 2027", k.idp2, valid},
		{&k.attackerCert, 3, "idp.test", k.attacker, valid},
		{&k.expiredCert, 4, "idp.test 2020", k.idp, [2]time.Time{time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{&k.ecCert, 5, "idp.test ecdsa", k.ec, valid},
	} {
		if *c.dst, err = selfSigned(c.serial, c.cn, c.key, c.window); err != nil {
			return nil, err
		}
	}
	return &k, nil
})

func loadKeys(tb testing.TB) *testKeys {
	tb.Helper()
	k, err := loadKeysOnce()
	if err != nil {
		tb.Fatalf("load test keys: %v", err)
	}
	return k
}

func readKey(name string) (crypto.Signer, error) {
	b, err := os.ReadFile(filepath.Join("testdata", name+".key"))
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return k.(crypto.Signer), nil
}

func selfSigned(serial int64, cn string, key crypto.Signer, window [2]time.Time) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             window[0],
		NotAfter:              window[1],
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// testConfig is workspace A's configuration, trusting idpCert.
func testConfig(tb testing.TB) *Config {
	k := loadKeys(tb)
	return &Config{
		SPEntityID:      testSPEntityID,
		ACSURL:          testACSURL,
		IdPEntityID:     testIdPEntityID,
		IdPCertificates: []*x509.Certificate{k.idpCert},
		DecryptionKeys:  []*rsa.PrivateKey{k.sp},
	}
}
