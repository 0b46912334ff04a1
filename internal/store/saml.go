package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"rollcall/internal/credential"
	"rollcall/internal/directory"
	"rollcall/internal/saml"
)

const connectionColumns = `workspace_id, idp_entity_id, idp_sso_url, idp_certs, metadata_url, metadata_xml,
	metadata_fetched, metadata_next_fetch, metadata_error, allow_idp_initiated, allow_sha1, jit, clock_skew_ms,
	preset, attribute_map, cert_warnings, created, modified`

const selectConnection = `SELECT ` + connectionColumns + ` FROM saml_connections`

func scanConnection(s scanner) (*saml.Connection, error) {
	var c saml.Connection
	var certs, amap, warnings string
	var fetched, next, skew, created, modified int64
	if err := s.Scan(&c.WorkspaceID, &c.IdPEntityID, &c.IdPSSOURL, &certs, &c.MetadataURL, &c.MetadataXML,
		&fetched, &next, &c.MetadataError, &c.AllowIdPInitiated, &c.AllowSHA1, &c.JIT, &skew,
		&c.Preset, &amap, &warnings, &created, &modified); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(certs), &c.IdPCerts); err != nil {
		return nil, fmt.Errorf("saml connection %s: certificates: %w", c.WorkspaceID, err)
	}
	if err := json.Unmarshal([]byte(amap), &c.AttributeMap); err != nil {
		return nil, fmt.Errorf("saml connection %s: attribute map: %w", c.WorkspaceID, err)
	}
	if err := json.Unmarshal([]byte(warnings), &c.CertWarnings); err != nil {
		return nil, fmt.Errorf("saml connection %s: warnings: %w", c.WorkspaceID, err)
	}
	c.MetadataFetched, c.MetadataNext = fromMicro(fetched), fromMicro(next)
	c.ClockSkew = time.Duration(skew) * time.Millisecond
	c.Created, c.Modified = fromMicro(created), fromMicro(modified)
	return &c, nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v) // maps and slices of strings and ints always marshal
	return string(b)
}

// Connection implements saml.Store.
func (db *DB) Connection(ctx context.Context, ws string) (*saml.Connection, error) {
	c, err := scanConnection(db.queryRowRead(ctx, selectConnection+" WHERE workspace_id = $1", ws))
	return c, db.translate(err)
}

// HasConnection reports whether the workspace has an IdP configured,
// without reading the connection (its metadata can be large): the sign-in
// page asks on every view whether to offer SSO.
func (db *DB) HasConnection(ctx context.Context, ws string) (bool, error) {
	var ok bool
	err := db.queryRowRead(ctx, "SELECT EXISTS (SELECT 1 FROM saml_connections WHERE workspace_id = $1)", ws).Scan(&ok)
	return ok, err
}

// LastLogin implements saml.Store.
func (db *DB) LastLogin(ctx context.Context, ws string) (string, error) {
	var data string
	err := db.queryRowRead(ctx, "SELECT data FROM saml_last_logins WHERE workspace_id = $1", ws).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return data, err
}

// Connections implements saml.Store.
func (db *DB) Connections(ctx context.Context) ([]*saml.Connection, error) {
	rows, err := db.queryRead(ctx, selectConnection+" ORDER BY workspace_id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*saml.Connection
	for rows.Next() {
		c, err := scanConnection(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SaveConnection implements saml.Store.
func (db *DB) SaveConnection(ctx context.Context, c *saml.Connection) error {
	certs := c.IdPCerts
	if certs == nil {
		certs = []string{}
	}
	amap, warnings := c.AttributeMap, c.CertWarnings
	if amap == nil {
		amap = map[string]string{}
	}
	if warnings == nil {
		warnings = map[string]int{}
	}
	_, err := db.execWrite(ctx, `INSERT INTO saml_connections (`+connectionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
		ON CONFLICT (workspace_id) DO UPDATE SET idp_entity_id = $2, idp_sso_url = $3, idp_certs = $4,
		metadata_url = $5, metadata_xml = $6, metadata_fetched = $7, metadata_next_fetch = $8, metadata_error = $9,
		allow_idp_initiated = $10, allow_sha1 = $11, jit = $12, clock_skew_ms = $13, preset = $14,
		attribute_map = $15, cert_warnings = $16, modified = $18`,
		c.WorkspaceID, c.IdPEntityID, c.IdPSSOURL, jsonText(certs), c.MetadataURL, c.MetadataXML,
		micro(c.MetadataFetched), micro(c.MetadataNext), c.MetadataError, c.AllowIdPInitiated, c.AllowSHA1, c.JIT,
		c.ClockSkew.Milliseconds(), c.Preset, jsonText(amap), jsonText(warnings),
		micro(c.Created), micro(c.Modified))
	return db.translate(err)
}

// ClaimMetadataRefresh implements saml.Store.
func (db *DB) ClaimMetadataRefresh(ctx context.Context, now, next time.Time) (*saml.Connection, error) {
	var c *saml.Connection
	err := db.updateTx(ctx, func(t *Tx) error {
		var err error
		c, err = scanConnection(t.queryRow(t.forUpdate(selectConnection+`
			WHERE metadata_url <> '' AND metadata_next_fetch <= $1 ORDER BY metadata_next_fetch LIMIT 1`)+skipLocked(t), micro(now)))
		if err != nil {
			return db.translate(err)
		}
		_, err = t.exec("UPDATE saml_connections SET metadata_next_fetch = $2 WHERE workspace_id = $1", c.WorkspaceID, micro(next))
		return err
	})
	return c, err
}

// skipLocked lets concurrent claimers pass over rows another replica holds.
func skipLocked(t *Tx) string {
	if t.db.d.ForUpdate != "" {
		return " SKIP LOCKED"
	}
	return ""
}

const selectSPKey = "SELECT workspace_id, id, status, key_pem, cert_pem, created FROM saml_sp_keys"

// SPKeys implements saml.Store.
func (db *DB) SPKeys(ctx context.Context, ws string) ([]*saml.SPKey, error) {
	return db.spKeys(ctx, selectSPKey+" WHERE workspace_id = $1 ORDER BY created, id", ws)
}

// PlainSPKeys implements saml.Store: keys whose private key is not sealed
// (every sealed value starts with credential.SealedPrefix).
func (db *DB) PlainSPKeys(ctx context.Context) ([]*saml.SPKey, error) {
	return db.spKeys(ctx, selectSPKey+" WHERE key_pem NOT LIKE $1 ORDER BY workspace_id, created, id", credential.SealedPrefix+"%")
}

// AllSPKeys implements saml.Store.
func (db *DB) AllSPKeys(ctx context.Context) ([]*saml.SPKey, error) {
	return db.spKeys(ctx, selectSPKey+" ORDER BY workspace_id, created, id")
}

func (db *DB) spKeys(ctx context.Context, query string, args ...any) ([]*saml.SPKey, error) {
	rows, err := db.queryRead(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*saml.SPKey
	for rows.Next() {
		var k saml.SPKey
		var created int64
		if err := rows.Scan(&k.WorkspaceID, &k.ID, &k.Status, &k.KeyPEM, &k.CertPEM, &created); err != nil {
			return nil, err
		}
		k.Created = fromMicro(created)
		out = append(out, &k)
	}
	return out, rows.Err()
}

const insertSPKey = "INSERT INTO saml_sp_keys (workspace_id, id, status, key_pem, cert_pem, created) VALUES ($1, $2, $3, $4, $5, $6)"

// InsertSPKey implements saml.Store.
func (db *DB) InsertSPKey(ctx context.Context, k *saml.SPKey) error {
	_, err := db.execWrite(ctx, insertSPKey, k.WorkspaceID, k.ID, k.Status, k.KeyPEM, k.CertPEM, micro(k.Created))
	return db.translate(err)
}

// ReplaceSPKeys implements saml.Store.
func (db *DB) ReplaceSPKeys(ctx context.Context, ws string, k *saml.SPKey) ([]string, error) {
	var ids []string
	err := db.updateTx(ctx, func(t *Tx) error {
		ids = nil
		rows, err := t.query("DELETE FROM saml_sp_keys WHERE workspace_id = $1 RETURNING id", ws)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		_, err = t.exec(insertSPKey, k.WorkspaceID, k.ID, k.Status, k.KeyPEM, k.CertPEM, micro(k.Created))
		return err
	})
	slices.Sort(ids)
	return ids, db.translate(err)
}

// ReplaceSPKeyPEM implements saml.Store.
func (db *DB) ReplaceSPKeyPEM(ctx context.Context, ws, id, old, replacement string) (bool, error) {
	res, err := db.execWrite(ctx, "UPDATE saml_sp_keys SET key_pem = $4 WHERE workspace_id = $1 AND id = $2 AND key_pem = $3", ws, id, old, replacement)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetSPKeyStatus implements saml.Store. A workspace has at most one key in
// each state (a unique index), checked row by row, so the changes run in
// an order that never holds two at once: deletions, then the key becoming
// previous, then current, then next.
func (db *DB) SetSPKeyStatus(ctx context.Context, ws string, status map[string]string) error {
	rank := map[string]int{"": 0, saml.KeyPrevious: 1, saml.KeyCurrent: 2, saml.KeyNext: 3}
	ids := slices.Collect(maps.Keys(status))
	slices.SortFunc(ids, func(a, b string) int { return cmp.Or(rank[status[a]]-rank[status[b]], strings.Compare(a, b)) })
	return db.updateTx(ctx, func(t *Tx) error {
		for _, id := range ids {
			st := status[id]
			var err error
			if st == "" {
				_, err = t.exec("DELETE FROM saml_sp_keys WHERE workspace_id = $1 AND id = $2", ws, id)
			} else {
				_, err = t.exec("UPDATE saml_sp_keys SET status = $3 WHERE workspace_id = $1 AND id = $2", ws, id, st)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// InsertRequest implements saml.Store. The request commits lazily (see
// SetLazyWriter): only the ACS reads it, and a sign-in completes only
// after a durable commit that carries it to the disk. A crash before that
// costs the member a second click (the IdP's answer to the lost request
// is refused as unknown_request, and recorded so).
func (db *DB) InsertRequest(ctx context.Context, r *saml.PendingRequest) error {
	const insert = "INSERT INTO saml_requests (id, workspace_id, browser_hash, return_to, expires) VALUES ($1, $2, $3, $4, $5)"
	args := []any{r.ID, r.WorkspaceID, r.BrowserHash, r.ReturnTo, micro(r.Expires)}
	_, err := db.execLazy(ctx, insert, args...)
	return db.translate(err)
}

// ConsumeResponse implements saml.Store.
func (db *DB) ConsumeResponse(ctx context.Context, ws, requestID, assertionID string, expires, now time.Time,
	login *saml.PendingLogin, lastLogin string, entry *directory.AuditEntry) (*saml.PendingRequest, error) {
	if login != nil && entry != nil && db.d.WritableCTE {
		return db.consumeAccepted(ctx, ws, requestID, assertionID, expires, now, login, lastLogin, entry)
	}
	var req *saml.PendingRequest
	err := db.updateTx(ctx, func(t *Tx) error {
		req = nil
		if requestID != "" {
			r := saml.PendingRequest{}
			var exp int64
			err := t.queryRow("DELETE FROM saml_requests WHERE id = $1 AND workspace_id = $2 RETURNING id, workspace_id, browser_hash, return_to, expires",
				requestID, ws).Scan(&r.ID, &r.WorkspaceID, &r.BrowserHash, &r.ReturnTo, &exp)
			if err != nil {
				return db.translate(err)
			}
			r.Expires = fromMicro(exp)
			if !now.Before(r.Expires) {
				return fmt.Errorf("%w: request %s expired at %s", ErrNotFound, requestID, r.Expires.Format(time.RFC3339))
			}
			req = &r
		}
		res, err := t.exec("INSERT INTO saml_replay (workspace_id, assertion_id, expires) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", ws, assertionID, micro(expires))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: assertion %s was already used", ErrConflict, assertionID)
		}
		if login != nil {
			if req != nil {
				login.BrowserHash, login.ReturnTo = req.BrowserHash, req.ReturnTo
			}
			if _, err := t.exec("INSERT INTO saml_logins ("+loginColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7)",
				login.CodeHash, ws, login.MemberID, login.BrowserHash, login.ReturnTo, micro(login.Expires), micro(login.SessionNotOnOrAfter)); err != nil {
				return err
			}
		}
		if lastLogin != "" {
			if _, err := t.exec(`INSERT INTO saml_last_logins (workspace_id, data) VALUES ($1, $2)
				ON CONFLICT (workspace_id) DO UPDATE SET data = excluded.data`, ws, lastLogin); err != nil {
				return err
			}
		}
		if entry != nil {
			return t.InsertAudit(entry)
		}
		return nil
	})
	return req, err
}

// consumeAccepted is ConsumeResponse for a response the ACS accepted, on an
// engine with writable CTEs: all of it in one statement, one round trip,
// committed on the lazy writer. Until /complete uses the code (a durable
// commit that carries this one to the disk), losing it in a crash loses
// only a sign-in nobody finished, whose assertion was never used for a
// session; what an admin could have seen of it meanwhile (the audit entry
// of the accepted response, the last-login record) is lost with it. A
// response the ACS refused goes through the durable transaction.
//
// The statement may itself refuse (no such request, an expired one, an
// assertion ID already recorded); it then still deletes the request, where
// the transaction would leave it to expire, and that delete commits lazily
// too. An expired request cannot be used anyway, and a request whose
// answer reuses a recorded assertion ID can only come from an IdP that
// repeats IDs, which is refused either way.
func (db *DB) consumeAccepted(ctx context.Context, ws, requestID, assertionID string, expires, now time.Time,
	login *saml.PendingLogin, lastLogin string, entry *directory.AuditEntry) (*saml.PendingRequest, error) {
	var found, recorded int
	var auditID sql.NullInt64
	var reqID, returnTo sql.NullString
	var browser []byte
	var reqExpires sql.NullInt64
	args := []any{ws, requestID, assertionID, micro(expires), micro(now),
		login.CodeHash, login.MemberID, login.ReturnTo, micro(login.Expires), micro(login.SessionNotOnOrAfter), lastLogin}
	args = append(args, auditArgs(entry)...)
	err := db.queryRowLazy(ctx, consumeAcceptedSQL, args...).
		Scan(&found, &recorded, &auditID, &reqID, &browser, &returnTo, &reqExpires)
	switch {
	case err != nil:
		return nil, db.translate(err)
	case requestID != "" && found == 0:
		return nil, fmt.Errorf("%w: request %s", ErrNotFound, requestID)
	case requestID != "" && reqExpires.Int64 <= micro(now):
		return nil, fmt.Errorf("%w: request %s expired at %s", ErrNotFound, requestID, fromMicro(reqExpires.Int64).Format(time.RFC3339))
	case recorded == 0:
		return nil, fmt.Errorf("%w: assertion %s was already used", ErrConflict, assertionID)
	}
	entry.ID = auditID.Int64
	var req *saml.PendingRequest
	if found > 0 {
		req = &saml.PendingRequest{ID: reqID.String, WorkspaceID: ws, BrowserHash: browser, ReturnTo: returnTo.String, Expires: fromMicro(reqExpires.Int64)}
		login.BrowserHash, login.ReturnTo = req.BrowserHash, req.ReturnTo
	}
	return req, nil
}

// consumeAcceptedSQL: $1 workspace, $2 request ID ("" for IdP-initiated),
// $3 assertion ID, $4 its expiry, $5 now, $6-$10 the pending login,
// $11 the last-login record ("" to keep it), $12-$21 the audit entry.
var consumeAcceptedSQL = `WITH req AS (
		DELETE FROM saml_requests WHERE id = $2 AND workspace_id = $1 RETURNING id, browser_hash, return_to, expires
	), replay AS (
		INSERT INTO saml_replay (workspace_id, assertion_id, expires)
		SELECT $1, $3, $4 WHERE $2 = '' OR EXISTS (SELECT 1 FROM req WHERE expires > $5)
		ON CONFLICT DO NOTHING RETURNING workspace_id
	), login AS (
		INSERT INTO saml_logins (` + loginColumns + `)
		SELECT $6, $1, $7, req.browser_hash, COALESCE(req.return_to, $8), $9, $10 FROM replay LEFT JOIN req ON TRUE
	), last AS (
		INSERT INTO saml_last_logins (workspace_id, data) SELECT $1, $11 FROM replay WHERE $11 <> ''
		ON CONFLICT (workspace_id) DO UPDATE SET data = excluded.data
	), audit AS (
		INSERT INTO audit_log (` + auditColumns + `) SELECT ` + placeholders(12, auditArgCount) + ` FROM replay RETURNING id
	)
	SELECT (SELECT COUNT(*) FROM req), (SELECT COUNT(*) FROM replay), (SELECT id FROM audit),
		req.id, req.browser_hash, req.return_to, req.expires
	FROM (SELECT 1) one LEFT JOIN req ON TRUE`

// CompleteLogin implements saml.Store. The session is inserted only for
// an active member, in the same statement that checks it, so a member
// deactivated while signing in never gets one.
func (db *DB) CompleteLogin(ctx context.Context, codeHash []byte, c *saml.Completion, s *Session) (*saml.PendingLogin, string, bool, error) {
	if db.d.WritableCTE {
		return db.completeLoginCTE(ctx, codeHash, c, s)
	}
	var l *saml.PendingLogin
	var refused string
	var created bool
	err := db.updateTx(ctx, func(t *Tx) error {
		l, refused, created = nil, "", false
		p, err := scanLogin(t.queryRow("DELETE FROM saml_logins WHERE code_hash = $1 RETURNING "+loginColumns, codeHash))
		if err != nil {
			return db.translate(err)
		}
		l = p
		if refused = c.Refusal(l); refused != "" {
			return nil
		}
		s.WorkspaceID, s.MemberID, s.Expires = p.WorkspaceID, p.MemberID, saml.SessionExpiry(p, s.Expires)
		res, err := t.exec(`INSERT INTO sessions (`+sessionColumns+`)
			SELECT $1, workspace_id, id, $2, $3, $4, $5, $6 FROM members WHERE workspace_id = $7 AND id = $8 AND active = TRUE`,
			s.ID, s.SecretHash, s.AuthMethod, micro(s.Created), micro(s.LastSeen), micro(s.Expires), p.WorkspaceID, p.MemberID)
		if err != nil {
			return db.translate(err)
		}
		n, err := res.RowsAffected()
		created = n == 1
		return err
	})
	return l, refused, created, err
}

// completeLoginCTE is CompleteLogin in one round trip: one statement uses
// the code up whatever it finds, checks it the way Completion.Refusal does
// (ok), and only if it passes turns it into a session for a member still
// active, its expiry capped the way saml.SessionExpiry caps it. The DELETE
// is what makes the code single-use: of two completions racing with one
// code, only one deletes the row; the other finds it gone. Refusal then
// says why a login was refused, and the two must agree (the store-suite
// case CompleteLogin holds them to one answer); where they do not, the
// completion fails closed.
//
// The browser binding is compared with = here, not in constant time: both
// sides are SHA-256 hashes of secrets, and the code it sits beside is
// looked up by its hash the same way.
func (db *DB) completeLoginCTE(ctx context.Context, codeHash []byte, c *saml.Completion, s *Session) (*saml.PendingLogin, string, bool, error) {
	now := micro(c.Now)
	var ok bool
	var created int
	var expires int64
	row := db.queryRowWrite(ctx, `WITH l AS (
			DELETE FROM saml_logins WHERE code_hash = $1
			RETURNING `+loginColumns+`, (workspace_id = $2 AND expires > $3
				AND (session_not_on_or_after = 0 OR session_not_on_or_after > $3)
				AND (browser_hash IS NULL OR browser_hash = $4)) IS TRUE AS ok
		), s AS (
			INSERT INTO sessions (`+sessionColumns+`)
			SELECT $5, m.workspace_id, m.id, $6, $7, $8, $9,
				CASE WHEN l.session_not_on_or_after <> 0 AND l.session_not_on_or_after < $10 THEN l.session_not_on_or_after ELSE $10 END
			FROM l JOIN members m ON m.workspace_id = l.workspace_id AND m.id = l.member_id WHERE l.ok AND m.active = TRUE
			RETURNING expires
		)
		SELECT `+loginColumns+`, ok, (SELECT COUNT(*) FROM s), COALESCE((SELECT expires FROM s), 0) FROM l`,
		codeHash, c.Workspace, now, c.BrowserHash,
		s.ID, s.SecretHash, s.AuthMethod, micro(s.Created), micro(s.LastSeen), micro(s.Expires))
	p, err := scanLogin(row, &ok, &created, &expires)
	if err != nil {
		return nil, "", false, db.translate(err)
	}
	refused := c.Refusal(p)
	if ok != (refused == "") {
		// The session, if any, is never handed out, and expires.
		return nil, "", false, fmt.Errorf("sign-in completion: the database and Completion.Refusal disagree about a login (workspace %s, Refusal says %q)", p.WorkspaceID, refused)
	}
	if refused != "" {
		return p, refused, false, nil
	}
	s.WorkspaceID, s.MemberID = p.WorkspaceID, p.MemberID
	if created == 1 {
		s.Expires = fromMicro(expires)
	}
	return p, "", created == 1, nil
}

// loginColumns are a pending login's columns, in scanLogin's order.
const loginColumns = "code_hash, workspace_id, member_id, browser_hash, return_to, expires, session_not_on_or_after"

// scanLogin reads a pending login's columns, then any extra ones into
// extra.
func scanLogin(row scanner, extra ...any) (*saml.PendingLogin, error) {
	var p saml.PendingLogin
	var expires, sessionCap int64
	if err := row.Scan(append([]any{&p.CodeHash, &p.WorkspaceID, &p.MemberID, &p.BrowserHash, &p.ReturnTo, &expires, &sessionCap}, extra...)...); err != nil {
		return nil, err
	}
	p.Expires, p.SessionNotOnOrAfter = fromMicro(expires), fromMicro(sessionCap)
	return &p, nil
}

// UpdateMetadata implements saml.Store.
func (db *DB) UpdateMetadata(ctx context.Context, ws string, c *saml.Connection) error {
	certs := c.IdPCerts
	if certs == nil {
		certs = []string{}
	}
	_, err := db.execWrite(ctx, `UPDATE saml_connections SET idp_entity_id = $2, idp_sso_url = $3, idp_certs = $4,
		metadata_xml = $5, metadata_fetched = $6, metadata_next_fetch = $7, metadata_error = $8 WHERE workspace_id = $1`,
		ws, c.IdPEntityID, c.IdPSSOURL, jsonText(certs), c.MetadataXML, micro(c.MetadataFetched), micro(c.MetadataNext), c.MetadataError)
	return err
}

// RecordCertWarnings implements saml.Store. The record is compared as the
// JSON text the store writes (encoding/json sorts map keys).
func (db *DB) RecordCertWarnings(ctx context.Context, ws string, old, warned map[string]int, entries []*directory.AuditEntry) (bool, error) {
	if old == nil {
		old = map[string]int{}
	}
	if warned == nil {
		warned = map[string]int{}
	}
	var recorded bool
	err := db.updateTx(ctx, func(t *Tx) error {
		recorded = false
		res, err := t.exec("UPDATE saml_connections SET cert_warnings = $3 WHERE workspace_id = $1 AND cert_warnings = $2", ws, jsonText(old), jsonText(warned))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		for _, e := range entries {
			if err := t.InsertAudit(e); err != nil {
				return err
			}
		}
		recorded = true
		return nil
	})
	return recorded, err
}

// DeleteExpiredSAML implements saml.Store.
func (db *DB) DeleteExpiredSAML(ctx context.Context, now time.Time) error {
	return db.updateTx(ctx, func(t *Tx) error {
		for _, table := range []string{"saml_requests", "saml_logins", "saml_replay", "password_resets"} {
			if _, err := t.exec("DELETE FROM "+table+" WHERE expires < $1", micro(now)); err != nil {
				return err
			}
		}
		return nil
	})
}
