package patch

import (
	"testing"

	"rollcall/internal/scim/schema"
)

// realisticUser is an Entra-provisioned member with the enterprise
// extension, several emails, phones and an address, and two groups.
const realisticUser = `{
	"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "urn:ietf:params:scim:schemas:extension:rollcall:2.0:User"],
	"id": "2819c223-7f76-453a-919d-413861904646",
	"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
	"userName": "barbara.jensen@example.com",
	"name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara", "middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III"},
	"displayName": "Babs Jensen",
	"nickName": "Babs",
	"title": "Tour Guide",
	"userType": "Employee",
	"preferredLanguage": "en-US",
	"locale": "en-US",
	"timezone": "America/Los_Angeles",
	"active": true,
	"emails": [
		{"value": "barbara.jensen@example.com", "type": "work", "primary": true},
		{"value": "babs@jensen.org", "type": "home"},
		{"value": "bjensen@example.org", "type": "other"}
	],
	"phoneNumbers": [
		{"value": "tel:+1-201-555-0123", "type": "work", "primary": true},
		{"value": "tel:+1-201-555-0199", "type": "mobile"}
	],
	"addresses": [
		{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood", "region": "CA", "postalCode": "91608", "country": "US", "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA", "primary": true}
	],
	"groups": [
		{"value": "e9e30dba-f08f-4109-8486-d5c6a331660a", "display": "Tour Guides", "$ref": "https://rollcall.example/scim/v2/acme/Groups/e9e30dba-f08f-4109-8486-d5c6a331660a", "type": "direct"},
		{"value": "fc348aa8-3835-40eb-a20b-c726e15c55b5", "display": "Employees", "$ref": "https://rollcall.example/scim/v2/acme/Groups/fc348aa8-3835-40eb-a20b-c726e15c55b5", "type": "direct"}
	],
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
		"employeeNumber": "701984",
		"costCenter": "4130",
		"organization": "Universal Studios",
		"division": "Theme Park",
		"department": "Tour Operations",
		"manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "$ref": "https://rollcall.example/scim/v2/acme/Users/26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
	},
	"urn:ietf:params:scim:schemas:extension:rollcall:2.0:User": {"role": "member"},
	"meta": {
		"resourceType": "User",
		"created": "2010-01-23T04:56:22Z",
		"lastModified": "2011-05-13T04:42:34Z",
		"location": "https://rollcall.example/scim/v2/acme/Users/2819c223-7f76-453a-919d-413861904646",
		"version": "W/\"3694e05e9dff591\""
	}
}`

// BenchmarkApply measures Okta's deactivation, a path-less replace of
// active, on a realistic User.
func BenchmarkApply(b *testing.B) {
	rs := schema.User()
	doc := decode(b, realisticUser)
	ops, err := Parse(decode(b, ops(`{"op": "replace", "value": {"active": false}}`)))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		got, err := Apply(doc, rs, ops)
		if err != nil || got["active"] != false {
			b.Fatalf("Apply = %v, %v", got["active"], err)
		}
	}
}
