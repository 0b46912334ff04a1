package filter

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"rollcall/internal/scim/schema"
)

// node is a compiled filter expression.
type node interface {
	match(doc map[string]any) bool
}

type andNode struct{ l, r node }

func (n andNode) match(doc map[string]any) bool { return n.l.match(doc) && n.r.match(doc) }

type orNode struct{ l, r node }

func (n orNode) match(doc map[string]any) bool { return n.l.match(doc) || n.r.match(doc) }

type notNode struct{ x node }

func (n notNode) match(doc map[string]any) bool { return !n.x.match(doc) }

type presentNode struct{ get getter }

func (n presentNode) match(doc map[string]any) bool { return anyPresent(n.get.values(doc)) }

type valuePathNode struct {
	get    getter
	filter node
}

func (n valuePathNode) match(doc map[string]any) bool {
	for _, v := range n.get.values(doc) {
		if elem, ok := v.(map[string]any); ok && n.filter.match(elem) {
			return true
		}
	}
	return false
}

// getter reads the values of an attribute path from a canonical document:
// doc[urn][name][sub], with every value of a multi-valued attribute. A
// value whose shape contradicts the schema (a list for a single-valued
// attribute) is no value.
type getter struct {
	urn, name, sub string
	multi          bool // the attribute named name is multi-valued
}

// values returns the non-null values the path reaches.
func (g getter) values(doc map[string]any) []any {
	c := doc
	if g.urn != "" {
		ext, ok := doc[g.urn].(map[string]any)
		if !ok {
			return nil
		}
		c = ext
	}
	v := c[g.name]
	if v == nil {
		return nil
	}
	if !g.multi {
		if _, ok := v.([]any); ok {
			return nil
		}
		if g.sub == "" {
			return []any{v}
		}
		m, _ := v.(map[string]any)
		if sv := m[g.sub]; sv != nil {
			return []any{sv}
		}
		return nil
	}
	list, _ := v.([]any)
	if g.sub == "" {
		return list
	}
	var out []any
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			if sv := m[g.sub]; sv != nil {
				out = append(out, sv)
			}
		}
	}
	return out
}

// present reports whether v counts as a value for "pr" (RFC 7644
// §3.4.2.2): not null, not an empty string, not an empty list or object.
func present(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case []any:
		return anyPresent(x)
	case map[string]any:
		for _, e := range x {
			if present(e) {
				return true
			}
		}
		return false
	}
	return true
}

func anyPresent(vs []any) bool {
	for _, v := range vs {
		if present(v) {
			return true
		}
	}
	return false
}

// cmpNode is a compiled comparison. The operand is kept in the form the
// attribute's type needs: lower-cased for case-insensitive strings, parsed
// for dateTimes and numbers.
type cmpNode struct {
	get       getter
	op        Op
	typ       schema.Type
	caseExact bool
	null      bool // compare with null

	str  string
	bool bool
	time time.Time
	num  float64
}

func (n *cmpNode) match(doc map[string]any) bool {
	vs := n.get.values(doc)
	if n.null {
		return anyPresent(vs) == (n.op == OpNe)
	}
	if n.op == OpNe {
		if !anyPresent(vs) {
			return true
		}
		for _, v := range vs {
			if !n.test(v, OpEq) {
				return true
			}
		}
		return false
	}
	for _, v := range vs {
		if n.test(v, n.op) {
			return true
		}
	}
	return false
}

// test compares one value with the operand. A value of the wrong type
// never matches.
func (n *cmpNode) test(v any, op Op) bool {
	switch n.typ {
	case schema.TypeString, schema.TypeReference, schema.TypeBinary:
		s, ok := v.(string)
		if !ok {
			return false
		}
		if !n.caseExact {
			s = strings.ToLower(s)
		}
		switch op {
		case OpEq:
			return s == n.str
		case OpCo:
			return strings.Contains(s, n.str)
		case OpSw:
			return strings.HasPrefix(s, n.str)
		case OpEw:
			return strings.HasSuffix(s, n.str)
		}
		return order(strings.Compare(s, n.str), op)
	case schema.TypeBoolean:
		b, ok := boolOf(v)
		return ok && op == OpEq && b == n.bool
	case schema.TypeDateTime:
		t, ok := timeOf(v)
		return ok && order(t.Compare(n.time), op)
	case schema.TypeInteger, schema.TypeDecimal:
		f, ok := numberOf(v)
		if !ok {
			return false
		}
		c := 0
		if f < n.num {
			c = -1
		} else if f > n.num {
			c = 1
		}
		return order(c, op)
	}
	return false
}

// order applies an ordering or equality operator to the result c of a
// three-way comparison.
func order(c int, op Op) bool {
	switch op {
	case OpEq:
		return c == 0
	case OpGt:
		return c > 0
	case OpGe:
		return c >= 0
	case OpLt:
		return c < 0
	case OpLe:
		return c <= 0
	}
	return false
}

func boolOf(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch {
		case strings.EqualFold(x, "true"):
			return true, true
		case strings.EqualFold(x, "false"):
			return false, true
		}
	}
	return false, false
}

func numberOf(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil && schema.IsNumber(x)
	}
	return 0, false
}
