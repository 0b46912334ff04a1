// Package credential issues and checks the secrets machines use to reach a
// workspace: REST API keys, SCIM bearer tokens, OAuth 2.0 client
// credentials and the short-lived access tokens issued for them.
//
// # Format and storage
//
// A secret is shown once, when it is created, and only its SHA-256 hash is
// stored. Secrets are 200 bits from crypto/rand, so a fast hash is enough:
// there is nothing to brute-force. Every secret starts with a prefix that
// names its kind ("rcak_" API key, "rcst_" SCIM token, "rccs_" client
// secret, "rcat_" access token), so secret scanners can recognise a leaked
// one, followed by the credential's ID and the random part:
//
//	rcst_k3v9x2m7q4p8w5n6_7fhd…
//
// The ID locates the row; the random part is compared, as a hash, in
// constant time. A credential of workspace A presented on workspace B's URL
// fails exactly like a wrong secret.
package credential

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"rollcall/internal/directory"
)

// Kind is a kind of credential.
type Kind string

// Label is the kind in words, for messages ("scim token").
func (k Kind) Label() string { return strings.ReplaceAll(string(k), "_", " ") }

// Kinds of credential.
const (
	KindAPIKey      Kind = "api_key"
	KindSCIMToken   Kind = "scim_token"
	KindSCIMClient  Kind = "scim_client"
	KindAccessToken Kind = "access_token"
)

var prefixes = map[Kind]string{
	KindAPIKey:      "rcak_",
	KindSCIMToken:   "rcst_",
	KindSCIMClient:  "rccs_",
	KindAccessToken: "rcat_",
}

// ClientIDPrefix starts every OAuth client ID.
const ClientIDPrefix = "rcci_"

// Credential is a stored credential, without its secret.
type Credential struct {
	ID          string
	WorkspaceID string
	Kind        Kind
	Label       string
	// ParentID is, for an access token, the ID of the client it was issued to.
	ParentID string
	Created  time.Time
	LastUsed time.Time // zero if never used
	Expires  time.Time // zero if it does not expire
	Revoked  time.Time // zero if live
}

// ClientID returns the OAuth client ID of a client credential.
func (c *Credential) ClientID() string { return ClientIDPrefix + c.ID }

// Store is the persistence credentials need.
type Store interface {
	// InsertCredential stores c with the hash of its secret, and the audit
	// entry (if any) in the same transaction.
	InsertCredential(ctx context.Context, c *Credential, hash []byte, audit *directory.AuditEntry) error
	// Credential returns a credential and its secret hash by ID
	// (directory.ErrNotFound if there is none).
	Credential(ctx context.Context, id string) (*Credential, []byte, error)
	// Credentials lists a workspace's credentials of one kind, newest first.
	Credentials(ctx context.Context, ws string, kind Kind) ([]*Credential, error)
	// RevokeCredential revokes a credential and every credential issued to
	// it, with the audit entry, in one transaction.
	RevokeCredential(ctx context.Context, ws, id string, at time.Time, audit *directory.AuditEntry) error
	// TouchCredential records a use.
	TouchCredential(ctx context.Context, id string, at time.Time) error
}

// ErrUnauthorized is returned for every credential that does not
// authenticate, whatever the reason, so callers cannot tell them apart.
var ErrUnauthorized = directory.Errorf(directory.EUNAUTHORIZED, "missing, invalid, expired or revoked credentials")

// Service creates and checks credentials.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service. now may be nil (time.Now).
func NewService(s Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, now: now}
}

var enc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error
	return b
}

func random(n int) string { return enc.EncodeToString(randomBytes(n)) }

// NewSecret returns n random bytes as unpadded URL-safe base64: a secret
// for a cookie, a link or a one-time code, to be stored only as its Hash.
func NewSecret(n int) string { return base64.RawURLEncoding.EncodeToString(randomBytes(n)) }

// Hash returns the stored form of a secret (SHA-256: secrets here are
// random, so a fast hash is right; compare hashes in constant time).
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// maxLabel bounds labels.
const maxLabel = 200

// Create issues a new credential of kind for workspace ws and returns it
// with its secret, which is never shown again.
func (s *Service) Create(ctx context.Context, ws string, kind Kind, label string) (*Credential, string, error) {
	if kind == KindAccessToken {
		return nil, "", fmt.Errorf("access tokens are issued by IssueAccessToken")
	}
	c, secret, err := s.create(ctx, ws, kind, label, "", 0)
	if err != nil {
		return nil, "", err
	}
	if kind == KindSCIMClient {
		return c, prefixes[kind] + secret, nil
	}
	return c, prefixes[kind] + c.ID + "_" + secret, nil
}

// create issues a credential; ttl > 0 makes it expire that long after its
// creation.
func (s *Service) create(ctx context.Context, ws string, kind Kind, label, parent string, ttl time.Duration) (*Credential, string, error) {
	label = strings.TrimSpace(label)
	if len(label) > maxLabel {
		return nil, "", directory.Errorf(directory.EINVALID, "label is longer than %d bytes", maxLabel)
	}
	now := s.now().UTC()
	c := &Credential{ID: random(10), WorkspaceID: ws, Kind: kind, Label: label, ParentID: parent, Created: now}
	if ttl > 0 {
		c.Expires = now.Add(ttl)
	}
	secret := random(25)
	var entry *directory.AuditEntry
	if kind != KindAccessToken {
		entry = auditEntry(ctx, ws, now, string(kind)+".created", c.ID, label)
	}
	if err := s.store.InsertCredential(ctx, c, Hash(secret), entry); err != nil {
		return nil, "", err
	}
	return c, secret, nil
}

func auditEntry(ctx context.Context, ws string, at time.Time, action, id, label string) *directory.AuditEntry {
	return &directory.AuditEntry{
		WorkspaceID: ws, Time: at, Actor: directory.ActorFrom(ctx),
		Action: action, TargetType: "credential", TargetID: id,
		Detail: []byte(fmt.Sprintf(`{"label":%q}`, label)),
	}
}

// parse splits a presented secret into the credential ID and random part.
func parse(kind Kind, token string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(token, prefixes[kind])
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, "_")
}

// Authenticate checks a presented secret of one of the given kinds for
// workspace ws. It returns ErrUnauthorized for anything that does not
// authenticate: malformed, unknown, wrong secret, other workspace, revoked,
// expired.
func (s *Service) Authenticate(ctx context.Context, ws, token string, kinds ...Kind) (*Credential, error) {
	for _, kind := range kinds {
		id, secret, ok := parse(kind, token)
		if !ok {
			continue
		}
		return s.check(ctx, ws, kind, id, secret)
	}
	return nil, ErrUnauthorized
}

func (s *Service) check(ctx context.Context, ws string, kind Kind, id, secret string) (*Credential, error) {
	if len(id) > 64 || len(secret) > 128 {
		return nil, ErrUnauthorized
	}
	c, hash, err := s.store.Credential(ctx, id)
	if errors.Is(err, directory.ErrNotFound) {
		// Spend the same hash-and-compare work as for a known ID.
		subtle.ConstantTimeCompare(Hash(secret), make([]byte, sha256.Size))
		return nil, ErrUnauthorized
	} else if err != nil {
		return nil, err
	}
	good := subtle.ConstantTimeCompare(Hash(secret), hash) == 1
	now := s.now()
	if !good || c.Kind != kind || (ws != "" && c.WorkspaceID != ws) || !c.Revoked.IsZero() ||
		(!c.Expires.IsZero() && !now.Before(c.Expires)) {
		return nil, ErrUnauthorized
	}
	// Record use at most once a minute: a write per request would cost
	// more than the request.
	if now.Sub(c.LastUsed) > time.Minute {
		c.LastUsed = now.UTC()
		if err := s.store.TouchCredential(ctx, c.ID, c.LastUsed); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// AccessTokenTTL is how long an OAuth access token lives.
const AccessTokenTTL = time.Hour

// IssueAccessToken implements the OAuth 2.0 client credentials grant (RFC
// 6749 §4.4): it checks a client ID and secret and returns a bearer access
// token scoped to the client's workspace SCIM API.
func (s *Service) IssueAccessToken(ctx context.Context, clientID, clientSecret string) (token string, c *Credential, err error) {
	id, ok := strings.CutPrefix(clientID, ClientIDPrefix)
	if !ok || strings.Contains(id, "_") {
		return "", nil, ErrUnauthorized
	}
	secret, ok := strings.CutPrefix(clientSecret, prefixes[KindSCIMClient])
	if !ok {
		return "", nil, ErrUnauthorized
	}
	client, err := s.check(ctx, "", KindSCIMClient, id, secret)
	if err != nil {
		return "", nil, err
	}
	at, secret, err := s.create(ctx, client.WorkspaceID, KindAccessToken, client.Label, client.ID, AccessTokenTTL)
	if err != nil {
		return "", nil, err
	}
	return prefixes[KindAccessToken] + at.ID + "_" + secret, at, nil
}

// List returns a workspace's credentials of one kind, newest first.
func (s *Service) List(ctx context.Context, ws string, kind Kind) ([]*Credential, error) {
	return s.store.Credentials(ctx, ws, kind)
}

// Revoke revokes a credential of workspace ws and of the given kind (and,
// for a client, the access tokens issued to it). id is its ID or, for a
// client, its client ID. Another workspace's credential, or one of
// another kind (an API key named on the SCIM token endpoint), is not
// found.
func (s *Service) Revoke(ctx context.Context, ws string, kind Kind, id string) error {
	id = strings.TrimPrefix(id, ClientIDPrefix)
	c, _, err := s.store.Credential(ctx, id)
	if errors.Is(err, directory.ErrNotFound) || (err == nil && (c.WorkspaceID != ws || c.Kind != kind)) {
		return directory.Errorf(directory.ENOTFOUND, "no %s %q in this workspace", kind.Label(), id)
	} else if err != nil {
		return err
	}
	if !c.Revoked.IsZero() {
		return nil
	}
	now := s.now().UTC()
	return s.store.RevokeCredential(ctx, ws, id, now, auditEntry(ctx, ws, now, string(c.Kind)+".revoked", id, c.Label))
}
