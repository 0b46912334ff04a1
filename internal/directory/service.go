package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on names, so that no caller can store unbounded values.
const (
	maxNameLen = 256
	maxEmails  = 32
	// maxAttributes bounds the JSON of a member's or group's other
	// attributes (addresses, entitlements, the enterprise extension...):
	// real IdPs send a few KiB, and one tenant must not be able to make a
	// page of 100 users weigh gigabytes.
	maxAttributes = 64 << 10
)

// checkDescription bounds a custom role's description.
func checkDescription(d string) error {
	if len(d) > 4*maxNameLen {
		return FieldErrorf(EINVALID, "description", "description is longer than %d bytes", 4*maxNameLen)
	}
	return nil
}

// checkAttributes bounds the other attributes of a member or group.
func checkAttributes(what string, raw json.RawMessage) error {
	if len(raw) > maxAttributes {
		return FieldErrorf(EINVALID, "attributes", "the %s's other attributes take %d bytes as JSON; at most %d are stored", what, len(raw), maxAttributes)
	}
	return nil
}

// Service applies the directory's rules. It is safe for concurrent use and
// keeps no per-request state: the workspace is an argument of every method
// and the actor travels in the context (see [WithActor]).
//
// # The effective role
//
// A member's effective role is computed by one rule, in this order:
//
//  1. An owner stays owner: no IdP request and no group mapping changes an
//     owner's role. Only an explicit change by an admin does.
//  2. A role assigned explicitly (sent by the IdP on the user, or set by an
//     admin) wins.
//  3. Otherwise the most privileged role among the groups the member belongs
//     to that map to a role. Privilege is the rank of the built-in role
//     (admin > member > guest; a custom role ranks as its base role). On a
//     tie a custom role beats a built-in one (it is more specific), and
//     between custom roles the smallest ID wins, so the result never
//     depends on the order of rows.
//  4. Otherwise member.
//
// The role is recomputed in the same transaction as whatever changed one of
// its inputs, and every change is written to the audit trail with its cause.
type Service struct {
	store Store
}

// NewService returns a Service over s.
func NewService(s Store) *Service { return &Service{store: s} }

// Store returns the service's store, for read-only queries.
func (s *Service) Store() Store { return s.store }

type actorKey struct{}

// WithActor returns a context carrying who is acting, for the audit trail.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor carried by ctx, or a "system" actor.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return Actor{Kind: "system"}
}

// fromIdP reports whether the actor is an identity provider, whose requests
// may never create or change an owner.
func (a Actor) fromIdP() bool {
	return a.Kind == "scim_token" || a.Kind == "scim_client" || a.Kind == "idp"
}

func audit(tx Tx, ctx context.Context, ws, action, targetType, targetID string, detail any) error {
	var raw json.RawMessage
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("audit detail: %w", err)
		}
		raw = b
	}
	return tx.InsertAudit(&AuditEntry{
		WorkspaceID: ws,
		Time:        tx.Now(),
		Actor:       ActorFrom(ctx),
		Action:      action,
		TargetType:  targetType,
		TargetID:    targetID,
		Detail:      raw,
	})
}

// notFound turns ErrNotFound into a domain error naming what was missing.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, ErrNotFound) {
		return Errorf(ENOTFOUND, format, args...)
	}
	return err
}

func checkName(field, v string, required bool) error {
	if strings.TrimSpace(v) == "" {
		if required {
			return FieldErrorf(EINVALID, field, "%s is required", field)
		}
		return nil
	}
	if len(v) > maxNameLen {
		return FieldErrorf(EINVALID, field, "%s is longer than %d bytes", field, maxNameLen)
	}
	if !utf8.ValidString(v) {
		return FieldErrorf(EINVALID, field, "%s is not valid UTF-8", field)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return FieldErrorf(EINVALID, field, "%s contains a control character", field)
		}
	}
	return nil
}

// ---- Workspaces ----

// CreateWorkspace creates a workspace with the optional SSO policy.
func (s *Service) CreateWorkspace(ctx context.Context, name string) (*Workspace, error) {
	return s.createWorkspace(ctx, name, false)
}

// CreateFirstWorkspace creates a workspace named name if the database has
// none, and returns nil, nil if it has one: of servers starting together
// on an empty database, one creates it.
func (s *Service) CreateFirstWorkspace(ctx context.Context, name string) (*Workspace, error) {
	return s.createWorkspace(ctx, name, true)
}

// createWorkspace creates a workspace; with onlyFirst, only in a database
// that has none (it returns nil, nil otherwise).
func (s *Service) createWorkspace(ctx context.Context, name string, onlyFirst bool) (*Workspace, error) {
	name = strings.TrimSpace(name)
	if err := checkName("name", name, true); err != nil {
		return nil, err
	}
	var w *Workspace
	err := s.store.Update(ctx, func(tx Tx) error {
		w = nil
		if onlyFirst {
			if exists, err := tx.WorkspacesExist(); err != nil || exists {
				return err
			}
		}
		w = &Workspace{ID: NewWorkspaceID(), Name: name, SSOPolicy: SSOOptional, Created: tx.Now()}
		if err := tx.InsertWorkspace(w); err != nil {
			return err
		}
		return audit(tx, ctx, w.ID, "workspace.created", "workspace", w.ID, map[string]string{"name": name})
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// Workspace returns one workspace.
func (s *Service) Workspace(ctx context.Context, id string) (*Workspace, error) {
	w, err := s.store.Workspace(ctx, id)
	if err != nil {
		return nil, notFound(err, "workspace %q not found", id)
	}
	return w, nil
}

// SetSSOPolicy changes whether SSO is required in a workspace.
func (s *Service) SetSSOPolicy(ctx context.Context, ws string, p SSOPolicy) (*Workspace, error) {
	if !p.Valid() {
		return nil, Errorf(EINVALID, "SSO policy must be %q or %q", SSORequired, SSOOptional)
	}
	var w *Workspace
	err := s.store.Update(ctx, func(tx Tx) error {
		var err error
		if w, err = tx.LockWorkspace(ws); err != nil {
			return notFound(err, "workspace %q not found", ws)
		}
		if w.SSOPolicy == p {
			return nil
		}
		old := w.SSOPolicy
		w.SSOPolicy = p
		if err := tx.UpdateWorkspace(w); err != nil {
			return err
		}
		return audit(tx, ctx, ws, "workspace.sso_policy_changed", "workspace", ws, map[string]string{"from": string(old), "to": string(p)})
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// ---- Roles ----

func checkBaseRole(r Role) error {
	switch r {
	case RoleAdmin, RoleMember, RoleGuest:
		return nil
	}
	return FieldErrorf(EINVALID, "base_role", "a custom role's base role must be admin, member or guest, not %q", r)
}

// CreateCustomRole defines a custom role. base defaults to member.
func (s *Service) CreateCustomRole(ctx context.Context, ws, name string, base Role, description string) (*CustomRole, error) {
	name = strings.TrimSpace(name)
	if base == "" {
		base = RoleMember
	}
	if err := checkName("name", name, true); err != nil {
		return nil, err
	}
	if _, builtin := ParseRole(name); builtin {
		return nil, FieldErrorf(EINVALID, "name", "%q is the name of a built-in role", name)
	}
	if err := checkBaseRole(base); err != nil {
		return nil, err
	}
	if err := checkDescription(description); err != nil {
		return nil, err
	}
	r := &CustomRole{ID: NewID(), WorkspaceID: ws, Name: name, BaseRole: base, Description: description}
	err := s.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.LockWorkspace(ws); err != nil {
			return notFound(err, "workspace %q not found", ws)
		}
		r.Created, r.Modified = tx.Now(), tx.Now()
		if err := tx.InsertCustomRole(r); err != nil {
			if errors.Is(err, ErrConflict) {
				return FieldErrorf(ECONFLICT, "name", "a role named %q already exists", name)
			}
			return err
		}
		return audit(tx, ctx, ws, "role.created", "role", r.ID, map[string]string{"name": name, "base_role": string(base)})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// CustomRoleUpdate lists the fields of a custom role to change; nil leaves
// a field as it is.
type CustomRoleUpdate struct {
	Name        *string
	BaseRole    *Role
	Description *string
}

// UpdateCustomRole renames or re-bases a custom role. Its ID never changes,
// so IdP mappings by ID keep working.
func (s *Service) UpdateCustomRole(ctx context.Context, ws, id string, u CustomRoleUpdate) (*CustomRole, error) {
	var r *CustomRole
	err := s.store.Update(ctx, func(tx Tx) error {
		var err error
		if r, err = tx.CustomRole(ws, id); err != nil {
			return notFound(err, "role %q not found", id)
		}
		before := *r
		if u.Name != nil {
			name := strings.TrimSpace(*u.Name)
			if err := checkName("name", name, true); err != nil {
				return err
			}
			if _, builtin := ParseRole(name); builtin {
				return FieldErrorf(EINVALID, "name", "%q is the name of a built-in role", name)
			}
			r.Name = name
		}
		if u.Description != nil {
			if err := checkDescription(*u.Description); err != nil {
				return err
			}
			r.Description = *u.Description
		}
		if u.BaseRole != nil {
			if err := checkBaseRole(*u.BaseRole); err != nil {
				return err
			}
			r.BaseRole = *u.BaseRole
		}
		r.Modified = tx.Now()
		if err := tx.UpdateCustomRole(r); err != nil {
			if errors.Is(err, ErrConflict) {
				return FieldErrorf(ECONFLICT, "name", "a role named %q already exists", r.Name)
			}
			return err
		}
		if err := audit(tx, ctx, ws, "role.updated", "role", id, map[string]any{
			"from": map[string]string{"name": before.Name, "base_role": string(before.BaseRole)},
			"to":   map[string]string{"name": r.Name, "base_role": string(r.BaseRole)},
		}); err != nil {
			return err
		}
		if before.BaseRole == r.BaseRole {
			return nil
		}
		// The base role decides rank and the role column of holders.
		affected, err := s.customRoleAudience(tx, ws, id)
		if err != nil {
			return err
		}
		return s.recompute(tx, ctx, ws, affected, fmt.Sprintf("base role of %q changed", r.Name))
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// customRoleAudience returns the members whose role may depend on a custom role.
func (s *Service) customRoleAudience(tx Tx, ws, id string) ([]string, error) {
	ids, err := tx.MembersHoldingCustomRole(ws, id)
	if err != nil {
		return nil, err
	}
	groups, err := tx.GroupsMappedToCustomRole(ws, id)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		m, err := tx.GroupMemberIDs(ws, g)
		if err != nil {
			return nil, err
		}
		ids = append(ids, m...)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// DeleteCustomRole deletes a custom role. If members hold it or groups map
// to it, the deletion is refused unless moveTo names the role they move to.
func (s *Service) DeleteCustomRole(ctx context.Context, ws, id string, moveTo *RoleRef) error {
	return s.store.Update(ctx, func(tx Tx) error {
		r, err := tx.CustomRole(ws, id)
		if err != nil {
			return notFound(err, "role %q not found", id)
		}
		holders, err := tx.MembersHoldingCustomRole(ws, id)
		if err != nil {
			return err
		}
		groups, err := tx.GroupsMappedToCustomRole(ws, id)
		if err != nil {
			return err
		}
		if (len(holders) > 0 || len(groups) > 0) && moveTo == nil {
			return Errorf(ECONFLICT, "role %q is held by %d member(s) and granted by %d group(s); name a role to move them to", r.Name, len(holders), len(groups))
		}
		var target RoleRef
		if moveTo != nil {
			if target, err = resolveRoleRef(tx, ws, *moveTo); err != nil {
				return err
			}
			if target.CustomRoleID == id {
				return Errorf(EINVALID, "cannot move members of role %q to itself", r.Name)
			}
			if target.Role == RoleOwner {
				return Errorf(EINVALID, "members cannot be moved to owner in bulk")
			}
		}
		affected, err := s.customRoleAudience(tx, ws, id)
		if err != nil {
			return err
		}
		for _, mid := range holders {
			m, err := tx.MemberForUpdate(ws, mid)
			if err != nil {
				return err
			}
			if m.Assigned.CustomRoleID == id {
				m.Assigned = target
				m.Modified = tx.Now()
				if err := tx.UpdateMember(m, m.Version); err != nil {
					return err
				}
			}
		}
		for _, gid := range groups {
			g, err := tx.GroupForUpdate(ws, gid)
			if err != nil {
				return err
			}
			g.Role = target
			g.Modified = tx.Now()
			if err := tx.UpdateGroup(g, g.Version); err != nil {
				return err
			}
		}
		// Every reference now points elsewhere: recompute effective roles
		// while the role still exists, then delete it.
		if err := s.recompute(tx, ctx, ws, affected, fmt.Sprintf("role %q deleted", r.Name)); err != nil {
			return err
		}
		if err := tx.DeleteCustomRole(ws, id); err != nil {
			return err
		}
		return audit(tx, ctx, ws, "role.deleted", "role", id, map[string]any{"name": r.Name, "members_moved": len(holders), "groups_moved": len(groups), "moved_to": roleRefDetail(target)})
	})
}

// CustomRoles lists a workspace's custom roles by name.
func (s *Service) CustomRoles(ctx context.Context, ws string) ([]*CustomRole, error) {
	if _, err := s.Workspace(ctx, ws); err != nil {
		return nil, err
	}
	return s.store.CustomRoles(ctx, ws)
}

// ResolveRole finds a role by name or ID: a built-in role name, a custom
// role ID, or a custom role name (without regard to case).
func (s *Service) ResolveRole(ctx context.Context, ws, nameOrID string) (RoleRef, error) {
	var ref RoleRef
	err := s.store.Update(ctx, func(tx Tx) error {
		var err error
		ref, err = resolveRoleName(tx, ws, nameOrID)
		return err
	})
	return ref, err
}

func resolveRoleName(tx Tx, ws, nameOrID string) (RoleRef, error) {
	if r, ok := ParseRole(nameOrID); ok {
		return RoleRef{Role: r}, nil
	}
	if cr, err := tx.CustomRole(ws, strings.TrimSpace(nameOrID)); err == nil {
		return RoleRef{Role: cr.BaseRole, CustomRoleID: cr.ID}, nil
	} else if !errors.Is(err, ErrNotFound) {
		return RoleRef{}, err
	}
	if cr, err := tx.CustomRoleByName(ws, strings.TrimSpace(nameOrID)); err == nil {
		return RoleRef{Role: cr.BaseRole, CustomRoleID: cr.ID}, nil
	} else if !errors.Is(err, ErrNotFound) {
		return RoleRef{}, err
	}
	return RoleRef{}, unknownRole(tx, ws, nameOrID)
}

// unknownRole builds an error that lists the valid role names and IDs, so an
// IT admin can fix the IdP mapping without asking anyone.
func unknownRole(tx Tx, ws, name string) error {
	valid := []string{"admin", "member", "guest"}
	if roles, err := tx.CustomRoles(ws); err == nil {
		for _, r := range roles {
			valid = append(valid, fmt.Sprintf("%s (id %s)", r.Name, r.ID))
		}
	}
	return FieldErrorf(EINVALID, "role", "unknown role %q; valid roles are: %s", name, strings.Join(valid, ", "))
}

// resolveRoleRef checks a RoleRef against the workspace and fills in the
// base role of a custom role.
func resolveRoleRef(tx Tx, ws string, ref RoleRef) (RoleRef, error) {
	if ref.CustomRoleID != "" {
		cr, err := tx.CustomRole(ws, ref.CustomRoleID)
		if errors.Is(err, ErrNotFound) {
			return RoleRef{}, unknownRole(tx, ws, ref.CustomRoleID)
		} else if err != nil {
			return RoleRef{}, err
		}
		return RoleRef{Role: cr.BaseRole, CustomRoleID: cr.ID}, nil
	}
	if ref.Role.Rank() == 0 {
		return RoleRef{}, unknownRole(tx, ws, string(ref.Role))
	}
	return RoleRef{Role: ref.Role}, nil
}

func roleRefDetail(r RoleRef) map[string]string {
	d := map[string]string{"role": string(r.Role)}
	if r.CustomRoleID != "" {
		d["custom_role_id"] = r.CustomRoleID
	}
	return d
}

// ---- Members ----

func normalizeMember(m *Member) error {
	m.UserName = strings.TrimSpace(m.UserName)
	if err := checkName("userName", m.UserName, true); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{
		{"externalId", m.ExternalID}, {"name.givenName", m.GivenName},
		{"name.familyName", m.FamilyName}, {"displayName", m.DisplayName},
	} {
		if err := checkName(f.name, f.v, false); err != nil {
			return err
		}
	}
	if len(m.Emails) > maxEmails {
		return FieldErrorf(EINVALID, "emails", "more than %d emails", maxEmails)
	}
	primary := -1
	for i := range m.Emails {
		e := &m.Emails[i]
		e.Value = strings.TrimSpace(e.Value)
		if err := checkName("emails.value", e.Value, true); err != nil {
			return err
		}
		if e.Primary {
			if primary >= 0 {
				// RFC 7643 §2.4: at most one primary. The last one asked for wins.
				m.Emails[primary].Primary = false
			}
			primary = i
		}
	}
	if len(m.Attributes) == 0 {
		m.Attributes = json.RawMessage("{}")
	}
	return checkAttributes("user", m.Attributes)
}

// CreateMember adds a member. An actor that is an IdP may not create an
// owner; everyone else may (this is how the first owner is made).
func (s *Service) CreateMember(ctx context.Context, ws string, m *Member) (*Member, error) {
	m, _, err := s.createMember(ctx, ws, m, false)
	return m, err
}

// ProvisionMember adds a member on behalf of the IdP. If the IdP earlier
// deleted a member with the same userName (or, failing that, externalId),
// that same member comes back — reactivated, with a new SCIM id, keeping
// their history — instead of a duplicate. reattached reports that case.
func (s *Service) ProvisionMember(ctx context.Context, ws string, m *Member) (_ *Member, reattached bool, err error) {
	return s.createMember(ctx, ws, m, true)
}

func (s *Service) createMember(ctx context.Context, ws string, m *Member, reattach bool) (*Member, bool, error) {
	m = m.Clone()
	m.WorkspaceID = ws
	if err := normalizeMember(m); err != nil {
		return nil, false, err
	}
	if m.Source == "" {
		m.Source = SourceManual
	}
	actor := ActorFrom(ctx)
	if actor.fromIdP() && m.Assigned.Role == RoleOwner {
		return nil, false, FieldErrorf(EINVALID, "role", "the owner role cannot be given by the identity provider; use admin, member, guest or a custom role")
	}
	var out *Member
	var reattached bool
	err := s.store.Update(ctx, func(tx Tx) error {
		// No workspace lookup: the member's foreign key checks it, and an
		// insert into a missing workspace fails with ErrNotFound.
		if !m.Assigned.IsZero() {
			ref, err := resolveRoleRef(tx, ws, m.Assigned)
			if err != nil {
				return err
			}
			m.Assigned = ref
		}
		if reattach {
			old, err := s.findDetached(tx, ws, m)
			if err != nil {
				return err
			}
			if old != nil {
				out, reattached = old, true
				return s.reattach(tx, ctx, ws, old, m)
			}
		}
		now := tx.Now()
		m.ID = NewID()
		m.SCIMID = m.ID
		m.Created, m.Modified, m.StatusChanged = now, now, now
		m.Version = 1
		eff, _, err := effectiveRole(tx, ws, m, []GroupGrant{}) // a new member is in no group
		if err != nil {
			return err
		}
		m.Role, m.CustomRoleID = eff.Role, eff.CustomRoleID
		if err := tx.InsertMember(m); err != nil {
			if errors.Is(err, ErrConflict) {
				return FieldErrorf(ECONFLICT, "userName", "a member with userName %q already exists in this workspace", m.UserName)
			}
			return notFound(err, "workspace %q not found", ws)
		}
		out = m
		return audit(tx, ctx, ws, "member.created", "member", m.ID, map[string]any{
			"user_name": m.UserName, "source": m.Source, "active": m.Active, "role": roleRefDetail(eff),
		})
	})
	if err != nil {
		return nil, false, err
	}
	return out, reattached, nil
}

// findDetached returns the member the IdP deleted earlier that a new
// provisioning request refers to, or nil. A member who still has a SCIM
// resource under that userName is a conflict.
func (s *Service) findDetached(tx Tx, ws string, m *Member) (*Member, error) {
	old, err := tx.ReattachCandidateForUpdate(ws, m.UserName, m.ExternalID)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case old.SCIMID != "":
		// Only a userName match can still have a SCIM id.
		return nil, FieldErrorf(ECONFLICT, "userName", "a member with userName %q already exists in this workspace", m.UserName)
	}
	return old, nil
}

// reattach gives a member the IdP deleted earlier a new SCIM id and the
// profile of the new request.
func (s *Service) reattach(tx Tx, ctx context.Context, ws string, old, m *Member) error {
	before := old.Clone()
	version := old.Version
	now := tx.Now()
	old.SCIMID = NewID()
	old.UserName = m.UserName
	if m.ExternalID != "" {
		old.ExternalID = m.ExternalID
	}
	old.GivenName, old.FamilyName, old.DisplayName = m.GivenName, m.FamilyName, m.DisplayName
	old.Emails, old.Attributes = m.Emails, m.Attributes
	if old.Assigned.Role != RoleOwner {
		// Re-provisioning is a create: the role is what the request asks
		// for, and none means no explicit role (groups decide, else
		// member). A person the IdP removed does not come back with a role
		// an admin once gave them; a PUT, by contrast, leaves an absent
		// role unchanged.
		old.Assigned = m.Assigned
	}
	if old.Active != m.Active {
		old.Active = m.Active
		old.StatusChanged = now
	}
	old.Modified = now
	if err := guardOwnerIdentity(ctx, before, old); err != nil {
		return err
	}
	if err := s.settle(tx, ctx, ws, before, old, "re-provisioned by the identity provider"); err != nil {
		return err
	}
	if err := tx.UpdateMember(old, version); err != nil {
		if errors.Is(err, ErrConflict) {
			return FieldErrorf(ECONFLICT, "userName", "a member with userName %q already exists in this workspace", m.UserName)
		}
		return err
	}
	return audit(tx, ctx, ws, "member.reprovisioned", "member", old.ID, map[string]any{
		"user_name": old.UserName, "scim_id": old.SCIMID, "active": old.Active,
	})
}

// Versions are the versions a write may find (an If-Match list): the write
// fails with EPRECONDITION unless the resource is at one of them. Empty
// means any version.
type Versions []int64

// check returns the EPRECONDITION error for a resource at version cur, or nil.
func (v Versions) check(what, id string, cur int64) error {
	if len(v) == 0 || slices.Contains(v, cur) {
		return nil
	}
	return Errorf(EPRECONDITION, "%s %q was changed since version %s (now %d)", what, id, v, cur)
}

// String lists the versions, for messages.
func (v Versions) String() string {
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = strconv.FormatInt(n, 10)
	}
	return strings.Join(parts, " or ")
}

// UpdateOptions qualify a member update.
type UpdateOptions struct {
	// IfMatch makes the update fail with EPRECONDITION unless the member
	// is still at one of these versions (optimistic concurrency).
	IfMatch Versions
	// BySCIMID looks the member up by SCIM id instead of member ID.
	BySCIMID bool
}

// UpdateMember changes a member in one transaction: fn receives the current
// member (locked) and edits it. The service then enforces the invariants —
// the last active owner stays an active owner, an IdP never creates or
// changes an owner, the effective role follows the rule — revokes every
// session when the member is deactivated, and records what changed.
func (s *Service) UpdateMember(ctx context.Context, ws, id string, opts UpdateOptions, fn func(*Member) error) (*Member, error) {
	var out *Member
	err := s.store.Update(ctx, func(tx Tx) error {
		var m *Member
		var err error
		if opts.BySCIMID {
			m, err = tx.MemberBySCIMIDForUpdate(ws, id)
		} else {
			m, err = tx.MemberForUpdate(ws, id)
		}
		if err != nil {
			return notFound(err, "member %q not found", id)
		}
		if err := opts.IfMatch.check("member", id, m.Version); err != nil {
			return err
		}
		before := m.Clone()
		version := m.Version
		if err := fn(m); err != nil {
			return err
		}
		// Identity fields are not the caller's to change.
		m.ID, m.WorkspaceID, m.SCIMID, m.Source, m.Created = before.ID, before.WorkspaceID, before.SCIMID, before.Source, before.Created
		if err := normalizeMember(m); err != nil {
			return err
		}
		if err := guardOwnerIdentity(ctx, before, m); err != nil {
			return err
		}
		if err := s.checkAssigned(tx, ctx, ws, before, m); err != nil {
			return err
		}
		if m.Active != before.Active {
			m.StatusChanged = tx.Now()
		}
		if err := s.settle(tx, ctx, ws, before, m, ""); err != nil {
			return err
		}
		if memberEqual(before, m) {
			out = before
			return nil
		}
		m.Modified = tx.Now()
		if err := tx.UpdateMember(m, version); err != nil {
			if errors.Is(err, ErrConflict) {
				return FieldErrorf(ECONFLICT, "userName", "a member with userName %q already exists in this workspace", m.UserName)
			}
			return err
		}
		out = m
		return auditMemberChange(tx, ctx, ws, before, m)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// guardOwnerIdentity refuses an IdP request that would change how an owner
// is identified: their userName, their email addresses (a password reset
// goes to one, and sign-in matches them) or an externalId already set. A
// SCIM token that could change them could take the workspace over: point an
// owner's email at another mailbox, reset the password, sign in as owner.
// The IdP may still set an externalId the owner lacks (Okta links an owner
// made in Rollcall that way), change a userName's case, reorder or retype
// the addresses, and change everything else. An owner's identity is
// changed in Rollcall, by an admin.
func guardOwnerIdentity(ctx context.Context, before, m *Member) error {
	if !ActorFrom(ctx).fromIdP() || (before.Role != RoleOwner && before.Assigned.Role != RoleOwner) {
		return nil
	}
	refuse := func(field string) error {
		return FieldErrorf(EIMMUTABLE, field, "%s is an owner of the workspace: the identity provider cannot change an owner's %s; change it in Rollcall, or make them a non-owner first", before.UserName, field)
	}
	switch {
	case !strings.EqualFold(before.UserName, m.UserName):
		return refuse("userName")
	case before.ExternalID != "" && m.ExternalID != before.ExternalID:
		return refuse("externalId")
	case !sameAddresses(before.Emails, m.Emails):
		return refuse("emails")
	}
	return nil
}

// sameAddresses reports whether two email lists hold the same addresses,
// without regard to case, order, type or primary.
func sameAddresses(a, b []Email) bool {
	set := func(es []Email) []string {
		out := make([]string, len(es))
		for i, e := range es {
			out[i] = strings.ToLower(e.Value)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(set(a), set(b))
}

// checkAssigned validates an explicit role change and keeps owners safe
// from IdP requests.
func (s *Service) checkAssigned(tx Tx, ctx context.Context, ws string, before, m *Member) error {
	if m.Assigned == before.Assigned {
		return nil
	}
	if ActorFrom(ctx).fromIdP() {
		if before.Assigned.Role == RoleOwner {
			// An existing owner's role is never changed by the IdP: the
			// request is applied without it, as peers do.
			m.Assigned = before.Assigned
			return nil
		}
		if m.Assigned.Role == RoleOwner {
			return FieldErrorf(EINVALID, "role", "the owner role cannot be given by the identity provider; use admin, member, guest or a custom role")
		}
	}
	if m.Assigned.IsZero() {
		return nil
	}
	ref, err := resolveRoleRef(tx, ws, m.Assigned)
	if err != nil {
		return err
	}
	m.Assigned = ref
	return nil
}

// settle recomputes m's effective role and enforces the owner and session
// invariants for the change from before to m.
func (s *Service) settle(tx Tx, ctx context.Context, ws string, before, m *Member, cause string) error {
	eff, grant, err := effectiveRole(tx, ws, m, nil)
	if err != nil {
		return err
	}
	m.Role, m.CustomRoleID = eff.Role, eff.CustomRoleID
	wasOwner := before.Active && before.Role == RoleOwner
	isOwner := m.Active && m.Role == RoleOwner
	if wasOwner && !isOwner {
		if _, err := tx.LockWorkspace(ws); err != nil {
			return err
		}
		n, err := tx.CountActiveOwners(ws)
		if err != nil {
			return err
		}
		if n <= 1 {
			what := "demoted"
			switch {
			case before.SCIMID != "" && m.SCIMID == "":
				what = "removed"
			case !m.Active:
				what = "deactivated"
			}
			return Errorf(ECONFLICT, "%s is the last active owner of the workspace and cannot be %s; make another member owner first", before.UserName, what)
		}
	}
	// Deactivation ends every session. So does reactivation: a sign-in
	// that completed while the deactivation committed may have written a
	// session after it, unusable while the member is inactive, and it
	// must not come back to life with the member.
	if before.Active != m.Active {
		if err := tx.RevokeSessions(ws, m.ID); err != nil {
			return err
		}
	}
	if before.EffectiveRole() != eff && before.Version != 0 {
		if cause == "" {
			cause = roleCause(m, grant)
		}
		return audit(tx, ctx, ws, "member.role_changed", "member", m.ID, map[string]any{
			"user_name": m.UserName, "from": roleRefDetail(before.EffectiveRole()), "to": roleRefDetail(eff), "cause": cause,
		})
	}
	return nil
}

func roleCause(m *Member, grant *GroupGrant) string {
	switch {
	case m.Assigned.Role == RoleOwner:
		return "owner"
	case !m.Assigned.IsZero():
		return "role assigned explicitly"
	case grant != nil:
		return "granted by group " + grant.GroupID
	}
	return "default role (no explicit role and no mapped group)"
}

// effectiveRole applies the documented rule to m. grants, when non-nil, are
// the member's group grants already read; otherwise they are read. The
// grant that decided the role is returned when a group decided it.
func effectiveRole(tx Tx, ws string, m *Member, grants []GroupGrant) (RoleRef, *GroupGrant, error) {
	if m.Assigned.Role == RoleOwner {
		return RoleRef{Role: RoleOwner}, nil, nil
	}
	if !m.Assigned.IsZero() {
		// A custom role's base may have changed since it was assigned.
		ref, err := resolveRoleRef(tx, ws, m.Assigned)
		return ref, nil, err
	}
	if grants == nil && m.ID != "" {
		var err error
		if grants, err = tx.GrantedRoles(ws, m.ID); err != nil {
			return RoleRef{}, nil, err
		}
	}
	var best *GroupGrant
	for i := range grants {
		g := &grants[i]
		if g.Role.Role == RoleOwner || g.Role.Role.Rank() == 0 {
			continue
		}
		if best == nil || outranks(g.Role, best.Role) {
			best = g
		}
	}
	if best == nil {
		return RoleRef{Role: RoleMember}, nil, nil
	}
	return best.Role, best, nil
}

// outranks reports whether a beats b under the effective-role rule.
func outranks(a, b RoleRef) bool {
	if a.Role.Rank() != b.Role.Rank() {
		return a.Role.Rank() > b.Role.Rank()
	}
	if (a.CustomRoleID != "") != (b.CustomRoleID != "") {
		return a.CustomRoleID != ""
	}
	return a.CustomRoleID < b.CustomRoleID
}

// recompute re-applies the effective-role rule to members after one of its
// inputs changed (a group mapping, a membership, a custom role).
func (s *Service) recompute(tx Tx, ctx context.Context, ws string, memberIDs []string, cause string) error {
	ids := slices.Clone(memberIDs)
	slices.Sort(ids) // lock rows in one order everywhere: no deadlocks
	ids = slices.Compact(ids)
	for _, id := range ids {
		m, err := tx.MemberForUpdate(ws, id)
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		eff, _, err := effectiveRole(tx, ws, m, nil)
		if err != nil {
			return err
		}
		if eff == m.EffectiveRole() {
			continue
		}
		before := m.Clone()
		version := m.Version
		m.Role, m.CustomRoleID = eff.Role, eff.CustomRoleID
		m.Modified = tx.Now()
		if err := tx.UpdateMember(m, version); err != nil {
			return err
		}
		if err := audit(tx, ctx, ws, "member.role_changed", "member", m.ID, map[string]any{
			"user_name": m.UserName, "from": roleRefDetail(before.EffectiveRole()), "to": roleRefDetail(eff), "cause": cause,
		}); err != nil {
			return err
		}
	}
	return nil
}

func memberEqual(a, b *Member) bool {
	return a.UserName == b.UserName && a.ExternalID == b.ExternalID &&
		a.GivenName == b.GivenName && a.FamilyName == b.FamilyName &&
		a.DisplayName == b.DisplayName && slices.Equal(a.Emails, b.Emails) &&
		a.Active == b.Active && a.Role == b.Role && a.CustomRoleID == b.CustomRoleID &&
		a.Assigned == b.Assigned && jsonEqual(a.Attributes, b.Attributes)
}

func jsonEqual(a, b json.RawMessage) bool {
	if string(a) == string(b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x) // re-marshalling sorts keys
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// auditMemberChange records what changed on a member, naming the fields.
func auditMemberChange(tx Tx, ctx context.Context, ws string, before, m *Member) error {
	var changed []string
	add := func(cond bool, name string) {
		if cond {
			changed = append(changed, name)
		}
	}
	add(before.UserName != m.UserName, "userName")
	add(before.ExternalID != m.ExternalID, "externalId")
	add(before.GivenName != m.GivenName || before.FamilyName != m.FamilyName, "name")
	add(before.DisplayName != m.DisplayName, "displayName")
	add(!slices.Equal(before.Emails, m.Emails), "emails")
	add(before.Assigned != m.Assigned, "assignedRole")
	add(!jsonEqual(before.Attributes, m.Attributes), "attributes")
	switch {
	case before.Active && !m.Active:
		if err := audit(tx, ctx, ws, "member.deactivated", "member", m.ID, map[string]any{"user_name": m.UserName, "sessions_revoked": true}); err != nil {
			return err
		}
	case !before.Active && m.Active:
		if err := audit(tx, ctx, ws, "member.reactivated", "member", m.ID, map[string]any{"user_name": m.UserName, "role": roleRefDetail(m.EffectiveRole())}); err != nil {
			return err
		}
	}
	if len(changed) == 0 {
		return nil
	}
	return audit(tx, ctx, ws, "member.updated", "member", m.ID, map[string]any{"user_name": m.UserName, "changed": changed})
}

// DetachSCIM handles the IdP deleting a member's SCIM resource: the SCIM id
// is gone for good, the member leaves every group and becomes inactive, and
// everything else about them is kept. A later provisioning of the same
// person reattaches them (see ProvisionMember).
func (s *Service) DetachSCIM(ctx context.Context, ws, scimID string, ifMatch Versions) (*Member, error) {
	var out *Member
	err := s.store.Update(ctx, func(tx Tx) error {
		m, err := tx.MemberBySCIMIDForUpdate(ws, scimID)
		if err != nil {
			return notFound(err, "user %q not found", scimID)
		}
		if err := ifMatch.check("user", scimID, m.Version); err != nil {
			return err
		}
		before := m.Clone()
		version := m.Version
		groups, err := tx.RemoveMemberFromGroups(ws, m.ID)
		if err != nil {
			return err
		}
		m.SCIMID = ""
		if m.Active {
			m.Active = false
			m.StatusChanged = tx.Now()
		}
		if err := s.settle(tx, ctx, ws, before, m, "deleted by the identity provider"); err != nil {
			return err
		}
		m.Modified = tx.Now()
		if err := tx.UpdateMember(m, version); err != nil {
			return err
		}
		out = m
		return audit(tx, ctx, ws, "member.scim_deleted", "member", m.ID, map[string]any{
			"user_name": m.UserName, "scim_id": scimID, "left_groups": groups, "kept_as_inactive": true,
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Member returns one member by ID.
func (s *Service) Member(ctx context.Context, ws, id string) (*Member, error) {
	m, err := s.store.Member(ctx, ws, id)
	if err != nil {
		return nil, notFound(err, "member %q not found", id)
	}
	return m, nil
}

// ---- Groups ----

// MemberRef names a member by SCIM user id, with the display text the IdP
// sent for the membership (kept and echoed back).
type MemberRef struct {
	ID      string
	Display string
}

// MembershipChange describes a change to a group's members, by SCIM user
// ids. With Replace, Set is the complete new list and Add/Remove are ignored.
type MembershipChange struct {
	Add     []MemberRef
	Remove  []string
	Replace bool
	Set     []MemberRef
}

// Refs turns SCIM user ids into MemberRefs without display text.
func Refs(ids ...string) []MemberRef {
	out := make([]MemberRef, len(ids))
	for i, id := range ids {
		out[i] = MemberRef{ID: id}
	}
	return out
}

// IsZero reports whether c changes nothing.
func (c *MembershipChange) IsZero() bool {
	return c == nil || (!c.Replace && len(c.Add) == 0 && len(c.Remove) == 0)
}

func checkGroup(g *Group) error {
	g.DisplayName = strings.TrimSpace(g.DisplayName)
	if err := checkName("displayName", g.DisplayName, true); err != nil {
		return err
	}
	if err := checkName("externalId", g.ExternalID, false); err != nil {
		return err
	}
	if len(g.Attributes) == 0 {
		g.Attributes = json.RawMessage("{}")
	}
	return checkAttributes("group", g.Attributes)
}

// CreateGroup creates a group with initial members.
func (s *Service) CreateGroup(ctx context.Context, ws string, g *Group, members []MemberRef) (*Group, error) {
	g = &Group{DisplayName: g.DisplayName, ExternalID: g.ExternalID, Attributes: g.Attributes}
	if err := checkGroup(g); err != nil {
		return nil, err
	}
	g.ID, g.WorkspaceID = NewID(), ws
	err := s.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.Workspace(ws); err != nil {
			return notFound(err, "workspace %q not found", ws)
		}
		g.Created, g.Modified, g.Version = tx.Now(), tx.Now(), 1
		if err := tx.InsertGroup(g); err != nil {
			if errors.Is(err, ErrConflict) {
				return FieldErrorf(ECONFLICT, "displayName", "a group named %q already exists in this workspace", g.DisplayName)
			}
			return err
		}
		if err := audit(tx, ctx, ws, "group.created", "group", g.ID, map[string]any{"display_name": g.DisplayName}); err != nil {
			return err
		}
		if len(members) == 0 {
			return nil
		}
		_, err := s.applyMembership(tx, ctx, ws, g, &MembershipChange{Add: members})
		return err
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// UpdateGroup changes a group and its membership in one transaction. fn
// (optional) edits the group's own fields; change (optional) edits its
// members. Roles of members whose groups changed are recomputed in the same
// transaction when the group grants a role.
func (s *Service) UpdateGroup(ctx context.Context, ws, id string, ifMatch Versions, fn func(*Group) error, change *MembershipChange) (*Group, error) {
	var out *Group
	err := s.store.Update(ctx, func(tx Tx) error {
		g, err := tx.GroupForUpdate(ws, id)
		if err != nil {
			return notFound(err, "group %q not found", id)
		}
		if err := ifMatch.check("group", id, g.Version); err != nil {
			return err
		}
		before := *g
		version := g.Version
		if fn != nil {
			if err := fn(g); err != nil {
				return err
			}
			g.ID, g.WorkspaceID, g.Created, g.Role = before.ID, before.WorkspaceID, before.Created, before.Role
			if err := checkGroup(g); err != nil {
				return err
			}
		}
		changed := g.DisplayName != before.DisplayName || g.ExternalID != before.ExternalID || !jsonEqual(g.Attributes, before.Attributes)
		membersChanged, err := s.applyMembership(tx, ctx, ws, g, change)
		if err != nil {
			return err
		}
		if !changed && !membersChanged {
			out = g
			return nil
		}
		g.Modified = tx.Now()
		if err := tx.UpdateGroup(g, version); err != nil {
			if errors.Is(err, ErrConflict) {
				return FieldErrorf(ECONFLICT, "displayName", "a group named %q already exists in this workspace", g.DisplayName)
			}
			return err
		}
		out = g
		if changed {
			return audit(tx, ctx, ws, "group.updated", "group", g.ID, map[string]any{"from": before.DisplayName, "display_name": g.DisplayName})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// applyMembership applies change to group g and recomputes the roles of the
// members it touched when g grants a role. It reports whether anything
// changed. Unknown user ids fail the whole change.
func (s *Service) applyMembership(tx Tx, ctx context.Context, ws string, g *Group, change *MembershipChange) (bool, error) {
	if change.IsZero() {
		return false, nil
	}
	adds := change.Add
	if change.Replace {
		adds = change.Set
	}
	refs := make([]string, 0, len(adds)+len(change.Remove))
	for _, a := range adds {
		refs = append(refs, a.ID)
	}
	if !change.Replace {
		refs = append(refs, change.Remove...)
	}
	ids, err := tx.ResolveSCIMIDs(ws, refs)
	if err != nil {
		return false, err
	}
	// Removing a user that does not exist is harmless; adding one is not:
	// the whole change fails and names the ids.
	var missing []string
	for _, a := range adds {
		if _, ok := ids[a.ID]; !ok {
			missing = append(missing, a.ID)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		missing = slices.Compact(missing)
		if len(missing) > 10 {
			missing = append(missing[:10], fmt.Sprintf("and %d more", len(missing)-10))
		}
		return false, FieldErrorf(EINVALID, "members", "no user with id %s in this workspace", strings.Join(quoteAll(missing), ", "))
	}
	want := make([]NewMembership, 0, len(adds))
	for _, a := range adds {
		want = append(want, NewMembership{MemberID: ids[a.ID], Display: a.Display})
	}
	var added, removed []string
	if change.Replace {
		have, err := tx.GroupMemberIDs(ws, g.ID)
		if err != nil {
			return false, err
		}
		wantSet := make(map[string]bool, len(want))
		for _, w := range want {
			wantSet[w.MemberID] = true
		}
		var drop []string
		for _, id := range have {
			if !wantSet[id] {
				drop = append(drop, id)
			}
		}
		if removed, err = tx.RemoveGroupMembers(ws, g.ID, drop); err != nil {
			return false, err
		}
	} else {
		// Removals first: Okta sends "remove X" and "add Y" in one request.
		var drop []string
		for _, r := range change.Remove {
			if id, ok := ids[r]; ok {
				drop = append(drop, id)
			}
		}
		if removed, err = tx.RemoveGroupMembers(ws, g.ID, drop); err != nil {
			return false, err
		}
	}
	if added, err = tx.AddGroupMembers(ws, g.ID, want); err != nil {
		return false, err
	}
	if len(added) == 0 && len(removed) == 0 {
		return false, nil
	}
	if err := audit(tx, ctx, ws, "group.members_changed", "group", g.ID, map[string]any{
		"display_name": g.DisplayName, "added": len(added), "removed": len(removed),
	}); err != nil {
		return false, err
	}
	if g.Role.IsZero() {
		return true, nil // an unmapped group cannot change anyone's role
	}
	touched := append(added, removed...)
	return true, s.recompute(tx, ctx, ws, touched, fmt.Sprintf("membership of group %q (%s) changed", g.DisplayName, g.ID))
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		if strings.HasPrefix(v, "and ") {
			out[i] = v
			continue
		}
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}

// DeleteGroup deletes a group and the roles it granted; its members stay.
func (s *Service) DeleteGroup(ctx context.Context, ws, id string, ifMatch Versions) error {
	return s.store.Update(ctx, func(tx Tx) error {
		g, err := tx.GroupForUpdate(ws, id)
		if err != nil {
			return notFound(err, "group %q not found", id)
		}
		if err := ifMatch.check("group", id, g.Version); err != nil {
			return err
		}
		var members []string
		if !g.Role.IsZero() {
			if members, err = tx.GroupMemberIDs(ws, id); err != nil {
				return err
			}
		}
		if err := tx.DeleteGroup(ws, id); err != nil {
			return err
		}
		if err := audit(tx, ctx, ws, "group.deleted", "group", id, map[string]any{"display_name": g.DisplayName}); err != nil {
			return err
		}
		return s.recompute(tx, ctx, ws, members, fmt.Sprintf("group %q (%s) deleted", g.DisplayName, id))
	})
}

// SetGroupRole maps a group to a role (zero RoleRef removes the mapping);
// every member's role is recomputed in the same transaction. The mapping
// holds the group's ID, so it survives renames. Owner cannot be granted by a
// group.
func (s *Service) SetGroupRole(ctx context.Context, ws, groupID string, role RoleRef) (*Group, error) {
	var out *Group
	err := s.store.Update(ctx, func(tx Tx) error {
		g, err := tx.GroupForUpdate(ws, groupID)
		if err != nil {
			return notFound(err, "group %q not found", groupID)
		}
		if !role.IsZero() {
			if role.Role == RoleOwner {
				return FieldErrorf(EINVALID, "role", "a group cannot grant the owner role")
			}
			if role, err = resolveRoleRef(tx, ws, role); err != nil {
				return err
			}
		}
		out = g
		if g.Role == role {
			return nil
		}
		old := g.Role
		version := g.Version
		g.Role = role
		g.Modified = tx.Now()
		if err := tx.UpdateGroup(g, version); err != nil {
			return err
		}
		if err := audit(tx, ctx, ws, "group.role_mapped", "group", groupID, map[string]any{
			"display_name": g.DisplayName, "from": roleRefDetail(old), "to": roleRefDetail(role),
		}); err != nil {
			return err
		}
		members, err := tx.GroupMemberIDs(ws, groupID)
		if err != nil {
			return err
		}
		return s.recompute(tx, ctx, ws, members, fmt.Sprintf("role mapping of group %q (%s) changed", g.DisplayName, groupID))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Group returns one group.
func (s *Service) Group(ctx context.Context, ws, id string) (*Group, error) {
	g, err := s.store.Group(ctx, ws, id)
	if err != nil {
		return nil, notFound(err, "group %q not found", id)
	}
	return g, nil
}

// Record writes an audit entry about something that changed no directory
// data (a sign-in, a password change, an SSO event).
func (s *Service) Record(ctx context.Context, ws, action, targetType, targetID string, detail any) error {
	return s.store.Update(ctx, func(tx Tx) error { return audit(tx, ctx, ws, action, targetType, targetID, detail) })
}
