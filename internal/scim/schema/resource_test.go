package schema

import (
	"errors"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	tests := []struct {
		rs      *ResourceSchema
		path    string
		want    string // canonical path; "" when an error is expected
		wantErr string
	}{
		{User(), "userName", "userName", ""},
		{User(), "USERNAME", "userName", ""},
		{User(), "username", "userName", ""},
		{User(), "name.FamilyName", "name.familyName", ""},
		{User(), "NAME.givenname", "name.givenName", ""},
		{User(), "emails.value", "emails.value", ""},
		{User(), "emails.Primary", "emails.primary", ""},
		{User(), "id", "id", ""},
		{User(), "ID", "id", ""},
		{User(), "externalId", "externalId", ""},
		{User(), "meta.Created", "meta.created", ""},
		{User(), "meta.lastModified", "meta.lastModified", ""},
		{User(), "schemas", "schemas", ""},
		{User(), "groups.$ref", "groups.$ref", ""},
		{User(), "urn:ietf:params:scim:schemas:core:2.0:User:userName", "userName", ""},
		{User(), "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:name.givenName", "name.givenName", ""},
		{User(), "urn:ietf:params:scim:schemas:core:2.0:User:id", "id", ""},
		{User(), ent + ":manager.value", ent + ":manager.value", ""},
		{User(), ent + ":Manager.Value", ent + ":manager.value", ""},
		{User(), strings.ToLower(ent) + ":employeeNumber", ent + ":employeeNumber", ""},
		{User(), ent + ":employeeNumber", ent + ":employeeNumber", ""},
		// Extension attributes without their URN resolve when unambiguous.
		{User(), "employeeNumber", ent + ":employeeNumber", ""},
		{User(), "department", ent + ":department", ""},
		{User(), "manager", ent + ":manager", ""},
		{User(), "manager.value", ent + ":manager.value", ""},
		{User(), "role", RollcallUserURN + ":role", ""},
		{User(), "customRoleName", RollcallUserURN + ":customRoleName", ""},
		// A whole extension.
		{User(), ent, ent, ""},
		{User(), strings.ToUpper(ent), ent, ""},
		{Group(), "members.value", "members.value", ""},
		{Group(), "members.displayName", "members.display", ""}, // Microsoft's spelling
		{Group(), "displayName", "displayName", ""},

		{User(), "nope", "", `unknown attribute "nope"`},
		{User(), "name.nope", "", `name has no sub-attribute "nope"`},
		{User(), "userName.x", "", "userName has no sub-attributes"},
		{User(), "name.givenName.x", "", "unknown attribute"},
		{User(), "urn:ietf:params:scim:schemas:core:2.0:User:employeeNumber", "", "unknown attribute"},
		{User(), ent + ":userName", "", "unknown attribute"},
		{User(), "urn:example:unknown:2.0:User:x", "", "unknown attribute"},
		{User(), "", "", "unknown attribute"},
		{User(), "members", "", "unknown attribute"},
		{Group(), "userName", "", "unknown attribute"},
		{Group(), "employeeNumber", "", "unknown attribute"},
		{Group(), ent + ":employeeNumber", "", "unknown attribute"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			ref, err := tt.rs.Resolve(tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve(%q) error = %v, want it to contain %q", tt.path, err, tt.wantErr)
				}
				if !errors.Is(err, ErrUnknownAttribute) {
					t.Errorf("Resolve(%q) error does not wrap ErrUnknownAttribute", tt.path)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.path, err)
			}
			if got := ref.String(); got != tt.want {
				t.Errorf("Resolve(%q) = %s, want %s", tt.path, got, tt.want)
			}
		})
	}
}

func TestResolveAmbiguous(t *testing.T) {
	t.Parallel()
	other := &Schema{ID: "urn:example:other:2.0:User", Attributes: []Attribute{
		attr("department", TypeString, "Another department."),
	}}
	rt := ResourceType{ID: "User", Schema: UserURN, SchemaExtensions: []SchemaExtension{
		{Schema: EnterpriseUserURN}, {Schema: other.ID},
	}}
	rs, err := NewResourceSchema(rt, CoreUser(), EnterpriseUser(), other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Resolve("department"); err == nil || !strings.Contains(err.Error(), "several extensions") {
		t.Errorf(`Resolve("department") error = %v, want an ambiguity error`, err)
	}
	ref, err := rs.Resolve("urn:example:other:2.0:User:department")
	if err != nil || ref.URN != other.ID {
		t.Errorf("Resolve(qualified) = %v, %v", ref, err)
	}
	if ref, err := rs.Resolve("costCenter"); err != nil || ref.URN != EnterpriseUserURN {
		t.Errorf(`Resolve("costCenter") = %v, %v`, ref, err)
	}
}

func TestAttrRefValue(t *testing.T) {
	t.Parallel()
	rs := User()
	doc := map[string]any{
		"userName":        "bjensen",
		"title":           nil,
		EnterpriseUserURN: map[string]any{"department": "Tour Operations"},
	}
	tests := []struct {
		path string
		want any
		ok   bool
	}{
		{"userName", "bjensen", true},
		{"title", nil, false},
		{"displayName", nil, false},
		{"department", "Tour Operations", true},
		{"costCenter", nil, false},
		{"role", nil, false},
		{EnterpriseUserURN, map[string]any{"department": "Tour Operations"}, true},
	}
	for _, tt := range tests {
		ref, err := rs.Resolve(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := ref.Value(doc)
		if ok != tt.ok || (tt.ok && ref.Attr != nil && got != tt.want) {
			t.Errorf("%s.Value = %v, %v, want %v, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}
