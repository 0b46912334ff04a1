package patch

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"rollcall/internal/scim/schema"
)

// index finds the values of a multi-valued attribute that equal a given
// one, in constant time per lookup. Equality is what makes an added value
// "already present" (RFC 7644 §3.5.2.1) and what a remove with a value
// list matches:
//
//   - for a complex attribute with a "value" sub-attribute (emails,
//     members, roles…), equal "value"s — compared without regard to case
//     unless it is caseExact — and equal "type"s when both values have one;
//   - for another complex attribute (addresses), all sub-attributes but
//     "primary" equal;
//   - for a simple attribute, equal values.
type index struct {
	attr  *schema.Attribute
	value *schema.Attribute // the "value" sub-attribute, or nil
	typ   *schema.Attribute // the "type" sub-attribute, or nil

	n int // length of the list indexed

	byKey     map[string][]int // value key → positions (all values)
	byKeyType map[string][]int // value key + type → positions of values with a type
	untyped   map[string][]int // value key → positions of values without a type
}

func newIndex(attr *schema.Attribute, list []any) *index {
	x := &index{
		attr:      attr,
		byKey:     map[string][]int{},
		byKeyType: map[string][]int{},
		untyped:   map[string][]int{},
	}
	if attr.Type == schema.TypeComplex {
		x.value = attr.SubAttribute("value")
		if x.value != nil {
			x.typ = attr.SubAttribute("type")
		}
	}
	for i, e := range list {
		if e != nil {
			x.add(i, e)
		}
	}
	x.n = len(list)
	return x
}

// keys returns e's value key and, when e has a type that matters, its
// folded type.
func (x *index) keys(e any) (key, typ string, typed bool) {
	if x.attr.Type != schema.TypeComplex {
		return scalarKey(x.attr, e), "", false
	}
	m, _ := e.(map[string]any)
	if x.value == nil {
		return valueKey(x.attr, m, "primary"), "", false
	}
	key = scalarKey(x.value, m[x.value.Name])
	if x.typ != nil {
		if t := m[x.typ.Name]; t != nil {
			return key, scalarKey(x.typ, t), true
		}
	}
	return key, "", false
}

// scalarKey is valueKey for one value of an attribute, cheaper for the
// common string: values of one attribute all have the attribute's type in
// a canonical document, so the string needs no type tag. A missing value
// gets a key no sensible string has.
func scalarKey(def *schema.Attribute, v any) string {
	switch s := v.(type) {
	case string:
		if def.CaseExact {
			return s
		}
		return strings.ToLower(s)
	case nil:
		return "\x00"
	}
	return valueKey(def, v, "")
}

// add records that position i, the next one, holds e.
func (x *index) add(i int, e any) {
	x.n = i + 1
	key, typ, typed := x.keys(e)
	x.byKey[key] = append(x.byKey[key], i)
	if typed {
		x.byKeyType[key+"\x00"+typ] = append(x.byKeyType[key+"\x00"+typ], i)
	} else {
		x.untyped[key] = append(x.untyped[key], i)
	}
}

// candidates returns the lists of positions that may hold a value equal to
// e, and the map keys they sit under.
func (x *index) candidates(e any) [][]int {
	key, typ, typed := x.keys(e)
	if !typed {
		return [][]int{x.byKey[key]}
	}
	return [][]int{x.byKeyType[key+"\x00"+typ], x.untyped[key]}
}

// compatible reports whether the types of two values with equal value keys
// allow them to be equal: they agree, or one has none.
func (x *index) compatible(a, b any) bool {
	if x.typ == nil {
		return true
	}
	am, _ := a.(map[string]any)
	bm, _ := b.(map[string]any)
	ta, tb := am[x.typ.Name], bm[x.typ.Name]
	return ta == nil || tb == nil || same(x.typ, ta, tb)
}

// find returns the first position in list holding a value equal to e.
func (x *index) find(list []any, e any) (int, bool) {
	best := -1
	for _, c := range x.candidates(e) {
		for _, i := range c {
			if i < len(list) && list[i] != nil && x.compatible(list[i], e) {
				if best < 0 || i < best {
					best = i
				}
				break
			}
		}
	}
	return best, best >= 0
}

// findAll returns every position in list holding a value equal to e, for
// removal. Each position is returned once over all calls: the lists
// visited are consumed, so repeated values cost nothing.
func (x *index) findAll(list []any, e any) []int {
	key, typ, typed := x.keys(e)
	var out []int
	take := func(m map[string][]int, k string) {
		rest := m[k][:0]
		for _, i := range m[k] {
			switch {
			case i >= len(list) || list[i] == nil:
				// a value removed before
			case x.compatible(list[i], e):
				out = append(out, i)
			default:
				rest = append(rest, i)
			}
		}
		if len(rest) == 0 {
			delete(m, k)
		} else {
			m[k] = rest
		}
	}
	if typed {
		take(x.byKeyType, key+"\x00"+typ)
		take(x.untyped, key)
	} else {
		take(x.byKey, key)
	}
	return out
}

// same reports whether a and b are equal values of def: strings compare
// without regard to case unless def is caseExact.
func same(def *schema.Attribute, a, b any) bool {
	return valueKey(def, a, "") == valueKey(def, b, "")
}

// valueKey returns a string that is equal for equal values of def (see
// same), leaving out the sub-attribute skip of a complex value.
func valueKey(def *schema.Attribute, v any, skip string) string {
	var b strings.Builder
	writeKey(&b, def, v, skip)
	return b.String()
}

func writeKey(b *strings.Builder, def *schema.Attribute, v any, skip string) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		if def == nil || !def.CaseExact {
			x = strings.ToLower(x)
		}
		b.WriteString(strconv.Quote(x))
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		b.WriteByte('#')
		b.WriteString(string(x))
	case []any:
		b.WriteByte('[')
		for _, e := range x {
			writeKey(b, def, e, "")
			b.WriteByte(',')
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for _, k := range schema.SortedKeys(x) {
			if k == skip {
				continue
			}
			var sub *schema.Attribute
			if def != nil {
				sub = def.SubAttribute(k)
			}
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			writeKey(b, sub, x[k], "")
			b.WriteByte(',')
		}
		b.WriteByte('}')
	default:
		fmt.Fprintf(b, "?%T:%v", v, v)
	}
}

// deepCopy copies the objects and lists of a JSON value.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

// stripNulls returns a complex value without its null sub-attributes, or
// nil when none is left; other values come back as they are.
func stripNulls(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(m))
	for k, e := range m {
		if e != nil {
			out[k] = e
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// isEmpty reports whether an operation's value says "no value": null, an
// empty object or an empty list.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// unwrap takes a list given for a single value — the attribute def (nil
// for a complex value or an extension) is single-valued — apart: one
// element stands for itself, as in Entra ID's documented
// {"op": "Add", "path": "manager", "value": [{"value": id}]}, and an empty
// list for no value.
func unwrap(v any, def *schema.Attribute) any {
	l, ok := v.([]any)
	if !ok || def != nil && def.MultiValued {
		return v
	}
	switch len(l) {
	case 0:
		return nil
	case 1:
		return l[0]
	}
	return v
}

// pruneDoc removes null values, empty objects and empty lists from doc,
// at every level, so that an attribute emptied by the operations is
// absent rather than {} or [].
func pruneDoc(doc map[string]any) {
	for k, v := range doc {
		if nv, keep := prune(v); keep {
			doc[k] = nv
		} else {
			delete(doc, k)
		}
	}
}

func prune(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case map[string]any:
		pruneDoc(x)
		return x, len(x) > 0
	case []any:
		out := x[:0]
		for _, e := range x {
			if ne, keep := prune(e); keep {
				out = append(out, ne)
			}
		}
		clear(x[len(out):])
		return out, len(out) > 0
	}
	return v, true
}

// quote quotes s for an error message, shortened to about 200 bytes: the
// client knows what it sent, and a detail should not echo 16 KiB back.
func quote(s string) string { return strconv.Quote(schema.Shorten(s, 200)) }
