package patch

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"rollcall/internal/scim/filter"
	"rollcall/internal/scim/schema"
)

// Apply applies ops, in order, to doc, a canonical document of rs (see
// package schema), and returns the new document, itself canonical. It never
// changes doc or the operations' values, and when any operation fails it
// returns only the error: the request is atomic (RFC 7644 §3.5.2). See the
// package documentation for the semantics.
//
// Apply starts by normalising doc (schema.ResourceSchema.Normalize with
// KeepReadOnly), which makes its working copy and puts every key in the
// schema's spelling; that is most of the cost of a small PATCH. Errors
// caused by the request are [*Error] values. Any other error means doc was
// not a document of rs, which is the caller's bug.
func Apply(doc map[string]any, rs *schema.ResourceSchema, ops []Operation) (map[string]any, error) {
	if rs == nil {
		return nil, errors.New("patch: apply: no resource schema")
	}
	if len(ops) > MaxOperations {
		return nil, errorf(invalidSyntax, "%d operations; at most %d are allowed in one request", len(ops), MaxOperations)
	}
	// Normalising the stored document gives a deep copy to work on, with
	// every key spelled as the schema spells it.
	work, err := rs.Normalize(doc, schema.NormalizeOptions{KeepReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("patch: apply: the %s document is not canonical: %v", rs.ResourceType().Name, err)
	}
	a := &applier{rs: rs, doc: work, indexes: map[string]*index{}}
	before := a.snapshot()
	for _, op := range ops {
		if err := a.apply(op); err != nil {
			return nil, err
		}
	}
	pruneDoc(work)
	if err := a.checkRequired(before); err != nil {
		return nil, err
	}
	a.syncSchemas(before)
	return work, nil
}

// applier applies operations to doc, a working copy it owns.
type applier struct {
	rs  *schema.ResourceSchema
	doc map[string]any

	// indexes holds, by attribute (attrKey), the index of a multi-valued
	// attribute's list, kept from one operation to the next so that many
	// adds and removals of values (IdPs send one per operation) cost
	// linear time in all. Removed values become nil tombstones, which keep
	// positions valid, and are pruned at the end; any other change to the
	// values of a list drops its index.
	indexes map[string]*index
}

// attrKey names the attribute of ref, not its sub-attribute.
func attrKey(ref schema.AttrRef) string {
	ref.Sub = nil
	return ref.String()
}

// dropIndex forgets the cached index of ref's attribute, or every index
// when ref names a whole extension.
func (a *applier) dropIndex(ref schema.AttrRef) {
	if ref.Attr == nil {
		clear(a.indexes)
		return
	}
	delete(a.indexes, attrKey(ref))
}

// target is where an operation applies.
type target struct {
	ref schema.AttrRef
	// rp is the resolved path, or nil for a key of a path-less value.
	rp *filter.ResolvedPath
	// path is the path as the client wrote it, for messages.
	path string
}

// filtered reports whether the path has a value filter.
func (t target) filtered() bool { return t.rp != nil && t.rp.Path.Filter != nil }

// match reports whether elem, a value of the target's multi-valued
// attribute, is selected. Without a filter every value is.
func (t target) match(elem map[string]any) bool { return t.rp == nil || t.rp.Match(elem) }

// writeOnly reports whether the target is an attribute the server accepts
// but never stores, such as password.
func (t target) writeOnly() bool {
	return t.ref.Attr != nil && (t.ref.Attr.Mutability == schema.WriteOnly || t.ref.Sub != nil && t.ref.Sub.Mutability == schema.WriteOnly)
}

// isSchemas reports whether the target is the "schemas" attribute.
func (t target) isSchemas() bool {
	return t.ref.URN == "" && t.ref.Attr != nil && t.ref.Attr.Name == "schemas"
}

// readOnly reports whether the target is readOnly.
func (t target) readOnly() bool {
	return t.ref.Attr != nil && (t.ref.Attr.Mutability == schema.ReadOnly || t.ref.Sub != nil && t.ref.Sub.Mutability == schema.ReadOnly)
}

func (a *applier) apply(op Operation) error {
	if !op.Op.valid() {
		return errorf(invalidSyntax, `unknown op %s; use "add", "remove" or "replace"`, quote(string(op.Op)))
	}
	if op.Path == nil {
		if op.Op == OpRemove {
			return errorf(invalidPath, `remove needs a "path" naming what to remove`)
		}
		m, ok := op.Value.(map[string]any)
		if !ok {
			return errorf(invalidSyntax, `%s without a "path" needs an object "value" of attribute names and values, not %s`, op.Op, schema.Describe(op.Value))
		}
		return a.pathless(op.Op, m)
	}
	rp, err := op.Path.Resolve(a.rs)
	if err != nil {
		return errorf(invalidPath, "invalid path %s: %v", quote(op.Path.String()), err)
	}
	t := target{ref: rp.Ref, rp: rp, path: op.Path.String()}
	switch {
	case t.isSchemas():
		return errorf(mutability, "schemas cannot be patched; the server keeps it in step with the resource's attributes")
	case t.readOnly():
		return errorf(mutability, "%s is readOnly and cannot be changed", t.ref)
	case t.filtered() && !t.ref.Attr.MultiValued:
		return errorf(invalidPath, "invalid path %s: %s is single-valued; a value filter selects values of a multi-valued attribute", quote(t.path), t.ref.Attr.Name)
	case t.writeOnly():
		return nil // accepted and dropped: the server stores no passwords
	case op.Op == OpRemove:
		return a.remove(t, op.Value)
	}
	return a.set(op.Op, t, op.Value)
}

// pathless applies an add or replace without a path: each member of the
// value is a path and its value (RFC 7644 §3.5.2.1, §3.5.2.3). Plain names
// go first and then dotted or URN-qualified ones, each group sorted, as
// schema.Normalize orders them. Unknown attributes, readOnly ones (Okta
// sends the group's "id" when renaming it), writeOnly ones and "schemas"
// are ignored, as they are in POST and PUT bodies.
func (a *applier) pathless(op Op, value map[string]any) error {
	keys := make([]string, 0, len(value))
	for k := range value {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y string) int {
		if px, py := a.isPathKey(x), a.isPathKey(y); px != py {
			if px {
				return 1
			}
			return -1
		}
		return strings.Compare(x, y)
	})
	for _, k := range keys {
		ref, err := a.rs.Resolve(k)
		if err != nil {
			continue
		}
		t := target{ref: ref, path: k}
		if t.isSchemas() || t.readOnly() || t.writeOnly() {
			continue
		}
		if err := a.set(op, t, value[k]); err != nil {
			return err
		}
	}
	return nil
}

// isPathKey reports whether a key of a path-less value is dotted or
// URN-qualified, rather than a plain name or an extension URN.
func (a *applier) isPathKey(k string) bool {
	if a.rs.Extension(k) != nil {
		return false
	}
	return strings.Contains(k, ".") || len(k) >= 4 && strings.EqualFold(k[:4], "urn:")
}

// container returns the object holding the attributes of the extension urn,
// or the document for core attributes. With create false it returns nil
// when the extension object is absent.
func (a *applier) container(urn string, create bool) map[string]any {
	if urn == "" {
		return a.doc
	}
	if m, ok := a.doc[urn].(map[string]any); ok {
		return m
	}
	if !create {
		return nil
	}
	m := map[string]any{}
	a.doc[urn] = m
	return m
}

// normalize normalizes an operation's value for the target ref; element
// says v is one value of a multi-valued attribute. Null is kept, as nil,
// where it asks for an attribute to be unset.
func (a *applier) normalize(ref schema.AttrRef, v any, element, keepNull bool) (any, error) {
	opts := schema.NormalizeOptions{KeepNull: keepNull}
	var nv any
	var err error
	if element {
		nv, err = a.rs.NormalizeElement(ref, v, opts)
	} else {
		nv, err = a.rs.NormalizeValue(ref, v, opts)
	}
	if err != nil {
		return nil, valueError(err)
	}
	return nv, nil
}

// valueError turns a normalisation error into an *Error.
func valueError(err error) *Error {
	var ve *schema.ValueError
	if errors.As(err, &ve) {
		return &Error{ScimType: ve.ScimType(), Detail: ve.Error()}
	}
	return errorf(invalidValue, "%v", err)
}

// set applies an add or replace. Like remove, it leaves no empty value
// behind (see tidy).
func (a *applier) set(op Op, t target, v any) error {
	err := a.doSet(op, t, v)
	a.tidy(t.ref)
	return err
}

// tidy deletes the extension object of ref when an operation left it
// empty. The operations themselves delete the complex values they empty
// and turn emptied values of lists into tombstones, so that what an
// operation leaves is what Apply would return after pruning, and later
// operations see the same document whether they come in one request or
// several.
func (a *applier) tidy(ref schema.AttrRef) {
	if ref.URN == "" {
		return
	}
	if m, ok := a.doc[ref.URN].(map[string]any); ok && len(m) == 0 {
		delete(a.doc, ref.URN)
	}
}

func (a *applier) doSet(op Op, t target, v any) error {
	ref := t.ref
	if ref.Attr == nil {
		return a.setExtension(op, t, v)
	}
	if !ref.Attr.MultiValued {
		v = unwrap(v, ref.Def())
		nv, err := a.normalize(ref, v, false, true)
		if err != nil {
			return err
		}
		if nv == nil && !isEmpty(v) {
			return nil // nothing the schema knows; see the package documentation
		}
		if ref.Sub != nil {
			return a.setSub(t, nv)
		}
		return a.setSingle(t, nv)
	}
	if ref.Sub == nil && !t.filtered() {
		nv, err := a.normalize(ref, v, false, true)
		if err != nil {
			return err
		}
		list, _ := nv.([]any)
		if op == OpAdd {
			return a.addValues(t, list)
		}
		if len(list) == 0 && !isEmpty(v) {
			return nil // nothing the schema knows
		}
		a.dropIndex(ref)
		return a.replaceValues(t, list)
	}
	// A value filter, or a sub-attribute of every value (emails.value).
	var nv any
	var err error
	if ref.Sub != nil {
		v = unwrap(v, ref.Sub)
		nv, err = a.normalize(ref, v, false, true)
	} else {
		v = unwrap(v, nil)
		nv, err = a.normalize(ref, v, true, true)
	}
	if err != nil {
		return err
	}
	if nv == nil && !isEmpty(v) {
		return nil
	}
	return a.setSelected(op, t, nv)
}

// setExtension applies an add or replace whose path names a whole
// extension: each attribute of the value is set as its own operation.
func (a *applier) setExtension(op Op, t target, v any) error {
	a.dropIndex(t.ref)
	v = unwrap(v, nil)
	nv, err := a.normalize(t.ref, v, false, true)
	if err != nil {
		return err
	}
	m, _ := nv.(map[string]any)
	if m == nil {
		if isEmpty(v) {
			delete(a.doc, t.ref.URN)
		}
		return nil
	}
	ext := a.rs.Extension(t.ref.URN)
	if ext == nil {
		return nil
	}
	for _, k := range schema.SortedKeys(m) {
		attr := ext.Attribute(k)
		if attr == nil {
			continue
		}
		at := target{ref: schema.AttrRef{URN: ext.ID, Attr: attr}, path: ext.ID + ":" + attr.Name}
		if at.readOnly() || at.writeOnly() {
			continue
		}
		if err := a.set(op, at, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// setSingle sets a single-valued attribute. A complex value is merged into
// the present one: RFC 7644 §3.5.2.1 for add, and §3.5.2.3 for replace,
// which leaves sub-attributes not given unchanged. nv nil unsets it.
func (a *applier) setSingle(t target, nv any) error {
	attr := t.ref.Attr
	c := a.container(t.ref.URN, nv != nil)
	if c == nil {
		return nil
	}
	old, has := c[attr.Name]
	if nv == nil {
		if has && attr.Mutability == schema.Immutable {
			return immutableError(t.ref)
		}
		delete(c, attr.Name)
		return nil
	}
	if m, ok := nv.(map[string]any); ok && attr.Type == schema.TypeComplex {
		om, _ := old.(map[string]any)
		merged, err := mergeComplex(attr, om, m, t.ref)
		if err != nil {
			return err
		}
		if len(merged) == 0 {
			nv = nil // every sub-attribute unset
		} else {
			nv = merged
		}
	}
	if has && attr.Mutability == schema.Immutable {
		if !same(attr, old, nv) {
			return immutableError(t.ref)
		}
		return nil // keep the value as first written
	}
	if nv == nil {
		delete(c, attr.Name)
		return nil
	}
	c[attr.Name] = nv
	return nil
}

// setSub sets a sub-attribute of a single-valued complex attribute,
// creating the attribute if needed. nv nil unsets it.
func (a *applier) setSub(t target, nv any) error {
	attr := t.ref.Attr
	c := a.container(t.ref.URN, nv != nil)
	if c == nil {
		return nil
	}
	parent, _ := c[attr.Name].(map[string]any)
	if parent == nil {
		if nv == nil {
			return nil
		}
		parent = map[string]any{}
		c[attr.Name] = parent
	}
	if err := setSubValue(attr, parent, t.ref, nv); err != nil {
		return err
	}
	if len(parent) == 0 {
		delete(c, attr.Name)
	}
	return nil
}

// setSubValue sets the sub-attribute ref.Sub of parent, one value of attr,
// to nv, or unsets it when nv is nil.
func setSubValue(attr *schema.Attribute, parent map[string]any, ref schema.AttrRef, nv any) error {
	sub := ref.Sub
	old, has := parent[sub.Name]
	if has && (nv == nil || !same(sub, old, nv)) && (sub.Mutability == schema.Immutable || attr.Mutability == schema.Immutable) {
		return immutableError(ref)
	}
	if nv == nil {
		delete(parent, sub.Name)
		return nil
	}
	if has && isReference(attr) && sub.Name == "value" && !same(sub, old, nv) {
		// A new referenced id: $ref and displayName described the old one.
		clear(parent)
	}
	parent[sub.Name] = deepCopy(nv)
	return nil
}

// mergeComplex merges the sub-attributes of nv into old, one value of attr,
// and returns the result; a nil sub-attribute in nv unsets it. old is not
// changed. For a reference to another resource (value and $ref
// sub-attributes, such as the enterprise manager) a new "value" replaces
// old as a whole, so that no $ref or displayName of the previous reference
// survives.
func mergeComplex(attr *schema.Attribute, old, nv map[string]any, ref schema.AttrRef) (map[string]any, error) {
	out := make(map[string]any, len(old)+len(nv))
	replaceAll := old == nil
	if value := attr.SubAttribute("value"); !replaceAll && isReference(attr) && attr.Mutability != schema.Immutable && value.Mutability != schema.Immutable {
		if v, ok := nv["value"]; ok && v != nil && !same(value, old["value"], v) {
			replaceAll = true
		}
	}
	if !replaceAll {
		for k, v := range old {
			out[k] = v
		}
	}
	for _, k := range schema.SortedKeys(nv) {
		v := nv[k]
		if !replaceAll {
			if sub := attr.SubAttribute(k); sub != nil && sub.Mutability == schema.Immutable {
				if ov, has := old[k]; has && (v == nil || !same(sub, ov, v)) {
					return nil, immutableError(schema.AttrRef{URN: ref.URN, Attr: ref.Attr, Sub: sub})
				}
			}
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = deepCopy(v)
		}
	}
	return out, nil
}

// addValues adds values to a multi-valued attribute. A value already there
// is not added again (RFC 7644 §3.5.2.1); for complex values its other
// sub-attributes are merged into the present one.
func (a *applier) addValues(t target, values []any) error {
	if len(values) == 0 {
		return nil
	}
	attr := t.ref.Attr
	c := a.container(t.ref.URN, true)
	old, _ := c[attr.Name].([]any)
	if attr.Mutability == schema.Immutable && len(old) > 0 {
		return immutableError(t.ref)
	}
	list, touched := mergeValues(a.index(t.ref, old), attr, old, values)
	if len(list) > 0 {
		c[attr.Name] = list
	}
	fixPrimary(attr, list, touched)
	return nil
}

// replaceValues replaces the whole list of a multi-valued attribute;
// values repeated in the new list are merged as by add.
func (a *applier) replaceValues(t target, values []any) error {
	attr := t.ref.Attr
	c := a.container(t.ref.URN, len(values) > 0)
	if c == nil {
		return nil
	}
	old, has := c[attr.Name].([]any)
	if len(values) == 0 {
		if has && len(old) > 0 && attr.Mutability == schema.Immutable {
			return immutableError(t.ref)
		}
		delete(c, attr.Name)
		return nil
	}
	list, touched := mergeValues(newIndex(attr, nil), attr, nil, values)
	if has && len(old) > 0 && attr.Mutability == schema.Immutable && !same(attr, old, list) {
		return immutableError(t.ref)
	}
	if len(list) == 0 {
		delete(c, attr.Name)
		return nil
	}
	c[attr.Name] = list
	fixPrimary(attr, list, touched)
	return nil
}

// mergeValues adds values to list, indexed by x, as add does and returns
// the new list and the positions of the values added or merged, in order.
// It keeps x up to date.
func mergeValues(x *index, attr *schema.Attribute, list, values []any) ([]any, []int) {
	touched := make([]int, 0, len(values))
	for _, v := range values {
		v = stripNulls(v)
		if v == nil {
			continue
		}
		if i, ok := x.find(list, v); ok {
			if m, ok := v.(map[string]any); ok {
				om, _ := list[i].(map[string]any)
				list[i] = mergeOther(attr, om, m)
			}
			touched = append(touched, i)
			continue
		}
		list = append(list, deepCopy(v))
		x.add(len(list)-1, v)
		touched = append(touched, len(list)-1)
	}
	return list, touched
}

// mergeOther merges into old, a value of attr already present, the
// sub-attributes of nv, an equal value being added, that old lacks or may
// change: not those that make the two equal ("value", "type") and not
// immutable ones old has (a member's display), so that adding a value
// already there never fails and changes nothing but what is new.
func mergeOther(attr *schema.Attribute, old, nv map[string]any) map[string]any {
	out := make(map[string]any, len(old)+len(nv))
	for k, v := range old {
		out[k] = v
	}
	for k, v := range nv {
		if _, has := old[k]; has {
			sub := attr.SubAttribute(k)
			if k == "value" || k == "type" || sub == nil || sub.Mutability == schema.Immutable {
				continue
			}
		}
		out[k] = deepCopy(v)
	}
	return out
}

// setSelected applies an add or replace to the values a value filter
// selects (or, for a sub-attribute path without a filter, to every value):
// it sets the sub-attribute of each, or, without one, merges nv into each
// (add) or replaces the first by nv and drops the others (replace). When
// nothing is selected a new value is built from the filter; see the
// package documentation.
func (a *applier) setSelected(op Op, t target, nv any) error {
	attr, sub := t.ref.Attr, t.ref.Sub
	c := a.container(t.ref.URN, nv != nil)
	if c == nil {
		return nil
	}
	list, _ := c[attr.Name].([]any)
	matched := a.selected(t, list)
	if len(matched) == 0 && nv == nil {
		return nil
	}
	if len(matched) == 0 {
		a.dropIndex(t.ref)
		return a.addSelected(t, c, list, nv)
	}
	if nv != nil || sub != nil {
		a.dropIndex(t.ref) // values change; only removals keep the index valid
	}
	switch {
	case sub != nil:
		for _, i := range matched {
			elem := list[i].(map[string]any)
			if err := setSubValue(attr, elem, t.ref, nv); err != nil {
				return err
			}
			if len(elem) == 0 {
				list[i] = nil
			}
		}
	case nv == nil:
		tombstone(list, matched)
		matched = nil
	case op == OpReplace:
		list[matched[0]] = deepCopy(stripNulls(nv))
		tombstone(list, matched[1:])
		matched = matched[:1]
	default:
		m, _ := nv.(map[string]any)
		for _, i := range matched {
			merged, err := mergeComplex(attr, list[i].(map[string]any), m, t.ref)
			if err != nil {
				return err
			}
			if len(merged) == 0 {
				list[i] = nil
			} else {
				list[i] = merged
			}
		}
	}
	c[attr.Name] = list
	fixPrimary(attr, list, matched)
	return nil
}

// addSelected appends the value an add or replace with a filter that
// selected nothing stands for: the filter's equality terms plus nv. A
// filter that is not a conjunction of eq comparisons says too little to
// build one, and is noTarget (RFC 7644 §3.5.2.3).
func (a *applier) addSelected(t target, c map[string]any, list []any, nv any) error {
	attr, sub := t.ref.Attr, t.ref.Sub
	base := map[string]any{}
	var expr filter.Expr
	if t.rp != nil {
		expr = t.rp.Path.Filter
	}
	if !eqTerms(expr, base) {
		return errorf(noTarget, "%s selects no value, and its filter is not a conjunction of eq comparisons from which to build one", quote(t.path))
	}
	if sub != nil {
		base[sub.Name] = nv
	} else if m, ok := nv.(map[string]any); ok {
		for k, v := range m {
			if v != nil {
				base[k] = v
			} else {
				delete(base, k)
			}
		}
	}
	elem, err := a.rs.NormalizeElement(schema.AttrRef{URN: t.ref.URN, Attr: attr}, base, schema.NormalizeOptions{})
	if err != nil {
		return valueError(err)
	}
	if elem == nil {
		return nil
	}
	list = append(list, elem)
	c[attr.Name] = list
	fixPrimary(attr, list, []int{len(list) - 1})
	return nil
}

// selected returns the positions of the values of t's multi-valued
// attribute in list that t selects.
func (a *applier) selected(t target, list []any) []int {
	var out []int
	for i, e := range list {
		if m, ok := e.(map[string]any); ok && t.match(m) {
			out = append(out, i)
		}
	}
	return out
}

// remove applies a remove (RFC 7644 §3.5.2.2). Removing what is not there
// succeeds.
func (a *applier) remove(t target, v any) error {
	err := a.doRemove(t, v)
	a.tidy(t.ref)
	return err
}

func (a *applier) doRemove(t target, v any) error {
	ref := t.ref
	if ref.Attr == nil {
		a.dropIndex(ref)
		delete(a.doc, ref.URN)
		return nil
	}
	attr := ref.Attr
	c := a.container(ref.URN, false)
	if c == nil {
		return nil
	}
	switch {
	case attr.MultiValued && ref.Sub == nil && !t.filtered():
		if !isEmpty(v) {
			return a.removeValues(t, c, v)
		}
		if _, has := c[attr.Name]; has && attr.Mutability == schema.Immutable {
			return immutableError(ref)
		}
		a.dropIndex(ref)
		delete(c, attr.Name)
	case attr.MultiValued:
		list, _ := c[attr.Name].([]any)
		matched := a.selected(t, list)
		if len(matched) == 0 {
			return nil
		}
		if ref.Sub == nil {
			if attr.Mutability == schema.Immutable {
				return immutableError(ref)
			}
			tombstone(list, matched)
			return nil
		}
		a.dropIndex(ref)
		for _, i := range matched {
			elem := list[i].(map[string]any)
			if err := setSubValue(attr, elem, ref, nil); err != nil {
				return err
			}
			if len(elem) == 0 {
				list[i] = nil
			}
		}
	case ref.Sub != nil:
		parent, _ := c[attr.Name].(map[string]any)
		if parent == nil {
			return nil
		}
		if err := setSubValue(attr, parent, ref, nil); err != nil {
			return err
		}
		if len(parent) == 0 {
			delete(c, attr.Name)
		}
	default:
		if _, has := c[attr.Name]; has && attr.Mutability == schema.Immutable {
			return immutableError(ref)
		}
		delete(c, attr.Name)
	}
	return nil
}

// removeValues removes the values listed in v from a multi-valued
// attribute, as Entra ID asks with {"op": "Remove", "path": "members",
// "value": [{"value": id}]}. Values match as they do for add.
func (a *applier) removeValues(t target, c map[string]any, v any) error {
	attr := t.ref.Attr
	nv, err := a.normalize(t.ref, v, false, false)
	if err != nil {
		return err
	}
	values, _ := nv.([]any)
	list, _ := c[attr.Name].([]any)
	x := a.index(t.ref, list)
	var drop []int
	for _, e := range values {
		drop = append(drop, x.findAll(list, e)...)
	}
	if len(drop) > 0 && attr.Mutability == schema.Immutable {
		return immutableError(t.ref)
	}
	tombstone(list, drop)
	return nil
}

// index returns the index of list, the values of ref's attribute, from
// the cache or built anew.
func (a *applier) index(ref schema.AttrRef, list []any) *index {
	key := attrKey(ref)
	x := a.indexes[key]
	if x == nil || x.n != len(list) {
		x = newIndex(ref.Attr, list)
		a.indexes[key] = x
	}
	return x
}

// tombstone removes the values at positions idx from list by setting them
// to nil, which keeps the positions of the others, and so the cached
// index, valid. Apply prunes the nils when all operations are done.
func tombstone(list []any, idx []int) {
	for _, i := range idx {
		list[i] = nil
	}
}

// eqTerms adds to out the sub-attribute values a filter requires, and
// reports whether the filter is a conjunction of eq comparisons (a nil
// filter being the empty one) with no contradiction.
func eqTerms(e filter.Expr, out map[string]any) bool {
	switch x := e.(type) {
	case nil:
		return true
	case filter.And:
		return eqTerms(x.L, out) && eqTerms(x.R, out)
	case filter.Compare:
		if x.Op != filter.OpEq || x.Value == nil || x.Path.URN != "" || x.Path.Sub != "" || x.Path.Attr == "" {
			return false
		}
		if old, dup := out[x.Path.Attr]; dup {
			return same(nil, old, x.Value)
		}
		out[x.Path.Attr] = x.Value
		return true
	}
	return false
}

// fixPrimary keeps at most one value of a multi-valued attribute marked
// primary (RFC 7643 §2.4): when one of the values just added or changed
// (touched, positions in list) is primary, the last such keeps the flag
// and every other value loses it.
func fixPrimary(attr *schema.Attribute, list []any, touched []int) {
	p := attr.SubAttribute("primary")
	if p == nil || p.Type != schema.TypeBoolean {
		return
	}
	isPrimary := func(i int) bool {
		m, _ := list[i].(map[string]any)
		b, _ := m[p.Name].(bool)
		return b
	}
	keep := -1
	for j := len(touched) - 1; j >= 0; j-- {
		if i := touched[j]; i >= 0 && i < len(list) && isPrimary(i) {
			keep = i
			break
		}
	}
	if keep < 0 {
		return
	}
	for i := range list {
		if i != keep && isPrimary(i) {
			m := list[i].(map[string]any)
			delete(m, p.Name)
			if len(m) == 0 {
				list[i] = nil // nothing but the flag was there
			}
		}
	}
}

// requiredAttrs returns the attributes a document may not lose: those the
// schemas mark required and, for Group, displayName, which RFC 7643 §4.2
// calls REQUIRED although the §8.7.1 representation says otherwise.
func (a *applier) requiredAttrs() []schema.AttrRef {
	var out []schema.AttrRef
	core := a.rs.Core()
	for i := range core.Attributes {
		attr := &core.Attributes[i]
		if attr.Required || core.ID == schema.GroupURN && attr.Name == "displayName" {
			out = append(out, schema.AttrRef{Attr: attr})
		}
	}
	for _, ext := range a.rs.Extensions() {
		for i := range ext.Attributes {
			if ext.Attributes[i].Required {
				out = append(out, schema.AttrRef{URN: ext.ID, Attr: &ext.Attributes[i]})
			}
		}
	}
	return out
}

// snapshot records what Apply checks after the operations.
type snapshot struct {
	required map[string]bool // canonical path → present before
	ext      map[string]bool // extension URN → present before
}

func (a *applier) snapshot() snapshot {
	s := snapshot{required: map[string]bool{}, ext: map[string]bool{}}
	for _, ref := range a.requiredAttrs() {
		_, s.required[ref.String()] = ref.Value(a.doc)
	}
	for _, ext := range a.rs.Extensions() {
		_, s.ext[ext.ID] = a.doc[ext.ID].(map[string]any)
	}
	return s
}

// checkRequired fails when the operations removed or emptied a required
// attribute the document had.
func (a *applier) checkRequired(before snapshot) error {
	for _, ref := range a.requiredAttrs() {
		if !before.required[ref.String()] {
			continue
		}
		v, ok := ref.Value(a.doc)
		if !ok {
			return errorf(mutability, "%s is required and cannot be removed", ref)
		}
		if s, isString := v.(string); isString && strings.TrimSpace(s) == "" {
			return errorf(invalidValue, "%s is required and cannot be empty", ref)
		}
	}
	return nil
}

// syncSchemas keeps "schemas", when the document has it, in step with its
// extensions: the URN of an extension the operations added is appended,
// and that of an extension whose last attribute they removed is dropped.
func (a *applier) syncSchemas(before snapshot) {
	list, ok := a.doc["schemas"].([]any)
	if !ok {
		return
	}
	for _, ext := range a.rs.Extensions() {
		_, has := a.doc[ext.ID].(map[string]any)
		i := slices.IndexFunc(list, func(v any) bool {
			s, _ := v.(string)
			return strings.EqualFold(s, ext.ID)
		})
		switch {
		case has && i < 0:
			list = append(list, ext.ID)
		case !has && i >= 0 && before.ext[ext.ID]:
			list = slices.Delete(list, i, i+1)
		}
	}
	if len(list) == 0 {
		delete(a.doc, "schemas")
		return
	}
	a.doc["schemas"] = list
}

func immutableError(ref schema.AttrRef) *Error {
	return errorf(mutability, "%s is immutable: it can be set when absent but not changed or removed", ref)
}

// isReference reports whether attr is a complex attribute that references
// another resource: it has "value" and "$ref" sub-attributes.
func isReference(attr *schema.Attribute) bool {
	return attr.Type == schema.TypeComplex && attr.SubAttribute("value") != nil && attr.SubAttribute("$ref") != nil
}
