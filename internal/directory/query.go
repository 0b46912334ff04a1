package directory

import "time"

// Field names an attribute a store can test in SQL. Only attributes the
// stores index are fields; protocol doors evaluate anything else themselves.
type Field string

// Member fields. String fields marked "without regard to case" compare
// lower-cased values.
const (
	FieldSCIMID       Field = "scim_id"       // exact
	FieldUserName     Field = "user_name"     // without regard to case
	FieldExternalID   Field = "external_id"   // exact
	FieldActive       Field = "active"        // bool
	FieldCreated      Field = "created"       // time
	FieldModified     Field = "modified"      // time
	FieldEmailValue   Field = "email_value"   // inside EmailMatch only; without regard to case
	FieldEmailType    Field = "email_type"    // inside EmailMatch only; without regard to case
	FieldEmailPrimary Field = "email_primary" // inside EmailMatch only; bool
)

// Group fields.
const (
	FieldGroupID          Field = "group_id"           // exact
	FieldGroupDisplayName Field = "group_display_name" // without regard to case
	FieldGroupExternalID  Field = "group_external_id"  // exact
	FieldGroupCreated     Field = "group_created"      // time
	FieldGroupModified    Field = "group_modified"     // time
	FieldGroupMember      Field = "group_member"       // a member's SCIM id; eq only
)

// Op is a comparison operator, with RFC 7644 §3.4.2.2 meanings.
type Op string

// Operators.
const (
	OpEq Op = "eq"
	OpNe Op = "ne"
	OpCo Op = "co"
	OpSw Op = "sw"
	OpEw Op = "ew"
	OpGt Op = "gt"
	OpGe Op = "ge"
	OpLt Op = "lt"
	OpLe Op = "le"
	OpPr Op = "pr"
)

// Cond is a condition a store translates to SQL. Implementations are
// And, Or, Not, Compare, EmailMatch and All.
type Cond interface{ isCond() }

// And holds when every condition holds (an empty And always holds).
type And []Cond

// Or holds when any condition holds (an empty Or never holds).
type Or []Cond

// Not holds when X does not.
type Not struct{ X Cond }

// Compare tests one field. Value is a string, bool or time.Time; it is
// ignored for OpPr.
type Compare struct {
	Field Field
	Op    Op
	Value any
}

// EmailMatch holds when one of the member's emails satisfies Cond, whose
// fields are FieldEmailValue, FieldEmailType and FieldEmailPrimary.
type EmailMatch struct{ Cond Cond }

// All always holds.
type All struct{}

func (And) isCond()        {}
func (Or) isCond()         {}
func (Not) isCond()        {}
func (Compare) isCond()    {}
func (EmailMatch) isCond() {}
func (All) isCond()        {}

// MemberOrder is a sort key for member lists.
type MemberOrder string

// Sort keys. The member ID always breaks ties, so order is stable across pages.
const (
	OrderDefault     MemberOrder = ""
	OrderSCIMID      MemberOrder = "scim_id"
	OrderUserName    MemberOrder = "user_name"
	OrderExternalID  MemberOrder = "external_id"
	OrderDisplayName MemberOrder = "display_name"
	OrderCreated     MemberOrder = "created"
	OrderModified    MemberOrder = "modified"
)

// MemberQuery selects members of one workspace.
type MemberQuery struct {
	Where Cond // nil means all
	// SCIMOnly restricts to members with a SCIM resource (not deleted by the IdP).
	SCIMOnly bool
	// Status restricts to active (true) or inactive (false) members; nil means both.
	Active     *bool
	Order      MemberOrder
	Descending bool
	Offset     int
	Limit      int // 0 means count only
}

// GroupQuery selects groups of one workspace.
type GroupQuery struct {
	Where      Cond
	Descending bool
	// OrderByName sorts by display name instead of creation.
	OrderByName bool
	Offset      int
	Limit       int
}

// Page is one page of a list with the total number of matches.
type Page[T any] struct {
	Items []T
	Total int
}

// AuditQuery selects audit entries of one workspace, newest first.
type AuditQuery struct {
	// Before returns entries with an ID lower than this one (0: from the newest).
	Before int64
	// Since returns entries at or after this time (zero: no bound).
	Since time.Time
	// TargetID restricts to entries about one member, group or role.
	TargetID string
	Limit    int
}
