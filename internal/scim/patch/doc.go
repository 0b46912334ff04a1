// Package patch implements SCIM PATCH (RFC 7644 §3.5.2): [Parse] reads a
// PatchOp request body into [Operation] values, and [Apply] applies them to
// a canonical document (see package schema) and returns the new one.
//
// The package is pure — no I/O, no clock, no package state — and safe for
// concurrent use. Apply works on a copy and is atomic: if any operation
// fails the caller gets only the error (RFC 7644 §3.5.2 "SHALL be treated
// as atomic"). Work is bounded: at most [MaxOperations] operations, values
// nested at most schema.MaxDepth deep, and each operation costs time linear
// in its value and, when it has a value filter or replaces values, in the
// list it targets. Adding and removing values by value, which is how IdPs
// manage lists, goes through a hash index kept across the operations of a
// request, so a thousand single-value adds cost what one add of a thousand
// values does.
//
// # Paths and values
//
// Paths are resolved with package filter against the resource schema:
// names in any case, sub-attributes ("name.givenName"), URN-qualified core
// and extension attributes ("urn:ietf:params:scim:schemas:core:2.0:User:userName",
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
// extension attributes without their URN ("employeeNumber", "role") and
// value filters with an optional sub-attribute
// (emails[type eq "work"].value). Every value is normalised for its target
// with schema.ResourceSchema.NormalizeValue or NormalizeElement, so Entra
// ID's "False" becomes false and a bare manager id becomes {"value": id}.
//
// # Semantics
//
//   - add sets a single-valued attribute, merges the sub-attributes of a
//     complex one, and appends to a multi-valued one the values not
//     already there. A value is already there when its "value"
//     sub-attribute is equal (without regard to case unless caseExact) and
//     so is its "type" when both have one; its other sub-attributes are
//     then merged into the present value, except immutable ones it already
//     has (without a "value" sub-attribute, as for addresses, all
//     sub-attributes but "primary" must be equal). Adding what is there
//     succeeds and changes nothing (RFC 7644 §3.5.2.1).
//   - replace sets a single-valued attribute; for a complex one it merges,
//     leaving sub-attributes not given unchanged (RFC 7644 §3.5.2.3). It
//     replaces the whole list of a multi-valued attribute. With a value
//     filter it replaces the selected values — the first takes the new
//     value and the others are dropped, so no duplicates appear — or, with
//     a sub-attribute after the filter, sets that sub-attribute of each.
//   - remove deletes an attribute, a sub-attribute, or the values a filter
//     selects. With a value and no filter on a multi-valued attribute it
//     deletes the values listed, matched as add matches them; a null or
//     empty value removes the whole attribute, as the group handler
//     treats members.
//   - A path-less add or replace takes an object whose members are paths
//     (plain, dotted, URN-qualified, or an extension URN whose object is
//     merged) and applies each as its own operation: plain names first,
//     then dotted and URN-qualified ones.
//   - A null value unsets its target, in add as in replace; so does an
//     empty object, and an empty list given for a single value. replace
//     with [] empties a multi-valued attribute (Okta pushes an empty group
//     so). A non-empty value of which nothing fits the schema (only unknown
//     or readOnly members) is ignored rather than taken as null.
//   - Changing the "value" of a reference (a complex attribute with "value"
//     and "$ref", such as the enterprise manager) replaces the reference as
//     a whole: its old $ref and displayName would describe someone else.
//   - At most one value of a multi-valued attribute stays primary
//     (RFC 7643 §2.4): when an operation adds or changes values marked
//     primary, the last of them keeps the flag and every other value of
//     the attribute loses it.
//   - Empty complex values and empty lists are removed: an attribute is
//     absent rather than {} or []. "schemas", when the document has it,
//     follows the extensions: the URN of every extension the result has is
//     listed, and that of an extension whose last attribute the operations
//     removed is dropped. Unknown URIs stay.
//   - The result is canonical: rs.Normalize(result, {KeepReadOnly: true})
//     gives it back.
//
// # Mutability
//
// A path naming a readOnly attribute or sub-attribute (id, meta,
// meta.created, groups, manager.displayName) is a mutability error, as is
// a path naming "schemas". An immutable attribute may be set when absent,
// or to the value it has, but not changed or removed; whole values of a
// multi-valued attribute with immutable sub-attributes (group members) may
// still be added, removed and replaced, but not edited in place. Removing a required attribute — userName of
// a User, displayName of a Group — is a mutability error; emptying it is
// invalidValue. writeOnly attributes (password) are accepted and dropped:
// the server stores no passwords.
//
// # Leniencies, and who needs them
//
//   - op in any case: Entra ID sends "Add", "Replace", "Remove".
//   - Member names of the body and of operations in any case, unknown
//     members ignored: Microsoft's test collection sends "name":
//     "addMember" and a top-level "id". An empty "path" counts as none.
//   - Path-less values: Okta deactivates with {"active": false} and renames
//     groups with {"id": …, "displayName": …}; readOnly members such as
//     that "id", and unknown members, are ignored, as in POST and PUT
//     bodies. Entra's flag mode puts "name.givenName" and
//     "urn:…:enterprise:2.0:User:employeeNumber" keys in the value.
//   - A one-element list given for a single value stands for that value:
//     Entra's documentation adds the manager with "value": [{"value": id}].
//   - Filtered add or replace that selects nothing: RFC 7644 §3.5.2.3 says
//     noTarget, but Entra ID sends {"op": "Replace", "path":
//     "emails[type eq \"work\"].value", "value": …} for a user who has no
//     work email yet and expects it to be added. When the filter is a
//     conjunction of eq comparisons, a new value is built from those
//     comparisons and the operation's value ({"type": "work", "value": …})
//     and appended; otherwise the error is noTarget. A sub-attribute path
//     without a filter (emails.value) selects every value, and builds
//     {"value": …} when there is none.
//   - remove whose filter selects nothing, or whose target is absent,
//     succeeds: IdPs retry removals and rely on them being idempotent.
//   - remove with a value list and no filter (Entra ID's default member
//     removal) deletes the listed values; remove of a single-valued
//     attribute ignores its value.
//
// # Errors
//
// Faults of the request are [*Error] values with an RFC 7644 §3.12
// scimType: invalidSyntax for the body's structure, invalidPath for paths
// that do not parse or resolve (the detail quotes the path), noTarget,
// invalidValue for values that do not fit the schema (the detail names the
// attribute), and mutability. Errors of packages schema and filter are
// converted, never returned as they are, so one errors.As finds them all.
package patch
