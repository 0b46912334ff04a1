package store

import (
	"context"
	"fmt"
	"strings"

	"rollcall/internal/directory"
)

// InsertAudit implements directory.Tx.
func (t *Tx) InsertAudit(e *directory.AuditEntry) error {
	return t.queryRow(insertAudit, auditArgs(e)...).Scan(&e.ID)
}

var insertAudit = "INSERT INTO audit_log (" + auditColumns + ") VALUES (" + placeholders(1, auditArgCount) + ") RETURNING id"

// auditColumns are the columns auditArgs fills, in its order.
const (
	auditColumns  = "workspace_id, time, actor_kind, actor_id, actor_label, request_id, action, target_type, target_id, detail"
	auditArgCount = 10
)

func auditArgs(e *directory.AuditEntry) []any {
	detail := string(e.Detail)
	if detail == "" {
		detail = "{}"
	}
	return []any{e.WorkspaceID, micro(e.Time), e.Actor.Kind, e.Actor.ID, e.Actor.Label, e.Actor.RequestID,
		e.Action, e.TargetType, e.TargetID, detail}
}

// Audit implements directory.Reader.
func (db *DB) Audit(ctx context.Context, ws string, q directory.AuditQuery) ([]directory.AuditEntry, error) {
	where := []string{"workspace_id = $1"}
	args := []any{ws}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if q.Before > 0 {
		add("id < $%d", q.Before)
	}
	if !q.Since.IsZero() {
		add("time >= $%d", micro(q.Since))
	}
	if q.TargetID != "" {
		add("target_id = $%d", q.TargetID)
	}
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	args = append(args, limit)
	rows, err := db.queryRead(ctx, fmt.Sprintf(`SELECT id, workspace_id, time, actor_kind, actor_id, actor_label, request_id,
		action, target_type, target_id, detail FROM audit_log WHERE %s ORDER BY id DESC LIMIT $%d`,
		strings.Join(where, " AND "), len(args)), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []directory.AuditEntry{}
	for rows.Next() {
		var e directory.AuditEntry
		var t int64
		var detail string
		if err := rows.Scan(&e.ID, &e.WorkspaceID, &t, &e.Actor.Kind, &e.Actor.ID, &e.Actor.Label, &e.Actor.RequestID,
			&e.Action, &e.TargetType, &e.TargetID, &detail); err != nil {
			return nil, err
		}
		e.Time, e.Detail = fromMicro(t), []byte(detail)
		out = append(out, e)
	}
	return out, rows.Err()
}
