package filter

import (
	"errors"

	"rollcall/internal/scim/schema"
)

// Projection applies the attributes and excludedAttributes parameters
// (RFC 7644 §3.4.2.5) to canonical documents, honouring each attribute's
// "returned" characteristic (RFC 7643 §7): "always" attributes (id,
// schemas) are always present, "never" ones (password) never, "request"
// ones only when named in attributes, and "default" ones unless excluded or
// left out of a non-empty attributes list.
//
// Each item selects an attribute ("emails", "name", an extension URN for
// the whole extension), a sub-attribute ("name.givenName", "emails.value"),
// or the values of a multi-valued attribute that match a value filter
// (emails[type eq "work"], optionally followed by a sub-attribute). Items
// naming unknown attributes are ignored. When both lists are given,
// excludedAttributes is applied to what attributes selected.
//
// A Projection is safe for concurrent use.
type Projection struct {
	rs      *schema.ResourceSchema
	include []*ResolvedPath // nil: the default set
	exclude []*ResolvedPath
}

// NewProjection resolves the attributes and excludedAttributes lists, as
// parsed by [ParseAttributeList], against rs. Unknown attributes are
// ignored; other errors, such as an operator that does not suit an
// attribute inside a value filter, are [*ResolveError] values.
func NewProjection(rs *schema.ResourceSchema, attributes, excludedAttributes []PathExpr) (*Projection, error) {
	p := &Projection{rs: rs}
	var err error
	if p.include, err = resolveList(rs, attributes); err != nil {
		return nil, err
	}
	if len(attributes) > 0 && p.include == nil {
		// Every name was unknown: return the always attributes only.
		p.include = []*ResolvedPath{}
	}
	if p.exclude, err = resolveList(rs, excludedAttributes); err != nil {
		return nil, err
	}
	return p, nil
}

func resolveList(rs *schema.ResourceSchema, list []PathExpr) ([]*ResolvedPath, error) {
	var out []*ResolvedPath
	for _, pe := range list {
		rp, err := pe.Resolve(rs)
		if errors.Is(err, schema.ErrUnknownAttribute) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rp)
	}
	return out, nil
}

// Project is NewProjection followed by Apply, for a single document.
func Project(doc map[string]any, rs *schema.ResourceSchema, attributes, excludedAttributes []PathExpr) (map[string]any, error) {
	p, err := NewProjection(rs, attributes, excludedAttributes)
	if err != nil {
		return nil, err
	}
	return p.Apply(doc), nil
}

// Apply returns the projection of the canonical document doc. The result
// is a new map but may share unchanged values with doc.
func (p *Projection) Apply(doc map[string]any) map[string]any {
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		if ext := p.rs.Extension(k); ext != nil {
			m, ok := v.(map[string]any)
			if !ok {
				continue
			}
			em := make(map[string]any, len(m))
			for ak, av := range m {
				a := ext.Attribute(ak)
				if a == nil {
					if p.include == nil {
						em[ak] = av
					}
					continue
				}
				if nv := p.attribute(schema.AttrRef{URN: ext.ID, Attr: a}, av); nv != nil {
					em[ak] = nv
				}
			}
			if len(em) > 0 {
				out[k] = em
			}
			continue
		}
		ref, err := p.rs.ResolveParts(p.rs.Core().ID, k, "")
		if err != nil {
			// Not in the schema; the server put it there, so keep it unless
			// the client listed what it wants.
			if p.include == nil {
				out[k] = v
			}
			continue
		}
		if nv := p.attribute(ref, v); nv != nil {
			out[k] = nv
		}
	}
	return out
}

// attribute returns what remains of the value v of the top-level attribute
// ref, or nil when nothing does.
func (p *Projection) attribute(ref schema.AttrRef, v any) any {
	a := ref.Attr
	switch a.Returned {
	case schema.ReturnedNever:
		return nil
	case schema.ReturnedAlways:
		return v
	}
	if p.include != nil {
		sel := p.selecting(p.include, ref)
		if len(sel) == 0 {
			return nil
		}
		v = restrict(a, v, sel)
	} else if a.Returned == schema.ReturnedRequest {
		return nil
	} else {
		v = restrict(a, v, nil)
	}
	if v == nil {
		return nil
	}
	if ex := p.selecting(p.exclude, ref); len(ex) > 0 {
		v = remove(a, v, ex)
	}
	return v
}

// selecting returns the items of list that concern the attribute ref: it
// or its whole extension.
func (p *Projection) selecting(list []*ResolvedPath, ref schema.AttrRef) []*ResolvedPath {
	var out []*ResolvedPath
	for _, rp := range list {
		if rp.Ref.URN != ref.URN {
			continue
		}
		if rp.Ref.Attr == nil || rp.Ref.Attr == ref.Attr {
			out = append(out, rp)
		}
	}
	return out
}

// restrict keeps the parts of the value v of attribute a that sel selects;
// a nil sel selects everything returned by default. Sub-attributes
// returned "never", or "request" and not selected by name, are dropped.
func restrict(a *schema.Attribute, v any, sel []*ResolvedPath) any {
	if a.Type != schema.TypeComplex {
		return v
	}
	keep := func(elem map[string]any) map[string]any {
		all, subs, chosen := sel == nil, map[string]bool{}, sel == nil
		for _, rp := range sel {
			if !rp.Match(elem) {
				continue
			}
			chosen = true
			if rp.Ref.Attr == nil || rp.Ref.Sub == nil {
				all = true
			} else {
				subs[rp.Ref.Sub.Name] = true
			}
		}
		if !chosen {
			return nil
		}
		out := make(map[string]any, len(elem))
		for k, sv := range elem {
			s := a.SubAttribute(k)
			switch {
			case s == nil:
				if all {
					out[k] = sv
				}
			case s.Returned == schema.ReturnedNever:
			case s.Returned == schema.ReturnedAlways, subs[s.Name]:
				out[k] = sv
			case all && s.Returned != schema.ReturnedRequest:
				out[k] = sv
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return eachValue(a, v, keep)
}

// remove drops from the value v of attribute a what the excludedAttributes
// items ex name. Sub-attributes returned "always" stay.
func remove(a *schema.Attribute, v any, ex []*ResolvedPath) any {
	for _, rp := range ex {
		if rp.Path.Filter == nil && (rp.Ref.Attr == nil || rp.Ref.Sub == nil) {
			return nil
		}
	}
	if a.Type != schema.TypeComplex {
		return v
	}
	drop := func(elem map[string]any) map[string]any {
		out := make(map[string]any, len(elem))
		for k, sv := range elem {
			out[k] = sv
		}
		for _, rp := range ex {
			if !rp.Match(elem) {
				continue
			}
			if rp.Ref.Sub == nil {
				return nil // a value matched by excludedAttributes=emails[…]
			}
			if rp.Ref.Sub.Returned != schema.ReturnedAlways {
				delete(out, rp.Ref.Sub.Name)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return eachValue(a, v, drop)
}

// eachValue applies f to each value of the complex attribute a in v,
// dropping the values f returns nil for, and returns the result, or nil
// when nothing is left.
func eachValue(a *schema.Attribute, v any, f func(map[string]any) map[string]any) any {
	if !a.MultiValued {
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		if r := f(m); r != nil {
			return r
		}
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		return v
	}
	out := make([]any, 0, len(list))
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			out = append(out, e)
			continue
		}
		if r := f(m); r != nil {
			out = append(out, r)
		}
	}
	if len(out) == 0 && len(list) > 0 {
		return nil
	}
	return out
}
