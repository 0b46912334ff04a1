package store

import (
	"context"
	"time"
)

// Session is a browser sign-in as stored: the secret itself is never kept,
// only its hash (see internal/session for tokens and cookies).
type Session struct {
	ID          string
	WorkspaceID string
	MemberID    string
	SecretHash  []byte
	AuthMethod  string // "saml", "password", "break_glass"
	Created     time.Time
	LastSeen    time.Time
	Expires     time.Time // absolute expiry
}

// InsertSession stores a new session.
func (db *DB) InsertSession(ctx context.Context, s *Session) error {
	_, err := db.execWrite(ctx, `INSERT INTO sessions (id, workspace_id, member_id, secret_hash, auth_method, created, last_seen, expires)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		s.ID, s.WorkspaceID, s.MemberID, s.SecretHash, s.AuthMethod, micro(s.Created), micro(s.LastSeen), micro(s.Expires))
	return db.translate(err)
}

// Session returns a session by ID.
func (db *DB) Session(ctx context.Context, id string) (*Session, error) {
	var s Session
	var created, seen, expires int64
	err := db.queryRowRead(ctx, `SELECT id, workspace_id, member_id, secret_hash, auth_method, created, last_seen, expires
		FROM sessions WHERE id = $1`, id).Scan(&s.ID, &s.WorkspaceID, &s.MemberID, &s.SecretHash, &s.AuthMethod, &created, &seen, &expires)
	if err != nil {
		return nil, db.translate(err)
	}
	s.Created, s.LastSeen, s.Expires = fromMicro(created), fromMicro(seen), fromMicro(expires)
	return &s, nil
}

// TouchSession records activity on a session.
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	_, err := db.execWrite(ctx, "UPDATE sessions SET last_seen = $2 WHERE id = $1", id, micro(at))
	return err
}

// DeleteSession ends a session.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	_, err := db.execWrite(ctx, "DELETE FROM sessions WHERE id = $1", id)
	return err
}

// DeleteExpiredSessions removes sessions past their absolute expiry or idle
// since before idleBefore, and returns how many.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	res, err := db.execWrite(ctx, "DELETE FROM sessions WHERE expires < $1 OR last_seen < $2", micro(now), micro(idleBefore))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
