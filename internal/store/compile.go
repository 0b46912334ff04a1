package store

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"rollcall/internal/directory"
)

// fieldKind says how a field's column compares.
type fieldKind int

const (
	kindExact fieldKind = iota // string, compared as is
	kindFold                   // string, column holds the lower-cased value
	kindBool
	kindTime
	kindEmail       // EmailMatch only
	kindGroupMember // group membership by SCIM user id
)

type column struct {
	sql  string
	kind fieldKind
}

var memberFields = map[directory.Field]column{
	directory.FieldSCIMID:       {"m.scim_id", kindExact},
	directory.FieldUserName:     {"m.user_name_lower", kindFold},
	directory.FieldExternalID:   {"m.external_id", kindExact},
	directory.FieldActive:       {"m.active", kindBool},
	directory.FieldCreated:      {"m.created", kindTime},
	directory.FieldModified:     {"m.modified", kindTime},
	directory.FieldEmailValue:   {"e.value_lower", kindFold},
	directory.FieldEmailType:    {"e.type_lower", kindFold},
	directory.FieldEmailPrimary: {"e.is_primary", kindBool},
}

var groupFields = map[directory.Field]column{
	directory.FieldGroupID:          {"g.id", kindExact},
	directory.FieldGroupDisplayName: {"g.display_name_lower", kindFold},
	directory.FieldGroupExternalID:  {"g.external_id", kindExact},
	directory.FieldGroupCreated:     {"g.created", kindTime},
	directory.FieldGroupModified:    {"g.modified", kindTime},
	directory.FieldGroupMember:      {"", kindGroupMember},
}

// boolLiteral writes a boolean as a literal rather than a parameter, so
// that a plan made once for many values (PostgreSQL's generic plan of a
// prepared statement) can still match it to a partial index's predicate:
// members_inactive holds only rows WHERE active = FALSE.
func boolLiteral(b bool) string {
	if b {
		return "TRUE"
	}
	return "FALSE"
}

// Bounds of a compiled condition.
//
// maxCondDepth bounds the nesting of conditions of different kinds (a
// chain of one operator, "a or b or c …", counts once however long it is:
// see flatten). It is a safety net against a hostile or buggy caller, set
// well above what the SCIM filter parser accepts: each of its at most 32
// levels of "(", "[" or "not (" (filter.DefaultMaxDepth) nests at most a
// Not, an Or and an And, and a leaf adds at most four more (an "ne" on
// emails is Or{Not{EmailMatch{All}}, EmailMatch{…}}), about 100 in all.
//
// maxParams bounds the parameters of one statement below SQLite's limit
// (32766, PostgreSQL's is 65535), leaving room for the caller's own
// (LIMIT, OFFSET). A filter of the parser's default 200 terms uses at most
// one parameter a term.
//
// Exceeding either is the request's fault, not the server's: the error is
// a directory.EINVALID.
const (
	maxCondDepth = 256
	maxParams    = 32000
)

// chainWidth is the most operands written as one flat chain in SQL. A
// longer chain is written as a tree of parenthesised chains of at most
// chainWidth operands, because SQLite parses "a OR b OR c …" into a tree
// as deep as the chain is long and refuses expressions deeper than 1000
// (SQLITE_MAX_EXPR_DEPTH): a tree keeps the depth logarithmic in the
// number of terms, so a filter bound raised with --scim-filter-max-terms
// still compiles. Both engines split nested ANDs and ORs back into one
// list when planning, so the grouping costs nothing.
const chainWidth = 16

// compiler turns a directory.Cond into SQL with $n parameters.
type compiler struct {
	d      *Dialect
	args   []any // args[0] is the workspace: $1 names it
	fields map[directory.Field]column
	depth  int
	err    error // the first error of arg: too many parameters
}

func (c *compiler) arg(v any) string {
	if len(c.args) >= maxParams && c.err == nil {
		c.err = directory.FieldErrorf(directory.EINVALID, "filter", "the filter needs more than %d query parameters; use fewer comparisons", maxParams)
	}
	c.args = append(c.args, v)
	return "$" + strconv.Itoa(len(c.args))
}

// textArg is arg typed as text, for use inside string functions where
// PostgreSQL could not infer the parameter's type.
func (c *compiler) textArg(v string) string { return "CAST(" + c.arg(v) + " AS TEXT)" }

func (c *compiler) cond(x directory.Cond) (string, error) {
	s, err := c.node(x)
	if err == nil {
		err = c.err
	}
	if err != nil {
		return "", err
	}
	return s, nil
}

func (c *compiler) node(x directory.Cond) (string, error) {
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > maxCondDepth {
		return "", directory.FieldErrorf(directory.EINVALID, "filter", "the filter is nested more than %d levels deep", maxCondDepth)
	}
	switch x := x.(type) {
	case nil, directory.All:
		return "1=1", nil
	case directory.And:
		return c.join(flatten(x), " AND ", "1=1")
	case directory.Or:
		return c.join(flatten(x), " OR ", "1=0")
	case directory.Not:
		s, err := c.node(x.X)
		if err != nil {
			return "", err
		}
		return "NOT (" + s + ")", nil
	case directory.EmailMatch:
		s, err := c.node(x.Cond)
		if err != nil {
			return "", err
		}
		// An uncorrelated IN, so that the email index drives the query:
		// SQLite runs a correlated EXISTS once per member of the workspace.
		return "m.id IN (SELECT e.member_id FROM member_emails e WHERE e.workspace_id = $1 AND (" + s + "))", nil
	case directory.Compare:
		return c.compare(x)
	}
	return "", fmt.Errorf("unsupported condition %T", x)
}

// flatten returns the operands of a chain of one operator, in order: the
// operands of x and, in their place, those of any operand that is itself
// an And (for an And) or an Or (for an Or), at any depth. The SCIM door
// translates "a or b or c" as Or{Or{a, b}, c}, a tree as deep as the
// filter is long; flattened, its depth counts only the nesting of
// different operators. It loops rather than recurses, so a long chain
// costs no stack.
func flatten[T interface {
	directory.And | directory.Or
	directory.Cond
}](x T) []directory.Cond {
	out := make([]directory.Cond, 0, len(x))
	var stack []directory.Cond // operands still to visit, the next one last
	push := func(xs T) {
		for i := len(xs) - 1; i >= 0; i-- {
			stack = append(stack, xs[i])
		}
	}
	push(x)
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if y, ok := top.(T); ok {
			push(y)
			continue
		}
		out = append(out, top)
	}
	return out
}

// join compiles the operands of a chain and joins them with op; empty is
// the chain of no operands. A chain longer than chainWidth is written as
// a tree of parenthesised chains (see chainWidth).
func (c *compiler) join(xs []directory.Cond, op, empty string) (string, error) {
	if len(xs) == 0 {
		return empty, nil
	}
	parts := make([]string, len(xs))
	for i, x := range xs {
		s, err := c.node(x)
		if err != nil {
			return "", err
		}
		parts[i] = "(" + s + ")"
	}
	for len(parts) > chainWidth {
		grouped := make([]string, 0, (len(parts)+chainWidth-1)/chainWidth)
		for i := 0; i < len(parts); i += chainWidth {
			grouped = append(grouped, "("+strings.Join(parts[i:min(i+chainWidth, len(parts))], op)+")")
		}
		parts = grouped
	}
	return strings.Join(parts, op), nil
}

func (c *compiler) compare(x directory.Compare) (string, error) {
	col, ok := c.fields[x.Field]
	if !ok {
		return "", fmt.Errorf("field %q cannot be queried here", x.Field)
	}
	switch col.kind {
	case kindGroupMember:
		s, ok := x.Value.(string)
		if !ok || (x.Op != directory.OpEq && x.Op != directory.OpNe) {
			return "", fmt.Errorf("members can only be compared with eq or ne and a user id")
		}
		exists := "EXISTS (SELECT 1 FROM group_members gm JOIN members mm ON mm.workspace_id = gm.workspace_id AND mm.id = gm.member_id WHERE gm.workspace_id = g.workspace_id AND gm.group_id = g.id AND mm.scim_id = " + c.arg(s) + ")"
		if x.Op == directory.OpNe {
			return "NOT " + exists, nil
		}
		return exists, nil
	case kindBool:
		if x.Op == directory.OpPr {
			return "1=1", nil
		}
		b, ok := x.Value.(bool)
		if !ok {
			return "", fmt.Errorf("%s compares with true or false", x.Field)
		}
		switch x.Op {
		case directory.OpEq:
			return col.sql + " = " + boolLiteral(b), nil
		case directory.OpNe:
			return col.sql + " = " + boolLiteral(!b), nil
		}
		return "", fmt.Errorf("operator %s does not apply to %s", x.Op, x.Field)
	case kindTime:
		if x.Op == directory.OpPr {
			return "1=1", nil
		}
		t, ok := x.Value.(time.Time)
		if !ok {
			return "", fmt.Errorf("%s compares with a date and time", x.Field)
		}
		// Columns hold whole microseconds. Round the bound the way that
		// keeps each comparison exact for a finer-grained value.
		us := t.UnixMicro()
		exact := t.Equal(time.UnixMicro(us))
		switch x.Op {
		case directory.OpEq:
			if !exact {
				return "1=0", nil
			}
			return col.sql + " = " + c.arg(us), nil
		case directory.OpNe:
			if !exact {
				return "1=1", nil
			}
			return col.sql + " <> " + c.arg(us), nil
		case directory.OpGt:
			return col.sql + " > " + c.arg(us), nil
		case directory.OpGe:
			if !exact {
				return col.sql + " > " + c.arg(us), nil
			}
			return col.sql + " >= " + c.arg(us), nil
		case directory.OpLt:
			if !exact {
				return col.sql + " <= " + c.arg(us), nil
			}
			return col.sql + " < " + c.arg(us), nil
		case directory.OpLe:
			return col.sql + " <= " + c.arg(us), nil
		}
		return "", fmt.Errorf("operator %s does not apply to %s", x.Op, x.Field)
	}
	// Strings.
	if x.Op == directory.OpPr {
		return "(" + col.sql + " IS NOT NULL AND " + col.sql + " <> '')", nil
	}
	s, ok := x.Value.(string)
	if !ok {
		if x.Value == nil && (x.Op == directory.OpEq || x.Op == directory.OpNe) {
			// "eq null" tests absence (RFC 7644 §3.4.2.2 and §3.5.2).
			if x.Op == directory.OpEq {
				return "(" + col.sql + " IS NULL OR " + col.sql + " = '')", nil
			}
			return "(" + col.sql + " IS NOT NULL AND " + col.sql + " <> '')", nil
		}
		return "", fmt.Errorf("%s compares with a string", x.Field)
	}
	if col.kind == kindFold {
		s = strings.ToLower(s)
	}
	switch x.Op {
	case directory.OpEq:
		return col.sql + " = " + c.arg(s), nil
	case directory.OpNe:
		return "(" + col.sql + " IS NULL OR " + col.sql + " <> " + c.arg(s) + ")", nil
	case directory.OpCo:
		return c.d.Contains(col.sql, c.textArg(s)), nil
	case directory.OpSw:
		p := c.textArg(s)
		return "substr(" + col.sql + ", 1, length(" + p + ")) = " + p, nil
	case directory.OpEw:
		return c.d.EndsWith(col.sql, c.textArg(s)), nil
	case directory.OpGt:
		return col.sql + " > " + c.arg(s), nil
	case directory.OpGe:
		return col.sql + " >= " + c.arg(s), nil
	case directory.OpLt:
		return col.sql + " < " + c.arg(s), nil
	case directory.OpLe:
		return col.sql + " <= " + c.arg(s), nil
	}
	return "", fmt.Errorf("unknown operator %q", x.Op)
}
