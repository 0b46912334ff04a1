package directory

import (
	"context"
	"time"
)

// Reader is the read side of a store. Methods return ErrNotFound when the
// thing asked for does not exist in the given workspace.
type Reader interface {
	Workspace(ctx context.Context, id string) (*Workspace, error)
	Workspaces(ctx context.Context) ([]*Workspace, error)
	CustomRole(ctx context.Context, ws, id string) (*CustomRole, error)
	CustomRoles(ctx context.Context, ws string) ([]*CustomRole, error)
	Member(ctx context.Context, ws, id string) (*Member, error)
	MemberBySCIMID(ctx context.Context, ws, scimID string) (*Member, error)
	MemberByUserName(ctx context.Context, ws, userName string) (*Member, error)
	// Members returns one page of the members matching q and their total.
	Members(ctx context.Context, ws string, q MemberQuery) (Page[*Member], error)
	// ScanMembers calls fn for every member matching q (Offset and Limit
	// ignored), in q's order, without holding them all in memory.
	ScanMembers(ctx context.Context, ws string, q MemberQuery, fn func(*Member) error) error
	Group(ctx context.Context, ws, id string) (*Group, error)
	Groups(ctx context.Context, ws string, q GroupQuery) (Page[*Group], error)
	// GroupMembers returns the members of a group in a stable order.
	GroupMembers(ctx context.Context, ws, groupID string, offset, limit int) (Page[GroupMember], error)
	// MembersOfGroups returns every member of each group, in GroupMembers'
	// order, for a page of groups in one query per few hundred groups.
	MembersOfGroups(ctx context.Context, ws string, groupIDs ...string) (map[string][]GroupMember, error)
	// MemberGroups returns the groups each member belongs to, ordered by
	// name (an index lookup per member).
	MemberGroups(ctx context.Context, ws string, memberIDs ...string) (map[string][]GroupRef, error)
	Audit(ctx context.Context, ws string, q AuditQuery) ([]AuditEntry, error)
}

// Store is what the directory service needs from persistence.
type Store interface {
	Reader
	// Update runs fn in one write transaction: everything fn does commits
	// together or not at all. An error from fn rolls back and is returned.
	Update(ctx context.Context, fn func(Tx) error) error
}

// Tx is one write transaction. Lookups that end in ForUpdate lock the row
// until commit where the engine supports it (PostgreSQL); on SQLite the
// single writer connection serialises every transaction. Methods return
// ErrNotFound for missing rows and ErrConflict for uniqueness violations and
// version mismatches.
type Tx interface {
	// Now is the transaction's single clock reading.
	Now() time.Time

	InsertWorkspace(w *Workspace) error
	// WorkspacesExist reports whether any workspace exists, and holds until
	// the transaction ends a lock that makes concurrent callers wait, so
	// that of servers starting together on an empty database one creates
	// the first workspace.
	WorkspacesExist() (bool, error)
	Workspace(id string) (*Workspace, error)
	// LockWorkspace locks the workspace row, serialising changes that must
	// see every other (for example the last-owner check).
	LockWorkspace(ws string) (*Workspace, error)
	UpdateWorkspace(w *Workspace) error

	InsertCustomRole(r *CustomRole) error
	CustomRole(ws, id string) (*CustomRole, error)
	CustomRoleByName(ws, name string) (*CustomRole, error)
	CustomRoles(ws string) ([]*CustomRole, error)
	UpdateCustomRole(r *CustomRole) error
	DeleteCustomRole(ws, id string) error
	// MembersHoldingCustomRole returns IDs of members whose effective or
	// assigned role is the custom role.
	MembersHoldingCustomRole(ws, id string) ([]string, error)
	// GroupsMappedToCustomRole returns IDs of groups that grant the custom role.
	GroupsMappedToCustomRole(ws, id string) ([]string, error)

	InsertMember(m *Member) error
	MemberForUpdate(ws, id string) (*Member, error)
	MemberBySCIMIDForUpdate(ws, scimID string) (*Member, error)
	// ReattachCandidateForUpdate finds, in one query, the member a new
	// provisioning request may refer to: the member with that userName
	// (whether or not the IdP deleted it), else, if externalID is not
	// empty, the member the IdP deleted (no SCIM id) most recently with
	// that externalId. ErrNotFound if neither exists.
	ReattachCandidateForUpdate(ws, userName, externalID string) (*Member, error)
	// UpdateMember stores m if its stored version is still version, and
	// sets m.Version to the new version.
	UpdateMember(m *Member, version int64) error
	CountActiveOwners(ws string) (int, error)
	// ResolveSCIMIDs maps SCIM user ids to member IDs; unknown ids are absent.
	ResolveSCIMIDs(ws string, scimIDs []string) (map[string]string, error)

	InsertGroup(g *Group) error
	GroupForUpdate(ws, id string) (*Group, error)
	UpdateGroup(g *Group, version int64) error
	DeleteGroup(ws, id string) error
	// AddGroupMembers adds members and returns the IDs of those not already
	// in it (members already in it keep their display text).
	AddGroupMembers(ws, groupID string, members []NewMembership) ([]string, error)
	// RemoveGroupMembers removes members and returns those that were in it.
	RemoveGroupMembers(ws, groupID string, memberIDs []string) ([]string, error)
	GroupMemberIDs(ws, groupID string) ([]string, error)
	// RemoveMemberFromGroups removes a member from every group and returns
	// the IDs of those groups.
	RemoveMemberFromGroups(ws, memberID string) ([]string, error)
	// GrantedRoles returns, for each mapped group the member belongs to, the
	// group's ID and role.
	GrantedRoles(ws, memberID string) ([]GroupGrant, error)

	InsertAudit(e *AuditEntry) error
	// RevokeSessions ends every session of a member at once.
	RevokeSessions(ws, memberID string) error
}

// NewMembership is a member to add to a group.
type NewMembership struct {
	MemberID string
	Display  string
}

// GroupGrant is a role a member holds through a group.
type GroupGrant struct {
	GroupID string
	Role    RoleRef
}
