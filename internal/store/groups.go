package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"rollcall/internal/directory"
)

const groupColumns = `g.workspace_id, g.id, g.display_name, g.external_id, g.attributes, g.role,
	g.custom_role_id, g.member_count, g.created, g.modified, g.version`

func scanGroup(s scanner) (*directory.Group, error) {
	var g directory.Group
	var attrs, role string
	var custom sql.NullString
	var created, modified int64
	if err := s.Scan(&g.WorkspaceID, &g.ID, &g.DisplayName, &g.ExternalID, &attrs, &role, &custom,
		&g.Members, &created, &modified, &g.Version); err != nil {
		return nil, err
	}
	g.Attributes = json.RawMessage(attrs)
	g.Role = directory.RoleRef{Role: directory.Role(role), CustomRoleID: custom.String}
	g.Created, g.Modified = fromMicro(created), fromMicro(modified)
	return &g, nil
}

// InsertGroup implements directory.Tx.
func (t *Tx) InsertGroup(g *directory.Group) error {
	_, err := t.exec(`INSERT INTO groups (workspace_id, id, display_name, display_name_lower, external_id,
		attributes, role, custom_role_id, member_count, created, modified, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11)`,
		g.WorkspaceID, g.ID, g.DisplayName, strings.ToLower(g.DisplayName), g.ExternalID,
		attrsOrEmpty(g.Attributes), string(g.Role.Role), nullString(g.Role.CustomRoleID),
		micro(g.Created), micro(g.Modified), g.Version)
	return t.db.translate(err)
}

// GroupForUpdate implements directory.Tx.
func (t *Tx) GroupForUpdate(ws, id string) (*directory.Group, error) {
	g, err := scanGroup(t.queryRow(t.forUpdate("SELECT "+groupColumns+" FROM groups g WHERE g.workspace_id = $1 AND g.id = $2"), ws, id))
	return g, t.db.translate(err)
}

// UpdateGroup implements directory.Tx. The member count is maintained by
// AddGroupMembers and RemoveGroupMembers, not taken from g.
func (t *Tx) UpdateGroup(g *directory.Group, version int64) error {
	res, err := t.exec(`UPDATE groups SET display_name = $3, display_name_lower = $4, external_id = $5,
		attributes = $6, role = $7, custom_role_id = $8, modified = $9, version = version + 1
		WHERE workspace_id = $1 AND id = $2 AND version = $10`,
		g.WorkspaceID, g.ID, g.DisplayName, strings.ToLower(g.DisplayName), g.ExternalID,
		attrsOrEmpty(g.Attributes), string(g.Role.Role), nullString(g.Role.CustomRoleID), micro(g.Modified), version)
	if err != nil {
		return t.db.translate(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("%w: group %s is no longer at version %d", ErrConflict, g.ID, version)
	}
	g.Version = version + 1
	return nil
}

// DeleteGroup implements directory.Tx.
func (t *Tx) DeleteGroup(ws, id string) error {
	// Members go by the foreign key's cascade; delete them first anyway so
	// SQLite need not look up every row through the cascade.
	if _, err := t.exec("DELETE FROM group_members WHERE workspace_id = $1 AND group_id = $2", ws, id); err != nil {
		return err
	}
	res, err := t.exec("DELETE FROM groups WHERE workspace_id = $1 AND id = $2", ws, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// AddGroupMembers implements directory.Tx.
func (t *Tx) AddGroupMembers(ws, groupID string, members []directory.NewMembership) ([]string, error) {
	seen := make(map[string]bool, len(members))
	var added []string
	for _, batch := range batches(len(members), 250) {
		var b strings.Builder
		b.WriteString("INSERT INTO group_members (workspace_id, group_id, member_id, display) VALUES ")
		args := []any{ws, groupID}
		n := 0
		for _, m := range members[batch[0]:batch[1]] {
			if seen[m.MemberID] {
				continue
			}
			seen[m.MemberID] = true
			if n > 0 {
				b.WriteString(", ")
			}
			n++
			args = append(args, m.MemberID, m.Display)
			fmt.Fprintf(&b, "($1, $2, $%d, $%d)", len(args)-1, len(args))
		}
		if n == 0 {
			continue
		}
		b.WriteString(" ON CONFLICT DO NOTHING RETURNING member_id")
		got, err := t.strings(b.String(), args...)
		if err != nil {
			return nil, t.db.translate(err)
		}
		added = append(added, got...)
	}
	return added, t.addCount(ws, groupID, len(added))
}

// RemoveGroupMembers implements directory.Tx.
func (t *Tx) RemoveGroupMembers(ws, groupID string, memberIDs []string) ([]string, error) {
	var removed []string
	err := inChunks(dedupe(memberIDs), []any{ws, groupID}, func(in string, args []any) error {
		got, err := t.strings("DELETE FROM group_members WHERE workspace_id = $1 AND group_id = $2 AND member_id IN ("+in+") RETURNING member_id", args...)
		removed = append(removed, got...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return removed, t.addCount(ws, groupID, -len(removed))
}

func (t *Tx) addCount(ws, groupID string, n int) error {
	if n == 0 {
		return nil
	}
	_, err := t.exec("UPDATE groups SET member_count = member_count + $3 WHERE workspace_id = $1 AND id = $2", ws, groupID, n)
	return err
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// strings runs a query returning one string column.
func (t *Tx) strings(query string, args ...any) ([]string, error) {
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// GroupMemberIDs implements directory.Tx.
func (t *Tx) GroupMemberIDs(ws, groupID string) ([]string, error) {
	return t.strings("SELECT member_id FROM group_members WHERE workspace_id = $1 AND group_id = $2", ws, groupID)
}

// RemoveMemberFromGroups implements directory.Tx.
func (t *Tx) RemoveMemberFromGroups(ws, memberID string) ([]string, error) {
	groups, err := t.strings("DELETE FROM group_members WHERE workspace_id = $1 AND member_id = $2 RETURNING group_id", ws, memberID)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		if err := t.addCount(ws, g, -1); err != nil {
			return nil, err
		}
	}
	return groups, nil
}

// GrantedRoles implements directory.Tx.
func (t *Tx) GrantedRoles(ws, memberID string) ([]directory.GroupGrant, error) {
	// A custom role's base role is read from the role itself: it may have
	// changed since the group was mapped.
	rows, err := t.query(`SELECT g.id, COALESCE(cr.base_role, g.role), g.custom_role_id FROM group_members gm
		JOIN groups g ON g.workspace_id = gm.workspace_id AND g.id = gm.group_id
		LEFT JOIN custom_roles cr ON cr.workspace_id = g.workspace_id AND cr.id = g.custom_role_id
		WHERE gm.workspace_id = $1 AND gm.member_id = $2 AND g.role <> ''`, ws, memberID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []directory.GroupGrant{}
	for rows.Next() {
		var g directory.GroupGrant
		var role string
		var custom sql.NullString
		if err := rows.Scan(&g.GroupID, &role, &custom); err != nil {
			return nil, err
		}
		g.Role = directory.RoleRef{Role: directory.Role(role), CustomRoleID: custom.String}
		out = append(out, g)
	}
	return out, rows.Err()
}

// ---- reads ----

// Group implements directory.Reader.
func (db *DB) Group(ctx context.Context, ws, id string) (*directory.Group, error) {
	g, err := scanGroup(db.queryRowRead(ctx, "SELECT "+groupColumns+" FROM groups g WHERE g.workspace_id = $1 AND g.id = $2", ws, id))
	return g, db.translate(err)
}

// Groups implements directory.Reader.
func (db *DB) Groups(ctx context.Context, ws string, q directory.GroupQuery) (directory.Page[*directory.Group], error) {
	var page directory.Page[*directory.Group]
	c := &compiler{d: &db.d, args: []any{ws}, fields: groupFields}
	where := "g.workspace_id = $1"
	if q.Where != nil {
		s, err := c.cond(q.Where)
		if err != nil {
			return page, err
		}
		where += " AND (" + s + ")"
	}
	dir := " ASC"
	if q.Descending {
		dir = " DESC"
	}
	order := "g.created" + dir + ", g.id" + dir
	if q.OrderByName {
		order = "g.display_name_lower" + dir + ", g.id" + dir
	}
	args := c.args
	if q.Limit > 0 {
		n := len(args)
		rows, err := db.queryRead(ctx, fmt.Sprintf("SELECT %s FROM groups g WHERE %s ORDER BY %s LIMIT $%d OFFSET $%d",
			groupColumns, where, order, n+1, n+2), append(args, q.Limit, max(q.Offset, 0))...)
		if err != nil {
			return page, err
		}
		defer rows.Close()
		for rows.Next() {
			g, err := scanGroup(rows)
			if err != nil {
				return page, err
			}
			page.Items = append(page.Items, g)
		}
		if err := rows.Err(); err != nil {
			return page, err
		}
	}
	var err error
	page.Total, err = db.listTotal(ctx, "SELECT COUNT(*) FROM groups g WHERE "+where, args, q.Offset, q.Limit, len(page.Items))
	return page, err
}

// GroupMembers implements directory.Reader.
func (db *DB) GroupMembers(ctx context.Context, ws, groupID string, offset, limit int) (directory.Page[directory.GroupMember], error) {
	var page directory.Page[directory.GroupMember]
	var count int64
	if err := db.queryRowRead(ctx, "SELECT member_count FROM groups WHERE workspace_id = $1 AND id = $2", ws, groupID).Scan(&count); err != nil {
		return page, db.translate(err)
	}
	page.Total = int(count)
	if limit <= 0 {
		return page, nil
	}
	rows, err := db.queryRead(ctx, `SELECT `+groupMemberColumns+` FROM group_members gm
		JOIN members m ON m.workspace_id = gm.workspace_id AND m.id = gm.member_id
		WHERE gm.workspace_id = $1 AND gm.group_id = $2 ORDER BY gm.member_id LIMIT $3 OFFSET $4`,
		ws, groupID, limit, max(offset, 0))
	if err != nil {
		return page, err
	}
	err = eachRow(rows, func() error {
		gm, err := scanGroupMember(rows)
		if err == nil {
			page.Items = append(page.Items, gm)
		}
		return err
	})
	return page, err
}

// MembersOfGroups implements directory.Reader.
func (db *DB) MembersOfGroups(ctx context.Context, ws string, groupIDs ...string) (map[string][]directory.GroupMember, error) {
	out := make(map[string][]directory.GroupMember, len(groupIDs))
	err := inChunks(dedupe(groupIDs), []any{ws}, func(in string, args []any) error {
		rows, err := db.queryRead(ctx, `SELECT `+groupMemberColumns+`, gm.group_id FROM group_members gm
			JOIN members m ON m.workspace_id = gm.workspace_id AND m.id = gm.member_id
			WHERE gm.workspace_id = $1 AND gm.group_id IN (`+in+`) ORDER BY gm.group_id, gm.member_id`, args...)
		if err != nil {
			return err
		}
		return eachRow(rows, func() error {
			var g string
			gm, err := scanGroupMember(rows, &g)
			if err == nil {
				out[g] = append(out[g], gm)
			}
			return err
		})
	})
	return out, err
}

// MemberGroups implements directory.Reader.
func (db *DB) MemberGroups(ctx context.Context, ws string, memberIDs ...string) (map[string][]directory.GroupRef, error) {
	out := make(map[string][]directory.GroupRef, len(memberIDs))
	err := inChunks(dedupe(memberIDs), []any{ws}, func(in string, args []any) error {
		rows, err := db.queryRead(ctx, `SELECT gm.member_id, g.id, g.display_name FROM group_members gm
			JOIN groups g ON g.workspace_id = gm.workspace_id AND g.id = gm.group_id
			WHERE gm.workspace_id = $1 AND gm.member_id IN (`+in+`)
			ORDER BY gm.member_id, g.display_name_lower`, args...)
		if err != nil {
			return err
		}
		return eachRow(rows, func() error {
			var mid string
			var g directory.GroupRef
			if err := rows.Scan(&mid, &g.ID, &g.DisplayName); err != nil {
				return err
			}
			out[mid] = append(out[mid], g)
			return nil
		})
	})
	return out, err
}

// groupMemberColumns are a group member's columns, in scanGroupMember's
// order.
const groupMemberColumns = "m.id, m.scim_id, m.user_name, m.display_name, gm.display"

// scanGroupMember reads a group member's columns, then any extra ones
// into extra.
func scanGroupMember(rows *sql.Rows, extra ...any) (directory.GroupMember, error) {
	var gm directory.GroupMember
	var scimID sql.NullString
	err := rows.Scan(append([]any{&gm.MemberID, &scimID, &gm.UserName, &gm.DisplayName, &gm.Display}, extra...)...)
	gm.SCIMID = scimID.String
	return gm, err
}
