package directory

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"
)

// NewID returns a new random UUID (version 7: time-ordered, so rows
// inserted together sit together in indexes).
func NewID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never returns an error
	b[6] = 0x70 | b[6]&0x0f
	b[8] = 0x80 | b[8]&0x3f
	return FormatUUID(b)
}

// FormatUUID returns b in the canonical 8-4-4-4-12 lower-case hex form.
func FormatUUID(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

var workspaceIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewWorkspaceID returns a new workspace ID: 16 lower-case letters and
// digits, safe in URLs, host names and Okta base URLs (no underscore).
func NewWorkspaceID() string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	return workspaceIDEncoding.EncodeToString(b[:])
}

// ValidWorkspaceID reports whether s has the shape of a workspace ID: 1 to
// 64 characters from [a-z0-9-], so it can appear in any URL unescaped.
func ValidWorkspaceID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
}
