package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"rollcall/internal/directory"
)

const memberColumns = `m.workspace_id, m.id, m.scim_id, m.user_name, m.external_id, m.given_name,
	m.family_name, m.display_name, m.emails, m.active, m.status_changed, m.role, m.custom_role_id,
	m.assigned_role, m.assigned_custom_role_id, m.source, m.attributes, m.created, m.modified, m.version`

type scanner interface{ Scan(dest ...any) error }

// emailJSON is how emails are kept in members.emails.
type emailJSON struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty"`
	Primary bool   `json:"primary,omitempty"`
	Display string `json:"display,omitempty"`
}

func scanMember(s scanner) (*directory.Member, error) {
	var m directory.Member
	var scimID, customRole, assignedCustom sql.NullString
	var emails, attrs, role, assigned, source string
	var statusChanged, created, modified int64
	err := s.Scan(&m.WorkspaceID, &m.ID, &scimID, &m.UserName, &m.ExternalID, &m.GivenName,
		&m.FamilyName, &m.DisplayName, &emails, &m.Active, &statusChanged, &role, &customRole,
		&assigned, &assignedCustom, &source, &attrs, &created, &modified, &m.Version)
	if err != nil {
		return nil, err
	}
	m.SCIMID = scimID.String
	m.Role, m.CustomRoleID = directory.Role(role), customRole.String
	m.Assigned = directory.RoleRef{Role: directory.Role(assigned), CustomRoleID: assignedCustom.String}
	m.Source = directory.Source(source)
	m.Attributes = json.RawMessage(attrs)
	m.StatusChanged, m.Created, m.Modified = fromMicro(statusChanged), fromMicro(created), fromMicro(modified)
	var es []emailJSON
	if err := json.Unmarshal([]byte(emails), &es); err != nil {
		return nil, fmt.Errorf("member %s: emails: %w", m.ID, err)
	}
	for _, e := range es {
		m.Emails = append(m.Emails, directory.Email(e))
	}
	return &m, nil
}

func encodeEmails(es []directory.Email) string {
	out := make([]emailJSON, len(es))
	for i, e := range es {
		out[i] = emailJSON(e)
	}
	b, _ := json.Marshal(out) // plain strings and bools always marshal
	return string(b)
}

func attrsOrEmpty(a json.RawMessage) string {
	if len(a) == 0 {
		return "{}"
	}
	return string(a)
}

// InsertMember implements directory.Tx.
func (t *Tx) InsertMember(m *directory.Member) error {
	_, err := t.exec(`INSERT INTO members (workspace_id, id, scim_id, user_name, user_name_lower,
		external_id, given_name, family_name, display_name, display_name_lower, emails, active,
		status_changed, role, custom_role_id, assigned_role, assigned_custom_role_id, source,
		attributes, created, modified, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
		m.WorkspaceID, m.ID, nullString(m.SCIMID), m.UserName, strings.ToLower(m.UserName),
		m.ExternalID, m.GivenName, m.FamilyName, m.DisplayName, strings.ToLower(m.DisplayName),
		encodeEmails(m.Emails), m.Active, micro(m.StatusChanged), string(m.Role), nullString(m.CustomRoleID),
		string(m.Assigned.Role), nullString(m.Assigned.CustomRoleID), string(m.Source),
		attrsOrEmpty(m.Attributes), micro(m.Created), micro(m.Modified), m.Version)
	if err != nil {
		return t.db.translate(err)
	}
	return t.writeEmails(m, false)
}

// writeEmails rewrites the email index rows of m.
func (t *Tx) writeEmails(m *directory.Member, replace bool) error {
	if replace {
		if _, err := t.exec("DELETE FROM member_emails WHERE workspace_id = $1 AND member_id = $2", m.WorkspaceID, m.ID); err != nil {
			return err
		}
	}
	if len(m.Emails) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("INSERT INTO member_emails (workspace_id, member_id, position, value_lower, type_lower, is_primary) VALUES ")
	args := make([]any, 0, 6*len(m.Emails))
	for i, e := range m.Emails {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%s)", placeholders(len(args)+1, 6))
		args = append(args, m.WorkspaceID, m.ID, i, strings.ToLower(e.Value), strings.ToLower(e.Type), e.Primary)
	}
	_, err := t.exec(b.String(), args...)
	return err
}

func (t *Tx) memberWhere(where string, args ...any) (*directory.Member, error) {
	row := t.queryRow(t.forUpdate("SELECT "+memberColumns+" FROM members m WHERE "+where), args...)
	m, err := scanMember(row)
	if err != nil {
		return nil, t.db.translate(err)
	}
	// Remember the emails as read, so UpdateMember rewrites the email
	// index only when they changed.
	if t.emails == nil {
		t.emails = map[string]string{}
	}
	t.emails[m.ID] = encodeEmails(m.Emails)
	return m, nil
}

// MemberForUpdate implements directory.Tx.
func (t *Tx) MemberForUpdate(ws, id string) (*directory.Member, error) {
	return t.memberWhere("m.workspace_id = $1 AND m.id = $2", ws, id)
}

// MemberBySCIMIDForUpdate implements directory.Tx.
func (t *Tx) MemberBySCIMIDForUpdate(ws, scimID string) (*directory.Member, error) {
	return t.memberWhere("m.workspace_id = $1 AND m.scim_id = $2", ws, scimID)
}

// ReattachCandidateForUpdate implements directory.Tx. One round trip
// instead of two; each half of the UNION uses its own index. The detached
// test concatenates scim_id with an empty string before IS NULL (the same
// truth value) so that the planner cannot pick the scim_id index for it,
// which would visit every member the IdP ever deleted in the workspace,
// and orders by modified + 0 so that it cannot walk the modified index
// backwards through the whole workspace looking for a match either.
func (t *Tx) ReattachCandidateForUpdate(ws, userName, externalID string) (*directory.Member, error) {
	return t.memberWhere(`m.workspace_id = $1 AND m.id IN (
			SELECT id FROM members WHERE workspace_id = $1 AND user_name_lower = $2
			UNION ALL
			SELECT id FROM (SELECT id FROM members WHERE workspace_id = $1 AND external_id = $3 AND $3 <> ''
				AND (scim_id || '') IS NULL ORDER BY modified + 0 DESC LIMIT 1) detached)
		ORDER BY CASE WHEN m.user_name_lower = $2 THEN 0 ELSE 1 END, m.modified DESC LIMIT 1`,
		ws, strings.ToLower(userName), externalID)
}

// UpdateMember implements directory.Tx.
func (t *Tx) UpdateMember(m *directory.Member, version int64) error {
	emails := encodeEmails(m.Emails)
	if t.emails == nil {
		t.emails = map[string]string{}
	}
	res, err := t.exec(`UPDATE members SET scim_id = $3, user_name = $4, user_name_lower = $5,
		external_id = $6, given_name = $7, family_name = $8, display_name = $9, display_name_lower = $10,
		emails = $11, active = $12, status_changed = $13, role = $14, custom_role_id = $15,
		assigned_role = $16, assigned_custom_role_id = $17, attributes = $18, modified = $19,
		version = version + 1
		WHERE workspace_id = $1 AND id = $2 AND version = $20`,
		m.WorkspaceID, m.ID, nullString(m.SCIMID), m.UserName, strings.ToLower(m.UserName),
		m.ExternalID, m.GivenName, m.FamilyName, m.DisplayName, strings.ToLower(m.DisplayName),
		emails, m.Active, micro(m.StatusChanged), string(m.Role), nullString(m.CustomRoleID),
		string(m.Assigned.Role), nullString(m.Assigned.CustomRoleID), attrsOrEmpty(m.Attributes),
		micro(m.Modified), version)
	if err != nil {
		return t.db.translate(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("%w: member %s is no longer at version %d", ErrConflict, m.ID, version)
	}
	m.Version = version + 1
	if old, ok := t.emails[m.ID]; ok && old == emails {
		return nil
	}
	t.emails[m.ID] = emails
	return t.writeEmails(m, true)
}

// CountActiveOwners implements directory.Tx.
func (t *Tx) CountActiveOwners(ws string) (int, error) {
	var n int
	err := t.queryRow("SELECT COUNT(*) FROM members WHERE workspace_id = $1 AND role = 'owner' AND active = TRUE", ws).Scan(&n)
	return n, err
}

// ResolveSCIMIDs implements directory.Tx.
func (t *Tx) ResolveSCIMIDs(ws string, scimIDs []string) (map[string]string, error) {
	out := make(map[string]string, len(scimIDs))
	err := inChunks(scimIDs, []any{ws}, func(in string, args []any) error {
		rows, err := t.query("SELECT scim_id, id FROM members WHERE workspace_id = $1 AND scim_id IN ("+in+")", args...)
		if err != nil {
			return err
		}
		return eachRow(rows, func() error {
			var s, id string
			if err := rows.Scan(&s, &id); err != nil {
				return err
			}
			out[s] = id
			return nil
		})
	})
	return out, err
}

// RevokeSessions implements directory.Tx.
func (t *Tx) RevokeSessions(ws, memberID string) error {
	_, err := t.exec("DELETE FROM sessions WHERE workspace_id = $1 AND member_id = $2", ws, memberID)
	return err
}

// ---- reads ----

func (db *DB) memberWhere(ctx context.Context, where string, args ...any) (*directory.Member, error) {
	m, err := scanMember(db.queryRowRead(ctx, "SELECT "+memberColumns+" FROM members m WHERE "+where, args...))
	return m, db.translate(err)
}

// Member implements directory.Reader.
func (db *DB) Member(ctx context.Context, ws, id string) (*directory.Member, error) {
	return db.memberWhere(ctx, "m.workspace_id = $1 AND m.id = $2", ws, id)
}

// MemberBySCIMID implements directory.Reader.
func (db *DB) MemberBySCIMID(ctx context.Context, ws, scimID string) (*directory.Member, error) {
	return db.memberWhere(ctx, "m.workspace_id = $1 AND m.scim_id = $2", ws, scimID)
}

// MemberByUserName implements directory.Reader.
func (db *DB) MemberByUserName(ctx context.Context, ws, userName string) (*directory.Member, error) {
	return db.memberWhere(ctx, "m.workspace_id = $1 AND m.user_name_lower = $2", ws, strings.ToLower(userName))
}

// memberQuerySQL builds the WHERE and ORDER BY clauses of a member query.
// memberQuerySQL compiles q. filtered says whether any condition beyond the
// workspace (and SCIMOnly) is left: a Where that always holds, such as
// directory.All{}, compiles to nothing.
func (db *DB) memberQuerySQL(ws string, q directory.MemberQuery) (where, order string, args []any, filtered bool, err error) {
	c := &compiler{d: &db.d, args: []any{ws}, fields: memberFields}
	var b strings.Builder
	b.WriteString("m.workspace_id = $1")
	if q.SCIMOnly {
		b.WriteString(" AND m.scim_id IS NOT NULL")
	}
	if q.Active != nil {
		b.WriteString(" AND m.active = " + boolLiteral(*q.Active))
		filtered = true
	}
	if q.Where != nil {
		s, err := c.cond(q.Where)
		if err != nil {
			return "", "", nil, false, err
		}
		if s != "1=1" {
			b.WriteString(" AND (" + s + ")")
			filtered = true
		}
	}
	key := map[directory.MemberOrder]string{
		directory.OrderDefault:     "",
		directory.OrderSCIMID:      "m.scim_id",
		directory.OrderUserName:    "m.user_name_lower",
		directory.OrderExternalID:  "m.external_id",
		directory.OrderDisplayName: "m.display_name_lower",
		directory.OrderCreated:     "m.created",
		directory.OrderModified:    "m.modified",
	}
	col, ok := key[q.Order]
	if !ok {
		return "", "", nil, false, fmt.Errorf("unknown member order %q", q.Order)
	}
	dir := " ASC"
	if q.Descending {
		dir = " DESC"
	}
	switch {
	case col == "m.scim_id" && q.SCIMOnly: // unique, not null: no tie to break
		order = col + dir
	case col == "":
		order = "m.id" + dir
	default:
		order = col + dir + ", m.id" + dir
	}
	return b.String(), order, c.args, filtered, nil
}

// MemberIndexPlan returns the engine's plan for counting the members q
// selects, made as if the engine preferred indexes to scans (PostgreSQL's
// enable_seqscan off, since on a small table it would rightly scan). It
// shows whether a filter can be answered through an index; the store
// suite checks with it every filter the SCIM issue says is indexed.
func (db *DB) MemberIndexPlan(ctx context.Context, ws string, q directory.MemberQuery) (string, error) {
	where, _, args, _, err := db.memberQuerySQL(ws, q)
	if err != nil {
		return "", err
	}
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return "", err
	}
	defer tx.Rollback() // read-only: nothing to keep
	if db.d.PreferIndexes != "" {
		if _, err := tx.ExecContext(ctx, db.d.PreferIndexes); err != nil {
			return "", err
		}
	}
	rows, err := tx.QueryContext(ctx, db.q(db.d.Explain+"SELECT COUNT(*) FROM members m WHERE "+where), args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new(any)
		}
		if err := rows.Scan(vals...); err != nil {
			return "", err
		}
		// The plan text is the last column (SQLite: id, parent, notused, detail).
		lines = append(lines, fmt.Sprint(*vals[len(vals)-1].(*any)))
	}
	return strings.Join(lines, "\n"), rows.Err()
}

// Members implements directory.Reader.
func (db *DB) Members(ctx context.Context, ws string, q directory.MemberQuery) (directory.Page[*directory.Member], error) {
	var page directory.Page[*directory.Member]
	where, order, args, filtered, err := db.memberQuerySQL(ws, q)
	if err != nil {
		return page, err
	}
	if q.Limit > 0 {
		n := len(args)
		query := fmt.Sprintf("SELECT %s FROM members m WHERE %s ORDER BY %s LIMIT $%d OFFSET $%d",
			memberColumns, where, order, n+1, n+2)
		pageArgs := slices.Concat(args, []any{q.Limit, max(q.Offset, 0)})
		walk := q.SCIMOnly && !filtered && q.Order == directory.OrderSCIMID
		var now time.Time
		if walk {
			now = time.Now()
			// The whole SCIM listing in id order, as an IdP's import pages
			// through it: continue after the previous page when this
			// process served it (cursor.go), else skip the offset inside
			// the (workspace_id, scim_id) index, reading only the rows of
			// the page instead of every row before it.
			col := strings.TrimPrefix(order, "m.")
			var after string
			var ok bool
			if q.Offset > 0 {
				after, ok = db.cursors.get(cursorKey{ws, order, q.Offset}, now)
			}
			if ok {
				cmp := ">"
				if q.Descending {
					cmp = "<"
				}
				query = fmt.Sprintf(`SELECT %s FROM members m WHERE m.workspace_id = $1 AND m.scim_id IN (
					SELECT scim_id FROM members WHERE workspace_id = $1 AND scim_id %s $%d ORDER BY %s LIMIT $%d)
					ORDER BY %s`, memberColumns, cmp, n+2, col, n+1, order)
				pageArgs = slices.Concat(args, []any{q.Limit, after})
			} else {
				query = fmt.Sprintf(`SELECT %s FROM members m WHERE m.workspace_id = $1 AND m.scim_id IN (
					SELECT scim_id FROM members WHERE workspace_id = $1 AND scim_id IS NOT NULL ORDER BY %s LIMIT $%d OFFSET $%d)
					ORDER BY %s`, memberColumns, col, n+1, n+2, order)
			}
		}
		rows, err := db.queryRead(ctx, query, pageArgs...)
		if err != nil {
			return page, err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMember(rows)
			if err != nil {
				return page, err
			}
			page.Items = append(page.Items, m)
		}
		if err := rows.Err(); err != nil {
			return page, err
		}
		if walk && len(page.Items) > 0 {
			db.cursors.put(cursorKey{ws, order, max(q.Offset, 0) + len(page.Items)}, page.Items[len(page.Items)-1].SCIMID, now)
		}
	}
	page.Total, err = db.listTotal(ctx, "SELECT COUNT(*) FROM members m WHERE "+where, args, q.Offset, q.Limit, len(page.Items))
	return page, err
}

// ScanMembers implements directory.Reader.
func (db *DB) ScanMembers(ctx context.Context, ws string, q directory.MemberQuery, fn func(*directory.Member) error) error {
	where, order, args, _, err := db.memberQuerySQL(ws, q)
	if err != nil {
		return err
	}
	rows, err := db.queryRead(ctx, fmt.Sprintf("SELECT %s FROM members m WHERE %s ORDER BY %s", memberColumns, where, order), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return rows.Err()
}
