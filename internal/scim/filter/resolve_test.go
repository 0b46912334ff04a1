package filter

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"rollcall/internal/scim/schema"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	user, group := schema.User(), schema.Group()
	tests := []struct {
		rs   *schema.ResourceSchema
		in   string
		want string // canonical String()
	}{
		{user, `USERNAME eq "Bob"`, `userName eq "Bob"`},
		{user, `urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`, `userName sw "J"`},
		{user, `name.FamilyName eq Employee`, `name.familyName eq "Employee"`},
		{user, `EMAILS CO "x"`, `emails.value co "x"`},
		// Entra ID's documented manager check compares the single-valued
		// complex attribute's value sub-attribute.
		{user, `manager eq "m1"`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1"`},
		{user, `emails pr`, `emails pr`},
		{user, `emails[TYPE eq "work"].VALUE eq "a@b"`, `emails[type eq "work" and value eq "a@b"]`},
		{user, `employeeNumber eq 123`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "123"`},
		{user, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:Manager.Value eq "m"`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m"`},
		{user, `manager[value eq "m"]`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq "m"]`},
		{user, `ROLE eq owner`, `urn:ietf:params:scim:schemas:extension:rollcall:2.0:User:role eq "owner"`},
		{user, `active eq "TRUE"`, `active eq true`},
		{user, `active ne False`, `active ne false`},
		{user, `title eq true`, `title eq "true"`},
		{user, `meta.Created gt 2015-10-10T14:38:21.8617979-07:00`, `meta.created gt "2015-10-10T14:38:21.8617979-07:00"`},
		{user, `title eq null`, `title eq null`},
		{user, `id eq "x" or not (externalId pr)`, `id eq "x" or not (externalId pr)`},
		{user, `schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, `schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`},
		{group, `id eq "g" and MEMBERS eq "u"`, `id eq "g" and members.value eq "u"`},
		{group, `members[Value eq "u"]`, `members[value eq "u"]`},
		{group, `members.displayName eq "new User"`, `members.display eq "new User"`},
		{group, `DisplayName eq "x"`, `displayName eq "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Resolve(e, tt.rs)
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.in, err)
			}
			if got.String() != tt.want {
				t.Errorf("Resolve(%q) = %s, want %s", tt.in, got, tt.want)
			}
			// Canonical forms are stable.
			again, err := Resolve(got, tt.rs)
			if err != nil || !cmp.Equal(got, again) {
				t.Errorf("Resolve(Resolve(%q)) = %v, %v; want %v", tt.in, again, err, got)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	t.Parallel()
	user, group := schema.User(), schema.Group()
	tests := []struct {
		rs      *schema.ResourceSchema
		in      string
		want    string // the exact message
		unknown bool   // the error wraps schema.ErrUnknownAttribute
	}{
		{user, `nope eq "x"`, `unknown attribute "nope"`, true},
		{user, `name.nope eq "x"`, `unknown attribute "name.nope": name has no sub-attribute "nope"`, true},
		{user, `urn:example:x:2.0:User:foo pr`, `unknown attribute "urn:example:x:2.0:User:foo"`, true},
		{user, `emails[nope eq "x"]`, `unknown attribute 'nope': emails has no sub-attribute 'nope'`, true},
		{group, `userName eq "x"`, `unknown attribute "userName"`, true},
		{group, `employeeNumber eq "x"`, `unknown attribute "employeeNumber"`, true},
		{user, `active gt true`, `operator 'gt' is not allowed on boolean attribute 'active'`, false},
		{user, `emails[primary co "t"]`, `operator 'co' is not allowed on boolean attribute 'primary'`, false},
		{user, `meta.created co "2015"`, `operator 'co' is not allowed on dateTime attribute 'meta.created'`, false},
		{user, `x509Certificates.value gt "a"`, `operator 'gt' is not allowed on binary attribute 'x509Certificates.value'`, false},
		{user, `meta.created gt "yesterday"`, `'meta.created' is a dateTime; "yesterday" is not`, false},
		{user, `meta.created gt 42`, `'meta.created' is a dateTime; 42 is not`, false},
		{user, `active eq "maybe"`, `'active' is a boolean; "maybe" is not`, false},
		{user, `active eq 1`, `'active' is a boolean; 1 is not`, false},
		{user, `title co null`, `operator 'co' cannot compare with null; use eq null, ne null or pr`, false},
		{user, `name eq "x"`, `'name' is a complex attribute; compare one of its sub-attributes instead`, false},
		{user, `userName[value eq "x"]`, `'userName' is not a complex attribute, so it cannot take a value filter`, false},
		{user, `emails[emails.type eq "work"]`, `inside emails[…], name a sub-attribute of emails, not 'emails.type'`, false},
		{user, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User eq "x"`, `'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User' names a schema, not an attribute`, false},
		{user, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User pr`, `'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User' names a schema, not an attribute`, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Resolve(e, tt.rs)
			var re *ResolveError
			if !errors.As(err, &re) {
				t.Fatalf("Resolve(%q) = %v, %v; want a *ResolveError", tt.in, got, err)
			}
			if re.Error() != tt.want {
				t.Errorf("Resolve(%q) error = %q, want %q", tt.in, re, tt.want)
			}
			if errors.Is(err, schema.ErrUnknownAttribute) != tt.unknown {
				t.Errorf("Resolve(%q): errors.Is(ErrUnknownAttribute) = %v, want %v", tt.in, !tt.unknown, tt.unknown)
			}
			if _, err := Compile(e, tt.rs); err == nil {
				t.Errorf("Compile(%q) succeeded where Resolve failed", tt.in)
			}
		})
	}
}

// TestResolveBuiltTrees covers trees the parser never produces.
func TestResolveBuiltTrees(t *testing.T) {
	t.Parallel()
	rs := schema.User()
	tests := []struct {
		e    Expr
		want string
	}{
		{nil, "empty filter"},
		{vp("emails", vp("type", pr("x"))), "value filters cannot be nested"},
		{ValuePath{Path: p("name.givenName"), Filter: pr("x")}, "a value filter must follow an attribute, not a sub-attribute such as 'name.givenName'"},
		{Compare{Path: p("userName"), Op: "regex", Value: "x"}, "unknown operator 'regex'"},
		{Compare{Path: p("userName"), Op: OpEq, Value: 3}, `'userName' is a string; <invalid> is not`},
		{and(pr("userName"), nil), "empty filter"},
	}
	for _, tt := range tests {
		if _, err := Resolve(tt.e, rs); err == nil || err.Error() != tt.want {
			t.Errorf("Resolve(%#v) error = %v, want %q", tt.e, err, tt.want)
		}
	}
}

func TestPathExprResolve(t *testing.T) {
	t.Parallel()
	user, group := schema.User(), schema.Group()
	tests := []struct {
		rs       *schema.ResourceSchema
		in       string
		want     string // canonical
		ref      string // Ref.String()
		match    []map[string]any
		mismatch []map[string]any
	}{
		{rs: user, in: `userName`, want: `userName`, ref: `userName`},
		{rs: user, in: `NAME.GIVENNAME`, want: `name.givenName`, ref: `name.givenName`},
		{rs: user, in: `active`, want: `active`, ref: `active`},
		{rs: user, in: `emails[type eq "work"].value`, want: `emails[type eq "work"].value`, ref: `emails.value`,
			match:    []map[string]any{{"type": "work", "value": "a"}, {"type": "WORK"}},
			mismatch: []map[string]any{{"type": "home"}, {}}},
		{rs: user, in: `emails[type eq "work"]`, want: `emails[type eq "work"]`, ref: `emails`},
		{rs: user, in: `addresses[type eq "work"].streetAddress`, want: `addresses[type eq "work"].streetAddress`, ref: `addresses.streetAddress`},
		{rs: user, in: `manager`, want: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`, ref: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`},
		{rs: user, in: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`,
			want: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`, ref: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`},
		{rs: user, in: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`,
			want: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`, ref: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`},
		{rs: group, in: `members`, want: `members`, ref: `members`, match: []map[string]any{{"value": "x"}}},
		{rs: group, in: `members[value eq "2819c223"]`, want: `members[value eq "2819c223"]`, ref: `members`,
			match: []map[string]any{{"value": "2819c223"}}, mismatch: []map[string]any{{"value": "x"}, {"display": "2819c223"}}},
		{rs: group, in: `Members[Value EQ "ID"].Display`, want: `members[value eq "ID"].display`, ref: `members.display`,
			match: []map[string]any{{"value": "id"}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			pe, err := ParsePath(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			rp, err := pe.Resolve(tt.rs)
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.in, err)
			}
			if got := rp.Path.String(); got != tt.want {
				t.Errorf("Resolve(%q).Path = %s, want %s", tt.in, got, tt.want)
			}
			if got := rp.Ref.String(); got != tt.ref {
				t.Errorf("Resolve(%q).Ref = %s, want %s", tt.in, got, tt.ref)
			}
			for _, m := range tt.match {
				if !rp.Match(m) {
					t.Errorf("Resolve(%q).Match(%v) = false", tt.in, m)
				}
			}
			for _, m := range tt.mismatch {
				if rp.Match(m) {
					t.Errorf("Resolve(%q).Match(%v) = true", tt.in, m)
				}
			}
		})
	}
	rp, err := PathExpr{Path: p("manager")}.Resolve(user)
	if err != nil || rp.Ref.Attr == nil || rp.Ref.URN != schema.EnterpriseUserURN || rp.Ref.Def().Type != schema.TypeComplex {
		t.Errorf("manager resolves to %+v, %v", rp, err)
	}
}

func TestPathExprResolveErrors(t *testing.T) {
	t.Parallel()
	user := schema.User()
	tests := []struct {
		in   string
		want string
	}{
		{`nope`, `unknown attribute "nope"`},
		{`emails[type eq "work"].nope`, `unknown attribute 'emails.nope': emails has no sub-attribute 'nope'`},
		{`userName[value eq "x"]`, `'userName' is not a complex attribute, so it cannot take a value filter`},
		{`emails[nope eq "x"]`, `unknown attribute 'nope': emails has no sub-attribute 'nope'`},
		{`emails[primary gt true]`, `operator 'gt' is not allowed on boolean attribute 'primary'`},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User[x pr]`, `'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User' is not a complex attribute, so it cannot take a value filter`},
	}
	for _, tt := range tests {
		pe, err := ParsePath(tt.in)
		if err != nil {
			t.Fatalf("ParsePath(%q): %v", tt.in, err)
		}
		_, err = pe.Resolve(user)
		var re *ResolveError
		if !errors.As(err, &re) || re.Error() != tt.want {
			t.Errorf("Resolve(%q) error = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestPathResolve(t *testing.T) {
	t.Parallel()
	user := schema.User()
	tests := []struct {
		in, want, err string
	}{
		{in: "NAME.givenname", want: "name.givenName"},
		{in: "Meta.LastModified", want: "meta.lastModified"},
		{in: "employeeNumber", want: entURN + ":employeeNumber"},
		{in: "urn:ietf:params:scim:schemas:core:2.0:User:userName", want: "userName"},
		{in: "emails.value", want: "emails.value"},
		{in: "nope", err: `unknown attribute "nope"`},
	}
	for _, tt := range tests {
		pe, err := ParsePath(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		got, ref, err := pe.Path.Resolve(user)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err || !errors.Is(err, schema.ErrUnknownAttribute) {
				t.Errorf("Path(%q).Resolve error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got.String() != tt.want || ref.String() != tt.want {
			t.Errorf("Path(%q).Resolve = %s, %s, %v; want %s", tt.in, got, ref, err, tt.want)
		}
	}
}
