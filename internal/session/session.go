// Package session keeps browser sign-ins in the database, so every replica
// sees them and a deactivation (which deletes a member's rows in the same
// transaction) ends them at once.
//
// The cookie holds "<id>.<secret>": the ID locates the row, the secret is
// compared with its stored SHA-256 hash in constant time. Cookies are
// HttpOnly, SameSite=Lax and Secure when the base URL is https. A session
// ends after an idle timeout (activity is recorded at most once a minute)
// or an absolute one, whichever comes first, or at sign-out.
package session

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"rollcall/internal/credential"
	"rollcall/internal/directory"
)

// Session is a browser sign-in.
type Session struct {
	ID          string
	WorkspaceID string
	MemberID    string
	SecretHash  []byte
	AuthMethod  string // MethodSAML, MethodPassword or MethodBreakGlass
	Created     time.Time
	LastSeen    time.Time
	Expires     time.Time // absolute expiry
}

// How a session was signed in, as stored and as GET /api/v1/session
// shows it.
const (
	MethodSAML       = "saml"
	MethodPassword   = "password"
	MethodBreakGlass = "break_glass" // an owner's password while SSO is required
)

// ByPassword reports whether the session was signed in with a password,
// which the workspace's SSO policy may withdraw after the fact.
func (s *Session) ByPassword() bool {
	return s.AuthMethod == MethodPassword || s.AuthMethod == MethodBreakGlass
}

// Store is the persistence sessions need. Session returns
// directory.ErrNotFound for an unknown ID.
type Store interface {
	InsertSession(ctx context.Context, s *Session) error
	Session(ctx context.Context, id string) (*Session, error)
	TouchSession(ctx context.Context, id string, at time.Time) error
	DeleteSession(ctx context.Context, id string) error
}

// CookieName is the session cookie's name.
const CookieName = "rollcall_session"

// Manager creates, reads and ends sessions.
type Manager struct {
	Store    Store
	Idle     time.Duration // default 12 h
	Absolute time.Duration // default 7 days
	Secure   bool          // set the Secure attribute (https base URL)
	Now      func() time.Time
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Manager) idle() time.Duration {
	if m.Idle > 0 {
		return m.Idle
	}
	return 12 * time.Hour
}

func (m *Manager) absolute() time.Duration {
	if m.Absolute > 0 {
		return m.Absolute
	}
	return 7 * 24 * time.Hour
}

// ErrNoSession is returned when a request carries no valid session.
var ErrNoSession = errors.New("no valid session")

// Create starts a session for a member and sets its cookie on w.
func (m *Manager) Create(ctx context.Context, w http.ResponseWriter, ws, memberID, method string) (*Session, error) {
	s, cookie := m.New(ws, memberID, method)
	if err := m.Store.InsertSession(ctx, s); err != nil {
		return nil, err
	}
	m.SetCookie(w, s, cookie)
	return s, nil
}

// New makes a session without storing it, and the cookie value that will
// prove it, for a caller that stores it in a transaction of its own (the
// SAML completion, which consumes its one-time code in the same one). Give
// the cookie to SetCookie once the session is stored.
func (m *Manager) New(ws, memberID, method string) (s *Session, cookie string) {
	now := m.now().UTC()
	secret := credential.NewSecret(32)
	s = &Session{ID: directory.NewID(), WorkspaceID: ws, MemberID: memberID, SecretHash: credential.Hash(secret),
		AuthMethod: method, Created: now, LastSeen: now, Expires: now.Add(m.absolute())}
	return s, s.ID + "." + secret
}

// SetCookie sends the cookie of a stored session made by New.
func (m *Manager) SetCookie(w http.ResponseWriter, s *Session, cookie string) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: cookie, Path: "/", HttpOnly: true, Secure: m.Secure,
		SameSite: http.SameSiteLaxMode, Expires: s.Expires,
	})
}

// Get returns the request's session, or ErrNoSession.
func (m *Manager) Get(r *http.Request) (*Session, error) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return nil, ErrNoSession
	}
	id, secret, ok := strings.Cut(c.Value, ".")
	if !ok || len(id) > 64 || len(secret) > 128 {
		return nil, ErrNoSession
	}
	s, err := m.Store.Session(r.Context(), id)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, ErrNoSession
	} else if err != nil {
		return nil, err
	}
	now := m.now()
	if subtle.ConstantTimeCompare(credential.Hash(secret), s.SecretHash) != 1 || !now.Before(s.Expires) || now.Sub(s.LastSeen) > m.idle() {
		return nil, ErrNoSession
	}
	if now.Sub(s.LastSeen) > time.Minute {
		if err := m.Store.TouchSession(r.Context(), s.ID, now.UTC()); err != nil {
			return nil, err
		}
		s.LastSeen = now.UTC()
	}
	return s, nil
}

// End deletes the request's session, if any, and clears its cookie.
func (m *Manager) End(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true, Secure: m.Secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	c, err := r.Cookie(CookieName)
	if err != nil {
		return nil
	}
	id, _, _ := strings.Cut(c.Value, ".")
	return m.Store.DeleteSession(r.Context(), id)
}
