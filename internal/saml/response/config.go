package response

import (
	"crypto/rsa"
	"crypto/x509"
	"strconv"
	"time"
)

// Defaults applied by Parse to zero fields of Config and Limits.
const (
	// DefaultClockSkew is tolerated in both directions on every instant.
	// Shibboleth uses the same 180 s.
	DefaultClockSkew = 3 * time.Minute
	// DefaultMaxIssueDelay is how much older than the skew an IssueInstant may
	// be. The IdP's auto-submitting form posts within seconds; a larger gap is
	// a stored response being replayed later.
	DefaultMaxIssueDelay = 5 * time.Minute
	// DefaultMaxBytes bounds the decoded SAMLResponse.
	DefaultMaxBytes = 1 << 20
	// DefaultMaxElements bounds the number of XML elements in the Response
	// (and, separately, in a decrypted assertion).
	DefaultMaxElements = 900
	// DefaultMaxDepth bounds element nesting. Real responses stay under 10.
	DefaultMaxDepth = 32

	// maxElementsCeiling keeps every element count well under goxmldsig's
	// namespace-traversal limit of 1000 nodes (etreeutils.NewDefaultNSContext),
	// so a large but legal assertion fails our clear ReasonTooLarge check
	// rather than deep inside signature validation.
	maxElementsCeiling = 950
	// maxAttrsPerElement and maxNamespaceDecls bound work in namespace
	// resolution, here and in goxmldsig, which copies the prefix map once per
	// element.
	maxAttrsPerElement = 64
	maxNamespaceDecls  = 128
)

// Config is one workspace's SAML trust settings. Parse reads it and never
// changes it, so one Config may serve concurrent requests.
type Config struct {
	// SPEntityID is this workspace's SP entity ID: the required Audience.
	SPEntityID string
	// ACSURL is the externally visible ACS URL of this workspace (scheme,
	// host, path, as the IdP posts to it): the required Destination and
	// Recipient.
	ACSURL string
	// IdPEntityID is the required Issuer of the Assertion (and of the
	// Response, when it has one).
	IdPEntityID string
	// IdPCertificates are the trusted IdP signing certificates. Several are
	// normal during a key rollover.
	IdPCertificates []*x509.Certificate
	// DecryptionKeys are the SP private keys tried, in order, on an
	// EncryptedAssertion: the current key and, during an SP rollover, the
	// next one.
	DecryptionKeys []*rsa.PrivateKey
	// AllowSHA1 accepts rsa-sha1, ecdsa-sha1 and sha1 digests. Off by default;
	// some IdPs (OneLogin connectors, old ADFS) still default to SHA-1.
	AllowSHA1 bool
	// ClockSkew is tolerated in both directions. Zero means DefaultClockSkew.
	ClockSkew time.Duration
	// MaxIssueDelay is how much older than ClockSkew an IssueInstant may be.
	// Zero means DefaultMaxIssueDelay.
	MaxIssueDelay time.Duration
	// Limits bounds the input before it is parsed into a tree.
	Limits Limits
}

// Limits bounds the work Parse does on unauthenticated input. Zero fields
// take the defaults.
type Limits struct {
	// MaxBytes is the largest decoded Response accepted. Default 1 MiB.
	MaxBytes int
	// MaxElements is the largest number of elements accepted. Default 900;
	// values above 950 are lowered to 950 (see goxmldsig's traversal limit).
	MaxElements int
	// MaxDepth is the deepest element nesting accepted. Default 32.
	MaxDepth int
}

// settings is a Config with defaults applied, plus the clock.
type settings struct {
	*Config
	skew, maxIssueDelay             time.Duration
	maxBytes, maxElements, maxDepth int
	now                             time.Time
}

func newSettings(c *Config, now time.Time) (*settings, error) {
	if c == nil {
		return nil, fail(ReasonConfig, "no SAML configuration")
	}
	switch {
	case c.SPEntityID == "":
		return nil, fail(ReasonConfig, "the SP entity ID is not configured")
	case c.ACSURL == "":
		return nil, fail(ReasonConfig, "the ACS URL is not configured")
	case c.IdPEntityID == "":
		return nil, fail(ReasonConfig, "the IdP entity ID (Issuer) is not configured")
	case len(c.IdPCertificates) == 0:
		return nil, fail(ReasonConfig, "no IdP signing certificate is configured")
	case c.ClockSkew < 0 || c.MaxIssueDelay < 0:
		return nil, fail(ReasonConfig, "clock skew and issue delay must not be negative")
	case now.IsZero():
		return nil, fail(ReasonConfig, "no current time given")
	}
	for i, cert := range c.IdPCertificates {
		if cert == nil {
			return nil, fail(ReasonConfig, "IdP certificate "+strconv.Itoa(i+1)+" is empty")
		}
	}
	for i, k := range c.DecryptionKeys {
		if k == nil {
			return nil, fail(ReasonConfig, "SP decryption key "+strconv.Itoa(i+1)+" is empty")
		}
	}
	s := &settings{
		Config:        c,
		skew:          orDefault(c.ClockSkew, DefaultClockSkew),
		maxIssueDelay: orDefault(c.MaxIssueDelay, DefaultMaxIssueDelay),
		maxBytes:      orDefault(c.Limits.MaxBytes, DefaultMaxBytes),
		maxElements:   min(orDefault(c.Limits.MaxElements, DefaultMaxElements), maxElementsCeiling),
		maxDepth:      orDefault(c.Limits.MaxDepth, DefaultMaxDepth),
		now:           now,
	}
	return s, nil
}

func orDefault[T int | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}
