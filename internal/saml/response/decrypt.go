package response

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"encoding/base64"

	// Hash implementations named by OAEP DigestMethod and MGF URIs.
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha512"

	"github.com/beevik/etree"
)

// decryptDetail is the one Detail every decryption failure carries, whatever
// went wrong: which step failed (key unwrap, padding, tag, XML parsing of the
// plaintext) is exactly what a CBC padding or format oracle needs (Jager and
// Somorovsky, "How To Break XML Encryption", CCS 2011).
const decryptDetail = "the EncryptedAssertion could not be decrypted with the SP's keys; " +
	"check that the IdP encrypts to the encryption certificate in this workspace's current SP metadata"

// maxEncryptedKeys bounds the RSA private-key operations one response can
// cause: at most this many EncryptedKeys times len(DecryptionKeys).
const maxEncryptedKeys = 4

func errDecrypt() *Error { return fail(ReasonDecrypt, decryptDetail) }

// decrypt returns the plaintext of an EncryptedAssertion. The key may be in
// EncryptedData/KeyInfo/EncryptedKey or, as Okta and Shibboleth send it, an
// EncryptedKey sibling of EncryptedData. Each EncryptedKey is tried with
// each SP key in turn (current and next during an SP key rollover).
//
// Algorithm errors are returned as ReasonAlgorithm: they depend only on
// public attributes, not on any secret. Everything else is errDecrypt().
func decrypt(enc *etree.Element, keys []*rsa.PrivateKey) ([]byte, error) {
	if len(keys) == 0 {
		return nil, fail(ReasonDecrypt, "the assertion is encrypted but this workspace has no SP decryption key")
	}
	eds := children(enc, nsXEnc, "EncryptedData")
	if len(eds) != 1 {
		return nil, errDecrypt()
	}
	ed := eds[0]
	if t, ok := attr(ed, "Type"); ok && t != nsXEnc+"Element" {
		return nil, errDecrypt()
	}
	dataAlg, err := encryptionMethod(ed)
	if err != nil {
		return nil, err
	}
	ciphertext, ok := cipherValue(ed)
	if !ok {
		return nil, errDecrypt()
	}

	var eks []*etree.Element
	for _, ki := range children(ed, nsDSig, "KeyInfo") {
		eks = append(eks, children(ki, nsXEnc, "EncryptedKey")...)
	}
	eks = append(eks, children(enc, nsXEnc, "EncryptedKey")...)
	if len(eks) == 0 || len(eks) > maxEncryptedKeys {
		return nil, errDecrypt()
	}
	for _, ek := range eks {
		opts, err := oaepOptions(ek)
		if err != nil {
			return nil, err
		}
		wrapped, ok := cipherValue(ek)
		if !ok {
			continue
		}
		for _, k := range keys {
			// Always pass *rsa.OAEPOptions: a nil opts would mean PKCS#1 v1.5.
			cek, err := k.Decrypt(nil, wrapped, opts)
			if err != nil {
				continue
			}
			if pt, ok := decryptData(dataAlg, cek, ciphertext); ok {
				return pt, nil
			}
		}
	}
	return nil, errDecrypt()
}

func encryptionMethod(el *etree.Element) (string, error) {
	ms := children(el, nsXEnc, "EncryptionMethod")
	if len(ms) != 1 {
		return "", errDecrypt()
	}
	alg := attrValue(ms[0], "Algorithm")
	if err := checkEncryptionPolicy([]string{alg}); err != nil {
		return "", err
	}
	return alg, nil
}

func cipherValue(el *etree.Element) ([]byte, bool) {
	cds := children(el, nsXEnc, "CipherData")
	if len(cds) != 1 {
		return nil, false
	}
	cvs := children(cds[0], nsXEnc, "CipherValue")
	if len(cvs) != 1 {
		return nil, false
	}
	t, ok := text(cvs[0])
	if !ok {
		return nil, false
	}
	b, err := base64.StdEncoding.DecodeString(stripSpace(t))
	return b, err == nil
}

// oaepOptions reads the key transport algorithm of an EncryptedKey.
// rsa-oaep-mgf1p always uses MGF1 with SHA-1; xmlenc11 rsa-oaep names its
// MGF. The DigestMethod defaults to SHA-1 in both (XML-Enc 1.1 §5.5.2).
func oaepOptions(ek *etree.Element) (*rsa.OAEPOptions, error) {
	ms := children(ek, nsXEnc, "EncryptionMethod")
	if len(ms) != 1 {
		return nil, errDecrypt()
	}
	m := ms[0]
	alg := attrValue(m, "Algorithm")
	if err := checkEncryptionPolicy([]string{alg}); err != nil {
		return nil, err
	}
	if alg != encRSAOAEPMGF1P && alg != encRSAOAEP {
		return nil, fail(ReasonAlgorithm, "the assertion key is wrapped with "+quote(alg)+", which is not a key transport algorithm; use RSA-OAEP")
	}
	opts := &rsa.OAEPOptions{Hash: crypto.SHA1, MGFHash: crypto.SHA1}
	if ds := children(m, nsDSig, "DigestMethod"); len(ds) > 0 {
		h, ok := hashByURI(attrValue(ds[0], "Algorithm"))
		if !ok {
			return nil, fail(ReasonAlgorithm, "unsupported RSA-OAEP digest "+quote(attrValue(ds[0], "Algorithm")))
		}
		opts.Hash = h
	}
	if alg == encRSAOAEP {
		if mgfs := children(m, nsXEnc11, "MGF"); len(mgfs) > 0 {
			h, ok := hashByURI(attrValue(mgfs[0], "Algorithm"))
			if !ok {
				return nil, fail(ReasonAlgorithm, "unsupported RSA-OAEP mask generation function "+quote(attrValue(mgfs[0], "Algorithm")))
			}
			opts.MGFHash = h
		}
	}
	if ps := children(m, nsXEnc, "OAEPparams"); len(ps) > 0 {
		t, _ := text(ps[0])
		label, err := base64.StdEncoding.DecodeString(stripSpace(t))
		if err != nil {
			return nil, errDecrypt()
		}
		opts.Label = label
	}
	return opts, nil
}

func hashByURI(uri string) (crypto.Hash, bool) {
	switch uri {
	case digestSHA1, mgf1SHA1:
		return crypto.SHA1, true
	case digestSHA224, mgf1SHA224:
		return crypto.SHA224, true
	case digestSHA256, mgf1SHA256:
		return crypto.SHA256, true
	case digestSHA384, mgf1SHA384:
		return crypto.SHA384, true
	case digestSHA512, mgf1SHA512:
		return crypto.SHA512, true
	}
	return 0, false
}

// decryptData decrypts an XML-Enc CipherValue: IV || ciphertext for CBC with
// XML-Enc padding (only the last byte is meaningful, XML-Enc 1.1 §5.2.1), and
// IV(12) || ciphertext || tag(16) for GCM.
func decryptData(alg string, key, data []byte) ([]byte, bool) {
	var keyLen int
	gcm := false
	switch alg {
	case encAES128CBC:
		keyLen = 16
	case encAES192CBC:
		keyLen = 24
	case encAES256CBC:
		keyLen = 32
	case encAES128GCM:
		keyLen, gcm = 16, true
	case encAES192GCM:
		keyLen, gcm = 24, true
	case encAES256GCM:
		keyLen, gcm = 32, true
	default:
		return nil, false
	}
	if len(key) != keyLen {
		return nil, false
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, false
	}
	if gcm {
		aead, err := cipher.NewGCM(block)
		if err != nil || len(data) < aead.NonceSize()+aead.Overhead() {
			return nil, false
		}
		n := aead.NonceSize()
		pt, err := aead.Open(nil, data[:n], data[n:], nil)
		if err != nil {
			return nil, false
		}
		return pt, true
	}
	bs := block.BlockSize()
	if len(data) < 2*bs || len(data)%bs != 0 {
		return nil, false
	}
	pt := make([]byte, len(data)-bs)
	cipher.NewCBCDecrypter(block, data[:bs]).CryptBlocks(pt, data[bs:])
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > bs {
		return nil, false
	}
	return pt[:len(pt)-pad], true
}
