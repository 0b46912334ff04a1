package directory

import (
	"encoding/json"
	"strings"
	"time"
)

// SSOPolicy says how members of a workspace may sign in.
type SSOPolicy string

// SSO policies. With SSOOptional members may also use a password; with
// SSORequired only owners keep a password, as break-glass.
const (
	SSOOptional SSOPolicy = "optional"
	SSORequired SSOPolicy = "required"
)

// Valid reports whether p is a known policy.
func (p SSOPolicy) Valid() bool { return p == SSOOptional || p == SSORequired }

// Workspace is a tenant: a company's space with its own members, roles,
// groups, SCIM endpoint and SAML configuration.
type Workspace struct {
	ID        string // URL-safe, no underscore (Okta forbids it in SCIM base URLs)
	Name      string
	SSOPolicy SSOPolicy
	Created   time.Time
}

// Role is a built-in role. A custom role always has one of these as its base.
type Role string

// Built-in roles, from most to least privileged.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
	RoleGuest  Role = "guest"
)

// BuiltinRoles lists the built-in roles from most to least privileged.
func BuiltinRoles() []Role { return []Role{RoleOwner, RoleAdmin, RoleMember, RoleGuest} }

// ParseRole returns the built-in role named s, without regard to case.
func ParseRole(s string) (Role, bool) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleOwner, RoleAdmin, RoleMember, RoleGuest:
		return r, true
	}
	return "", false
}

// Rank orders built-in roles by privilege: owner 4, admin 3, member 2, guest 1.
func (r Role) Rank() int {
	switch r {
	case RoleOwner:
		return 4
	case RoleAdmin:
		return 3
	case RoleMember:
		return 2
	case RoleGuest:
		return 1
	}
	return 0
}

// RoleRef names a role a member can hold: a built-in role, or a custom role
// (CustomRoleID set, Role its base). The zero RoleRef means "none".
type RoleRef struct {
	Role         Role
	CustomRoleID string
}

// IsZero reports whether r names no role.
func (r RoleRef) IsZero() bool { return r.Role == "" && r.CustomRoleID == "" }

// CustomRole is a role an admin defined. Its ID is stable: renaming keeps it,
// so IdP mappings by ID never break.
type CustomRole struct {
	ID          string
	WorkspaceID string
	Name        string // unique per workspace without regard to case
	BaseRole    Role   // admin, member or guest
	Description string
	Created     time.Time
	Modified    time.Time
}

// Source says how a member came to the workspace.
type Source string

// Member sources.
const (
	SourceSCIM   Source = "scim"
	SourceManual Source = "manual"
	SourceSSO    Source = "sso"
)

// Email is one of a member's email addresses.
type Email struct {
	Value   string
	Type    string
	Primary bool
	Display string
}

// Member is a person in a workspace. A member is never deleted by
// deactivation: an inactive member keeps everything.
type Member struct {
	ID          string // UUID, stable for the life of the member
	WorkspaceID string
	// SCIMID is the member's id under the SCIM /Users endpoint. It is empty
	// once the IdP has deleted the SCIM resource; a later provisioning of the
	// same person attaches a new SCIMID to this same member.
	SCIMID      string
	UserName    string // unique per workspace without regard to case
	ExternalID  string
	GivenName   string
	FamilyName  string
	DisplayName string
	Emails      []Email
	Active      bool
	// StatusChanged is when Active last changed (or creation).
	StatusChanged time.Time
	// Role and CustomRoleID are the effective role. For a custom role, Role
	// is the custom role's base role.
	Role         Role
	CustomRoleID string
	// Assigned is the role given explicitly (by the IdP on the user or by an
	// admin); zero means none, so the role follows group mappings.
	Assigned RoleRef
	Source   Source
	// Attributes holds the member's remaining profile attributes as the IdP
	// sent them (a SCIM JSON object). The domain does not interpret it.
	Attributes json.RawMessage
	Created    time.Time
	Modified   time.Time
	// Version increases with every change; ETags derive from it.
	Version int64
}

// PrimaryEmail returns the primary email, or the first one, or "".
func (m *Member) PrimaryEmail() string {
	for _, e := range m.Emails {
		if e.Primary {
			return e.Value
		}
	}
	if len(m.Emails) > 0 {
		return m.Emails[0].Value
	}
	return ""
}

// EffectiveRole returns the member's effective role as a RoleRef.
func (m *Member) EffectiveRole() RoleRef { return RoleRef{Role: m.Role, CustomRoleID: m.CustomRoleID} }

// Clone returns a deep copy of m.
func (m *Member) Clone() *Member {
	c := *m
	c.Emails = append([]Email(nil), m.Emails...)
	c.Attributes = append(json.RawMessage(nil), m.Attributes...)
	return &c
}

// Group is a team of members, usually pushed by the IdP. A group may map to
// a role, which its members then hold unless given one explicitly.
type Group struct {
	ID          string
	WorkspaceID string
	DisplayName string // unique per workspace without regard to case
	ExternalID  string
	// Attributes holds other SCIM attributes as sent (opaque to the domain).
	Attributes json.RawMessage
	// Role is the role the group grants; zero means none.
	Role     RoleRef
	Members  int // number of members, filled by reads
	Created  time.Time
	Modified time.Time
	Version  int64
}

// GroupRef is a group as seen from one of its members.
type GroupRef struct {
	ID          string
	DisplayName string
}

// GroupMember is a member as seen from a group.
type GroupMember struct {
	MemberID    string
	SCIMID      string
	UserName    string
	DisplayName string
	// Display is the text the IdP sent with the membership, if any.
	Display string
}

// Actor says who asked for a change, for the audit trail.
type Actor struct {
	Kind      string `json:"kind"` // "cli", "api_key", "scim_token", "scim_client", "member", "system", "idp"
	ID        string `json:"id,omitempty"`
	Label     string `json:"label,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// AuditEntry is one recorded change.
type AuditEntry struct {
	ID          int64
	WorkspaceID string
	Time        time.Time
	Actor       Actor
	Action      string // e.g. "member.created", "member.deactivated", "member.role_changed"
	TargetType  string // "member", "group", "role", "workspace", "sso", …
	TargetID    string
	// Detail is a JSON object with what changed and why.
	Detail json.RawMessage
}
