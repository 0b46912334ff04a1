package filter

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"rollcall/internal/scim/schema"
)

// ResolveError reports a well-formed filter or path that does not fit the
// resource schema: an unknown attribute, an operator that does not suit
// the attribute's type, or a value of the wrong type.
type ResolveError struct {
	// Path is the attribute path concerned, as written by the client.
	Path string
	// Msg says what is wrong, for the client.
	Msg string
	err error
}

// Error returns Msg.
func (e *ResolveError) Error() string { return e.Msg }

// Unwrap returns the schema error behind e, if any, such as one wrapping
// [schema.ErrUnknownAttribute].
func (e *ResolveError) Unwrap() error { return e.err }

// Resolve checks e against rs and returns it in canonical form: paths
// spelled as in the schema, extension attributes qualified with their URN
// and core ones not, a comparison on a multi-valued complex attribute
// turned into one on its "value" sub-attribute (emails co "x" becomes
// emails.value co "x", members eq "id" becomes members.value eq "id"), and
// values converted to the attribute's type (see [Compare]). It fails with a
// [*ResolveError] when an attribute is unknown, an operator does not suit
// the attribute (gt on a boolean, co on a dateTime), or a value cannot be
// read as the attribute's type.
func Resolve(e Expr, rs *schema.ResourceSchema) (Expr, error) {
	ce, _, err := resolver{rs: rs}.expr(e, nil)
	return ce, err
}

// Matcher is a filter resolved against a resource schema, ready to be
// evaluated against canonical documents. It is safe for concurrent use.
type Matcher struct {
	expr Expr
	root node
}

// Compile resolves e against rs (see [Resolve]) and prepares it for
// evaluation.
func Compile(e Expr, rs *schema.ResourceSchema) (*Matcher, error) {
	ce, root, err := resolver{rs: rs}.expr(e, nil)
	if err != nil {
		return nil, err
	}
	return &Matcher{expr: ce, root: root}, nil
}

// Expr returns the canonical expression m evaluates.
func (m *Matcher) Expr() Expr { return m.expr }

// Match reports whether the canonical document doc (see package schema)
// matches the filter.
func (m *Matcher) Match(doc map[string]any) bool { return m.root.match(doc) }

// Resolve resolves p, a path in standard attribute notation such as a
// sortBy parameter (RFC 7644 §3.4.2.3), against rs. It returns p in
// canonical form (see [Path]) with its definitions; Ref.Attr is nil when p
// names a whole extension. An unknown attribute is a [*ResolveError]
// wrapping [schema.ErrUnknownAttribute].
func (p Path) Resolve(rs *schema.ResourceSchema) (Path, schema.AttrRef, error) {
	return resolver{rs: rs}.path(p, nil)
}

// ResolvedPath is a [PathExpr] resolved against a resource schema, for a
// PATCH engine or a projection.
type ResolvedPath struct {
	// Path is the canonical form of the path.
	Path PathExpr
	// Ref holds the definitions of the attribute and sub-attribute. Ref.Attr
	// is nil when the path names a whole extension, such as
	// urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.
	Ref    schema.AttrRef
	filter node
}

// Resolve checks p against rs and returns it in canonical form with its
// definitions. A value filter requires a complex attribute; the paths in it
// must be sub-attributes of that attribute.
func (p PathExpr) Resolve(rs *schema.ResourceSchema) (*ResolvedPath, error) {
	r := resolver{rs: rs}
	if p.Filter == nil {
		path, ref, err := r.path(p.Path, nil)
		if err != nil {
			return nil, err
		}
		return &ResolvedPath{Path: PathExpr{Path: path}, Ref: ref}, nil
	}
	path, ref, err := r.path(Path{URN: p.Path.URN, Attr: p.Path.Attr}, nil)
	if err != nil {
		return nil, err
	}
	if ref.Attr == nil || ref.Attr.Type != schema.TypeComplex {
		return nil, r.errorf(p.Path, nil, "'%s' is not a complex attribute, so it cannot take a value filter", path)
	}
	filter, node, err := r.expr(p.Filter, &ref)
	if err != nil {
		return nil, err
	}
	if p.Path.Sub != "" {
		sub := ref.Attr.SubAttribute(p.Path.Sub)
		if sub == nil {
			return nil, r.errorf(p.Path, schema.ErrUnknownAttribute, "unknown attribute '%s': %s has no sub-attribute '%s'", p.Path, path, p.Path.Sub)
		}
		ref.Sub = sub
		path.Sub = sub.Name
	}
	return &ResolvedPath{Path: PathExpr{Path: path, Filter: filter}, Ref: ref, filter: node}, nil
}

// Match reports whether elem, one value of the multi-valued attribute the
// path names, is selected by the path's value filter. Without a filter
// every value is.
func (r *ResolvedPath) Match(elem map[string]any) bool {
	return r.filter == nil || r.filter.match(elem)
}

type resolver struct {
	rs *schema.ResourceSchema
}

func (r resolver) errorf(p Path, cause error, format string, args ...any) *ResolveError {
	return &ResolveError{Path: p.String(), Msg: fmt.Sprintf(format, args...), err: cause}
}

// expr resolves e; parent is the attribute of the enclosing value filter,
// or nil at the top level.
func (r resolver) expr(e Expr, parent *schema.AttrRef) (Expr, node, error) {
	switch e := e.(type) {
	case And:
		l, ln, err := r.expr(e.L, parent)
		if err != nil {
			return nil, nil, err
		}
		rr, rn, err := r.expr(e.R, parent)
		if err != nil {
			return nil, nil, err
		}
		return And{L: l, R: rr}, andNode{ln, rn}, nil
	case Or:
		l, ln, err := r.expr(e.L, parent)
		if err != nil {
			return nil, nil, err
		}
		rr, rn, err := r.expr(e.R, parent)
		if err != nil {
			return nil, nil, err
		}
		return Or{L: l, R: rr}, orNode{ln, rn}, nil
	case Not:
		x, xn, err := r.expr(e.X, parent)
		if err != nil {
			return nil, nil, err
		}
		return Not{X: x}, notNode{xn}, nil
	case Present:
		path, ref, err := r.path(e.Path, parent)
		if err != nil {
			return nil, nil, err
		}
		if ref.Attr == nil {
			return nil, nil, r.errorf(e.Path, nil, "'%s' names a schema, not an attribute", e.Path)
		}
		return Present{Path: path}, presentNode{getterFor(ref, parent != nil)}, nil
	case Compare:
		return r.compare(e, parent)
	case ValuePath:
		if parent != nil {
			return nil, nil, r.errorf(e.Path, nil, "value filters cannot be nested")
		}
		if e.Path.Sub != "" {
			return nil, nil, r.errorf(e.Path, nil, "a value filter must follow an attribute, not a sub-attribute such as '%s'", e.Path)
		}
		path, ref, err := r.path(e.Path, nil)
		if err != nil {
			return nil, nil, err
		}
		if ref.Attr == nil || ref.Attr.Type != schema.TypeComplex {
			return nil, nil, r.errorf(e.Path, nil, "'%s' is not a complex attribute, so it cannot take a value filter", path)
		}
		f, fn, err := r.expr(e.Filter, &ref)
		if err != nil {
			return nil, nil, err
		}
		return ValuePath{Path: path, Filter: f}, valuePathNode{getterFor(ref, false), fn}, nil
	case nil:
		return nil, nil, &ResolveError{Msg: "empty filter"}
	}
	return nil, nil, &ResolveError{Msg: fmt.Sprintf("unsupported filter node %T", e)}
}

// path resolves p, relative to parent when inside a value filter, and
// returns its canonical form and definitions.
func (r resolver) path(p Path, parent *schema.AttrRef) (Path, schema.AttrRef, error) {
	if parent != nil {
		if p.URN != "" || p.Sub != "" {
			return Path{}, schema.AttrRef{}, r.errorf(p, nil, "inside %s[…], name a sub-attribute of %s, not '%s'", parent, parent, p)
		}
		sub := parent.Attr.SubAttribute(p.Attr)
		if sub == nil {
			return Path{}, schema.AttrRef{}, r.errorf(p, schema.ErrUnknownAttribute, "unknown attribute '%s': %s has no sub-attribute '%s'", p, parent, p.Attr)
		}
		ref := *parent
		ref.Sub = sub
		return Path{Attr: sub.Name}, ref, nil
	}
	ref, err := r.rs.ResolveParts(p.URN, p.Attr, p.Sub)
	if err != nil {
		return Path{}, schema.AttrRef{}, &ResolveError{Path: p.String(), Msg: err.Error(), err: err}
	}
	return canonicalPath(ref), ref, nil
}

func canonicalPath(ref schema.AttrRef) Path {
	p := Path{URN: ref.URN}
	if ref.Attr != nil {
		p.Attr = ref.Attr.Name
	}
	if ref.Sub != nil {
		p.Sub = ref.Sub.Name
	}
	return p
}

// compare resolves a comparison and checks its operator and value against
// the attribute's type.
func (r resolver) compare(e Compare, parent *schema.AttrRef) (Expr, node, error) {
	path, ref, err := r.path(e.Path, parent)
	if err != nil {
		return nil, nil, err
	}
	if ref.Attr == nil {
		return nil, nil, r.errorf(e.Path, nil, "'%s' names a schema, not an attribute", e.Path)
	}
	def := ref.Def()
	if def.Type == schema.TypeComplex {
		value := def.SubAttribute("value")
		if ref.Sub != nil || value == nil {
			return nil, nil, r.errorf(e.Path, nil, "'%s' is a complex attribute; compare one of its sub-attributes instead", path)
		}
		// emails co "x" means emails.value co "x" (RFC 7644 §3.4.2.2). The
		// same reading for a single-valued complex attribute with a value
		// sub-attribute lets Entra ID's documented manager check work:
		// manager eq "id" means manager.value eq "id".
		ref.Sub, path.Sub, def = value, value.Name, value
	}
	if _, ok := parseOp(string(e.Op)); !ok {
		return nil, nil, r.errorf(e.Path, nil, "unknown operator '%s'", e.Op)
	}
	n := &cmpNode{get: getterFor(ref, parent != nil), op: e.Op, typ: def.Type, caseExact: def.CaseExact}
	v, err := r.value(e, path, def, n)
	if err != nil {
		return nil, nil, err
	}
	return Compare{Path: path, Op: e.Op, Value: v}, n, nil
}

// value checks the operator and value of e against def, converts the value
// to def's type and records it in n.
func (r resolver) value(e Compare, path Path, def *schema.Attribute, n *cmpNode) (any, error) {
	op := e.Op
	if e.Value == nil {
		if op != OpEq && op != OpNe {
			return nil, r.errorf(e.Path, nil, "operator '%s' cannot compare with null; use eq null, ne null or pr", op)
		}
		n.null = true
		return nil, nil
	}
	bad := func(what string) error {
		return r.errorf(e.Path, nil, "operator '%s' is not allowed on %s attribute '%s'", op, what, path)
	}
	wrong := func(want string) error {
		var b strings.Builder
		writeValue(&b, e.Value)
		return r.errorf(e.Path, nil, "'%s' is %s; %s is not", path, want, b.String())
	}
	switch def.Type {
	case schema.TypeString, schema.TypeReference, schema.TypeBinary:
		if def.Type == schema.TypeBinary && op.ordering() {
			return nil, bad("binary")
		}
		var s string
		switch x := e.Value.(type) {
		case string:
			s = x
		case json.Number:
			s = string(x) // employeeNumber eq 12345
		case bool:
			s = strconv.FormatBool(x)
		default:
			return nil, wrong("a string")
		}
		n.str = s
		if !def.CaseExact {
			n.str = strings.ToLower(s)
		}
		return s, nil
	case schema.TypeBoolean:
		if op != OpEq && op != OpNe {
			return nil, bad("boolean")
		}
		switch x := e.Value.(type) {
		case bool:
			n.bool = x
			return x, nil
		case string:
			switch {
			case strings.EqualFold(x, "true"):
				n.bool = true
				return true, nil
			case strings.EqualFold(x, "false"):
				return false, nil
			}
		}
		return nil, wrong("a boolean")
	case schema.TypeDateTime:
		if op.substring() {
			return nil, bad("dateTime")
		}
		s, ok := e.Value.(string)
		if !ok {
			return nil, wrong("a dateTime")
		}
		t, err := schema.ParseDateTime(s)
		if err != nil {
			return nil, wrong("a dateTime")
		}
		n.time = t
		return s, nil
	case schema.TypeInteger, schema.TypeDecimal:
		if op.substring() {
			return nil, bad(string(def.Type))
		}
		var s string
		switch x := e.Value.(type) {
		case json.Number:
			s = string(x)
		case string:
			s = strings.TrimSpace(x)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || !schema.IsNumber(s) {
			return nil, wrong("a number")
		}
		n.num = f
		return json.Number(s), nil
	}
	return nil, r.errorf(e.Path, nil, "'%s' cannot be compared", path)
}

// getterFor returns the getter for ref; relative says ref is a
// sub-attribute inside a value filter, read from the value itself.
func getterFor(ref schema.AttrRef, relative bool) getter {
	if relative {
		return getter{name: ref.Sub.Name, multi: ref.Sub.MultiValued}
	}
	g := getter{urn: ref.URN}
	if ref.Attr != nil {
		g.name, g.multi = ref.Attr.Name, ref.Attr.MultiValued
	}
	if ref.Sub != nil {
		g.sub = ref.Sub.Name
	}
	return g
}

// timeOf reads a dateTime value from a document.
func timeOf(v any) (time.Time, bool) {
	switch x := v.(type) {
	case string:
		t, err := schema.ParseDateTime(x)
		return t, err == nil
	case time.Time:
		return x, true
	}
	return time.Time{}, false
}
