package credential_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"rollcall/internal/credential"
)

func TestSealer(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	s, err := credential.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	other, err := credential.NewSealer(bytes.Repeat([]byte{8}, 32))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n")
	sealed := s.Seal(secret, "ws1/key1")
	if !credential.IsSealed(sealed) || strings.Contains(sealed, "PRIVATE") || sealed == s.Seal(secret, "ws1/key1") {
		t.Fatalf("sealed form %q: not marked, readable, or without a fresh nonce", sealed)
	}
	if got, err := s.Open(sealed, "ws1/key1"); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// Flip one bit of the ciphertext itself (not of its base64, which
	// might merely fail to decode), so that GCM's authentication refuses.
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, credential.SealedPrefix))
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-20] ^= 1
	tampered := credential.SealedPrefix + base64.StdEncoding.EncodeToString(raw)
	for name, tc := range map[string]struct {
		s       *credential.Sealer
		v, ctxt string
	}{
		"another key":     {other, sealed, "ws1/key1"},
		"another row":     {s, sealed, "ws2/key1"},
		"altered":         {s, tampered, "ws1/key1"},
		"not sealed":      {s, string(secret), "ws1/key1"},
		"truncated":       {s, credential.SealedPrefix + "AAAA", "ws1/key1"},
		"not base64 body": {s, credential.SealedPrefix + "%%%", "ws1/key1"},
	} {
		if _, err := tc.s.Open(tc.v, tc.ctxt); !errors.Is(err, credential.ErrUnsealable) {
			t.Errorf("%s: Open error = %v, want credential.ErrUnsealable", name, err)
		}
	}
}

func TestParseSecretKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb}, 32)
	for _, s := range []string{base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw) + "\n"} {
		if got, err := credential.ParseSecretKey(s); err != nil || !bytes.Equal(got, raw) {
			t.Errorf("credential.ParseSecretKey(%q) = %x, %v", s, got, err)
		}
	}
	for s, want := range map[string]string{
		base64.StdEncoding.EncodeToString(raw[:16]): "decodes to 16",
		"not base64!": "not base64",
		"":            "decodes to 0",
	} {
		if _, err := credential.ParseSecretKey(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("credential.ParseSecretKey(%q) = %v, want an error containing %q", s, err, want)
		}
	}
}

// TestSealerRotation: with a new key first and the old one after it,
// values sealed by either open, new values are sealed by the new key, and
// Reseal moves old values to the new key, after which the old key alone
// no longer opens them.
func TestSealerRotation(t *testing.T) {
	oldKey, newKey, strange := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32)
	mk := func(keys ...[]byte) *credential.Sealer {
		t.Helper()
		s, err := credential.NewSealer(keys...)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before, rotating, after, other := mk(oldKey), mk(newKey, oldKey), mk(newKey), mk(strange)
	secret := []byte("private key")
	old := before.Seal(secret, "ws1/key1")
	if got, err := rotating.Open(old, "ws1/key1"); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("the rotating sealer does not open the old key's value: %q, %v", got, err)
	}
	if _, err := rotating.Open(old, "ws2/key1"); !errors.Is(err, credential.ErrUnsealable) {
		t.Fatalf("an old value moved to another row opens: %v", err)
	}
	if _, err := after.Open(rotating.Seal(secret, "ws1/key1"), "ws1/key1"); err != nil {
		t.Fatalf("the rotating sealer does not seal with its first key: %v", err)
	}

	resealed, changed, err := rotating.Reseal(old, "ws1/key1")
	if err != nil || !changed || resealed == old {
		t.Fatalf("Reseal of an old value = %v, %v", changed, err)
	}
	if got, err := after.Open(resealed, "ws1/key1"); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("the new key alone does not open the resealed value: %q, %v", got, err)
	}
	if _, err := before.Open(resealed, "ws1/key1"); !errors.Is(err, credential.ErrUnsealable) {
		t.Fatalf("the old key still opens the resealed value: %v", err)
	}
	if again, changed, err := rotating.Reseal(resealed, "ws1/key1"); err != nil || changed || again != resealed {
		t.Fatalf("Reseal of a current value = %v, %v (changed it: %v)", changed, err, again != resealed)
	}
	for name, v := range map[string]string{"another key's value": other.Seal(secret, "ws1/key1"), "plain": string(secret)} {
		if got, changed, err := rotating.Reseal(v, "ws1/key1"); !errors.Is(err, credential.ErrUnsealable) || changed || got != v {
			t.Errorf("Reseal of %s = %v, %v", name, changed, err)
		}
	}
}

func TestParseSecretKeys(t *testing.T) {
	a, b := bytes.Repeat([]byte{0xfa}, 32), bytes.Repeat([]byte{0xfb}, 32)
	enc := base64.StdEncoding.EncodeToString
	for s, want := range map[string][][]byte{
		enc(a):                 {a},
		enc(b) + ", " + enc(a): {b, a},
	} {
		got, err := credential.ParseSecretKeys(s)
		if err != nil || len(got) != len(want) || !bytes.Equal(got[0], want[0]) || !bytes.Equal(got[len(got)-1], want[len(want)-1]) {
			t.Errorf("credential.ParseSecretKeys(%q) = %x, %v", s, got, err)
		}
	}
	for s, want := range map[string]string{
		enc(a) + ",":                         "key 2 of 2: the secret key must be 32 bytes (it decodes to 0)",
		enc(a) + "," + enc(b) + ",nope!":     "key 3 of 3: the secret key is not base64",
		enc(a) + "," + enc(a[:16]):           "key 2 of 2: the secret key must be 32 bytes (it decodes to 16)",
		enc(a) + "," + enc(b) + "," + enc(a): "keys 1 and 3 are the same key",
		"not base64!":                        "the secret key is not base64",
	} {
		if _, err := credential.ParseSecretKeys(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("credential.ParseSecretKeys(%q) = %v, want an error containing %q", s, err, want)
		}
	}
}
