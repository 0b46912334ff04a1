package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// ProvisioningEntry is one SCIM request in the provisioning log.
type ProvisioningEntry struct {
	ID              int64         `json:"id"`
	WorkspaceID     string        `json:"workspace_id"`
	Time            time.Time     `json:"time"`
	RequestID       string        `json:"request_id"`
	CredentialID    string        `json:"credential_id,omitempty"`
	CredentialLabel string        `json:"credential_label,omitempty"`
	UserAgent       string        `json:"user_agent,omitempty"`
	Method          string        `json:"method"`
	Path            string        `json:"path"`
	Status          int           `json:"status"`
	ScimType        string        `json:"scim_type,omitempty"`
	ResourceType    string        `json:"resource_type,omitempty"`
	ResourceID      string        `json:"resource_id,omitempty"`
	MemberID        string        `json:"member_id,omitempty"`
	Summary         string        `json:"summary,omitempty"`
	Duration        time.Duration `json:"-"`
	DurationMS      float64       `json:"duration_ms"`
}

// InsertProvisioningEntries writes entries in one transaction.
func (db *DB) InsertProvisioningEntries(ctx context.Context, entries []ProvisioningEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return db.updateTx(ctx, func(t *Tx) error {
		const cols = 15
		for _, batch := range batches(len(entries), 60) {
			var b strings.Builder
			b.WriteString(`INSERT INTO provisioning_log (workspace_id, time, request_id, credential_id, credential_label,
				user_agent, method, path, status, scim_type, resource_type, resource_id, member_id, summary, duration_us) VALUES `)
			args := make([]any, 0, cols*(batch[1]-batch[0]))
			for i, e := range entries[batch[0]:batch[1]] {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "(%s)", placeholders(len(args)+1, cols))
				args = append(args, e.WorkspaceID, micro(e.Time), e.RequestID, e.CredentialID, e.CredentialLabel,
					e.UserAgent, e.Method, e.Path, e.Status, e.ScimType, e.ResourceType, e.ResourceID, e.MemberID,
					e.Summary, e.Duration.Microseconds())
			}
			if _, err := t.exec(b.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// batches splits n items into [from, to) ranges of at most size.
func batches(n, size int) [][2]int {
	var out [][2]int
	for i := 0; i < n; i += size {
		out = append(out, [2]int{i, min(i+size, n)})
	}
	return out
}

// ProvisioningQuery selects provisioning log entries, newest first.
type ProvisioningQuery struct {
	Before   int64  // entries with a lower ID (0: from the newest)
	MemberID string // only entries about this member
	Errors   bool   // only failed requests (status ≥ 400)
	Limit    int
}

// ProvisioningLog returns entries of one workspace.
func (db *DB) ProvisioningLog(ctx context.Context, ws string, q ProvisioningQuery) ([]ProvisioningEntry, error) {
	where := []string{"workspace_id = $1"}
	args := []any{ws}
	if q.Before > 0 {
		args = append(args, q.Before)
		where = append(where, fmt.Sprintf("id < $%d", len(args)))
	}
	if q.MemberID != "" {
		args = append(args, q.MemberID)
		where = append(where, fmt.Sprintf("member_id = $%d", len(args)))
	}
	if q.Errors {
		where = append(where, "status >= 400")
	}
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	args = append(args, limit)
	rows, err := db.queryRead(ctx, fmt.Sprintf(`SELECT id, workspace_id, time, request_id, credential_id, credential_label,
		user_agent, method, path, status, scim_type, resource_type, resource_id, member_id, summary, duration_us
		FROM provisioning_log WHERE %s ORDER BY id DESC LIMIT $%d`, strings.Join(where, " AND "), len(args)), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ProvisioningEntry{}
	for rows.Next() {
		var e ProvisioningEntry
		var t, d int64
		if err := rows.Scan(&e.ID, &e.WorkspaceID, &t, &e.RequestID, &e.CredentialID, &e.CredentialLabel, &e.UserAgent,
			&e.Method, &e.Path, &e.Status, &e.ScimType, &e.ResourceType, &e.ResourceID, &e.MemberID, &e.Summary, &d); err != nil {
			return nil, err
		}
		e.Time, e.Duration = fromMicro(t), time.Duration(d)*time.Microsecond
		e.DurationMS = float64(d) / 1000
		out = append(out, e)
	}
	return out, rows.Err()
}

// TrimProvisioningLog deletes entries older than olderThan, and in each
// workspace all but the newest keep entries. It returns how many went.
func (db *DB) TrimProvisioningLog(ctx context.Context, olderThan time.Time, keep int) (int64, error) {
	res, err := db.execWrite(ctx, "DELETE FROM provisioning_log WHERE time < $1", micro(olderThan))
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	rows, err := db.queryRead(ctx, "SELECT workspace_id FROM provisioning_log GROUP BY workspace_id HAVING COUNT(*) > $1", keep)
	if err != nil {
		return n, err
	}
	var over []string
	for rows.Next() {
		var ws string
		if err := rows.Scan(&ws); err != nil {
			rows.Close()
			return n, err
		}
		over = append(over, ws)
	}
	rows.Close()
	for _, ws := range over {
		res, err := db.execWrite(ctx, `DELETE FROM provisioning_log WHERE workspace_id = $1 AND id <= (
			SELECT id FROM provisioning_log WHERE workspace_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)`, ws, keep)
		if err != nil {
			return n, err
		}
		m, _ := res.RowsAffected()
		n += m
	}
	return n, nil
}
