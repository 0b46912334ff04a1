package credential

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
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

// SealedPrefix starts every sealed value.
const SealedPrefix = "sealed:v1:"

// ErrUnsealable is returned when a sealed value does not open: another
// secret key sealed it, or it was changed.
var ErrUnsealable = errors.New("the sealed value does not open with this secret key (a different --secret-key sealed it, or it was altered)")

// Sealer seals and opens stored secrets.
type Sealer struct {
	aead cipher.AEAD
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

// NewSealer returns a Sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
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
	return &Sealer{aead: aead}, nil
}

// IsSealed reports whether a stored value is sealed.
func IsSealed(v string) bool { return strings.HasPrefix(v, SealedPrefix) }

// Seal encrypts plaintext, bound to context.
func (s *Sealer) Seal(plaintext []byte, context string) string {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never returns an error
	out := s.aead.Seal(nonce, nonce, plaintext, []byte(context))
	return SealedPrefix + base64.StdEncoding.EncodeToString(out)
}

// Open decrypts a value made by Seal with the same key and context.
func (s *Sealer) Open(sealed, context string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, SealedPrefix))
	if !IsSealed(sealed) || err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead() {
		return nil, ErrUnsealable
	}
	n := s.aead.NonceSize()
	out, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(context))
	if err != nil {
		return nil, ErrUnsealable
	}
	return out, nil
}
