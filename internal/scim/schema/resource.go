package schema

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownAttribute is returned, wrapped, when a path names no attribute
// of a resource schema.
var ErrUnknownAttribute = errors.New("unknown attribute")

// ResourceSchema is everything a resource type's documents may contain: the
// common attributes, a core schema and its extensions. It is immutable once
// built; share one per resource type.
type ResourceSchema struct {
	rt     ResourceType
	core   *Schema
	exts   []*Schema
	common []Attribute

	top     map[string]*Attribute // lower-case name → common or core attribute
	extURN  map[string]*Schema    // lower-case URN → extension
	extAttr map[string][]AttrRef  // lower-case name → extension attributes so named
}

// User returns the User resource schema: core User, enterprise User and
// Rollcall User.
func User() *ResourceSchema {
	rt := ResourceType{
		ID:          "User",
		Name:        "User",
		Endpoint:    "/Users",
		Description: "User Account",
		Schema:      UserURN,
		SchemaExtensions: []SchemaExtension{
			{Schema: EnterpriseUserURN, Required: false},
			{Schema: RollcallUserURN, Required: false},
		},
	}
	return newResourceSchema(rt, CoreUser(), EnterpriseUser(), RollcallUser())
}

// Group returns the Group resource schema: core Group, no extensions.
func Group() *ResourceSchema {
	rt := ResourceType{
		ID:          "Group",
		Name:        "Group",
		Endpoint:    "/Groups",
		Description: "Group",
		Schema:      GroupURN,
	}
	return newResourceSchema(rt, CoreGroup())
}

// NewResourceSchema combines core and extensions into the resource schema
// of rt. The schemas must match rt.Schema and rt.SchemaExtensions, and no
// extension may share the core schema's URN or another's.
func NewResourceSchema(rt ResourceType, core *Schema, extensions ...*Schema) (*ResourceSchema, error) {
	if core == nil || !strings.EqualFold(core.ID, rt.Schema) {
		return nil, fmt.Errorf("new resource schema %s: core schema does not match %q", rt.ID, rt.Schema)
	}
	if len(extensions) != len(rt.SchemaExtensions) {
		return nil, fmt.Errorf("new resource schema %s: %d extensions given, resource type lists %d", rt.ID, len(extensions), len(rt.SchemaExtensions))
	}
	seen := map[string]bool{strings.ToLower(core.ID): true}
	for i, e := range extensions {
		if e == nil || !strings.EqualFold(e.ID, rt.SchemaExtensions[i].Schema) {
			return nil, fmt.Errorf("new resource schema %s: extension %d does not match %q", rt.ID, i, rt.SchemaExtensions[i].Schema)
		}
		if seen[strings.ToLower(e.ID)] {
			return nil, fmt.Errorf("new resource schema %s: schema %q given twice", rt.ID, e.ID)
		}
		seen[strings.ToLower(e.ID)] = true
	}
	return newResourceSchema(rt, core, extensions...), nil
}

func newResourceSchema(rt ResourceType, core *Schema, extensions ...*Schema) *ResourceSchema {
	rs := &ResourceSchema{
		rt:      rt,
		core:    core,
		exts:    extensions,
		common:  CommonAttributes(),
		top:     map[string]*Attribute{},
		extURN:  map[string]*Schema{},
		extAttr: map[string][]AttrRef{},
	}
	for i := range rs.common {
		rs.top[strings.ToLower(rs.common[i].Name)] = &rs.common[i]
	}
	for i := range core.Attributes {
		// A core attribute never shadows a common one (RFC 7643 §3.1).
		if k := strings.ToLower(core.Attributes[i].Name); rs.top[k] == nil {
			rs.top[k] = &core.Attributes[i]
		}
	}
	for _, e := range extensions {
		rs.extURN[strings.ToLower(e.ID)] = e
		for i := range e.Attributes {
			k := strings.ToLower(e.Attributes[i].Name)
			rs.extAttr[k] = append(rs.extAttr[k], AttrRef{URN: e.ID, Attr: &e.Attributes[i]})
		}
	}
	return rs
}

// ResourceType returns the resource type rs describes.
func (rs *ResourceSchema) ResourceType() ResourceType { return rs.rt }

// Core returns the core schema.
func (rs *ResourceSchema) Core() *Schema { return rs.core }

// Extensions returns the extension schemas, in the resource type's order.
func (rs *ResourceSchema) Extensions() []*Schema { return rs.exts }

// CommonAttributes returns the common attributes (see [CommonAttributes]).
func (rs *ResourceSchema) CommonAttributes() []Attribute { return rs.common }

// Schemas returns the core schema followed by the extensions.
func (rs *ResourceSchema) Schemas() []*Schema {
	return append([]*Schema{rs.core}, rs.exts...)
}

// Extension returns the extension whose URN is urn, compared without regard
// to case, or nil when rs has none.
func (rs *ResourceSchema) Extension(urn string) *Schema {
	return rs.extURN[strings.ToLower(urn)]
}

// AttrRef is an attribute path resolved against a [ResourceSchema].
type AttrRef struct {
	// URN is the URN of the extension that defines the attribute, or "" for
	// core and common attributes, which sit at the top level of a document.
	URN string
	// Attr is the attribute named by the path. It is nil only when the path
	// names a whole extension (see [ResourceSchema.ResolveParts]).
	Attr *Attribute
	// Sub is the sub-attribute named by the path, or nil.
	Sub *Attribute
}

// Def returns the definition the path ends at: Sub if set, else Attr.
func (r AttrRef) Def() *Attribute {
	if r.Sub != nil {
		return r.Sub
	}
	return r.Attr
}

// String returns the canonical spelling of the path: extension attributes
// qualified with their URN, core attributes not.
func (r AttrRef) String() string {
	var b strings.Builder
	if r.URN != "" {
		b.WriteString(r.URN)
		if r.Attr == nil {
			return b.String()
		}
		b.WriteByte(':')
	}
	if r.Attr != nil {
		b.WriteString(r.Attr.Name)
	}
	if r.Sub != nil {
		b.WriteByte('.')
		b.WriteString(r.Sub.Name)
	}
	return b.String()
}

// Value returns the value of r's attribute (not sub-attribute) in the
// canonical document doc, looking inside the extension object when r names
// an extension attribute. With r naming a whole extension it returns the
// extension object.
func (r AttrRef) Value(doc map[string]any) (any, bool) {
	c := doc
	if r.URN != "" {
		ext, ok := doc[r.URN].(map[string]any)
		if !ok {
			return nil, false
		}
		if r.Attr == nil {
			return ext, true
		}
		c = ext
	}
	if r.Attr == nil {
		return nil, false
	}
	v, ok := c[r.Attr.Name]
	return v, ok && v != nil
}

// Resolve resolves a path in standard attribute notation (RFC 7644 §3.10):
// [URN ":"] attrName ["." subAttrName], without regard to case. See the
// package documentation for how names without a URN are resolved. Errors
// wrap [ErrUnknownAttribute].
func (rs *ResourceSchema) Resolve(path string) (AttrRef, error) {
	urn, rest := splitURN(path)
	name, sub, _ := strings.Cut(rest, ".")
	if strings.Contains(sub, ".") {
		return AttrRef{}, fmt.Errorf("%w %q", ErrUnknownAttribute, path)
	}
	return rs.ResolveParts(urn, name, sub)
}

// ResolveParts is [ResourceSchema.Resolve] for a path already split into
// its URN (possibly empty), attribute name and sub-attribute name (possibly
// empty). As a special case, a URN and name that together spell an
// extension URN, with no sub-attribute, name the whole extension: the
// result has URN set and Attr nil. A lone extension URN in name with an
// empty urn does the same.
func (rs *ResourceSchema) ResolveParts(urn, name, sub string) (AttrRef, error) {
	ref, err := rs.resolveAttr(urn, name)
	if err != nil {
		return AttrRef{}, err
	}
	if sub == "" {
		return ref, nil
	}
	if ref.Attr == nil || ref.Attr.Type != TypeComplex {
		return AttrRef{}, fmt.Errorf("%w %q: %s has no sub-attributes", ErrUnknownAttribute, joinPath(urn, name, sub), ref)
	}
	ref.Sub = ref.Attr.SubAttribute(sub)
	if ref.Sub == nil {
		return AttrRef{}, fmt.Errorf("%w %q: %s has no sub-attribute %q", ErrUnknownAttribute, joinPath(urn, name, sub), ref, sub)
	}
	return ref, nil
}

func (rs *ResourceSchema) resolveAttr(urn, name string) (AttrRef, error) {
	key := strings.ToLower(name)
	switch {
	case urn == "" && rs.top[key] != nil:
		return AttrRef{Attr: rs.top[key]}, nil
	case urn == "":
		if ext := rs.Extension(name); ext != nil {
			return AttrRef{URN: ext.ID}, nil
		}
		switch refs := rs.extAttr[key]; len(refs) {
		case 1:
			return refs[0], nil
		case 0:
			return AttrRef{}, fmt.Errorf("%w %q", ErrUnknownAttribute, name)
		default:
			return AttrRef{}, fmt.Errorf("%w %q: defined by several extensions; qualify it with the schema URN", ErrUnknownAttribute, name)
		}
	case strings.EqualFold(urn, rs.core.ID):
		if a := rs.top[key]; a != nil {
			return AttrRef{Attr: a}, nil
		}
	default:
		if ext := rs.Extension(urn); ext != nil {
			if a := ext.Attribute(name); a != nil {
				return AttrRef{URN: ext.ID, Attr: a}, nil
			}
		} else if ext := rs.Extension(urn + ":" + name); ext != nil {
			return AttrRef{URN: ext.ID}, nil
		}
	}
	return AttrRef{}, fmt.Errorf("%w %q", ErrUnknownAttribute, joinPath(urn, name, ""))
}

// splitURN splits a path that starts with "urn:" at its last colon, which
// separates the schema URN from the attribute path (attribute names contain
// no colon).
func splitURN(path string) (urn, rest string) {
	if len(path) < 4 || !strings.EqualFold(path[:4], "urn:") {
		return "", path
	}
	i := strings.LastIndexByte(path, ':')
	return path[:i], path[i+1:]
}

func joinPath(urn, name, sub string) string {
	s := name
	if urn != "" {
		s = urn + ":" + name
	}
	if sub != "" {
		s += "." + sub
	}
	return s
}
