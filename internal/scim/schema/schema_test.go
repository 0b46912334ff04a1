package schema

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		tb.Errorf("%s mismatch (-want +got, go test -update to accept):\n%s", path, diff)
	}
}

func marshalIndent(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return append(b, '\n')
}

// toMap round-trips v through JSON, to compare representations as clients
// see them.
func toMap(tb testing.TB, v any) map[string]any {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatal(err)
	}
	return m
}

func TestSchemaRepresentationGolden(t *testing.T) {
	t.Parallel()
	var reps []SchemaRepresentation
	for _, rs := range []*ResourceSchema{User(), Group()} {
		for _, s := range rs.Schemas() {
			reps = append(reps, s.Representation("https://rollcall.example/scim/v2/acme/"))
		}
	}
	golden(t, "schemas.golden.json", marshalIndent(t, reps))

	var rts []ResourceTypeRepresentation
	for _, rs := range []*ResourceSchema{User(), Group()} {
		rts = append(rts, rs.ResourceType().Representation("https://rollcall.example/scim/v2/acme"))
	}
	golden(t, "resourcetypes.golden.json", marshalIndent(t, rts))
}

func TestUserSchemaRepresentation(t *testing.T) {
	t.Parallel()
	got := toMap(t, CoreUser().Representation("https://example.com/v2"))
	if got["description"] != "User Account" {
		t.Errorf(`description = %v, want "User Account" (Microsoft's collection checks it)`, got["description"])
	}
	if diff := cmp.Diff([]any{SchemaURN}, got["schemas"]); diff != "" {
		t.Errorf("schemas (-want +got):\n%s", diff)
	}
	wantMeta := map[string]any{
		"resourceType": "Schema",
		"location":     "https://example.com/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
	}
	if diff := cmp.Diff(wantMeta, got["meta"]); diff != "" {
		t.Errorf("meta (-want +got):\n%s", diff)
	}
	var names []string
	for _, a := range got["attributes"].([]any) {
		names = append(names, a.(map[string]any)["name"].(string))
	}
	wantNames := []string{"userName", "name", "displayName", "nickName", "profileUrl", "title", "userType",
		"preferredLanguage", "locale", "timezone", "active", "password", "emails", "phoneNumbers", "ims",
		"photos", "addresses", "groups", "entitlements", "roles", "x509Certificates"}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("attribute names (-want +got):\n%s", diff)
	}
	// One attribute in full, as RFC 7643 §8.7.1 gives it (plus caseExact
	// and uniqueness, which Rollcall always states).
	wantEmailsType := map[string]any{
		"name":            "type",
		"type":            "string",
		"multiValued":     false,
		"description":     "A label indicating the attribute's function, e.g., 'work' or 'home'.",
		"required":        false,
		"caseExact":       false,
		"canonicalValues": []any{"work", "home", "other"},
		"mutability":      "readWrite",
		"returned":        "default",
		"uniqueness":      "none",
	}
	emails := got["attributes"].([]any)[12].(map[string]any)
	if diff := cmp.Diff(wantEmailsType, emails["subAttributes"].([]any)[2]); diff != "" {
		t.Errorf("emails.type (-want +got):\n%s", diff)
	}
	if _, ok := got["attributes"].([]any)[0].(map[string]any)["subAttributes"]; ok {
		t.Error("userName has subAttributes; want none for a simple attribute")
	}
}

func TestResourceTypeRepresentation(t *testing.T) {
	t.Parallel()
	got := toMap(t, User().ResourceType().Representation("https://example.com/v2/"))
	want := map[string]any{
		"schemas":     []any{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"},
		"id":          "User",
		"name":        "User",
		"endpoint":    "/Users",
		"description": "User Account",
		"schema":      "urn:ietf:params:scim:schemas:core:2.0:User",
		"schemaExtensions": []any{
			map[string]any{"schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "required": false},
			map[string]any{"schema": "urn:ietf:params:scim:schemas:extension:rollcall:2.0:User", "required": false},
		},
		"meta": map[string]any{
			"location":     "https://example.com/v2/ResourceTypes/User",
			"resourceType": "ResourceType",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("User resource type (-want +got):\n%s", diff)
	}
	got = toMap(t, Group().ResourceType().Representation("https://example.com/v2"))
	if _, ok := got["schemaExtensions"]; ok {
		t.Error("Group resource type has schemaExtensions; want none")
	}
	if got["endpoint"] != "/Groups" || got["schema"] != GroupURN {
		t.Errorf("Group resource type = %v", got)
	}
}

// TestCharacteristics checks the RFC 7643 characteristics that handlers,
// the filter evaluator and projections depend on.
func TestCharacteristics(t *testing.T) {
	t.Parallel()
	type char struct {
		typ        Type
		multi      bool
		required   bool
		caseExact  bool
		mutability Mutability
		returned   Returned
		uniqueness Uniqueness
	}
	rw := func(t Type) char {
		return char{typ: t, mutability: ReadWrite, returned: ReturnedDefault, uniqueness: UniquenessNone}
	}
	tests := []struct {
		rs   *ResourceSchema
		path string
		want char
	}{
		{User(), "id", char{TypeString, false, false, true, ReadOnly, ReturnedAlways, UniquenessServer}},
		{User(), "externalId", char{TypeString, false, false, true, ReadWrite, ReturnedDefault, UniquenessNone}},
		{User(), "schemas", char{TypeReference, true, false, false, ReadWrite, ReturnedAlways, UniquenessNone}},
		{User(), "meta", char{TypeComplex, false, false, false, ReadOnly, ReturnedDefault, UniquenessNone}},
		{User(), "meta.created", char{TypeDateTime, false, false, false, ReadOnly, ReturnedDefault, UniquenessNone}},
		{User(), "meta.version", char{TypeString, false, false, true, ReadOnly, ReturnedDefault, UniquenessNone}},
		{User(), "userName", char{TypeString, false, true, false, ReadWrite, ReturnedDefault, UniquenessServer}},
		{User(), "name.familyName", rw(TypeString)},
		{User(), "active", rw(TypeBoolean)},
		{User(), "profileUrl", rw(TypeReference)},
		{User(), "password", char{TypeString, false, false, false, WriteOnly, ReturnedNever, UniquenessNone}},
		{User(), "emails", char{TypeComplex, true, false, false, ReadWrite, ReturnedDefault, UniquenessNone}},
		{User(), "emails.primary", rw(TypeBoolean)},
		{User(), "addresses.primary", rw(TypeBoolean)},
		{User(), "groups", char{TypeComplex, true, false, false, ReadOnly, ReturnedDefault, UniquenessNone}},
		{User(), "groups.$ref", char{TypeReference, false, false, false, ReadOnly, ReturnedDefault, UniquenessNone}},
		{User(), "x509Certificates.value", rw(TypeBinary)},
		{User(), "photos.value", rw(TypeReference)},
		{User(), "employeeNumber", rw(TypeString)},
		{User(), "manager.displayName", char{TypeString, false, false, false, ReadOnly, ReturnedDefault, UniquenessNone}},
		{User(), "role", rw(TypeString)},
		{User(), "customRoleId", char{TypeString, false, false, true, ReadWrite, ReturnedDefault, UniquenessNone}},
		{Group(), "displayName", rw(TypeString)},
		{Group(), "members", char{TypeComplex, true, false, false, ReadWrite, ReturnedDefault, UniquenessNone}},
		{Group(), "members.value", char{TypeString, false, false, false, Immutable, ReturnedDefault, UniquenessNone}},
		{Group(), "members.display", char{TypeString, false, false, false, Immutable, ReturnedDefault, UniquenessNone}},
	}
	for _, tt := range tests {
		ref, err := tt.rs.Resolve(tt.path)
		if err != nil {
			t.Errorf("Resolve(%q): %v", tt.path, err)
			continue
		}
		a := ref.Def()
		got := char{a.Type, a.MultiValued, a.Required, a.CaseExact, a.Mutability, a.Returned, a.Uniqueness}
		if got != tt.want {
			t.Errorf("%s = %+v, want %+v", tt.path, got, tt.want)
		}
	}
	if got := RollcallUser().Attribute("role").CanonicalValues; !cmp.Equal(got, []string{"owner", "admin", "member", "guest"}) {
		t.Errorf("role canonical values = %v", got)
	}
	if d := RollcallUser().Attribute("role").Description; !strings.Contains(d, "'owner' role is read-only over SCIM") {
		t.Errorf("role description %q does not say owner is read-only", d)
	}
}

// TestDefinitionsAreFresh checks that callers cannot disturb one another
// through the definitions.
func TestDefinitionsAreFresh(t *testing.T) {
	t.Parallel()
	a := CoreUser()
	a.Attributes[0].Name = "changed"
	if CoreUser().Attributes[0].Name != "userName" {
		t.Error("CoreUser returned shared state")
	}
	u := User()
	u.Core().Attributes[0].Description = "changed"
	if User().Core().Attributes[0].Description == "changed" {
		t.Error("User returned shared state")
	}
}

// TestDefinitionsWellFormed checks every attribute of every schema for
// the invariants of RFC 7643 §2 and §7.
func TestDefinitionsWellFormed(t *testing.T) {
	t.Parallel()
	var check func(path string, a *Attribute, depth int)
	check = func(path string, a *Attribute, depth int) {
		switch {
		case a.Name == "" || a.Description == "":
			t.Errorf("%s: name or description missing", path)
		case a.Mutability == "" || a.Returned == "" || a.Uniqueness == "":
			t.Errorf("%s: characteristics missing", path)
		case a.Type == TypeComplex && len(a.SubAttributes) == 0:
			t.Errorf("%s: complex without sub-attributes", path)
		case a.Type != TypeComplex && len(a.SubAttributes) > 0:
			t.Errorf("%s: sub-attributes on a %s", path, a.Type)
		case a.Type == TypeReference && len(a.ReferenceTypes) == 0:
			t.Errorf("%s: reference without referenceTypes", path)
		case depth > 1 && a.Type == TypeComplex:
			t.Errorf("%s: complex sub-attribute (RFC 7643 §2.3.8 forbids)", path)
		}
		for i := range a.SubAttributes {
			check(path+"."+a.SubAttributes[i].Name, &a.SubAttributes[i], depth+1)
		}
	}
	for _, rs := range []*ResourceSchema{User(), Group()} {
		for _, s := range rs.Schemas() {
			for i := range s.Attributes {
				check(s.ID+":"+s.Attributes[i].Name, &s.Attributes[i], 1)
			}
		}
		for i, a := range rs.CommonAttributes() {
			check(a.Name, &rs.CommonAttributes()[i], 1)
		}
	}
}

func TestNewResourceSchema(t *testing.T) {
	t.Parallel()
	rt := User().ResourceType()
	tests := []struct {
		name    string
		rt      ResourceType
		core    *Schema
		exts    []*Schema
		wantErr string
	}{
		{"ok", rt, CoreUser(), []*Schema{EnterpriseUser(), RollcallUser()}, ""},
		{"nil core", rt, nil, []*Schema{EnterpriseUser(), RollcallUser()}, "core schema does not match"},
		{"wrong core", rt, CoreGroup(), []*Schema{EnterpriseUser(), RollcallUser()}, "core schema does not match"},
		{"missing extension", rt, CoreUser(), []*Schema{EnterpriseUser()}, "1 extensions given, resource type lists 2"},
		{"swapped extensions", rt, CoreUser(), []*Schema{RollcallUser(), EnterpriseUser()}, "extension 0 does not match"},
		{"duplicate", ResourceType{ID: "X", Schema: UserURN, SchemaExtensions: []SchemaExtension{{Schema: UserURN}}},
			CoreUser(), []*Schema{CoreUser()}, "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs, err := NewResourceSchema(tt.rt, tt.core, tt.exts...)
			if tt.wantErr == "" {
				if err != nil || rs == nil {
					t.Fatalf("NewResourceSchema: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewResourceSchema error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseDateTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // RFC 3339 in UTC, "" for an error
	}{
		{"2015-10-10T14:38:21.8617979-07:00", "2015-10-10T21:38:21.8617979Z"},
		{"2011-05-13T04:42:34Z", "2011-05-13T04:42:34Z"},
		{"2019-09-18T18:15:26.5788954+00:00", "2019-09-18T18:15:26.5788954Z"},
		{"2011-05-13T04:42:34", "2011-05-13T04:42:34Z"},
		{"2011-05-13", "2011-05-13T00:00:00Z"},
		{"13/05/2011", ""},
		{"", ""},
		{"2011-05-13T25:00:00Z", ""},
	}
	for _, tt := range tests {
		got, err := ParseDateTime(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseDateTime(%q) = %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseDateTime(%q): %v", tt.in, err)
			continue
		}
		if s := got.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"); s != tt.want {
			t.Errorf("ParseDateTime(%q) = %s, want %s", tt.in, s, tt.want)
		}
	}
}

func TestIsNumber(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"0": true, "-1": true, "42": true, "-1.5e3": true, "1E+9": true, "0.5": true,
		"": false, "-": false, "01": false, "1.": false, ".5": false, "1e": false, "+1": false,
		"NaN": false, "Inf": false, "0x10": false, "1_000": false, "2015-10-10": false,
	} {
		if got := IsNumber(s); got != want {
			t.Errorf("IsNumber(%q) = %v, want %v", s, got, want)
		}
	}
}
