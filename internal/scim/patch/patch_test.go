package patch

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"rollcall/internal/scim/filter"
)

func path(tb testing.TB, s string) *filter.PathExpr {
	tb.Helper()
	p, err := filter.ParsePath(s)
	if err != nil {
		tb.Fatalf("ParsePath(%q): %v", s, err)
	}
	return &p
}

type parseTest struct {
	name string
	body string
	want func(testing.TB) []Operation
}

func parseTests() []parseTest {
	return []parseTest{
		{
			name: "okta deactivate",
			body: ops(`{"op": "replace", "value": {"active": false}}`),
			want: func(testing.TB) []Operation {
				return []Operation{{Op: OpReplace, Value: map[string]any{"active": false}}}
			},
		},
		{
			name: "entra capitalised ops, string boolean and filter path",
			body: ops(`{"op": "Replace", "path": "active", "value": "False"},
				{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "a@example.com"},
				{"op": "Remove", "path": "members", "value": [{"value": "u1091"}]}`),
			want: func(tb testing.TB) []Operation {
				return []Operation{
					{Op: OpReplace, Path: path(tb, "active"), Value: "False"},
					{Op: OpAdd, Path: path(tb, `emails[type eq "work"].value`), Value: "a@example.com"},
					{Op: OpRemove, Path: path(tb, "members"), Value: []any{map[string]any{"value": "u1091"}}},
				}
			},
		},
		{
			name: "ms collection: unknown members, top-level id",
			body: `{"id": "g1", "Operations": [{"name": "addMember", "op": "add", "path": "members", "value": "string id 1"}],
				"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`,
			want: func(tb testing.TB) []Operation {
				return []Operation{{Op: OpAdd, Path: path(tb, "members"), Value: "string id 1"}}
			},
		},
		{
			name: "member names in any case, extra schema URIs, URN in any case",
			body: `{"SCHEMAS": ["urn:example:other", "URN:IETF:PARAMS:SCIM:API:MESSAGES:2.0:PATCHOP"],
				"operations": [{"OP": "REPLACE", "Path": "userName", "Value": 42}]}`,
			want: func(tb testing.TB) []Operation {
				return []Operation{{Op: OpReplace, Path: path(tb, "userName"), Value: json.Number("42")}}
			},
		},
		{
			name: "schemas as a lone string",
			body: `{"schemas": "urn:ietf:params:scim:api:messages:2.0:PatchOp", "Operations": [{"op": "remove", "path": "title"}]}`,
			want: func(tb testing.TB) []Operation {
				return []Operation{{Op: OpRemove, Path: path(tb, "title")}}
			},
		},
		{
			name: "empty path counts as none; null value kept",
			body: ops(`{"op": "add", "path": "", "value": {"title": null}}, {"op": "replace", "path": "title", "value": null}`),
			want: func(tb testing.TB) []Operation {
				return []Operation{
					{Op: OpAdd, Value: map[string]any{"title": nil}},
					{Op: OpReplace, Path: path(tb, "title")},
				}
			},
		},
		{
			name: "value nested exactly as deep as allowed",
			body: ops(`{"op": "add", "path": "x", "value": ` + nested(32) + `}`),
			want: func(tb testing.TB) []Operation {
				return []Operation{{Op: OpAdd, Path: path(tb, "x"), Value: decode(tb, `{"v":`+nested(32)+`}`)["v"]}}
			},
		},
	}
}

// nested returns n nested JSON objects around a string. (Not arrays:
// cmp.Diff takes exponential time on deeply nested slices.)
func nested(n int) string {
	return strings.Repeat(`{"a":`, n) + `"x"` + strings.Repeat("}", n)
}

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tt := range parseTests() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := decode(t, tt.body)
			orig := deepCopy(body)
			got, err := Parse(body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want(t), got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(orig, body); diff != "" {
				t.Errorf("Parse changed its input (-before +after):\n%s", diff)
			}
		})
	}
}

type parseErrorTest struct {
	name string
	body string
	err  Error
}

func parseErrorTests() []parseErrorTest {
	many := strings.Repeat(`{"op": "remove", "path": "title"},`, MaxOperations)
	return []parseErrorTest{
		{"no schemas", `{"Operations": [{"op": "remove", "path": "title"}]}`,
			Error{"invalidSyntax", `a PATCH request body needs "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`}},
		{"another schema", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "Operations": [{"op": "remove", "path": "title"}]}`,
			Error{"invalidSyntax", `a PATCH request body needs "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`}},
		{"schemas twice", `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Schemas": [], "Operations": []}`,
			Error{"invalidSyntax", `the request has both "Schemas" and "schemas"; member names are case-insensitive`}},
		{"no operations", `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`,
			Error{"invalidSyntax", `a PATCH request body needs "Operations": a list of {"op", "path", "value"} objects`}},
		{"operations not a list", `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": {"op": "remove"}}`,
			Error{"invalidSyntax", `"Operations" must be a list of {"op", "path", "value"} objects, not an object`}},
		{"empty operations", ops(``),
			Error{"invalidSyntax", `"Operations" is empty; send at least one operation`}},
		{"too many operations", ops(many + `{"op": "remove", "path": "title"}`),
			Error{"invalidSyntax", `"Operations" has 1001 operations; at most 1000 are allowed in one request`}},
		{"operation not an object", ops(`"add"`),
			Error{"invalidSyntax", `Operations[0] must be an object with "op", "path" and "value", not string "add"`}},
		{"no op", ops(`{"path": "title", "value": "x"}`),
			Error{"invalidSyntax", `Operations[0]: "op" must be "add", "remove" or "replace", not null`}},
		{"unknown op", ops(`{"op": "remove", "path": "title"}, {"op": "move", "path": "title", "value": "x"}`),
			Error{"invalidSyntax", `Operations[1]: "op" must be "add", "remove" or "replace", not string "move"`}},
		{"op not a string", ops(`{"op": 1, "path": "title"}`),
			Error{"invalidSyntax", `Operations[0]: "op" must be "add", "remove" or "replace", not number 1`}},
		{"op twice", ops(`{"op": "add", "OP": "remove", "path": "title", "value": "x"}`),
			Error{"invalidSyntax", `Operations[0] has both "OP" and "op"; member names are case-insensitive`}},
		{"path not a string", ops(`{"op": "add", "path": ["title"], "value": "x"}`),
			Error{"invalidPath", `Operations[0]: "path" must be a string, not a list`}},
		{"path syntax", ops(`{"op": "replace", "path": "emails[type eq", "value": "x"}`),
			Error{"invalidPath", `Operations[0]: invalid path "emails[type eq": expected a value after 'eq', got end of path at offset 14`}},
		{"path with a space", ops(`{"op": "replace", "path": "display name", "value": "x"}`),
			Error{"invalidPath", `Operations[0]: invalid path "display name": unexpected 'name' at offset 8`}},
		{"long path shortened in the detail", ops(`{"op": "replace", "path": "` + strings.Repeat("a", 300) + ` b", "value": "x"}`),
			Error{"invalidPath", `Operations[0]: invalid path "` + strings.Repeat("a", 200) + `…": unexpected 'b' at offset 301`}},
		{"remove without a path", ops(`{"op": "Remove", "value": {"title": "x"}}`),
			Error{"invalidPath", `Operations[0]: remove needs a "path" naming what to remove`}},
		{"add without a value", ops(`{"op": "add", "path": "title"}`),
			Error{"invalidSyntax", `Operations[0]: add needs a "value"`}},
		{"replace without path or value", ops(`{"op": "replace"}`),
			Error{"invalidSyntax", `Operations[0]: replace needs a "value"`}},
		{"path-less replace with a string", ops(`{"op": "replace", "value": "x"}`),
			Error{"invalidSyntax", `Operations[0]: replace without a "path" needs an object "value" of attribute names and values, not string "x"`}},
		{"path-less add with null", ops(`{"op": "add", "value": null}`),
			Error{"invalidSyntax", `Operations[0]: add without a "path" needs an object "value" of attribute names and values, not null`}},
		{"value too deep", ops(`{"op": "add", "path": "x", "value": ` + nested(33) + `}`),
			Error{"invalidSyntax", `Operations[0]: "value" is nested deeper than 32 levels`}},
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range parseErrorTests() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(decode(t, tt.body))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse = %v, %v; want error %v", got, err, &tt.err)
			}
			if diff := cmp.Diff(&tt.err, pe); diff != "" {
				t.Errorf("Parse error (-want +got):\n%s", diff)
			}
			if got != nil {
				t.Errorf("Parse returned operations with an error")
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	t.Parallel()
	e := &Error{ScimType: "noTarget", Detail: "nothing there"}
	if got, want := e.Error(), "noTarget: nothing there"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
