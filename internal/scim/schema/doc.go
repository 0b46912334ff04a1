// Package schema defines the SCIM 2.0 resource schemas Rollcall serves
// (RFC 7643) and turns JSON documents sent by identity providers into
// canonical documents that follow them.
//
// The package is pure: no I/O, no clock, no package state. A
// [ResourceSchema] combines a core schema with its extensions for one
// resource type; [User] and [Group] build the two Rollcall serves. Build
// them once and share them: they are never modified after construction, so
// concurrent use is safe.
//
// # Attribute names
//
// Attribute names are case-insensitive everywhere (RFC 7643 §2.1).
// [ResourceSchema.Resolve] accepts "userName", "USERNAME", "name.FamilyName",
// "emails.value", a core attribute qualified with the core schema URN, and an
// extension attribute qualified with its schema URN
// ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value").
// An extension attribute may also be named without its URN ("employeeNumber",
// "role"): core and common attributes are tried first, then every extension,
// and the name resolves only when exactly one extension defines it. Entra ID
// and Okta custom attributes created in the core namespace rely on this.
//
// # Canonical documents
//
// A canonical document is a map[string]any as produced by encoding/json
// (decoded with UseNumber) whose keys carry the schema's spelling at every
// level, with extension attributes under their canonical URN key, no null
// values, booleans as bool, numbers as json.Number, dateTime values as
// strings, and multi-valued attributes as []any. [ResourceSchema.Normalize]
// produces one from a request body, forgiving what real clients send:
// capitalised keys, string booleans ("True"), a single object where a list
// is expected, a bare string for a reference such as the enterprise
// "manager", dotted or URN-qualified keys ("name.givenName"), nulls, unknown
// attributes and unknown extension URNs. What cannot be repaired is a
// [*ValueError] naming the attribute.
package schema
