package saml

import (
	"context"
	"crypto/subtle"
	"time"

	"rollcall/internal/directory"
	"rollcall/internal/session"
)

// Connection is one workspace's trust in its IdP, and how it signs in.
type Connection struct {
	WorkspaceID string
	IdPEntityID string
	IdPSSOURL   string
	// IdPCerts are the trusted IdP signing certificates, PEM.
	IdPCerts []string
	// MetadataURL, when set, is fetched on a schedule so that new IdP
	// certificates are picked up without a human.
	MetadataURL       string
	MetadataXML       string
	MetadataFetched   time.Time
	MetadataNext      time.Time
	MetadataError     string
	AllowIdPInitiated bool
	AllowSHA1         bool
	JIT               bool
	ClockSkew         time.Duration
	// Preset names the attribute preset (okta, entra, jumpcloud, google,
	// onelogin); AttributeMap overrides it per field.
	Preset       string
	AttributeMap map[string]string
	// CertWarnings records, per certificate fingerprint, the smallest
	// expiry threshold (in days) already warned about.
	CertWarnings map[string]int
	Created      time.Time
	Modified     time.Time
}

// SPKey is one of a workspace's SP key pairs.
type SPKey struct {
	WorkspaceID string
	ID          string
	Status      string // KeyCurrent, KeyNext or KeyPrevious
	// KeyPEM is the private key, PEM, or sealed (credential.Sealer) when
	// the server has a secret key.
	KeyPEM  string
	CertPEM string
	Created time.Time
}

// SP key states.
const (
	KeyCurrent  = "current"
	KeyNext     = "next"
	KeyPrevious = "previous"
)

// PendingRequest is an SP-initiated AuthnRequest awaiting its response,
// bound to the browser that started it.
type PendingRequest struct {
	ID          string
	WorkspaceID string
	BrowserHash []byte
	ReturnTo    string
	Expires     time.Time
}

// PendingLogin is a validated sign-in waiting for the browser to complete
// it at the same-site completion URL.
type PendingLogin struct {
	CodeHash    []byte
	WorkspaceID string
	MemberID    string
	BrowserHash []byte // nil for IdP-initiated sign-ins
	ReturnTo    string
	Expires     time.Time
	// SessionNotOnOrAfter is the IdP's cap on the session (zero: none).
	SessionNotOnOrAfter time.Time
}

// A Completion is what a pending login must match to become a session: the
// workspace whose completion URL the browser used, the time, and the hash
// of the browser-binding cookie the browser sent (nil without one).
type Completion struct {
	Workspace   string
	Now         time.Time
	BrowserHash []byte
}

// Refusal says why l cannot become a session: "expired" (another
// workspace's code, the code's two minutes are up, or the IdP's session has
// already ended) or "browser" (the sign-in was started in another browser:
// login CSRF); "" when it can. A store that checks in SQL must refuse
// exactly what this refuses.
func (c *Completion) Refusal(l *PendingLogin) string {
	switch {
	case l.WorkspaceID != c.Workspace || !c.Now.Before(l.Expires) ||
		(!l.SessionNotOnOrAfter.IsZero() && !c.Now.Before(l.SessionNotOnOrAfter)):
		return "expired"
	case l.BrowserHash != nil && (c.BrowserHash == nil || subtle.ConstantTimeCompare(c.BrowserHash, l.BrowserHash) != 1):
		return "browser"
	}
	return ""
}

// SessionExpiry is when a session made from l ends, given the server's own
// limit: sooner when the IdP says so (SAML Core §2.7.2, SessionNotOnOrAfter).
func SessionExpiry(l *PendingLogin, limit time.Time) time.Time {
	if !l.SessionNotOnOrAfter.IsZero() && l.SessionNotOnOrAfter.Before(limit) {
		return l.SessionNotOnOrAfter
	}
	return limit
}

// Store is the persistence SAML needs. Lookups return directory.ErrNotFound
// when there is nothing.
type Store interface {
	Connection(ctx context.Context, ws string) (*Connection, error)
	// SaveConnection inserts or replaces a workspace's connection.
	SaveConnection(ctx context.Context, c *Connection) error
	// ClaimMetadataRefresh picks one connection whose metadata is due
	// (MetadataNext ≤ now), moves its MetadataNext to next so no other
	// replica picks it, and returns it; ErrNotFound when none is due.
	ClaimMetadataRefresh(ctx context.Context, now, next time.Time) (*Connection, error)
	// Connections lists every connection (for certificate expiry checks).
	Connections(ctx context.Context) ([]*Connection, error)

	// LastLogin returns the raw attributes of the workspace's last sign-in
	// (JSON), for the admin's debugging page; "" when there is none. It is
	// kept apart from the connection, which every sign-in reads.
	LastLogin(ctx context.Context, ws string) (string, error)

	SPKeys(ctx context.Context, ws string) ([]*SPKey, error)
	// PlainSPKeys lists the keys of every workspace whose private key is
	// stored unsealed.
	PlainSPKeys(ctx context.Context) ([]*SPKey, error)
	// AllSPKeys lists the keys of every workspace.
	AllSPKeys(ctx context.Context) ([]*SPKey, error)
	InsertSPKey(ctx context.Context, k *SPKey) error
	// ReplaceSPKeys deletes every key of the workspace and inserts k in one
	// transaction, and returns the IDs of the keys it deleted.
	ReplaceSPKeys(ctx context.Context, ws string, k *SPKey) ([]string, error)
	// ReplaceSPKeyPEM changes a key's stored private key from old to
	// replacement (sealing it) and reports whether it did; nothing happens
	// if it is no longer old.
	ReplaceSPKeyPEM(ctx context.Context, ws, id, old, replacement string) (bool, error)
	// SetSPKeyStatus changes key states in one transaction.
	SetSPKeyStatus(ctx context.Context, ws string, status map[string]string) error

	InsertRequest(ctx context.Context, r *PendingRequest) error
	// ConsumeResponse records, in one transaction, what a validated
	// Response uses up: the pending request it answers (deleted; when
	// requestID is set it must exist for the workspace and not have expired
	// at now, else directory.ErrNotFound), its assertion ID in the replay
	// cache until expires (directory.ErrConflict if already there: a replay,
	// from any replica), and, when the sign-in goes ahead, the pending login
	// (its BrowserHash and ReturnTo taken from the request when there is
	// one). lastLogin, when set, replaces the connection's last-login
	// record; entry, when set, goes to the audit log.
	ConsumeResponse(ctx context.Context, ws, requestID, assertionID string, expires, now time.Time, login *PendingLogin, lastLogin string, entry *directory.AuditEntry) (*PendingRequest, error)
	// CompleteLogin finishes a sign-in: it returns the pending login of
	// codeHash (directory.ErrNotFound if there is none, or if another
	// completion used it first) and c.Refusal of it, and, when that is ""
	// and the login's member is still active, stores s for that member in
	// the same atomic write that deletes the login. s's WorkspaceID and
	// MemberID are set from the login and its Expires capped by
	// SessionExpiry. created says whether s was stored. The login is used
	// up either way.
	CompleteLogin(ctx context.Context, codeHash []byte, c *Completion, s *session.Session) (l *PendingLogin, refused string, created bool, err error)
	// UpdateMetadata stores the outcome of a metadata refresh without
	// touching the rest of the connection.
	UpdateMetadata(ctx context.Context, ws string, c *Connection) error
	// RecordCertWarnings replaces the record of expiry warnings given,
	// from old to warned, and adds entries to the audit log, in one
	// transaction; it reports false and changes nothing when the record is
	// no longer old (another replica gave the warnings first).
	RecordCertWarnings(ctx context.Context, ws string, old, warned map[string]int, entries []*directory.AuditEntry) (bool, error)
	// DeleteExpiredSAML removes requests, logins and replay entries that
	// expired before now.
	DeleteExpiredSAML(ctx context.Context, now time.Time) error
}
