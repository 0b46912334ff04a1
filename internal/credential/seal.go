package credential

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Secrets that must be used again, not merely checked (an SP's private
// key), cannot be stored as a hash. A Sealer encrypts them with a key the
// operator keeps outside the database (--secret-key), so that a copy of
// the database alone does not give them away.
//
// The sealed form is "sealed:v1:" followed by base64 of a random 12-byte
// nonce and the AES-256-GCM ciphertext. The caller's context (which row the
// value belongs to) is bound as additional data, so a sealed value moved to
// another row does not open.
//
// A Sealer may hold several secret keys, so that the secret key itself can
// be rotated: the first seals, and every one of them opens. The sealed form
// does not say which key made it; opening tries the keys in order, and
// Reseal moves a value sealed by an older key to the first one.

// SealedPrefix starts every sealed value.
const SealedPrefix = "sealed:v1:"

// ErrUnsealable is returned when a sealed value does not open: another
// secret key sealed it, or it was changed.
var ErrUnsealable = errors.New("the sealed value does not open with this server's secret keys (a different --secret-key sealed it, or it was altered)")

// Sealer seals and opens stored secrets.
type Sealer struct {
	aeads []cipher.AEAD // aeads[0] seals; all of them open
}

// ParseSecretKey decodes a secret key given as base64 (standard or URL
// alphabet, padded or not) of exactly 32 random bytes, as
// `openssl rand -base64 32` prints.
func ParseSecretKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != 32 {
				return nil, errors.New("the secret key must be 32 bytes (it decodes to " + strconv.Itoa(len(b)) + "); make one with: openssl rand -base64 32")
			}
			return b, nil
		}
	}
	return nil, errors.New("the secret key is not base64; make one with: openssl rand -base64 32")
}

// ParseSecretKeys decodes a comma-separated list of secret keys, each as
// ParseSecretKey wants it: the current key first, then older ones that
// only open what they sealed before a rotation.
func ParseSecretKeys(s string) ([][]byte, error) {
	parts := strings.Split(s, ",")
	keys := make([][]byte, 0, len(parts))
	for i, p := range parts {
		key, err := ParseSecretKey(p)
		if err != nil {
			if len(parts) == 1 {
				return nil, err
			}
			return nil, fmt.Errorf("key %d of %d: %w", i+1, len(parts), err)
		}
		for j, seen := range keys {
			if subtle.ConstantTimeCompare(seen, key) == 1 {
				return nil, fmt.Errorf("keys %d and %d are the same key", j+1, i+1)
			}
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// NewSealer returns a Sealer for one or more 32-byte keys: the first
// seals, and all of them open.
func NewSealer(keys ...[]byte) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("no secret key")
	}
	s := &Sealer{}
	for _, key := range keys {
		if len(key) != 32 {
			return nil, errors.New("the secret key must be 32 bytes")
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		s.aeads = append(s.aeads, aead)
	}
	return s, nil
}

// IsSealed reports whether a stored value is sealed.
func IsSealed(v string) bool { return strings.HasPrefix(v, SealedPrefix) }

// Seal encrypts plaintext with the first key, bound to context.
func (s *Sealer) Seal(plaintext []byte, context string) string {
	aead := s.aeads[0]
	nonce := randomBytes(aead.NonceSize())
	out := aead.Seal(nonce, nonce, plaintext, []byte(context))
	return SealedPrefix + base64.StdEncoding.EncodeToString(out)
}

// Open decrypts a value made by Seal with the same context and any of the
// Sealer's keys.
func (s *Sealer) Open(sealed, context string) ([]byte, error) {
	out, _, err := s.open(sealed, context)
	return out, err
}

// Reseal returns a value sealed by one of the older keys sealed again with
// the first, and changed true; a value the first key opens comes back as
// it is, with changed false.
func (s *Sealer) Reseal(sealed, context string) (resealed string, changed bool, err error) {
	out, i, err := s.open(sealed, context)
	if err != nil || i == 0 {
		return sealed, false, err
	}
	return s.Seal(out, context), true, nil
}

// open decrypts sealed and says which key opened it.
func (s *Sealer) open(sealed, context string) ([]byte, int, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, SealedPrefix))
	if !IsSealed(sealed) || err != nil {
		return nil, 0, ErrUnsealable
	}
	for i, aead := range s.aeads {
		n := aead.NonceSize()
		if len(raw) < n+aead.Overhead() {
			return nil, 0, ErrUnsealable
		}
		if out, err := aead.Open(nil, raw[:n], raw[n:], []byte(context)); err == nil {
			return out, i, nil
		}
	}
	return nil, 0, ErrUnsealable
}
