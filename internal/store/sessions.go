package store

import (
	"context"
	"time"

	"rollcall/internal/session"
)

// Session is a browser sign-in as stored (see internal/session).
type Session = session.Session

// sessionColumns are a session's columns, in the order the store writes
// and reads them.
const sessionColumns = "id, workspace_id, member_id, secret_hash, auth_method, created, last_seen, expires"

// InsertSession stores a new session.
func (db *DB) InsertSession(ctx context.Context, s *Session) error {
	_, err := db.execWrite(ctx, `INSERT INTO sessions (`+sessionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		s.ID, s.WorkspaceID, s.MemberID, s.SecretHash, s.AuthMethod, micro(s.Created), micro(s.LastSeen), micro(s.Expires))
	return db.translate(err)
}

// Session returns a session by ID.
func (db *DB) Session(ctx context.Context, id string) (*Session, error) {
	var s Session
	var created, seen, expires int64
	err := db.queryRowRead(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id).Scan(&s.ID, &s.WorkspaceID, &s.MemberID, &s.SecretHash, &s.AuthMethod, &created, &seen, &expires)
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

// SetPassword stores a member's password hash (argon2id, PHC string).
func (db *DB) SetPassword(ctx context.Context, ws, memberID, hash string, at time.Time) error {
	_, err := db.execWrite(ctx, `INSERT INTO member_passwords (workspace_id, member_id, hash, modified) VALUES ($1, $2, $3, $4)
		ON CONFLICT (workspace_id, member_id) DO UPDATE SET hash = $3, modified = $4`, ws, memberID, hash, micro(at))
	return db.translate(err)
}

// PasswordHash returns a member's password hash (ErrNotFound without one).
func (db *DB) PasswordHash(ctx context.Context, ws, memberID string) (string, error) {
	var h string
	err := db.queryRowRead(ctx, "SELECT hash FROM member_passwords WHERE workspace_id = $1 AND member_id = $2", ws, memberID).Scan(&h)
	return h, db.translate(err)
}

// InsertReset stores a password reset token's hash.
func (db *DB) InsertReset(ctx context.Context, tokenHash []byte, ws, memberID string, expires time.Time) error {
	_, err := db.execWrite(ctx, "INSERT INTO password_resets (token_hash, workspace_id, member_id, expires) VALUES ($1, $2, $3, $4)",
		tokenHash, ws, memberID, micro(expires))
	return db.translate(err)
}

// TakeReset consumes a reset token: it returns the workspace, the member
// and the expiry, and deletes it (ErrNotFound if unknown or already used).
func (db *DB) TakeReset(ctx context.Context, tokenHash []byte) (ws, memberID string, expires time.Time, err error) {
	var exp int64
	err = db.queryRowWrite(ctx, "DELETE FROM password_resets WHERE token_hash = $1 RETURNING workspace_id, member_id, expires", tokenHash).Scan(&ws, &memberID, &exp)
	return ws, memberID, fromMicro(exp), db.translate(err)
}
