package store

import (
	"context"
	"time"

	"rollcall/internal/credential"
	"rollcall/internal/directory"
)

const credentialColumns = "id, workspace_id, kind, label, parent_id, created, last_used, expires, revoked"

func scanCredential(s scanner, hash *[]byte) (*credential.Credential, error) {
	var c credential.Credential
	var kind string
	var created, used, expires, revoked int64
	dest := []any{&c.ID, &c.WorkspaceID, &kind, &c.Label, &c.ParentID, &created, &used, &expires, &revoked}
	if hash != nil {
		dest = append(dest, hash)
	}
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	c.Kind = credential.Kind(kind)
	c.Created, c.LastUsed, c.Expires, c.Revoked = fromMicro(created), fromMicro(used), fromMicro(expires), fromMicro(revoked)
	return &c, nil
}

// InsertCredential implements credential.Store.
func (db *DB) InsertCredential(ctx context.Context, c *credential.Credential, hash []byte, audit *directory.AuditEntry) error {
	return db.updateTx(ctx, func(t *Tx) error {
		if _, err := t.exec(`INSERT INTO credentials (id, workspace_id, kind, label, secret_hash, parent_id, created, expires)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			c.ID, c.WorkspaceID, string(c.Kind), c.Label, hash, c.ParentID, micro(c.Created), micro(c.Expires)); err != nil {
			return db.translate(err)
		}
		if audit == nil {
			return nil
		}
		return t.InsertAudit(audit)
	})
}

// Credential implements credential.Store.
func (db *DB) Credential(ctx context.Context, id string) (*credential.Credential, []byte, error) {
	var hash []byte
	c, err := scanCredential(db.queryRowRead(ctx, "SELECT "+credentialColumns+", secret_hash FROM credentials WHERE id = $1", id), &hash)
	if err != nil {
		return nil, nil, db.translate(err)
	}
	return c, hash, nil
}

// Credentials implements credential.Store.
func (db *DB) Credentials(ctx context.Context, ws string, kind credential.Kind) ([]*credential.Credential, error) {
	rows, err := db.queryRead(ctx, "SELECT "+credentialColumns+" FROM credentials WHERE workspace_id = $1 AND kind = $2 ORDER BY created DESC, id", ws, string(kind))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*credential.Credential{}
	for rows.Next() {
		c, err := scanCredential(rows, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RevokeCredential implements credential.Store.
func (db *DB) RevokeCredential(ctx context.Context, ws, id string, at time.Time, audit *directory.AuditEntry) error {
	return db.updateTx(ctx, func(t *Tx) error {
		res, err := t.exec("UPDATE credentials SET revoked = $3 WHERE workspace_id = $1 AND id = $2 AND revoked = 0", ws, id, micro(at))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if _, err := t.exec("UPDATE credentials SET revoked = $3 WHERE workspace_id = $1 AND parent_id = $2 AND revoked = 0", ws, id, micro(at)); err != nil {
			return err
		}
		return t.InsertAudit(audit)
	})
}

// TouchCredential implements credential.Store.
func (db *DB) TouchCredential(ctx context.Context, id string, at time.Time) error {
	_, err := db.execWrite(ctx, "UPDATE credentials SET last_used = $2 WHERE id = $1", id, micro(at))
	return err
}

// DeleteExpiredCredentials removes access tokens that expired before t.
func (db *DB) DeleteExpiredCredentials(ctx context.Context, t time.Time) (int64, error) {
	res, err := db.execWrite(ctx, "DELETE FROM credentials WHERE kind = 'access_token' AND expires < $1", micro(t))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
