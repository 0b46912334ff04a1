package patch

import (
	"fmt"
	"slices"
	"strings"

	"rollcall/internal/scim/filter"
	"rollcall/internal/scim/schema"
)

// MessageURN is the schema URI of a PATCH request body, the PatchOp
// message (RFC 7644 §3.5.2).
const MessageURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// MaxOperations is the most operations one request may carry. IdPs send a
// handful, or a batch of group membership changes; the bound keeps a
// hostile request cheap to reject.
const MaxOperations = 1000

// Op is a PATCH operation (RFC 7644 §3.5.2), in lower case.
type Op string

// The three PATCH operations.
const (
	OpAdd     Op = "add"
	OpRemove  Op = "remove"
	OpReplace Op = "replace"
)

// Operation is one element of a PatchOp request's "Operations".
type Operation struct {
	// Op is the operation, lower-cased: the request may say "Add",
	// "REPLACE" and so on (Entra ID capitalises it).
	Op Op
	// Path is the parsed "path", or nil when the operation has none. It is
	// not resolved against a schema: Apply does that.
	Path *filter.PathExpr
	// Value is the "value" as decoded by encoding/json with UseNumber, not
	// normalised; nil when absent or null.
	Value any
}

// scimTypes of the errors this package returns (RFC 7644 §3.12, Table 9).
const (
	invalidSyntax = "invalidSyntax"
	invalidPath   = "invalidPath"
	noTarget      = "noTarget"
	invalidValue  = "invalidValue"
	mutability    = "mutability"
)

// Error is a PATCH request the server refuses. The SCIM handlers answer it
// with HTTP 400, its ScimType and its Detail.
//
// Parse and Apply return nothing else for a fault of the request: path
// syntax errors from package filter and unresolvable paths become
// invalidPath; values that do not fit the schema ([*schema.ValueError])
// become invalidValue (invalidSyntax when nested too deep). Error
// deliberately does not unwrap to those errors, so that errors.As finds it
// whatever order an error writer tests types in. Any other error from Apply
// is the server's fault (an input document that is not canonical).
type Error struct {
	// ScimType is "invalidSyntax", "invalidPath", "noTarget",
	// "invalidValue" or "mutability".
	ScimType string
	// Detail says what is wrong, for the client.
	Detail string
}

// Error returns the scimType and the detail.
func (e *Error) Error() string { return e.ScimType + ": " + e.Detail }

func errorf(scimType, format string, args ...any) *Error {
	return &Error{ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// Parse reads a PatchOp request body (RFC 7644 §3.5.2): a JSON object
// decoded with json.Decoder.UseNumber. It checks the structure — the
// PatchOp schema URI, one to [MaxOperations] operations, each with a known
// op, a path that parses and a value where one is needed — but not the
// meaning of paths and values, which needs the resource schema (see
// [Apply]). Errors are [*Error] values.
//
// Member names ("schemas", "Operations", "op", "path", "value") match
// without regard to case, and unknown members are ignored (Microsoft's test
// collection sends "name": "addMember" and a top-level "id"). An empty
// "path" counts as none. "remove" needs a path; "add" and "replace" need a
// "value" member, which may be null (the attribute is then unset, see
// [Apply]), and an object when there is no path.
func Parse(body map[string]any) ([]Operation, error) {
	schemas, _, err := member(body, "schemas", "the request")
	if err != nil {
		return nil, err
	}
	if !hasPatchOp(schemas) {
		return nil, errorf(invalidSyntax, `a PATCH request body needs "schemas": [%q]`, MessageURN)
	}
	raw, ok, err := member(body, "Operations", "the request")
	if err != nil {
		return nil, err
	}
	if !ok || raw == nil {
		return nil, errorf(invalidSyntax, `a PATCH request body needs "Operations": a list of {"op", "path", "value"} objects`)
	}
	list, isList := raw.([]any)
	switch {
	case !isList:
		return nil, errorf(invalidSyntax, `"Operations" must be a list of {"op", "path", "value"} objects, not %s`, schema.Describe(raw))
	case len(list) == 0:
		return nil, errorf(invalidSyntax, `"Operations" is empty; send at least one operation`)
	case len(list) > MaxOperations:
		return nil, errorf(invalidSyntax, `"Operations" has %d operations; at most %d are allowed in one request`, len(list), MaxOperations)
	}
	ops := make([]Operation, 0, len(list))
	for i, item := range list {
		op, err := parseOperation(i, item)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func parseOperation(i int, item any) (Operation, error) {
	where := fmt.Sprintf("Operations[%d]", i)
	m, ok := item.(map[string]any)
	if !ok {
		return Operation{}, errorf(invalidSyntax, `%s must be an object with "op", "path" and "value", not %s`, where, schema.Describe(item))
	}
	rawOp, _, err := member(m, "op", where)
	if err != nil {
		return Operation{}, err
	}
	s, _ := rawOp.(string)
	op := Op(strings.ToLower(strings.TrimSpace(s)))
	if !op.valid() {
		return Operation{}, errorf(invalidSyntax, `%s: "op" must be "add", "remove" or "replace", not %s`, where, schema.Describe(rawOp))
	}
	var out Operation
	out.Op = op
	rawPath, _, err := member(m, "path", where)
	if err != nil {
		return Operation{}, err
	}
	switch p := rawPath.(type) {
	case nil:
	case string:
		if strings.TrimSpace(p) == "" {
			break
		}
		pe, err := filter.ParsePath(p)
		if err != nil {
			return Operation{}, errorf(invalidPath, "%s: invalid path %s: %v", where, quote(p), err)
		}
		out.Path = &pe
	default:
		return Operation{}, errorf(invalidPath, `%s: "path" must be a string, not %s`, where, schema.Describe(rawPath))
	}
	value, hasValue, err := member(m, "value", where)
	if err != nil {
		return Operation{}, err
	}
	if depth(value, 1) > schema.MaxDepth {
		return Operation{}, errorf(invalidSyntax, `%s: "value" is nested deeper than %d levels`, where, schema.MaxDepth)
	}
	out.Value = value
	switch {
	case op == OpRemove && out.Path == nil:
		return Operation{}, errorf(invalidPath, `%s: remove needs a "path" naming what to remove`, where)
	case op != OpRemove && !hasValue:
		return Operation{}, errorf(invalidSyntax, `%s: %s needs a "value"`, where, op)
	case op != OpRemove && out.Path == nil:
		if _, ok := value.(map[string]any); !ok {
			return Operation{}, errorf(invalidSyntax, `%s: %s without a "path" needs an object "value" of attribute names and values, not %s`, where, op, schema.Describe(value))
		}
	}
	return out, nil
}

func (op Op) valid() bool {
	return op == OpAdd || op == OpRemove || op == OpReplace
}

// member returns the member of m called name, compared without regard to
// case. Two members differing only in case are an error.
func member(m map[string]any, name, where string) (v any, ok bool, err error) {
	var keys []string
	for k, kv := range m {
		if strings.EqualFold(k, name) {
			v, ok = kv, true
			keys = append(keys, k)
		}
	}
	if len(keys) > 1 {
		slices.Sort(keys)
		return nil, false, errorf(invalidSyntax, "%s has both %s and %s; member names are case-insensitive", where, quote(keys[0]), quote(keys[1]))
	}
	return v, ok, nil
}

// hasPatchOp reports whether schemas, a list of strings or a lone string,
// holds the PatchOp URI, compared without regard to case.
func hasPatchOp(schemas any) bool {
	switch s := schemas.(type) {
	case string:
		return strings.EqualFold(strings.TrimSpace(s), MessageURN)
	case []any:
		for _, e := range s {
			if u, ok := e.(string); ok && strings.EqualFold(strings.TrimSpace(u), MessageURN) {
				return true
			}
		}
	}
	return false
}

// depth returns how deeply v nests objects and arrays, counting as
// schema.Normalize does: an object or array at level d, the top value's
// level being d as given. A scalar adds nothing. It stops early once past
// schema.MaxDepth, so hostile values cost little.
func depth(v any, d int) int {
	var children []any
	switch x := v.(type) {
	case map[string]any:
		if d > schema.MaxDepth {
			return d
		}
		children = make([]any, 0, len(x))
		for _, e := range x {
			children = append(children, e)
		}
	case []any:
		if d > schema.MaxDepth {
			return d
		}
		children = x
	default:
		return d - 1
	}
	deepest := d
	for _, e := range children {
		if deepest = max(deepest, depth(e, d+1)); deepest > schema.MaxDepth {
			break
		}
	}
	return deepest
}
