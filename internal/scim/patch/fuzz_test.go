package patch

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"rollcall/internal/scim/schema"
)

// The fuzz targets compare with reflect.DeepEqual rather than cmp: cmp
// takes exponential time on deeply nested lists, which fuzzing finds.

var scimTypes = map[string]bool{
	"invalidSyntax": true, "invalidPath": true, "noTarget": true, "invalidValue": true, "mutability": true,
}

// checkError fails unless err is an *Error with a known scimType and a
// detail.
func checkError(t *testing.T, what string, err error) {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("%s error %T %v, want a *patch.Error", what, err, err)
	}
	if !scimTypes[pe.ScimType] || pe.Detail == "" {
		t.Fatalf("%s error %#v: unknown scimType or no detail", what, pe)
	}
}

// FuzzParse checks that Parse never panics, fails only with an *Error, and
// returns only well-formed operations, leaving its input alone.
func FuzzParse(f *testing.F) {
	for _, tt := range parseTests() {
		f.Add(tt.body)
	}
	for _, tt := range parseErrorTests() {
		if len(tt.body) < 4096 {
			f.Add(tt.body)
		}
	}
	for _, tt := range applyTests() {
		f.Add(tt.body)
	}
	f.Fuzz(func(t *testing.T, s string) {
		body, err := decodeObject(s)
		if err != nil {
			return
		}
		orig := deepCopy(body)
		ops, err := Parse(body)
		if !reflect.DeepEqual(orig, deepCopy(body)) {
			t.Fatalf("Parse(%s) changed its input", s)
		}
		if err != nil {
			checkError(t, "Parse", err)
			if ops != nil {
				t.Fatalf("Parse(%s) returned operations with an error", s)
			}
			return
		}
		if len(ops) == 0 || len(ops) > MaxOperations {
			t.Fatalf("Parse(%s) returned %d operations", s, len(ops))
		}
		for i, op := range ops {
			if !op.Op.valid() {
				t.Fatalf("Parse(%s): operation %d has op %q", s, i, op.Op)
			}
			if op.Path == nil {
				if _, ok := op.Value.(map[string]any); !ok {
					t.Fatalf("Parse(%s): operation %d has neither a path nor an object value", s, i)
				}
			}
		}
	})
}

// FuzzApply checks that Parse and Apply never panic, that Apply fails only
// with an *Error when given a canonical document, never changes the
// document or the operations it is given, and returns a canonical document
// with no empty values.
func FuzzApply(f *testing.F) {
	for _, tt := range applyTests() {
		base := userJSON
		if tt.group {
			base = groupJSON
		}
		doc, err := json.Marshal(overlay(f, decode(f, base), tt.start))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tt.body, string(doc), tt.group)
	}
	user, group := schema.User(), schema.Group()
	f.Fuzz(func(t *testing.T, body, docJSON string, isGroup bool) {
		rs := user
		if isGroup {
			rs = group
		}
		b, err := decodeObject(body)
		if err != nil {
			return
		}
		ops, err := Parse(b)
		if err != nil {
			checkError(t, "Parse", err)
			return
		}
		raw, err := decodeObject(docJSON)
		if err != nil {
			return
		}
		doc, err := rs.Normalize(raw, schema.NormalizeOptions{KeepReadOnly: true})
		if err != nil {
			return
		}
		docBefore, bodyBefore := deepCopy(doc), deepCopy(b)
		got, err := Apply(doc, rs, ops)
		if !reflect.DeepEqual(docBefore, doc) {
			t.Fatalf("Apply changed its document:\nbefore %v\nafter  %v", docBefore, doc)
		}
		if !reflect.DeepEqual(bodyBefore, deepCopy(b)) {
			t.Fatalf("Apply changed the operations' values")
		}
		if err != nil {
			checkError(t, "Apply", err)
			if got != nil {
				t.Fatalf("Apply returned a document with an error")
			}
			return
		}
		n, err := rs.Normalize(got, schema.NormalizeOptions{KeepReadOnly: true})
		if err != nil {
			t.Fatalf("Normalize(Apply result %v): %v", got, err)
		}
		if !reflect.DeepEqual(n, got) {
			t.Fatalf("Apply result is not canonical:\ngot        %v\nnormalized %v", got, n)
		}
		pruned := deepCopy(got).(map[string]any)
		pruneDoc(pruned)
		if !reflect.DeepEqual(pruned, got) {
			t.Fatalf("Apply result has null or empty values: %v", got)
		}
		// The operations applied one request at a time give the same
		// document (but for the order of "schemas"), unless one of those
		// requests fails on its own (a required attribute removed and
		// added back). This checks the index Apply keeps between
		// operations.
		seq, err := Apply(doc, rs, nil)
		if err != nil {
			t.Fatalf("Apply(no operations): %v", err)
		}
		for _, op := range ops {
			if seq, err = Apply(seq, rs, []Operation{op}); err != nil {
				return
			}
		}
		if !reflect.DeepEqual(sortSchemas(got), sortSchemas(seq)) {
			t.Fatalf("Apply in one request and one by one differ:\nat once  %v\none by one %v", got, seq)
		}
	})
}

// sortSchemas returns doc with its "schemas" sorted.
func sortSchemas(doc map[string]any) map[string]any {
	out := deepCopy(doc).(map[string]any)
	if l, ok := out["schemas"].([]any); ok {
		slices.SortFunc(l, func(a, b any) int {
			x, _ := a.(string)
			y, _ := b.(string)
			return strings.Compare(x, y)
		})
	}
	return out
}
