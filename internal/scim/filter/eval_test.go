package filter

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"rollcall/internal/scim/schema"
)

// The IdP bodies live with the normalisation tests.
var idpDir = filepath.Join("..", "schema", "testdata", "idp")

func decodeJSON(tb testing.TB, s string) map[string]any {
	tb.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		tb.Fatalf("decode: %v", err)
	}
	return m
}

// stored turns a request body into the document the server would store:
// normalized as a request, then given an id and meta.
func stored(tb testing.TB, rs *schema.ResourceSchema, id, body, created string) map[string]any {
	tb.Helper()
	doc, err := rs.Normalize(decodeJSON(tb, body), schema.NormalizeOptions{})
	if err != nil {
		tb.Fatalf("normalize %s: %v", id, err)
	}
	doc["id"] = id
	doc["meta"] = map[string]any{"resourceType": rs.ResourceType().Name, "created": created, "lastModified": created}
	return doc
}

func readIdP(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(idpDir, name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// bjensenBody is RFC 7643 §8.3, the enterprise user.
const bjensenBody = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "externalId": "701984",
  "userName": "bjensen@example.com",
  "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara",
    "middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III"},
  "displayName": "Babs Jensen",
  "nickName": "Babs",
  "profileUrl": "https://login.example.com/bjensen",
  "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}],
  "addresses": [{"streetAddress": "100 Universal City Plaza", "locality": "Hollywood", "region": "CA", "postalCode": "91608",
    "country": "USA", "type": "work", "primary": true}],
  "phoneNumbers": [{"value": "555-555-5555", "type": "work"}, {"value": "555-555-4444", "type": "mobile"}],
  "ims": [{"value": "someaimhandle", "type": "aim"}],
  "userType": "Employee",
  "title": "Tour Guide",
  "preferredLanguage": "en-US",
  "locale": "en-US",
  "timezone": "America/Los_Angeles",
  "active": true,
  "password": "t1meMa$heen",
  "groups": [{"value": "e9e30dba-f08f-4109-8486-d5c6a331660a", "display": "Tour Guides"}],
  "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984", "costCenter": "4130",
    "organization": "Universal Studios", "division": "Theme Park", "department": "Tour Operations",
    "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}},
  "urn:ietf:params:scim:schemas:extension:rollcall:2.0:User": {"role": "admin"}
}`

// users returns the test population: the users Microsoft's "garbage" tests
// leave behind (omalley after its PUT, emp1–3, enterprise), RFC 7643's
// bjensen, and users created by Okta, Entra ID and Microsoft's first tests.
func users(tb testing.TB) map[string]map[string]any {
	tb.Helper()
	rs := schema.User()
	const now = "2026-11-23T09:00:00Z"
	bjensen := stored(tb, rs, "bjensen", bjensenBody, "2010-01-23T04:56:22Z")
	bjensen["meta"].(map[string]any)["lastModified"] = "2011-05-13T04:42:34Z"
	bjensen["groups"] = []any{map[string]any{"value": "e9e30dba-f08f-4109-8486-d5c6a331660a", "display": "Tour Guides"}}
	return map[string]map[string]any{
		"omalley":    stored(tb, rs, "omalley", readIdP(tb, "ms-garbage-put-omalley.json"), now),
		"emp1":       stored(tb, rs, "emp1", readIdP(tb, "ms-garbage-emp1.json"), now),
		"emp2":       stored(tb, rs, "emp2", readIdP(tb, "ms-garbage-emp2.json"), now),
		"emp3":       stored(tb, rs, "emp3", readIdP(tb, "ms-garbage-emp3.json"), now),
		"enterprise": stored(tb, rs, "enterprise", readIdP(tb, "ms-garbage-enterprise.json"), now),
		"bjensen":    bjensen,
		"okta":       stored(tb, rs, "okta", readIdP(tb, "okta-create-user.json"), "2026-11-22T08:00:00.123Z"),
		"entra":      stored(tb, rs, "entra", readIdP(tb, "entra-create-user.json"), "2026-11-21T08:00:00+02:00"),
		"jyoung":     stored(tb, rs, "jyoung", readIdP(tb, "entra-create-user-nulls.json"), now),
		"bob":        stored(tb, rs, "bob", readIdP(tb, "ms-user-bob.json"), now),
	}
}

func groups(tb testing.TB) map[string]map[string]any {
	tb.Helper()
	rs := schema.Group()
	const now = "2026-11-23T09:00:00Z"
	return map[string]map[string]any{
		"filled":  stored(tb, rs, "filled", readIdP(tb, "ms-group-filled.json"), now),
		"put":     stored(tb, rs, "put", readIdP(tb, "ms-group-put.json"), now),
		"garbage": stored(tb, rs, "garbage", readIdP(tb, "ms-garbage-group.json"), now),
		"okta":    stored(tb, rs, "okta", readIdP(tb, "okta-create-group.json"), now),
		"entra":   stored(tb, rs, "entra", readIdP(tb, "entra-create-group.json"), now),
	}
}

// matching returns the sorted ids of the documents m matches.
func matching(m *Matcher, docs map[string]map[string]any) []string {
	ids := []string{}
	for id, doc := range docs {
		if m.Match(doc) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func ids(s string) []string {
	if s == "" {
		return []string{}
	}
	out := strings.Fields(s)
	slices.Sort(out)
	return out
}

func TestMatchUsers(t *testing.T) {
	t.Parallel()
	pop := users(t)
	rs := schema.User()
	all := "omalley emp1 emp2 emp3 enterprise bjensen okta entra jyoung bob"
	tests := []struct {
		filter string
		want   string // ids, space-separated
	}{
		// Microsoft's collection: the expected counts over its five users
		// are 4, 1 and 5.
		{`name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`, "emp1 emp2 emp3 enterprise"},
		{`userName sw O`, "omalley"},
		{`meta.Created gt 2015-10-10T14:38:21.8617979-07:00`, "omalley emp1 emp2 emp3 enterprise okta entra jyoung bob"},
		{`DisplayName eq "BobIsAmazing"`, "bob"},
		// Okta: pre-create check, including with a differently cased userName.
		{`userName eq "test.user@okta.local"`, "okta"},
		{`userName eq "TEST.USER@OKTA.LOCAL"`, "okta"},
		{`userName eq "random.nobody@atko.com"`, ""},
		// Entra ID: matching by userName and externalId (caseExact), Test
		// Connection with a random GUID, the uniqueness attribute filter.
		{`userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"`, "entra"},
		{`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`, "entra"},
		{`externalId eq "0A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF"`, ""},
		{`externalId eq jyoung`, "jyoung"},
		{`externalId eq JYOUNG`, ""},
		{`userName eq "6e1b1e66-8b9a-4a8f-8f0d-8e0c7a9b2f3d"`, ""},
		{`emails[type eq "work"].value eq "bjensen@example.com"`, "bjensen"},
		{`emails[type eq "work"].value eq "BJENSEN@EXAMPLE.COM"`, "bjensen"},
		{`emails[type eq "work"].value eq "babs@jensen.org"`, ""},
		{`id eq "okta"`, "okta"},
		{`id eq "OKTA"`, ""},
		// RFC 7644 §3.4.2.2 examples.
		{`title pr`, "omalley emp1 emp2 emp3 enterprise bjensen"},
		{`title pr and userType eq "Employee"`, "bjensen"},
		{`title pr or userType eq "Intern"`, "omalley emp1 emp2 emp3 enterprise bjensen"},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "b"`, "bjensen"},
		{`name.familyName co "O'Malley"`, ""},
		{`name.familyName co "malley"`, "omalley"},
		{`meta.lastModified gt "2011-05-13T04:42:34Z"`, "omalley emp1 emp2 emp3 enterprise okta entra jyoung bob"},
		{`meta.lastModified ge "2011-05-13T04:42:34Z"`, all},
		{`meta.lastModified lt "2011-05-13T04:42:34Z"`, ""},
		{`meta.lastModified le "2011-05-13T04:42:34Z"`, "bjensen"},
		{`meta.created lt "2026-11-22T08:00:00.124Z"`, "bjensen okta entra"},
		{`meta.created eq "2026-11-21T06:00:00Z"`, "entra"},
		{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, "bjensen enterprise entra"},
		{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`, "bjensen"},
		{`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`, "okta entra jyoung bob"},
		{`userType eq "Employee" and (emails.type eq "work")`, "bjensen"},
		{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`, "bjensen"},
		{`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`, "omalley emp1 emp2 emp3 enterprise bjensen"},
		// Extensions, with and without their URN.
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`, "bjensen"},
		{`employeeNumber eq 701984`, "bjensen"},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`, "bjensen"},
		{`manager.value pr`, "bjensen"},
		{`department eq "some department"`, "enterprise"},
		{`department pr`, "bjensen enterprise"},
		{`role eq "ADMIN"`, "bjensen"},
		// Booleans, null, presence, ne.
		{`active eq false`, "omalley"},
		{`active eq "False"`, "omalley"},
		{`active ne true`, "omalley"},
		{`active eq true`, "emp1 emp2 emp3 enterprise bjensen okta entra jyoung bob"},
		{`not (title pr)`, "okta entra jyoung bob"},
		{`title eq null`, "okta entra jyoung bob"},
		{`title ne null`, "omalley emp1 emp2 emp3 enterprise bjensen"},
		{`userType ne "Employee"`, "omalley emp1 emp2 emp3 enterprise okta entra jyoung bob"},
		{`emails.value ne "anna33@example.com"`, all},
		{`roles pr`, ""},
		{`password pr`, "bjensen okta"},
		{`x509Certificates pr`, "bjensen"},
		{`groups pr`, "bjensen"},
		// Value filters.
		{`phoneNumbers[type eq "fax"]`, "omalley emp1 emp2 emp3 enterprise"},
		{`addresses[country eq "Germany"]`, "omalley"},
		{`addresses[country eq "germany" and type eq "work"]`, "omalley"},
		{`addresses[country eq "bahams" and type eq "work"]`, ""},
		{`emails[not (type eq "work")]`, "omalley bjensen bob"},
		{`emails[primary eq true and value ew "@gmail.com"]`, "emp1 emp2 emp3 enterprise"},
		{`ims[type eq "aim"]`, "bjensen"},
		// Ordering on strings is lexicographic and case-insensitive.
		{`userName gt "t"`, "okta entra bob"},
		{`userName lt "c"`, "bjensen"},
		{`name.givenName sw "bar"`, "bjensen"},
		{`name.givenName ew "BARA"`, "bjensen"},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tt.filter)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.filter, err)
			}
			m, err := Compile(e, rs)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.filter, err)
			}
			if diff := cmp.Diff(ids(tt.want), matching(m, pop)); diff != "" {
				t.Errorf("users matching %q (-want +got):\n%s", tt.filter, diff)
			}
			// The canonical form means the same.
			m2, err := Compile(m.Expr(), rs)
			if err != nil {
				t.Fatalf("Compile(%s): %v", m.Expr(), err)
			}
			if diff := cmp.Diff(matching(m, pop), matching(m2, pop)); diff != "" {
				t.Errorf("canonical %s matches differently (-original +canonical):\n%s", m.Expr(), diff)
			}
		})
	}
}

func TestMatchGroups(t *testing.T) {
	t.Parallel()
	pop := groups(t)
	rs := schema.Group()
	tests := []struct {
		filter string
		want   string
	}{
		{`displayName eq "displayName"`, "entra"},
		{`displayName eq "DISPLAYNAME"`, "entra"},
		{`displayName eq "Test SCIMv2"`, "okta"},
		{`id eq "put" and members eq "id-4"`, "put"},
		{`id eq "filled" and members eq "id-4"`, ""},
		{`members eq "id-3"`, "filled put"},
		{`members.value eq "id-3"`, "filled put"},
		{`members[value eq "id-4"]`, "put"},
		{`members[value eq "id-4" and display eq "SenorVP"]`, "put"},
		{`members[display eq "VP"]`, "filled put"},
		{`members pr`, "filled put"},
		{`not (members pr)`, "garbage okta entra"},
		{`externalId eq "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"`, "entra"},
		{`schemas eq "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"`, "entra"},
		{`meta.resourceType eq "Group"`, "filled put garbage okta entra"},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tt.filter)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.filter, err)
			}
			m, err := Compile(e, rs)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.filter, err)
			}
			if diff := cmp.Diff(ids(tt.want), matching(m, pop)); diff != "" {
				t.Errorf("groups matching %q (-want +got):\n%s", tt.filter, diff)
			}
		})
	}
}

// numbersSchema is a User resource schema with an extension holding
// integer, decimal and dateTime attributes, which the standard schemas
// lack.
func numbersSchema(tb testing.TB) *schema.ResourceSchema {
	tb.Helper()
	const urn = "urn:example:numbers:2.0:User"
	ext := &schema.Schema{ID: urn, Attributes: []schema.Attribute{
		{Name: "level", Type: schema.TypeInteger, Mutability: schema.ReadWrite, Returned: schema.ReturnedDefault},
		{Name: "score", Type: schema.TypeDecimal, Mutability: schema.ReadWrite, Returned: schema.ReturnedDefault},
		{Name: "hired", Type: schema.TypeDateTime, Mutability: schema.ReadWrite, Returned: schema.ReturnedDefault},
		{Name: "badges", Type: schema.TypeInteger, MultiValued: true, Mutability: schema.ReadWrite, Returned: schema.ReturnedDefault},
	}}
	rt := schema.ResourceType{ID: "User", Name: "User", Endpoint: "/Users", Schema: schema.UserURN,
		SchemaExtensions: []schema.SchemaExtension{{Schema: urn}}}
	rs, err := schema.NewResourceSchema(rt, schema.CoreUser(), ext)
	if err != nil {
		tb.Fatal(err)
	}
	return rs
}

func TestMatchNumbers(t *testing.T) {
	t.Parallel()
	rs := numbersSchema(t)
	pop := map[string]map[string]any{}
	for id, body := range map[string]string{
		"a": `{"urn:example:numbers:2.0:User":{"level":3,"score":-1500,"hired":"2015-10-10T14:38:21.8617979-07:00","badges":[1,5]}}`,
		"b": `{"urn:example:numbers:2.0:User":{"level":"4","score":2.5,"hired":"2015-10-10T21:38:21.8617979Z"}}`,
		"c": `{"userName":"c"}`,
	} {
		doc, err := rs.Normalize(decodeJSON(t, body), schema.NormalizeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pop[id] = doc
	}
	tests := []struct {
		filter string
		want   string
	}{
		{`level gt 3`, "b"},
		{`level ge 3`, "a b"},
		{`level eq 4.0`, "b"},
		{`level eq "4"`, "b"},
		{`level lt 100`, "a b"},
		{`level ne 3`, "b c"},
		{`score le -1.5e3`, "a"},
		{`score gt -1.5e3`, "b"},
		{`hired eq "2015-10-10T21:38:21.8617979Z"`, "a b"},
		{`hired lt 2015-10-10T21:38:21.8617980Z`, "a b"},
		{`hired gt 2015-10-10`, "a b"},
		{`badges eq 5`, "a"},
		{`badges gt 4`, "a"},
		{`badges pr`, "a"},
		{`level pr`, "a b"},
		{`level eq null`, "c"},
	}
	for _, tt := range tests {
		e, err := Parse(tt.filter)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.filter, err)
		}
		m, err := Compile(e, rs)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tt.filter, err)
		}
		if diff := cmp.Diff(ids(tt.want), matching(m, pop)); diff != "" {
			t.Errorf("documents matching %q (-want +got):\n%s", tt.filter, diff)
		}
	}
}

// TestMatchOddDocuments checks that documents that are not canonical (the
// wrong types where the schema says otherwise) never match by accident and
// never panic.
func TestMatchOddDocuments(t *testing.T) {
	t.Parallel()
	rs := numbersSchema(t)
	docs := []map[string]any{
		{"userName": 42, "active": "yes", "emails": "x", "name": []any{"x"}, "meta": "x"},
		{"userName": []any{"a"}, "emails": []any{"x", 1, nil, map[string]any{"value": 7}}, "active": "TRUE"},
		{"urn:example:numbers:2.0:User": "x"},
		{"urn:example:numbers:2.0:User": map[string]any{"level": "x", "score": true, "hired": 5}},
		{"urn:example:numbers:2.0:User": map[string]any{"level": 3.0, "score": int64(2), "hired": "2015-10-10T21:38:21Z"}},
		{"urn:example:numbers:2.0:User": map[string]any{"level": 3, "score": "2"}},
		{},
	}
	filters := []string{`userName eq "a"`, `userName pr`, `active eq true`, `emails co "x"`, `emails[value eq "x"]`,
		`name.givenName pr`, `meta.created gt "2000-01-01"`, `level eq 3`, `score gt 1`, `hired pr`, `hired lt "2020-01-01"`}
	want := map[string][]bool{
		`userName eq "a"`:              {false, false, false, false, false, false, false},
		`userName pr`:                  {true, false, false, false, false, false, false},
		`active eq true`:               {false, true, false, false, false, false, false},
		`emails co "x"`:                {false, false, false, false, false, false, false},
		`emails[value eq "x"]`:         {false, false, false, false, false, false, false},
		`name.givenName pr`:            {false, false, false, false, false, false, false},
		`meta.created gt "2000-01-01"`: {false, false, false, false, false, false, false},
		`level eq 3`:                   {false, false, false, false, true, true, false},
		`score gt 1`:                   {false, false, false, false, true, true, false},
		`hired pr`:                     {false, false, false, true, true, false, false},
		`hired lt "2020-01-01"`:        {false, false, false, false, true, false, false},
	}
	for _, f := range filters {
		e, err := Parse(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Compile(e, rs)
		if err != nil {
			t.Fatalf("Compile(%q): %v", f, err)
		}
		for i, doc := range docs {
			if got := m.Match(doc); got != want[f][i] {
				t.Errorf("%q on document %d = %v, want %v", f, i, got, want[f][i])
			}
		}
	}
}
