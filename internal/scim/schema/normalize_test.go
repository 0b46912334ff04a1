package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decode decodes a JSON object as a SCIM handler does.
func decode(tb testing.TB, s string) map[string]any {
	tb.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		tb.Fatalf("decode %s: %v", s, err)
	}
	return m
}

// numbersSchema is a User resource schema with an extension holding the
// types the standard schemas lack.
func numbersSchema(tb testing.TB) *ResourceSchema {
	tb.Helper()
	ext := &Schema{ID: "urn:example:numbers:2.0:User", Name: "Numbers", Attributes: []Attribute{
		attr("level", TypeInteger, "An integer."),
		attr("score", TypeDecimal, "A decimal."),
		attr("hired", TypeDateTime, "A dateTime."),
		attr("tags", TypeString, "A multi-valued string.", multiValued),
	}}
	rt := ResourceType{ID: "User", Name: "User", Endpoint: "/Users", Schema: UserURN,
		SchemaExtensions: []SchemaExtension{{Schema: ext.ID}}}
	rs, err := NewResourceSchema(rt, CoreUser(), ext)
	if err != nil {
		tb.Fatal(err)
	}
	return rs
}

const (
	ent      = EnterpriseUserURN
	rollcall = RollcallUserURN
)

// normalizeTest is a case of TestNormalize, also a seed of FuzzNormalize.
type normalizeTest struct {
	name string
	rs   *ResourceSchema
	opts NormalizeOptions
	in   string
	want string // canonical JSON; "" when an error is expected
	// Expected error: path, scimType and a part of the message.
	errPath, errType, errMsg string
}

func normalizeTests(tb testing.TB) []normalizeTest {
	keep := NormalizeOptions{KeepReadOnly: true}
	keepNull := NormalizeOptions{KeepNull: true}
	return []normalizeTest{
		{name: "canonical case at every level", in: `{"UserName":"bob","NAME":{"FamilyName":"Leenay","givenname":"Ryan"},
			"Emails":[{"Primary":true,"TYPE":"work","Value":"a@b.c"}],"DisplayName":"Bob"}`,
			want: `{"userName":"bob","name":{"familyName":"Leenay","givenName":"Ryan"},
			"emails":[{"primary":true,"type":"work","value":"a@b.c"}],"displayName":"Bob"}`},
		{name: "string booleans", in: `{"active":"True","emails":[{"value":"a","primary":"FALSE"},{"value":"b","primary":" true "}]}`,
			want: `{"active":true,"emails":[{"value":"a","primary":false},{"value":"b","primary":true}]}`},
		{name: "false string", in: `{"active":"false"}`, want: `{"active":false}`},
		{name: "nulls dropped", in: `{"userName":"a","title":null,"name":{"givenName":"G","honorificPrefix":null},
			"addresses":[{"country":null,"type":"other","primary":false},{"country":null,"locality":null},null],"phoneNumbers":null}`,
			want: `{"userName":"a","name":{"givenName":"G"},"addresses":[{"type":"other","primary":false}]}`},
		{name: "empty list kept", in: `{"roles":[],"emails":[]}`, want: `{"roles":[],"emails":[]}`},
		{name: "single value wrapped", in: `{"emails":{"value":"a@b.c","type":"work"},"schemas":"urn:ietf:params:scim:schemas:core:2.0:User"}`,
			want: `{"emails":[{"value":"a@b.c","type":"work"}],"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}`},
		{name: "schemas kept as given", in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0User","http://schemas.microsoft.com/x"]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0User","http://schemas.microsoft.com/x"]}`},
		{name: "unknown attributes and extensions dropped", in: `{"userName":"a","adreses":[{"country":"x"}],"name":{"nope":1,"givenName":"G"},
			"urn:example:unknown:2.0:User":{"x":1},"emails":[{"value":"v","bogus":true}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"nope":1}}`,
			want: `{"userName":"a","name":{"givenName":"G"},"emails":[{"value":"v"}]}`},
		{name: "readOnly dropped", in: `{"id":"x","userName":"a","meta":{"resourceType":"User","created":"2019-09-18T18:15:26.5788954+00:00"},
			"groups":[{"value":"g"}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m","displayName":"Boss"}}}`,
			want: `{"userName":"a","` + ent + `":{"manager":{"value":"m"}}}`},
		{name: "readOnly kept on request", opts: keep, in: `{"id":"x","meta":{"ResourceType":"User","created":"2019-09-18T18:15:26Z"},
			"groups":[{"value":"g","display":"G"}],"` + ent + `":{"manager":{"value":"m","displayName":"Boss"}}}`,
			want: `{"id":"x","meta":{"resourceType":"User","created":"2019-09-18T18:15:26Z"},
			"groups":[{"value":"g","display":"G"}],"` + ent + `":{"manager":{"value":"m","displayName":"Boss"}}}`},
		{name: "password kept", in: `{"password":"1mz050nq"}`, want: `{"password":"1mz050nq"}`},
		{name: "extension key and attributes in any case", in: `{"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER":{"Department":"bob","Manager":{"Value":"SuzzyQ"}}}`,
			want: `{"` + ent + `":{"department":"bob","manager":{"value":"SuzzyQ"}}}`},
		{name: "manager as a bare string", in: `{"` + ent + `":{"manager":"2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}}`,
			want: `{"` + ent + `":{"manager":{"value":"2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}}}`},
		{name: "empty manager string is unset", in: `{"` + ent + `":{"manager":"","department":"d"}}`,
			want: `{"` + ent + `":{"department":"d"}}`},
		{name: "empty extension dropped", in: `{"userName":"a","` + ent + `":{"manager":null}}`, want: `{"userName":"a"}`},
		{name: "dotted keys merge into objects", in: `{"name.givenName":"Kkom","name":{"familyName":"Unua"},"displayName":"Bjfe"}`,
			want: `{"name":{"givenName":"Kkom","familyName":"Unua"},"displayName":"Bjfe"}`},
		{name: "URN-qualified keys", in: `{"` + ent + `:employeeNumber":"Aklq","urn:ietf:params:scim:schemas:core:2.0:User:userName":"u",
			"` + ent + `:manager.value":"m","` + ent + `":{"department":"d"}}`,
			want: `{"userName":"u","` + ent + `":{"employeeNumber":"Aklq","department":"d","manager":{"value":"m"}}}`},
		{name: "dotted keys inside an extension", in: `{"` + ent + `":{"manager.value":"m"}}`,
			want: `{"` + ent + `":{"manager":{"value":"m"}}}`},
		{name: "extension attributes without URN", in: `{"employeeNumber":"7","department":"Ops","role":"admin","customRoleId":"r1"}`,
			want: `{"` + ent + `":{"employeeNumber":"7","department":"Ops"},"` + rollcall + `":{"role":"admin","customRoleId":"r1"}}`},
		{name: "group members", rs: Group(), in: `{"displayName":"G","members":[{"value":"u1","display":"VP"},{"Value":"u2","displayName":"new User"},{"value":"u3","$ref":null}]}`,
			want: `{"displayName":"G","members":[{"value":"u1","display":"VP"},{"value":"u2","display":"new User"},{"value":"u3"}]}`},
		{name: "group member as a bare string", rs: Group(), in: `{"members":"string id 1"}`,
			want: `{"members":[{"value":"string id 1"}]}`},
		{name: "group readOnly id", rs: Group(), in: `{"id":"abf4dd94","displayName":"Test SCIMv2"}`,
			want: `{"displayName":"Test SCIMv2"}`},
		{name: "numbers", rs: numbersSchema(tb), in: `{"urn:example:numbers:2.0:User":{"level":"42","score":-1.5e3,"hired":"2015-10-10T14:38:21.8617979-07:00","tags":"one"}}`,
			want: `{"urn:example:numbers:2.0:User":{"level":42,"score":-1.5e3,"hired":"2015-10-10T14:38:21.8617979-07:00","tags":["one"]}}`},
		{name: "keep null", opts: keepNull, in: `{"title":null,"name":{"middleName":null,"givenName":"G"},"` + ent + `":{"manager":null},"emails":null}`,
			want: `{"title":null,"name":{"middleName":null,"givenName":"G"},"` + ent + `":{"manager":null},"emails":null}`},
		{name: "keep null extension", opts: keepNull, in: `{"` + ent + `":null}`, want: `{"` + ent + `":null}`},

		{name: "number for a string", in: `{"userName":42}`, errPath: "userName", errType: "invalidValue", errMsg: "expected a string, got number 42"},
		{name: "maybe", in: `{"active":"maybe"}`, errPath: "active", errType: "invalidValue", errMsg: `expected a boolean, got string "maybe"`},
		{name: "boolean as number", in: `{"active":1}`, errPath: "active", errType: "invalidValue", errMsg: "expected a boolean"},
		{name: "string for multi-valued complex", in: `{"emails":"x"}`, errPath: "emails", errType: "invalidValue", errMsg: `expected an object or a list of them, got string "x"`},
		{name: "number in a list", in: `{"emails":[42]}`, errPath: "emails", errType: "invalidValue", errMsg: "got number 42"},
		{name: "nested list", in: `{"emails":[[{"value":"x"}]]}`, errPath: "emails", errType: "invalidValue", errMsg: "got a list"},
		{name: "sub-attribute type", in: `{"emails":[{"value":"x","primary":"yes"}]}`, errPath: "emails.primary", errType: "invalidValue"},
		{name: "complex as string", in: `{"name":"Bob"}`, errPath: "name", errType: "invalidValue", errMsg: `expected an object, got string "Bob"`},
		{name: "extension not an object", in: `{"` + ent + `":"x"}`, errPath: ent, errType: "invalidValue", errMsg: "expected an object"},
		{name: "extension attribute type", in: `{"` + ent + `":{"employeeNumber":12345}}`, errPath: ent + ":employeeNumber", errType: "invalidValue"},
		{name: "schemas of numbers", in: `{"schemas":[1]}`, errPath: "schemas", errType: "invalidValue"},
		{name: "attribute twice", in: `{"userName":"a","USERNAME":"b"}`, errPath: "userName", errType: "invalidValue", errMsg: "more than once"},
		{name: "sub-attribute twice", in: `{"name":{"givenName":"a","GivenName":"b"}}`, errPath: "name.givenName", errType: "invalidValue", errMsg: "more than once"},
		{name: "dotted key clashes", in: `{"name":{"givenName":"a"},"name.givenName":"b"}`, errPath: "name.givenName", errType: "invalidValue", errMsg: "more than once"},
		{name: "dotted key under a string", in: `{"name":"x","name.givenName":"b"}`, errPath: "name", errType: "invalidValue"},
		{name: "dotted multi-valued", in: `{"emails.value":"a@b.c"}`, errPath: "emails.value", errType: "invalidValue", errMsg: "cannot be set on its own"},
		{name: "qualified and unqualified", in: `{"employeeNumber":"1","` + ent + `":{"employeeNumber":"2"}}`, errPath: ent + ":employeeNumber", errType: "invalidValue"},
		{name: "bad dateTime", opts: keep, in: `{"meta":{"created":"yesterday"}}`, errPath: "meta.created", errType: "invalidValue", errMsg: "is not a dateTime"},
		{name: "integer with a fraction", rs: numbersSchema(tb), in: `{"urn:example:numbers:2.0:User":{"level":4.5}}`, errPath: "urn:example:numbers:2.0:User:level", errType: "invalidValue"},
		{name: "decimal as word", rs: numbersSchema(tb), in: `{"urn:example:numbers:2.0:User":{"score":"NaN"}}`, errPath: "urn:example:numbers:2.0:User:score", errType: "invalidValue"},
		{name: "too deep", in: `{"x":` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + `}`, errPath: "", errType: "invalidSyntax", errMsg: "deeper than 32"},
		{name: "deep but not too deep", in: `{"x":` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + `}`, want: `{}`},
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	for _, tt := range normalizeTests(t) {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := tt.rs
			if rs == nil {
				rs = User()
			}
			in := decode(t, tt.in)
			before := decode(t, tt.in)
			got, err := rs.Normalize(in, tt.opts)
			// reflect, not cmp: cmp's diff of deeply nested lists is
			// exponential.
			if !reflect.DeepEqual(before, in) {
				t.Errorf("Normalize modified its input")
			}
			if tt.want == "" {
				var ve *ValueError
				if !errors.As(err, &ve) {
					t.Fatalf("Normalize(%s) = %v, %v; want a *ValueError", tt.in, got, err)
				}
				if ve.Path != tt.errPath || ve.ScimType() != tt.errType || !strings.Contains(ve.Error(), tt.errMsg) {
					t.Errorf("Normalize(%s) error = %q (path %q, %s), want path %q, %s, containing %q",
						tt.in, ve, ve.Path, ve.ScimType(), tt.errPath, tt.errType, tt.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize(%s): %v", tt.in, err)
			}
			if diff := cmp.Diff(decode(t, tt.want), got); diff != "" {
				t.Errorf("Normalize(%s) (-want +got):\n%s", tt.in, diff)
			}
			// A canonical document is its own normal form.
			again, err := rs.Normalize(got, tt.opts)
			if err != nil {
				t.Fatalf("Normalize(Normalize(%s)): %v", tt.in, err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("Normalize is not idempotent (-once +twice):\n%s", diff)
			}
		})
	}
}

func TestNormalizeValue(t *testing.T) {
	t.Parallel()
	user, group := User(), Group()
	tests := []struct {
		name    string
		rs      *ResourceSchema
		path    string
		element bool
		opts    NormalizeOptions
		in      string // JSON
		want    string // JSON; "" for an error
		wantErr string
	}{
		{name: "Entra manager string", rs: user, path: ent + ":manager", in: `"2c2f6fb8"`, want: `{"value":"2c2f6fb8"}`},
		{name: "manager without URN", rs: user, path: "manager", in: `[{"$ref":"http://x/Users/00aa","value":"00aa"}]`, wantErr: "expected an object"},
		{name: "manager object", rs: user, path: "manager", in: `{"$ref":"http://x/Users/00aa","Value":"00aa"}`, want: `{"$ref":"http://x/Users/00aa","value":"00aa"}`},
		{name: "active False", rs: user, path: "active", in: `"False"`, want: `false`},
		{name: "userName", rs: user, path: "userName", in: `"ryan3"`, want: `"ryan3"`},
		{name: "members list", rs: group, path: "members", in: `[{"$ref":null,"value":"f648f8d5"}]`, want: `[{"value":"f648f8d5"}]`},
		{name: "members bare string", rs: group, path: "members", in: `"string id 1"`, want: `[{"value":"string id 1"}]`},
		{name: "members empty", rs: group, path: "members", in: `[]`, want: `[]`},
		{name: "one email", rs: user, path: "emails", element: true, in: `{"Value":"a@b.c","Primary":"true"}`, want: `{"value":"a@b.c","primary":true}`},
		{name: "email value", rs: user, path: "emails.value", in: `"updatedEmail@microsoft.com"`, want: `"updatedEmail@microsoft.com"`},
		{name: "whole extension", rs: user, path: ent, in: `{"Department":"d","employeeNumber":null}`, want: `{"department":"d"}`},
		{name: "whole extension keep null", rs: user, path: ent, opts: NormalizeOptions{KeepNull: true}, in: `{"Department":"d","employeeNumber":null}`, want: `{"department":"d","employeeNumber":null}`},
		{name: "null", rs: user, path: "title", in: `null`, want: `null`},
		{name: "bad", rs: user, path: "active", in: `"maybe"`, wantErr: `active: expected a boolean, got string "maybe"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ref, err := tt.rs.Resolve(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			in := decode(t, `{"v":`+tt.in+`}`)["v"]
			var got any
			if tt.element {
				got, err = tt.rs.NormalizeElement(ref, in, tt.opts)
			} else {
				got, err = tt.rs.NormalizeValue(ref, in, tt.opts)
			}
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NormalizeValue(%s, %s) = %v, %v; want error containing %q", tt.path, tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormalizeValue(%s, %s): %v", tt.path, tt.in, err)
			}
			if diff := cmp.Diff(decode(t, `{"v":`+tt.want+`}`)["v"], got); diff != "" {
				t.Errorf("NormalizeValue(%s, %s) (-want +got):\n%s", tt.path, tt.in, diff)
			}
		})
	}
}

// idpSchema picks the resource schema an IdP body in testdata is for.
func idpSchema(name string) *ResourceSchema {
	if strings.Contains(name, "group") {
		return Group()
	}
	return User()
}

// TestNormalizeIdPBodies normalizes every body in testdata/idp: none may
// fail, the results are kept as golden files, and the facts the IdPs'
// tests check are asserted.
func TestNormalizeIdPBodies(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "idp", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no IdP bodies: %v", err)
	}
	results := map[string]map[string]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		got, err := idpSchema(name).Normalize(decode(t, string(b)), NormalizeOptions{})
		if err != nil {
			t.Errorf("Normalize(%s): %v", name, err)
			continue
		}
		results[name] = got
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(got); err != nil {
			t.Fatal(err)
		}
		golden(t, filepath.Join("normalized", name), out.Bytes())
	}

	check := func(file, path string, want any) {
		t.Helper()
		doc, ok := results[file]
		if !ok {
			return // already reported
		}
		ref, err := idpSchema(file).Resolve(path)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := ref.Value(doc)
		if ref.Sub != nil {
			got = subValues(got, ref.Sub.Name)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: %s (-want +got):\n%s", file, path, diff)
		}
	}
	check("ms-garbage-emp1.json", "active", true)
	check("ms-user-bob.json", "emails.primary", []any{true, false})
	check("ms-user-enterprise-manager.json", ent+":manager", map[string]any{"value": "SuzzyQ"})
	check("ms-user-enterprise-manager.json", ent+":department", "bob")
	check("ms-garbage-put-misspelled.json", "addresses", nil)
	check("ms-garbage-put-misspelled.json", "id", nil)
	check("ms-garbage-omalley.json", "meta", nil)
	check("ms-garbage-omalley.json", "addresses.primary", []any{false, false})
	check("ms-garbage-omalley.json", "name.honorificPrefix", nil)
	check("ms-group-filled.json", "members", []any{map[string]any{"value": "id-3", "display": "VP"}})
	check("okta-create-user.json", "password", "1mz050nq")
	check("okta-create-user.json", "groups", nil)
	check("okta-put-user.json", "emails.display", []any{"test.user@okta.local"})
	check("okta-patch-group-value.json", "id", nil)
	check("okta-patch-group-value.json", "displayName", "Test SCIMv2")
	check("entra-create-user.json", "roles", []any{})
	check("entra-create-user-nulls.json", "title", nil)
	check("entra-create-user-nulls.json", "schemas", []any{UserURN, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"})
	check("entra-create-group.json", "schemas", []any{GroupURN, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"})
	check("entra-patch-value.json", "name", map[string]any{"givenName": "Kkom", "familyName": "Unua"})
	check("entra-patch-value.json", "employeeNumber", "Aklq")
}

// subValues picks the sub-attribute name out of a complex value or list.
func subValues(v any, name string) any {
	switch x := v.(type) {
	case map[string]any:
		return x[name]
	case []any:
		var out []any
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m[name])
			}
		}
		return out
	}
	return nil
}
