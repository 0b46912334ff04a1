package patch

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"rollcall/internal/scim/filter"
	"rollcall/internal/scim/schema"
)

// userTargets are the paths random operations on a User use, each with values
// that suit it, so that most sequences succeed and reach every branch of
// Apply, where byte-level fuzzing seldom gets. One operation in eight
// takes any value.
type randomTarget struct {
	path   string
	values []string
}

var userTargets = []randomTarget{
	{"", []string{
		`{"active": false, "name.givenName": "Kkom", "role": "admin", "id": "x", "emails": [{"value": "c@example.com", "primary": true}]}`,
		`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7"}, "displayName": null}`,
		`{"emails": [{"value": "a@example.com", "type": "home", "primary": "True"}], "name": {"familyName": null}}`,
		`{"employeeNumber": "8", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "boss"}`,
	}},
	{"emails", []string{`[{"value": "a@example.com", "type": "work", "primary": "true"}, {"value": "b@example.com", "primary": true}]`,
		`[{"value": "A@example.com"}, {"value": null, "type": "other"}]`, `{"value": "a@example.com", "type": "home", "primary": true}`,
		`{"value": "test.user@okta.local", "display": "Work"}`, `[]`, `null`}},
	{`emails[type eq "work"]`, []string{`{"value": "w@example.com", "type": "work", "primary": true}`, `{"display": "W"}`, `null`}},
	{`emails[type eq "work"].value`, []string{`"a@example.com"`, `"w@example.com"`, `null`}},
	{`emails[type eq "home"].primary`, []string{`true`, `"False"`, `null`}},
	{`emails[value eq "a@example.com"]`, []string{`{"value": "a@example.com", "type": "home"}`, `{"primary": true}`}},
	{`emails[value eq "A@example.com" and type eq "home"].display`, []string{`"Home"`, `null`}},
	{"emails.value", []string{`"x@example.com"`}},
	{"emails.primary", []string{`true`, `false`}},
	{`emails[type eq "work" or primary eq true]`, []string{`{"value": "p@example.com"}`, `null`}},
	{`emails[not (type pr)].type`, []string{`"other"`}},
	{"phoneNumbers", []string{`[{"value": "tel:+1-201-555-0123", "type": "work", "primary": true}]`, `"tel:+1-201-555-0199"`}},
	{`phoneNumbers[type eq "mobile"].value`, []string{`"tel:+1-201-555-0100"`}},
	{"roles", []string{`[{"Value": "admin", "Display": "Admin"}]`, `[{"value": "ADMIN", "primary": true}, {"value": "viewer"}]`}},
	{`roles[value eq "admin"]`, []string{`{"value": "admin", "type": "app"}`, `null`}},
	{"addresses", []string{`[{"streetAddress": "1 Main St", "type": "home"}, {"streetAddress": "1 main st", "type": "home", "primary": true}]`, `{"locality": "Hollywood", "type": "home"}`}},
	{`addresses[type eq "home"].locality`, []string{`"Springfield"`, `null`}},
	{`addresses[type eq "home"]`, []string{`{"locality": "Springfield", "type": "home"}`, `{"primary": true}`}},
	{"name", []string{`{"givenName": "Babs", "familyName": null}`, `{"middleName": "Jane"}`, `null`}},
	{"name.givenName", []string{`"Barbara"`, `null`}},
	{"name.familyName", []string{`"Jensen"`}},
	{"displayName", []string{`"Babs"`, `null`}},
	{"userName", []string{`"bjensen"`, `" "`, `null`}},
	{"active", []string{`"True"`, `false`, `true`}},
	{"nickName", []string{`"Babs"`}},
	{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", []string{`{"manager": "boss", "department": "R&D"}`, `{"department": null}`, `null`}},
	{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", []string{`"boss"`, `{"value": "old-boss", "displayName": "ignored"}`, `[{"value": "new-boss"}]`, `null`}},
	{"manager.value", []string{`"boss2"`}},
	{"employeeNumber", []string{`"701984"`}},
	{"role", []string{`"admin"`, `null`}},
	{"urn:ietf:params:scim:schemas:extension:rollcall:2.0:User", []string{`{"role": "guest", "customRoleName": "Auditor"}`}},
	{"password", []string{`"secret"`}},
	{"id", []string{`"x"`}},
	{"groups", []string{`[{"value": "g"}]`}},
	{"meta.created", []string{`"2020-01-01T00:00:00Z"`}},
}

// groupTargets are the paths random operations on a Group use. The SCIM
// handler takes member operations out of the request, but Apply must still
// handle them.
var groupTargets = []randomTarget{
	{"", []string{`{"id": "x", "displayName": "Renamed"}`, `{"members": [{"value": "u1", "display": "One"}], "externalId": "e"}`, `{"displayName": null}`}},
	{"displayName", []string{`"Tour Guides"`, `null`, `""`}},
	{"externalId", []string{`"8aa1a0c0"`, `null`}},
	{"members", []string{`[{"value": "u1", "display": "One"}, {"value": "U1", "displayName": "One again"}]`, `"u2"`, `[{"$ref": null, "value": "23a35c27-23d3-4c03-b4c5-6443c09e7173"}]`, `[]`}},
	{`members[value eq "u1"]`, []string{`{"value": "u1", "display": "Uno"}`, `null`}},
	{`members[value eq "u2"].display`, []string{`"Two"`, `null`}},
	{`members[type eq "User"]`, []string{`{"value": "u3", "type": "User"}`}},
	{"members.display", []string{`"Everyone"`}},
}

// randomOperation builds one operation from targets, or reports false
// when Parse would reject the combination.
func randomOperation(tb testing.TB, r *rand.Rand, targets []randomTarget) (Operation, bool) {
	op := []Op{OpAdd, OpReplace, OpRemove}[r.IntN(3)]
	target := targets[r.IntN(len(targets))]
	var o Operation
	o.Op = op
	if target.path != "" {
		pe, err := filter.ParsePath(target.path)
		if err != nil {
			tb.Fatalf("ParsePath(%q): %v", target.path, err)
		}
		o.Path = &pe
	}
	if op != OpRemove || r.IntN(3) == 0 {
		values := target.values
		if r.IntN(8) == 0 {
			other := targets[r.IntN(len(targets))]
			values = other.values
		}
		o.Value = decode(tb, `{"v": `+values[r.IntN(len(values))]+`}`)["v"]
	}
	if o.Path == nil && op == OpRemove {
		return Operation{}, false
	}
	if _, ok := o.Value.(map[string]any); o.Path == nil && !ok {
		return Operation{}, false
	}
	return o, true
}

// TestApplyRandom applies random sequences of operations and checks what
// FuzzApply checks: Apply fails only with an *Error, leaves its input
// alone, returns a canonical document with no empty values, and gives the
// same document as the operations applied one request at a time.
func TestApplyRandom(t *testing.T) {
	t.Parallel()
	n := 5000
	if testing.Short() {
		n = 500
	}
	user := overlay(t, decode(t, userJSON), `{`+twoEmails+`, "addresses": [{"type": "home", "locality": "Hollywood"}], `+oldManager+`}`)
	tests := []struct {
		name    string
		rs      *schema.ResourceSchema
		start   map[string]any
		targets []randomTarget
	}{
		{"User", schema.User(), user, userTargets},
		{"Group", schema.Group(), decode(t, groupJSON), groupTargets},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(7, uint64(i)))
			for range n {
				var ops []Operation
				for range 1 + r.IntN(5) {
					if op, ok := randomOperation(t, r, tt.targets); ok {
						ops = append(ops, op)
					}
				}
				checkRandom(t, tt.rs, tt.start, ops)
			}
		})
	}
}

// checkRandom applies ops to start and checks the properties
// TestApplyRandom lists.
func checkRandom(t *testing.T, rs *schema.ResourceSchema, start map[string]any, ops []Operation) {
	t.Helper()
	before := deepCopy(start)
	got, err := Apply(start, rs, ops)
	if !reflect.DeepEqual(before, start) {
		t.Fatalf("Apply(%s) changed its input", describeOps(ops))
	}
	if err != nil {
		var pe *Error
		if !errors.As(err, &pe) {
			t.Fatalf("Apply(%s) = %v, want a *patch.Error", describeOps(ops), err)
		}
		return
	}
	checkCanonical(t, rs, got)
	seq, err := Apply(start, rs, nil)
	if err != nil {
		t.Fatalf("Apply(no operations): %v", err)
	}
	for _, op := range ops {
		if seq, err = Apply(seq, rs, []Operation{op}); err != nil {
			return
		}
	}
	if !reflect.DeepEqual(sortSchemas(got), sortSchemas(seq)) {
		t.Fatalf("Apply(%s) at once and one by one differ:\nat once    %v\none by one %v", describeOps(ops), got, seq)
	}
}

func describeOps(ops []Operation) string {
	s := ""
	for _, op := range ops {
		p := "<none>"
		if op.Path != nil {
			p = op.Path.String()
		}
		s += string(op.Op) + " " + p + " " + schema.Describe(op.Value) + "; "
	}
	return s
}
