package patch

import (
	"bytes"
	"encoding/json"
	"testing"
)

// decode decodes a JSON object as the SCIM handlers do, with UseNumber.
func decode(tb testing.TB, s string) map[string]any {
	tb.Helper()
	m, err := decodeObject(s)
	if err != nil {
		tb.Fatalf("decode %s: %v", s, err)
	}
	return m
}

func decodeObject(s string) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// overlay returns doc with the top-level members of the JSON object over
// set on it; a null member removes the attribute. An empty over gives doc.
func overlay(tb testing.TB, doc map[string]any, over string) map[string]any {
	tb.Helper()
	out := deepCopy(doc).(map[string]any)
	if over == "" {
		return out
	}
	for k, v := range decode(tb, over) {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// userJSON is a User as Rollcall's handler builds it for an Okta-created
// member: core attributes, a group, the Rollcall extension and meta.
const userJSON = `{
	"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:rollcall:2.0:User"],
	"id": "2819c223-7f76-453a-919d-413861904646",
	"externalId": "00ujl29u0le5T6Aj10h7",
	"userName": "test.user@okta.local",
	"name": {"givenName": "Test", "familyName": "User"},
	"displayName": "Test User",
	"emails": [{"value": "test.user@okta.local", "type": "work", "primary": true}],
	"active": true,
	"groups": [{"value": "e9e30dba-f08f-4109-8486-d5c6a331660a", "display": "Tour Guides", "$ref": "https://rollcall.example/scim/v2/acme/Groups/e9e30dba-f08f-4109-8486-d5c6a331660a", "type": "direct"}],
	"urn:ietf:params:scim:schemas:extension:rollcall:2.0:User": {"role": "member"},
	"meta": {
		"resourceType": "User",
		"created": "2026-11-22T08:00:00Z",
		"lastModified": "2026-11-22T08:00:00Z",
		"location": "https://rollcall.example/scim/v2/acme/Users/2819c223-7f76-453a-919d-413861904646",
		"version": "W/\"1\""
	}
}`

// groupJSON is a Group pushed by Okta, with one member.
const groupJSON = `{
	"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
	"id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b",
	"displayName": "Test SCIMv2",
	"members": [{"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local", "$ref": "https://rollcall.example/scim/v2/acme/Users/23a35c27-23d3-4c03-b4c5-6443c09e7173", "type": "User"}],
	"meta": {
		"resourceType": "Group",
		"created": "2026-11-22T08:00:00Z",
		"lastModified": "2026-11-22T08:00:00Z",
		"location": "https://rollcall.example/scim/v2/acme/Groups/abf4dd94-a4c0-4f67-89c9-76b03340cb9b",
		"version": "W/\"3\""
	}
}`
