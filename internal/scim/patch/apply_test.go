package patch

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"rollcall/internal/scim/schema"
)

// applyTest is a PATCH request applied to a stored document. The starting
// document is userJSON (groupJSON with group set) with start laid over its
// top level; the result is the starting document with want laid over its
// top level (see overlay), or the error err.
type applyTest struct {
	name  string
	group bool
	start string
	body  string
	want  string
	err   *Error
}

// ops wraps operations in a PatchOp body.
func ops(list string) string {
	return `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [` + list + `]}`
}

const (
	enterpriseSchemas = `"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:rollcall:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]`
	twoEmails         = `"emails": [{"value": "test.user@okta.local", "type": "work", "primary": true}, {"value": "home@example.com", "type": "home"}]`
	oldManager        = `"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "old-boss", "$ref": "https://rollcall.example/scim/v2/acme/Users/old-boss", "displayName": "Old Boss"}}`
)

func applyTests() []applyTest {
	return []applyTest{
		// Okta (developer.okta.com SCIM 2.0 reference).
		{
			name: "okta deactivate, path-less",
			body: `{
				"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations": [{"op": "replace", "value": {"active": false}}]
			}`,
			want: `{"active": false}`,
		},
		{
			name:  "okta reactivate, path-less",
			start: `{"active": false}`,
			body:  ops(`{"op": "replace", "value": {"active": true}}`),
			want:  `{"active": true}`,
		},
		// Entra ID default mode (string booleans, capitalised op).
		{
			name: "entra Replace active False",
			body: `{ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations": [ { "op": "Replace", "path": "active", "value": "False" } ] }`,
			want: `{"active": false}`,
		},
		{
			name:  "entra Replace active True",
			start: `{"active": false}`,
			body:  ops(`{"op": "Replace", "path": "active", "value": "True"}`),
			want:  `{"active": true}`,
		},
		{
			name: "entra flag mode replace path active",
			body: ops(`{"op": "replace", "path": "active", "value": false}`),
			want: `{"active": false}`,
		},
		{
			name: "entra Add nickName",
			body: ops(`{"op": "Add", "path": "nickName", "value": "Babs"}`),
			want: `{"nickName": "Babs"}`,
		},
		{
			name: "entra work email and family name",
			body: `{
				"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations": [
					{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
					{"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
				]
			}`,
			want: `{
				"emails": [{"value": "updatedEmail@microsoft.com", "type": "work", "primary": true}],
				"name": {"givenName": "Test", "familyName": "updatedFamilyName"}
			}`,
		},
		{
			name:  "entra work email added when the user has none",
			start: `{"emails": [{"value": "home@example.com", "type": "home", "primary": true}]}`,
			body:  ops(`{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com"}`),
			want:  `{"emails": [{"value": "home@example.com", "type": "home", "primary": true}, {"type": "work", "value": "new@example.com"}]}`,
		},
		{
			name:  "entra work email added when the user has no email",
			start: `{"emails": null}`,
			body:  ops(`{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com"}`),
			want:  `{"emails": [{"type": "work", "value": "new@example.com"}]}`,
		},
		{
			name:  "add with a filter builds the value from the filter",
			start: `{"emails": null}`,
			body:  ops(`{"op": "Add", "path": "phoneNumbers[type eq \"mobile\" and primary eq true].value", "value": "tel:+1-201-555-0123"}`),
			want:  `{"emails": null, "phoneNumbers": [{"type": "mobile", "primary": true, "value": "tel:+1-201-555-0123"}]}`,
		},
		{
			name: "entra flag mode dotted and URN keys, path-less",
			body: ops(`{
				"op": "replace",
				"value": {
					"displayName": "Bjfe",
					"name.givenName": "Kkom",
					"name.familyName": "Unua",
					"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
				}
			}`),
			want: `{
				` + enterpriseSchemas + `,
				"displayName": "Bjfe",
				"name": {"givenName": "Kkom", "familyName": "Unua"},
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "Aklq"}
			}`,
		},
		{
			name: "entra default Replace employeeNumber by URN path",
			body: ops(`{"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "Aklq"}`),
			want: `{
				` + enterpriseSchemas + `,
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "Aklq"}
			}`,
		},
		{
			name: "employeeNumber without its URN, path-less",
			body: ops(`{"op": "add", "value": {"employeeNumber": "701984"}}`),
			want: `{
				` + enterpriseSchemas + `,
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984"}
			}`,
		},
		{
			name: "employeeNumber as a number",
			body: ops(`{"op": "add", "value": {"employeeNumber": 701984}}`),
			err:  &Error{ScimType: "invalidValue", Detail: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber: expected a string, got number 701984`},
		},
		{
			name: "entra add manager as a bare string",
			body: ops(`{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}`),
			want: `{
				` + enterpriseSchemas + `,
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}}
			}`,
		},
		{
			name:  "entra replace manager as a bare string drops the old $ref and displayName",
			start: `{` + enterpriseSchemas + `, ` + oldManager + `}`,
			body:  ops(`{"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}`),
			want:  `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}}}`,
		},
		{
			name:  "replace manager as an object",
			start: `{` + enterpriseSchemas + `, ` + oldManager + `}`,
			body:  ops(`{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}}`),
			want:  `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}}}`,
		},
		{
			name:  "replace manager with the same id keeps what the server knows",
			start: `{` + enterpriseSchemas + `, ` + oldManager + `}`,
			body:  ops(`{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"value": "old-boss", "displayName": "ignored, readOnly"}}`),
		},
		{
			name:  "replace manager.value alone drops the old $ref",
			start: `{` + enterpriseSchemas + `, ` + oldManager + `}`,
			body:  ops(`{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "value": "new-boss"}`),
			want:  `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "new-boss"}}}`,
		},
		{
			name: "entra docs add manager as a one-element list, path without URN",
			body: ops(`{"op": "Add", "path": "manager", "value": [{"$ref": "https://rollcall.example/scim/v2/acme/Users/2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2", "value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}]}`),
			want: `{
				` + enterpriseSchemas + `,
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2", "$ref": "https://rollcall.example/scim/v2/acme/Users/2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}}
			}`,
		},
		{
			name:  "remove manager drops the extension from schemas",
			start: `{` + enterpriseSchemas + `, ` + oldManager + `}`,
			body:  ops(`{"op": "Remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}`),
			want:  `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:rollcall:2.0:User"], "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": null}`,
		},
		{
			name: "add a whole extension by its URN",
			body: ops(`{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "value": {"Department": "R&D", "manager": "boss"}}`),
			want: `{
				` + enterpriseSchemas + `,
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D", "manager": {"value": "boss"}}
			}`,
		},
		{
			name:  "path-less replace merges an extension object",
			start: `{` + enterpriseSchemas + `, ` + oldManager + `}`,
			body:  ops(`{"op": "replace", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}}}`),
			want:  `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales", "manager": {"value": "old-boss", "$ref": "https://rollcall.example/scim/v2/acme/Users/old-boss", "displayName": "Old Boss"}}}`,
		},
		{
			name:  "remove a whole extension",
			start: `{` + enterpriseSchemas + `, ` + oldManager + `}`,
			body:  ops(`{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}`),
			want:  `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:rollcall:2.0:User"], "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": null}`,
		},
		// Microsoft's SCIMReferenceCode Postman collection.
		{
			name: "ms collection patch user1 replace userName",
			body: `{
				"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations": [{"op": "replace", "path": "userName", "value": "ryan3"}]
			}`,
			want: `{"userName": "ryan3"}`,
		},
		{
			name: "ms collection garbage Replace userName",
			body: `{ "schemas":
				["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations":[{"op":"Replace", "path":"userName", "value":"newusername"}]}`,
			want: `{"userName": "newusername"}`,
		},
		{
			name: "ms collection garbage Replace active with a boolean",
			body: `{ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations":[{"op":"Replace", "path":"active", "value": false}]}`,
			want: `{"active": false}`,
		},
		// Attribute forms.
		{
			name: "replace name.familyName",
			body: ops(`{"op": "replace", "path": "name.familyName", "value": "Jensen"}`),
			want: `{"name": {"givenName": "Test", "familyName": "Jensen"}}`,
		},
		{
			name: "path-less replace of name merges its sub-attributes",
			body: ops(`{"op": "replace", "value": {"name": {"middleName": "Jane"}}}`),
			want: `{"name": {"givenName": "Test", "familyName": "User", "middleName": "Jane"}}`,
		},
		{
			name: "core URN-qualified path",
			body: ops(`{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:userName", "value": "bjensen"}`),
			want: `{"userName": "bjensen"}`,
		},
		{
			name: "names in any case",
			body: ops(`{"op": "REPLACE", "path": "DISPLAYNAME", "value": "Babs Jensen"}, {"op": "rEmOvE", "path": "Name.GivenName"}`),
			want: `{"displayName": "Babs Jensen", "name": {"familyName": "User"}}`,
		},
		{
			name: "null unsets",
			body: ops(`{"op": "replace", "path": "displayName", "value": null}, {"op": "add", "value": {"externalId": null}}`),
			want: `{"displayName": null, "externalId": null}`,
		},
		{
			name: "removing every sub-attribute leaves no empty object",
			body: ops(`{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "name.familyName"}`),
			want: `{"name": null}`,
		},
		{
			name: "remove an absent attribute succeeds",
			body: ops(`{"op": "remove", "path": "title"}, {"op": "remove", "path": "name.middleName"}`),
		},
		{
			name: "add the value an attribute has changes nothing",
			body: ops(`{"op": "add", "path": "userName", "value": "test.user@okta.local"}`),
		},
		// Multi-valued attributes.
		{
			name:  "remove a filtered email",
			start: `{` + twoEmails + `}`,
			body:  ops(`{"op": "remove", "path": "emails[type eq \"home\"]"}`),
			want:  `{"emails": [{"value": "test.user@okta.local", "type": "work", "primary": true}]}`,
		},
		{
			name:  "remove a filtered email that is not there succeeds",
			start: `{` + twoEmails + `}`,
			body:  ops(`{"op": "remove", "path": "emails[type eq \"other\"]"}`),
		},
		{
			name:  "remove a sub-attribute of filtered values",
			start: `{` + twoEmails + `}`,
			body:  ops(`{"op": "remove", "path": "emails[type eq \"work\"].primary"}`),
			want:  `{"emails": [{"value": "test.user@okta.local", "type": "work"}, {"value": "home@example.com", "type": "home"}]}`,
		},
		{
			name:  "entra remove with a value list",
			start: `{` + twoEmails + `}`,
			body:  ops(`{"op": "Remove", "path": "emails", "value": [{"value": "HOME@example.com"}]}`),
			want:  `{"emails": [{"value": "test.user@okta.local", "type": "work", "primary": true}]}`,
		},
		{
			name: "remove the last value leaves no empty list",
			body: ops(`{"op": "Remove", "path": "emails", "value": [{"value": "test.user@okta.local", "type": "work"}]}`),
			want: `{"emails": null}`,
		},
		{
			name: "remove with a value of another type keeps it",
			body: ops(`{"op": "Remove", "path": "emails", "value": [{"value": "test.user@okta.local", "type": "home"}]}`),
		},
		{
			name:  "remove a whole multi-valued attribute",
			start: `{` + twoEmails + `}`,
			body:  ops(`{"op": "remove", "path": "emails"}`),
			want:  `{"emails": null}`,
		},
		{
			name: "add an email already there changes nothing",
			body: ops(`{"op": "add", "path": "emails", "value": [{"value": "Test.User@OKTA.local", "type": "work"}]}`),
		},
		{
			name: "add an email already there merges its new sub-attributes",
			body: ops(`{"op": "add", "path": "emails", "value": [{"value": "test.user@okta.local", "display": "Work"}]}`),
			want: `{"emails": [{"value": "test.user@okta.local", "type": "work", "primary": true, "display": "Work"}]}`,
		},
		{
			name: "add a primary email takes the flag from the old one",
			body: ops(`{"op": "add", "path": "emails", "value": [{"value": "home@example.com", "type": "home", "primary": true}]}`),
			want: `{"emails": [{"value": "test.user@okta.local", "type": "work"}, {"value": "home@example.com", "type": "home", "primary": true}]}`,
		},
		{
			name: "capitalised sub-attributes and a string primary (Entra validator)",
			body: ops(`{"op": "Add", "path": "emails", "value": [{"Value": "home@example.com", "Type": "home", "Primary": "True"}]}`),
			want: `{"emails": [{"value": "test.user@okta.local", "type": "work"}, {"value": "home@example.com", "type": "home", "primary": true}]}`,
		},
		{
			name: "replace a list with two primaries keeps the last",
			body: ops(`{"op": "replace", "path": "emails", "value": [{"value": "a@example.com", "primary": true}, {"value": "b@example.com", "primary": "true"}]}`),
			want: `{"emails": [{"value": "a@example.com"}, {"value": "b@example.com", "primary": true}]}`,
		},
		{
			name: "replace a list with a repeated value merges it and keeps the flag of the value seen last",
			body: ops(`{"op": "replace", "path": "emails", "value": [{"value": "a@example.com", "primary": true}, {"value": "b@example.com", "primary": "true"}, {"value": "A@example.com", "type": "work"}]}`),
			want: `{"emails": [{"value": "a@example.com", "type": "work", "primary": true}, {"value": "b@example.com"}]}`,
		},
		{
			name:  "replace a filtered sub-attribute primary moves the flag",
			start: `{` + twoEmails + `}`,
			body:  ops(`{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}`),
			want:  `{"emails": [{"value": "test.user@okta.local", "type": "work"}, {"value": "home@example.com", "type": "home", "primary": true}]}`,
		},
		{
			name:  "replace a whole value selected by a filter",
			start: `{"addresses": [{"type": "work", "streetAddress": "1 Main St", "locality": "Springfield"}, {"type": "home", "streetAddress": "2 Elm St"}]}`,
			body:  ops(`{"op": "replace", "path": "addresses[type eq \"work\"]", "value": {"type": "work", "streetAddress": "911 Universal City Plaza"}}`),
			want:  `{"addresses": [{"type": "work", "streetAddress": "911 Universal City Plaza"}, {"type": "home", "streetAddress": "2 Elm St"}]}`,
		},
		{
			name:  "replace of values selected by a filter leaves one",
			start: `{"emails": [{"value": "a@example.com", "type": "work"}, {"value": "b@example.com", "type": "work"}, {"value": "c@example.com", "type": "home"}]}`,
			body:  ops(`{"op": "replace", "path": "emails[type eq \"work\"]", "value": {"value": "w@example.com", "type": "work"}}`),
			want:  `{"emails": [{"value": "w@example.com", "type": "work"}, {"value": "c@example.com", "type": "home"}]}`,
		},
		{
			name:  "add to values selected by a filter merges",
			start: `{"addresses": [{"type": "work", "streetAddress": "1 Main St"}]}`,
			body:  ops(`{"op": "add", "path": "addresses[type eq \"work\"]", "value": {"locality": "Springfield"}}`),
			want:  `{"addresses": [{"type": "work", "streetAddress": "1 Main St", "locality": "Springfield"}]}`,
		},
		{
			name: "a sub-attribute without a filter selects every value",
			body: ops(`{"op": "replace", "path": "emails.value", "value": "new@example.com"}`),
			want: `{"emails": [{"value": "new@example.com", "type": "work", "primary": true}]}`,
		},
		{
			name: "replace with an empty list empties the attribute",
			body: ops(`{"op": "replace", "path": "emails", "value": []}`),
			want: `{"emails": null}`,
		},
		{
			name: "add of roles, then the same again",
			body: ops(`{"op": "add", "path": "roles", "value": [{"value": "Admin"}]}, {"op": "add", "path": "roles", "value": {"value": "admin", "display": "Administrator"}}`),
			want: `{"roles": [{"value": "Admin", "display": "Administrator"}]}`,
		},
		{
			name:  "replace of filtered values with null removes them",
			start: `{` + twoEmails + `}`,
			body:  ops(`{"op": "replace", "path": "emails[type eq \"home\"]", "value": null}`),
			want:  `{"emails": [{"value": "test.user@okta.local", "type": "work", "primary": true}]}`,
		},
		{
			name:  "remove with an empty value list removes the attribute",
			start: `{` + twoEmails + `}`,
			body:  ops(`{"op": "remove", "path": "emails", "value": []}`),
			want:  `{"emails": null}`,
		},
		{
			name: "add a whole value with a filter that selects nothing",
			body: ops(`{"op": "add", "path": "emails[type eq \"home\"]", "value": [{"value": "home@example.com", "primary": true}]}`),
			want: `{"emails": [{"value": "test.user@okta.local", "type": "work"}, {"type": "home", "value": "home@example.com", "primary": true}]}`,
		},
		{
			name: "path-less key naming an extension sub-attribute",
			body: ops(`{"op": "add", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value": "boss"}}`),
			want: `{
				` + enterpriseSchemas + `,
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "boss"}}
			}`,
		},
		// Rollcall's extension.
		{
			name: "rollcall role by URN path",
			body: ops(`{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:rollcall:2.0:User:role", "value": "admin"}`),
			want: `{"urn:ietf:params:scim:schemas:extension:rollcall:2.0:User": {"role": "admin"}}`,
		},
		{
			name: "rollcall role path-less without its URN",
			body: ops(`{"op": "replace", "value": {"role": "admin"}}`),
			want: `{"urn:ietf:params:scim:schemas:extension:rollcall:2.0:User": {"role": "admin"}}`,
		},
		{
			name: "rollcall role path without its URN",
			body: ops(`{"op": "Add", "path": "role", "value": "guest"}, {"op": "Add", "path": "customRoleName", "value": "Auditor"}`),
			want: `{"urn:ietf:params:scim:schemas:extension:rollcall:2.0:User": {"role": "guest", "customRoleName": "Auditor"}}`,
		},
		{
			name: "remove the role drops the extension",
			body: ops(`{"op": "remove", "path": "role"}`),
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "urn:ietf:params:scim:schemas:extension:rollcall:2.0:User": null}`,
		},
		// What is ignored.
		{
			name: "password is accepted and dropped",
			body: ops(`{"op": "add", "path": "password", "value": "1mz050nq"}, {"op": "replace", "value": {"password": "t1meMa$heen", "active": false}}`),
			want: `{"active": false}`,
		},
		{
			name: "readOnly, unknown and schemas keys of a path-less value are ignored",
			body: ops(`{"op": "replace", "value": {"id": "other", "meta": {"version": "W/\"9\""}, "groups": [], "schemas": [], "adreses": [], "title": "Tour Guide"}}`),
			want: `{"title": "Tour Guide"}`,
		},
		{
			name: "a value with nothing the schema knows is ignored",
			body: ops(`{"op": "replace", "path": "name", "value": {"nickname": "Babs"}}`),
		},
		// Errors.
		{
			name: "replace id",
			body: ops(`{"op": "replace", "path": "id", "value": "other"}`),
			err:  &Error{ScimType: "mutability", Detail: "id is readOnly and cannot be changed"},
		},
		{
			name: "replace meta.created",
			body: ops(`{"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}`),
			err:  &Error{ScimType: "mutability", Detail: "meta.created is readOnly and cannot be changed"},
		},
		{
			name: "add groups",
			body: ops(`{"op": "add", "path": "groups", "value": [{"value": "g1"}]}`),
			err:  &Error{ScimType: "mutability", Detail: "groups is readOnly and cannot be changed"},
		},
		{
			name: "remove filtered groups",
			body: ops(`{"op": "remove", "path": "groups[value eq \"e9e30dba-f08f-4109-8486-d5c6a331660a\"]"}`),
			err:  &Error{ScimType: "mutability", Detail: "groups is readOnly and cannot be changed"},
		},
		{
			name: "replace manager.displayName",
			body: ops(`{"op": "replace", "path": "manager.displayName", "value": "Boss"}`),
			err:  &Error{ScimType: "mutability", Detail: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName is readOnly and cannot be changed"},
		},
		{
			name: "replace schemas",
			body: ops(`{"op": "replace", "path": "schemas", "value": ["urn:ietf:params:scim:schemas:core:2.0:User"]}`),
			err:  &Error{ScimType: "mutability", Detail: "schemas cannot be patched; the server keeps it in step with the resource's attributes"},
		},
		{
			name: "remove userName",
			body: ops(`{"op": "remove", "path": "userName"}`),
			err:  &Error{ScimType: "mutability", Detail: "userName is required and cannot be removed"},
		},
		{
			name: "replace userName with null, path-less",
			body: ops(`{"op": "replace", "value": {"userName": null}}`),
			err:  &Error{ScimType: "mutability", Detail: "userName is required and cannot be removed"},
		},
		{
			name: "remove then add userName",
			body: ops(`{"op": "remove", "path": "userName"}, {"op": "add", "path": "userName", "value": "bjensen"}`),
			want: `{"userName": "bjensen"}`,
		},
		{
			name: "replace userName with a blank",
			body: ops(`{"op": "replace", "path": "userName", "value": " "}`),
			err:  &Error{ScimType: "invalidValue", Detail: "userName is required and cannot be empty"},
		},
		{
			name: "unknown attribute",
			body: ops(`{"op": "replace", "path": "nickname2", "value": "Babs"}`),
			err:  &Error{ScimType: "invalidPath", Detail: `invalid path "nickname2": unknown attribute "nickname2"`},
		},
		{
			name: "unknown sub-attribute",
			body: ops(`{"op": "replace", "path": "name.middle", "value": "Jane"}`),
			err:  &Error{ScimType: "invalidPath", Detail: `invalid path "name.middle": unknown attribute "name.middle": name has no sub-attribute "middle"`},
		},
		{
			name: "unknown sub-attribute after a filter",
			body: ops(`{"op": "replace", "path": "emails[type eq \"work\"].address", "value": "a@example.com"}`),
			err:  &Error{ScimType: "invalidPath", Detail: `invalid path "emails[type eq \"work\"].address": unknown attribute 'emails.address': emails has no sub-attribute 'address'`},
		},
		{
			name: "unknown extension attribute",
			body: ops(`{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costcentre", "value": "4130"}`),
			err:  &Error{ScimType: "invalidPath", Detail: `invalid path "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costcentre": unknown attribute "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costcentre"`},
		},
		{
			name: "filter on a single-valued attribute",
			body: ops(`{"op": "replace", "path": "name[givenName eq \"Test\"].familyName", "value": "Jensen"}`),
			err:  &Error{ScimType: "invalidPath", Detail: `invalid path "name[givenName eq \"Test\"].familyName": name is single-valued; a value filter selects values of a multi-valued attribute`},
		},
		{
			name: "filter on a simple attribute",
			body: ops(`{"op": "remove", "path": "active[value eq true]"}`),
			err:  &Error{ScimType: "invalidPath", Detail: `invalid path "active[value eq true]": 'active' is not a complex attribute, so it cannot take a value filter`},
		},
		{
			name:  "filter that selects nothing and is not a conjunction of eq",
			start: `{"emails": null}`,
			body:  ops(`{"op": "replace", "path": "emails[type eq \"work\" or type eq \"home\"].value", "value": "a@example.com"}`),
			err:   &Error{ScimType: "noTarget", Detail: `"emails[type eq \"work\" or type eq \"home\"].value" selects no value, and its filter is not a conjunction of eq comparisons from which to build one`},
		},
		{
			name:  "filter that selects nothing and contradicts itself",
			start: `{"emails": null}`,
			body:  ops(`{"op": "replace", "path": "emails[type eq \"work\" and type eq \"home\"].value", "value": "a@example.com"}`),
			err:   &Error{ScimType: "noTarget", Detail: `"emails[type eq \"work\" and type eq \"home\"].value" selects no value, and its filter is not a conjunction of eq comparisons from which to build one`},
		},
		{
			name: "value of the wrong type",
			body: ops(`{"op": "Replace", "path": "active", "value": "maybe"}`),
			err:  &Error{ScimType: "invalidValue", Detail: `active: expected a boolean, got string "maybe"`},
		},
		{
			name: "value of the wrong type in a path-less value",
			body: ops(`{"op": "replace", "value": {"emails": [{"value": "a@example.com", "primary": "yes"}]}}`),
			err:  &Error{ScimType: "invalidValue", Detail: `emails.primary: expected a boolean, got string "yes"`},
		},
		{
			name: "atomic: the second operation fails, nothing is applied",
			body: ops(`{"op": "replace", "path": "displayName", "value": "Changed"}, {"op": "replace", "path": "id", "value": "other"}`),
			err:  &Error{ScimType: "mutability", Detail: "id is readOnly and cannot be changed"},
		},
		// Groups.
		{
			name:  "okta group rename, path-less with the id",
			group: true,
			body: `{
				"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations": [{
					"op": "replace",
					"value": {"id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b", "displayName": "Test SCIMv2 renamed"}
				}]
			}`,
			want: `{"displayName": "Test SCIMv2 renamed"}`,
		},
		{
			name:  "entra group Replace displayName",
			group: true,
			body:  ops(`{"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}`),
			want:  `{"displayName": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}`,
		},
		{
			name:  "group remove displayName",
			group: true,
			body:  ops(`{"op": "remove", "path": "displayName"}`),
			err:   &Error{ScimType: "mutability", Detail: "displayName is required and cannot be removed"},
		},
		{
			name:  "ms collection add member with displayName",
			group: true,
			body:  ops(`{"name": "addMember", "op": "add", "path": "members", "value": [{"displayName": "new User", "value": "u4"}]}`),
			want: `{"members": [
				{"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local", "$ref": "https://rollcall.example/scim/v2/acme/Users/23a35c27-23d3-4c03-b4c5-6443c09e7173", "type": "User"},
				{"value": "u4", "display": "new User"}
			]}`,
		},
		{
			name:  "add a member already there with another display changes nothing",
			group: true,
			body:  ops(`{"op": "add", "path": "members", "value": [{"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "Someone Else"}]}`),
		},
		{
			name:  "okta remove member by filter",
			group: true,
			body:  ops(`{"op": "remove", "path": "members[value eq \"23a35c27-23d3-4c03-b4c5-6443c09e7173\"]"}`),
			want:  `{"members": null}`,
		},
		{
			name:  "entra remove member with a value list",
			group: true,
			body:  ops(`{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "23a35c27-23d3-4c03-b4c5-6443c09e7173"}]}`),
			want:  `{"members": null}`,
		},
		{
			name:  "okta push of an empty group",
			group: true,
			body:  ops(`{"op": "replace", "path": "members", "value": []}`),
			want:  `{"members": null}`,
		},
		{
			name:  "change a member's immutable display",
			group: true,
			body:  ops(`{"op": "replace", "path": "members[value eq \"23a35c27-23d3-4c03-b4c5-6443c09e7173\"].display", "value": "x"}`),
			err:   &Error{ScimType: "mutability", Detail: "members.display is immutable: it can be set when absent but not changed or removed"},
		},
	}
}

func TestApply(t *testing.T) {
	t.Parallel()
	user, group := schema.User(), schema.Group()
	for _, tt := range applyTests() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs, base := user, userJSON
			if tt.group {
				rs, base = group, groupJSON
			}
			start := overlay(t, decode(t, base), tt.start)
			orig := deepCopy(start)
			ops, err := Parse(decode(t, tt.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := Apply(start, rs, ops)
			if diff := cmp.Diff(orig, start); diff != "" {
				t.Errorf("Apply changed its input (-before +after):\n%s", diff)
			}
			if tt.err != nil {
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("Apply = %v, %v; want error %v", got, err, tt.err)
				}
				if diff := cmp.Diff(tt.err, pe); diff != "" {
					t.Errorf("Apply error (-want +got):\n%s", diff)
				}
				if got != nil {
					t.Errorf("Apply returned a document with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			want := overlay(t, start, tt.want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Apply (-want +got):\n%s", diff)
			}
			checkCanonical(t, rs, got)
		})
	}
}

// checkCanonical fails unless doc is a canonical document of rs with no
// empty objects or lists.
func checkCanonical(tb testing.TB, rs *schema.ResourceSchema, doc map[string]any) {
	tb.Helper()
	n, err := rs.Normalize(doc, schema.NormalizeOptions{KeepReadOnly: true})
	if err != nil {
		tb.Fatalf("Normalize(result): %v", err)
	}
	if diff := cmp.Diff(n, doc); diff != "" {
		tb.Fatalf("result is not canonical (-normalized +result):\n%s", diff)
	}
	pruned := deepCopy(doc).(map[string]any)
	pruneDoc(pruned)
	if diff := cmp.Diff(pruned, doc); diff != "" {
		tb.Fatalf("result has null or empty values (-pruned +result):\n%s", diff)
	}
}

func TestApplyNoSchema(t *testing.T) {
	t.Parallel()
	if _, err := Apply(map[string]any{}, nil, nil); err == nil {
		t.Error("Apply with no schema succeeded")
	}
}

func TestApplyNotCanonical(t *testing.T) {
	t.Parallel()
	doc := map[string]any{"userName": 42}
	_, err := Apply(doc, schema.User(), nil)
	var pe *Error
	if err == nil || errors.As(err, &pe) {
		t.Errorf("Apply(non-canonical) = %v, want an internal error", err)
	}
}

func TestApplyOperationsBuiltByHandlers(t *testing.T) {
	t.Parallel()
	rs := schema.User()
	doc := decode(t, userJSON)
	tests := []struct {
		name string
		ops  []Operation
		err  *Error
	}{
		{"unknown op", []Operation{{Op: "move", Value: map[string]any{}}}, &Error{ScimType: "invalidSyntax", Detail: `unknown op "move"; use "add", "remove" or "replace"`}},
		{"remove without a path", []Operation{{Op: OpRemove}}, &Error{ScimType: "invalidPath", Detail: `remove needs a "path" naming what to remove`}},
		{"path-less with a string", []Operation{{Op: OpAdd, Value: "x"}}, &Error{ScimType: "invalidSyntax", Detail: `add without a "path" needs an object "value" of attribute names and values, not string "x"`}},
		{"too many", make([]Operation, MaxOperations+1), &Error{ScimType: "invalidSyntax", Detail: "1001 operations; at most 1000 are allowed in one request"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Apply(doc, rs, tt.ops)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Apply = %v, want %v", err, tt.err)
			}
			if diff := cmp.Diff(tt.err, pe); diff != "" {
				t.Errorf("Apply error (-want +got):\n%s", diff)
			}
		})
	}
}

// TestApplyDoesNotAlias checks that the result shares no object or list
// with the operations' values, which the caller may reuse.
func TestApplyDoesNotAlias(t *testing.T) {
	t.Parallel()
	rs := schema.User()
	body := decode(t, ops(`{"op": "replace", "path": "emails[type eq \"work\"]", "value": {"value": "a@example.com", "type": "work"}},
		{"op": "add", "path": "phoneNumbers", "value": [{"value": "tel:+1-201-555-0123"}]},
		{"op": "add", "value": {"name": {"givenName": "Babs"}}}`))
	ops, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	before := deepCopy(body)
	got, err := Apply(decode(t, userJSON), rs, ops)
	if err != nil {
		t.Fatal(err)
	}
	got["emails"].([]any)[0].(map[string]any)["value"] = "changed"
	got["phoneNumbers"].([]any)[0].(map[string]any)["value"] = "changed"
	got["name"].(map[string]any)["givenName"] = "changed"
	if diff := cmp.Diff(before, body); diff != "" {
		t.Errorf("changing the result changed the request (-before +after):\n%s", diff)
	}
}
