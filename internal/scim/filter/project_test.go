package filter

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"rollcall/internal/scim/schema"
)

func TestProjection(t *testing.T) {
	t.Parallel()
	user, group := schema.User(), schema.Group()
	pop := users(t)
	bjensen := pop["bjensen"]
	// One of Microsoft's ComplexAttribute users.
	complex1 := stored(t, user, "complex1", readIdP(t, "ms-complex-user1.json"), "2026-11-23T09:00:00Z")
	grp := groups(t)["put"]

	const ent = schema.EnterpriseUserURN
	tests := []struct {
		name      string
		rs        *schema.ResourceSchema
		doc       map[string]any
		attrs     string
		excluded  string
		wantKeys  []string       // the top-level keys of the result, when want is nil
		want      map[string]any // the whole result
		wantOmits []string       // top-level keys that must be absent
	}{
		{name: "default drops password", rs: user, doc: bjensen,
			wantKeys: []string{"schemas", "id", "externalId", "userName", "name", "displayName", "nickName", "profileUrl", "emails",
				"addresses", "phoneNumbers", "ims", "userType", "title", "preferredLanguage", "locale", "timezone", "active",
				"groups", "x509Certificates", ent, schema.RollcallUserURN, "meta"}},
		{name: "attributes=userName", rs: user, doc: bjensen, attrs: "userName",
			want: map[string]any{"schemas": bjensen["schemas"], "id": "bjensen", "userName": "bjensen@example.com"}},
		{name: "attributes=userName,emails", rs: user, doc: bjensen, attrs: "userName,emails",
			wantKeys: []string{"schemas", "id", "userName", "emails"}},
		{name: "attributes are case-insensitive", rs: user, doc: bjensen, attrs: "USERNAME,Name.GivenName",
			want: map[string]any{"schemas": bjensen["schemas"], "id": "bjensen", "userName": "bjensen@example.com",
				"name": map[string]any{"givenName": "Barbara"}}},
		{name: "attributes=emails[type eq \"work\"]", rs: user, doc: complex1, attrs: `emails[type eq "work"]`,
			want: map[string]any{"schemas": complex1["schemas"], "id": "complex1",
				"emails": []any{map[string]any{"primary": true, "type": "work", "value": "emailName357"}}}},
		{name: "attributes=emails[value eq \"emailName357\"]", rs: user, doc: complex1, attrs: `emails[value eq "emailName357"]`,
			want: map[string]any{"schemas": complex1["schemas"], "id": "complex1",
				"emails": []any{map[string]any{"primary": true, "type": "work", "value": "emailName357"}}}},
		{name: "value filter with sub-attribute", rs: user, doc: bjensen, attrs: `emails[type eq "home"].value`,
			want: map[string]any{"schemas": bjensen["schemas"], "id": "bjensen",
				"emails": []any{map[string]any{"value": "babs@jensen.org"}}}},
		{name: "value filter matching nothing", rs: user, doc: bjensen, attrs: `emails[type eq "fax"]`,
			want: map[string]any{"schemas": bjensen["schemas"], "id": "bjensen"}},
		{name: "union of selections", rs: user, doc: bjensen, attrs: `emails.type,emails[type eq "home"]`,
			want: map[string]any{"schemas": bjensen["schemas"], "id": "bjensen",
				"emails": []any{map[string]any{"type": "work"}, map[string]any{"value": "babs@jensen.org", "type": "home"}}}},
		{name: "sub-attribute of multi-valued", rs: user, doc: bjensen, attrs: "emails.value",
			want: map[string]any{"schemas": bjensen["schemas"], "id": "bjensen",
				"emails": []any{map[string]any{"value": "bjensen@example.com"}, map[string]any{"value": "babs@jensen.org"}}}},
		{name: "password never returned", rs: user, doc: bjensen, attrs: "password,userName",
			wantKeys: []string{"schemas", "id", "userName"}},
		{name: "whole extension", rs: user, doc: bjensen, attrs: ent,
			want: map[string]any{"schemas": bjensen["schemas"], "id": "bjensen", ent: bjensen[ent]}},
		{name: "extension attribute qualified", rs: user, doc: bjensen, attrs: ent + ":manager.value",
			want: map[string]any{"schemas": bjensen["schemas"], "id": "bjensen",
				ent: map[string]any{"manager": map[string]any{"value": "26118915-6090-4610-87e4-49d8ca9f808d"}}}},
		{name: "extension attribute without URN", rs: user, doc: bjensen, attrs: "employeeNumber,ROLE",
			want: map[string]any{"schemas": bjensen["schemas"], "id": "bjensen",
				ent: map[string]any{"employeeNumber": "701984"}, schema.RollcallUserURN: map[string]any{"role": "admin"}}},
		{name: "unknown attributes ignored", rs: user, doc: bjensen, attrs: "nope,urn:example:x:2.0:User:y",
			want: map[string]any{"schemas": bjensen["schemas"], "id": "bjensen"}},
		{name: "meta sub-attribute", rs: user, doc: bjensen, attrs: "meta.created",
			want: map[string]any{"schemas": bjensen["schemas"], "id": "bjensen", "meta": map[string]any{"created": "2010-01-23T04:56:22Z"}}},
		{name: "excluded members", rs: group, doc: grp, excluded: "members",
			wantKeys: []string{"schemas", "id", "displayName", "meta"}},
		{name: "excluded cannot remove always", rs: user, doc: bjensen, excluded: "id,schemas,emails,name.familyName,nickName",
			wantOmits: []string{"emails", "nickName", "password"}},
		{name: "excluded value filter", rs: user, doc: bjensen, excluded: `emails[type eq "home"],phoneNumbers.value`,
			wantOmits: []string{"password"}},
		{name: "excluded whole extension", rs: user, doc: bjensen, excluded: ent,
			wantOmits: []string{ent, "password"}},
		{name: "attributes then excluded", rs: user, doc: bjensen, attrs: "name,emails", excluded: "name.familyName,emails[type eq \"work\"]",
			want: map[string]any{"schemas": bjensen["schemas"], "id": "bjensen",
				"name":   map[string]any{"formatted": "Ms. Barbara J Jensen, III", "givenName": "Barbara", "middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III"},
				"emails": []any{map[string]any{"value": "babs@jensen.org", "type": "home"}}}},
		{name: "group attributes=displayName", rs: group, doc: grp, attrs: "displayName",
			want: map[string]any{"schemas": grp["schemas"], "id": "put", "displayName": "putName"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			attrs, err := ParseAttributeList(tt.attrs)
			if err != nil {
				t.Fatal(err)
			}
			excluded, err := ParseAttributeList(tt.excluded)
			if err != nil {
				t.Fatal(err)
			}
			before := deepCopy(t, tt.doc)
			got, err := Project(tt.doc, tt.rs, attrs, excluded)
			if err != nil {
				t.Fatalf("Project: %v", err)
			}
			if !reflect.DeepEqual(before, tt.doc) {
				t.Error("Project modified its input")
			}
			switch {
			case tt.want != nil:
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("Project (-want +got):\n%s", diff)
				}
			case tt.wantKeys != nil:
				want := map[string]bool{}
				for _, k := range tt.wantKeys {
					want[k] = true
				}
				gotKeys := map[string]bool{}
				for k := range got {
					gotKeys[k] = true
				}
				if diff := cmp.Diff(want, gotKeys); diff != "" {
					t.Errorf("Project keys (-want +got):\n%s", diff)
				}
			}
			for _, k := range tt.wantOmits {
				if _, ok := got[k]; ok {
					t.Errorf("Project kept %q", k)
				}
			}
		})
	}
}

func TestProjectionExclusionDetails(t *testing.T) {
	t.Parallel()
	bjensen := users(t)["bjensen"]
	excluded, err := ParseAttributeList(`emails[type eq "home"],phoneNumbers.value,name.familyName,id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Project(bjensen, schema.User(), nil, excluded)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true}}, got["emails"]); diff != "" {
		t.Errorf("emails (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{map[string]any{"type": "work"}, map[string]any{"type": "mobile"}}, got["phoneNumbers"]); diff != "" {
		t.Errorf("phoneNumbers (-want +got):\n%s", diff)
	}
	if _, ok := got["name"].(map[string]any)["familyName"]; ok {
		t.Error("name.familyName kept")
	}
	if got["id"] != "bjensen" {
		t.Error("id excluded; it is returned always")
	}
}

func TestNewProjectionErrors(t *testing.T) {
	t.Parallel()
	attrs, err := ParseAttributeList(`emails[primary gt true]`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewProjection(schema.User(), attrs, nil); err == nil {
		t.Error("NewProjection accepted gt on a boolean")
	}
	if _, err := NewProjection(schema.User(), nil, attrs); err == nil {
		t.Error("NewProjection accepted gt on a boolean in excludedAttributes")
	}
}

func deepCopy(tb testing.TB, m map[string]any) map[string]any {
	tb.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return decodeJSON(tb, string(b))
}
