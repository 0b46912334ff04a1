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
	other, _ := credential.NewSealer(bytes.Repeat([]byte{8}, 32))
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
