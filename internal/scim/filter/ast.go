package filter

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Op is a comparison operator (RFC 7644 §3.4.2.2, Table 3), in lower case.
// The presence test "pr" is the [Present] node, not an Op.
type Op string

// The comparison operators.
const (
	OpEq Op = "eq" // equal
	OpNe Op = "ne" // not equal
	OpCo Op = "co" // contains
	OpSw Op = "sw" // starts with
	OpEw Op = "ew" // ends with
	OpGt Op = "gt" // greater than
	OpGe Op = "ge" // greater than or equal to
	OpLt Op = "lt" // less than
	OpLe Op = "le" // less than or equal to
)

// parseOp returns the operator spelled s, in any case.
func parseOp(s string) (Op, bool) {
	switch op := Op(strings.ToLower(s)); op {
	case OpEq, OpNe, OpCo, OpSw, OpEw, OpGt, OpGe, OpLt, OpLe:
		return op, true
	}
	return "", false
}

// ordering reports whether op compares by order (gt, ge, lt, le).
func (op Op) ordering() bool {
	return op == OpGt || op == OpGe || op == OpLt || op == OpLe
}

// substring reports whether op tests a substring (co, sw, ew).
func (op Op) substring() bool {
	return op == OpCo || op == OpSw || op == OpEw
}

// Expr is a filter expression: one of [And], [Or], [Not], [Compare],
// [Present] and [ValuePath]. No other type implements it.
type Expr interface {
	// String returns the expression as a canonical filter.
	String() string
	write(b *strings.Builder)
}

// And matches when both L and R match.
type And struct{ L, R Expr }

// Or matches when L or R matches.
type Or struct{ L, R Expr }

// Not matches when X does not.
type Not struct{ X Expr }

// Compare compares an attribute with a value: Path Op Value.
//
// Value is a string, a bool, a json.Number or nil (for null). After
// [Resolve] its type suits the attribute: a string for string, reference,
// binary and dateTime attributes, a bool for boolean ones, a json.Number
// for integer and decimal ones; nil is only compared with eq and ne.
//
// Semantics, which an SQL compiler must reproduce: a multi-valued
// attribute matches when any of its values does (RFC 7644 §3.4.2.2); "ne"
// matches when the attribute has no value or any value differs; "eq null"
// matches when the attribute has no value, "ne null" when it has one.
// Strings compare without regard to case unless the attribute is caseExact.
type Compare struct {
	Path  Path
	Op    Op
	Value any
}

// Present matches when the attribute has a non-empty value: "Path pr".
type Present struct{ Path Path }

// ValuePath matches when some value of a multi-valued complex attribute
// matches Filter: emails[type eq "work" and value co "@example.com"].
// Path has no Sub. The paths inside Filter are relative to Path: their
// Attr is a sub-attribute name, and their URN and Sub are empty.
type ValuePath struct {
	Path   Path
	Filter Expr
}

// Path is an attribute path in standard attribute notation (RFC 7644
// §3.10): [URN ":"] Attr ["." Sub]. As parsed, names keep the case they
// were given in and URN is whatever preceded the attribute name; after
// [Resolve] names are spelled as in the schema and URN is set exactly for
// extension attributes.
type Path struct {
	URN  string // schema URN, or ""
	Attr string // attribute name; empty only for a path naming a whole extension
	Sub  string // sub-attribute name, or ""
}

// PathExpr is a PATCH path (RFC 7644 §3.5.2): attrPath / valuePath
// [subAttr], such as members[value eq "2819c223"], emails[type eq
// "work"].value or urn:…:enterprise:2.0:User:manager. It is also the form of
// each item of an attributes or excludedAttributes list.
//
// Filter, when set, selects values of the multi-valued attribute Path
// names, and Path.Sub is then the sub-attribute after the brackets. The
// paths inside Filter are relative, as in a [ValuePath].
type PathExpr struct {
	Path   Path
	Filter Expr
}

// String returns the path as written in a filter.
func (p Path) String() string {
	var b strings.Builder
	p.write(&b)
	return b.String()
}

func (p Path) write(b *strings.Builder) {
	if p.URN != "" {
		b.WriteString(p.URN)
		if p.Attr == "" {
			return
		}
		b.WriteByte(':')
	}
	b.WriteString(p.Attr)
	if p.Sub != "" {
		b.WriteByte('.')
		b.WriteString(p.Sub)
	}
}

// String returns the path as written in a PATCH request.
func (p PathExpr) String() string {
	if p.Filter == nil {
		return p.Path.String()
	}
	var b strings.Builder
	Path{URN: p.Path.URN, Attr: p.Path.Attr}.write(&b)
	b.WriteByte('[')
	p.Filter.write(&b)
	b.WriteByte(']')
	if p.Path.Sub != "" {
		b.WriteByte('.')
		b.WriteString(p.Path.Sub)
	}
	return b.String()
}

// Operator precedence for printing: or binds loosest.
const (
	precOr = iota + 1
	precAnd
	precTerm
)

func precedence(e Expr) int {
	switch e.(type) {
	case Or:
		return precOr
	case And:
		return precAnd
	}
	return precTerm
}

// writeOperand writes an operand of a binary operator of precedence p,
// parenthesised when needed to parse back to the same tree (and and or
// associate to the left).
func writeOperand(b *strings.Builder, e Expr, p int, right bool) {
	q := precedence(e)
	if q < p || (right && q == p) {
		b.WriteByte('(')
		e.write(b)
		b.WriteByte(')')
		return
	}
	e.write(b)
}

// String returns e as a canonical filter.
func (e And) String() string { return exprString(e) }

// String returns e as a canonical filter.
func (e Or) String() string { return exprString(e) }

// String returns e as a canonical filter.
func (e Not) String() string { return exprString(e) }

// String returns e as a canonical filter, the value in JSON syntax.
func (e Compare) String() string { return exprString(e) }

// String returns e as a canonical filter.
func (e Present) String() string { return exprString(e) }

// String returns e as a canonical filter.
func (e ValuePath) String() string { return exprString(e) }

func exprString(e Expr) string {
	var b strings.Builder
	e.write(&b)
	return b.String()
}

func (e And) write(b *strings.Builder) {
	writeOperand(b, e.L, precAnd, false)
	b.WriteString(" and ")
	writeOperand(b, e.R, precAnd, true)
}

func (e Or) write(b *strings.Builder) {
	writeOperand(b, e.L, precOr, false)
	b.WriteString(" or ")
	writeOperand(b, e.R, precOr, true)
}

func (e Not) write(b *strings.Builder) {
	b.WriteString("not (")
	e.X.write(b)
	b.WriteByte(')')
}

func (e Compare) write(b *strings.Builder) {
	e.Path.write(b)
	b.WriteByte(' ')
	b.WriteString(string(e.Op))
	b.WriteByte(' ')
	writeValue(b, e.Value)
}

func (e Present) write(b *strings.Builder) {
	e.Path.write(b)
	b.WriteString(" pr")
}

func (e ValuePath) write(b *strings.Builder) {
	e.Path.write(b)
	b.WriteByte('[')
	e.Filter.write(b)
	b.WriteByte(']')
}

// writeValue writes a comparison value in JSON syntax.
func writeValue(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		b.WriteString(string(x))
	case string:
		writeString(b, x)
	default:
		// Not produced by Parse or Resolve; print something that fails to
		// parse rather than something that means another thing.
		b.WriteString("<invalid>")
	}
}

// writeString writes s as a JSON string. Unlike encoding/json it leaves
// <, > and & alone, so filters stay readable.
func writeString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteString(`\ufffd`)
			} else {
				b.WriteString(s[i : i+size])
			}
			i += size
			continue
		}
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 || c == 0x7f {
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			} else {
				b.WriteByte(c)
			}
		}
		i++
	}
	b.WriteByte('"')
}
