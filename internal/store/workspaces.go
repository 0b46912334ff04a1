package store

import (
	"context"
	"strings"

	"rollcall/internal/directory"
)

func scanWorkspace(s scanner) (*directory.Workspace, error) {
	var w directory.Workspace
	var policy string
	var created int64
	if err := s.Scan(&w.ID, &w.Name, &policy, &created); err != nil {
		return nil, err
	}
	w.SSOPolicy, w.Created = directory.SSOPolicy(policy), fromMicro(created)
	return &w, nil
}

const workspaceColumns = "id, name, sso_policy, created"

// InsertWorkspace implements directory.Tx.
func (t *Tx) InsertWorkspace(w *directory.Workspace) error {
	_, err := t.exec("INSERT INTO workspaces (id, name, sso_policy, created) VALUES ($1, $2, $3, $4)",
		w.ID, w.Name, string(w.SSOPolicy), micro(w.Created))
	return t.db.translate(err)
}

// WorkspacesExist implements directory.Tx. SQLite's write transactions
// already run one at a time (BEGIN IMMEDIATE); PostgreSQL takes a table
// lock that conflicts with itself and with inserts, so a second caller
// waits and then sees the first one's workspace.
func (t *Tx) WorkspacesExist() (bool, error) {
	if t.db.d.ForUpdate != "" { // PostgreSQL
		if _, err := t.exec("LOCK TABLE workspaces IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return false, err
		}
	}
	var exists bool
	err := t.queryRow("SELECT EXISTS (SELECT 1 FROM workspaces)").Scan(&exists)
	return exists, err
}

// Workspace implements directory.Tx.
func (t *Tx) Workspace(id string) (*directory.Workspace, error) {
	w, err := scanWorkspace(t.queryRow("SELECT "+workspaceColumns+" FROM workspaces WHERE id = $1", id))
	return w, t.db.translate(err)
}

// LockWorkspace implements directory.Tx.
func (t *Tx) LockWorkspace(id string) (*directory.Workspace, error) {
	w, err := scanWorkspace(t.queryRow(t.forUpdate("SELECT "+workspaceColumns+" FROM workspaces WHERE id = $1"), id))
	return w, t.db.translate(err)
}

// UpdateWorkspace implements directory.Tx.
func (t *Tx) UpdateWorkspace(w *directory.Workspace) error {
	res, err := t.exec("UPDATE workspaces SET name = $2, sso_policy = $3 WHERE id = $1", w.ID, w.Name, string(w.SSOPolicy))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Workspace implements directory.Reader.
func (db *DB) Workspace(ctx context.Context, id string) (*directory.Workspace, error) {
	w, err := scanWorkspace(db.queryRowRead(ctx, "SELECT "+workspaceColumns+" FROM workspaces WHERE id = $1", id))
	return w, db.translate(err)
}

// Workspaces implements directory.Reader.
func (db *DB) Workspaces(ctx context.Context) ([]*directory.Workspace, error) {
	rows, err := db.queryRead(ctx, "SELECT "+workspaceColumns+" FROM workspaces ORDER BY created, id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*directory.Workspace
	for rows.Next() {
		w, err := scanWorkspace(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// ---- custom roles ----

const roleColumns = "workspace_id, id, name, base_role, description, created, modified"

func scanRole(s scanner) (*directory.CustomRole, error) {
	var r directory.CustomRole
	var base string
	var created, modified int64
	if err := s.Scan(&r.WorkspaceID, &r.ID, &r.Name, &base, &r.Description, &created, &modified); err != nil {
		return nil, err
	}
	r.BaseRole, r.Created, r.Modified = directory.Role(base), fromMicro(created), fromMicro(modified)
	return &r, nil
}

// InsertCustomRole implements directory.Tx.
func (t *Tx) InsertCustomRole(r *directory.CustomRole) error {
	_, err := t.exec(`INSERT INTO custom_roles (workspace_id, id, name, name_lower, base_role, description, created, modified)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		r.WorkspaceID, r.ID, r.Name, strings.ToLower(r.Name), string(r.BaseRole), r.Description, micro(r.Created), micro(r.Modified))
	return t.db.translate(err)
}

// CustomRole implements directory.Tx.
func (t *Tx) CustomRole(ws, id string) (*directory.CustomRole, error) {
	r, err := scanRole(t.queryRow("SELECT "+roleColumns+" FROM custom_roles WHERE workspace_id = $1 AND id = $2", ws, id))
	return r, t.db.translate(err)
}

// CustomRoleByName implements directory.Tx.
func (t *Tx) CustomRoleByName(ws, name string) (*directory.CustomRole, error) {
	r, err := scanRole(t.queryRow("SELECT "+roleColumns+" FROM custom_roles WHERE workspace_id = $1 AND name_lower = $2", ws, strings.ToLower(name)))
	return r, t.db.translate(err)
}

// CustomRoles implements directory.Tx.
func (t *Tx) CustomRoles(ws string) ([]*directory.CustomRole, error) {
	rows, err := t.query("SELECT "+roleColumns+" FROM custom_roles WHERE workspace_id = $1 ORDER BY name_lower", ws)
	if err != nil {
		return nil, err
	}
	return collectRoles(rows)
}

type rowsIter interface {
	Next() bool
	Err() error
	Close() error
	Scan(dest ...any) error
}

func collectRoles(rows rowsIter) ([]*directory.CustomRole, error) {
	defer rows.Close()
	var out []*directory.CustomRole
	for rows.Next() {
		r, err := scanRole(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// UpdateCustomRole implements directory.Tx.
func (t *Tx) UpdateCustomRole(r *directory.CustomRole) error {
	res, err := t.exec(`UPDATE custom_roles SET name = $3, name_lower = $4, base_role = $5, description = $6, modified = $7
		WHERE workspace_id = $1 AND id = $2`,
		r.WorkspaceID, r.ID, r.Name, strings.ToLower(r.Name), string(r.BaseRole), r.Description, micro(r.Modified))
	if err != nil {
		return t.db.translate(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteCustomRole implements directory.Tx.
func (t *Tx) DeleteCustomRole(ws, id string) error {
	res, err := t.exec("DELETE FROM custom_roles WHERE workspace_id = $1 AND id = $2", ws, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// MembersHoldingCustomRole implements directory.Tx.
func (t *Tx) MembersHoldingCustomRole(ws, id string) ([]string, error) {
	return t.strings("SELECT id FROM members WHERE workspace_id = $1 AND (custom_role_id = $2 OR assigned_custom_role_id = $2) ORDER BY id", ws, id)
}

// GroupsMappedToCustomRole implements directory.Tx.
func (t *Tx) GroupsMappedToCustomRole(ws, id string) ([]string, error) {
	return t.strings("SELECT id FROM groups WHERE workspace_id = $1 AND custom_role_id = $2 ORDER BY id", ws, id)
}

// CustomRole implements directory.Reader.
func (db *DB) CustomRole(ctx context.Context, ws, id string) (*directory.CustomRole, error) {
	r, err := scanRole(db.queryRowRead(ctx, "SELECT "+roleColumns+" FROM custom_roles WHERE workspace_id = $1 AND id = $2", ws, id))
	return r, db.translate(err)
}

// CustomRoles implements directory.Reader.
func (db *DB) CustomRoles(ctx context.Context, ws string) ([]*directory.CustomRole, error) {
	rows, err := db.queryRead(ctx, "SELECT "+roleColumns+" FROM custom_roles WHERE workspace_id = $1 ORDER BY name_lower", ws)
	if err != nil {
		return nil, err
	}
	return collectRoles(rows)
}
