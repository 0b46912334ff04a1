// Package filter parses and evaluates the SCIM query language: filters
// (RFC 7644 §3.4.2.2), PATCH paths (RFC 7644 §3.5.2) and the attributes and
// excludedAttributes parameters (RFC 7644 §3.4.2.5).
//
// Parsing needs no schema. [Parse] turns a filter into an [Expr] tree of
// [And], [Or], [Not], [Compare], [Present] and [ValuePath] nodes;
// [ParsePath] turns a PATCH path into a [PathExpr]. Both are bounded by
// [Limits] (input length, comparisons, nesting) and run in linear time;
// errors are [*SyntaxError] values that give the byte offset of the
// problem. Every tree prints back as a canonical filter with String, and
// Parse(e.String()) gives e again.
//
// Beyond the RFC grammar the parser accepts what real clients send:
//
//   - operators and keywords in any case ("EQ", "And", "NOT");
//   - true, false and null in any case;
//   - unquoted values ("name.familyName eq Employee", "externalId eq
//     jyoung", "meta.created gt 2015-10-10T14:38:21.8617979-07:00", from
//     Microsoft's documentation and test collection). A bare value runs to
//     the next space, ")" or "]"; if it spells true, false, null or a JSON
//     number it means that, otherwise it is a string. String prints it
//     quoted;
//   - an attribute path after a value filter, as Entra ID sends:
//     emails[type eq "work"].value eq "a@b" is read as
//     emails[type eq "work" and value eq "a@b"], which means the same thing
//     and is what String prints.
//
// Meaning needs a schema. [Resolve] checks an expression against a
// [schema.ResourceSchema] — unknown attributes, operators that do not suit
// the attribute's type, values of the wrong type — and returns it in
// canonical form, which is what an SQL compiler should walk. [Compile]
// does the same and returns a [Matcher] that evaluates the filter against
// canonical documents in memory; [PathExpr.Resolve] does it for PATCH
// paths. Errors found there are [*ResolveError] values: the caller answers
// 400 invalidFilter (or invalidPath for PATCH).
//
// [ParseAttributeList] and [Projection] implement attributes and
// excludedAttributes, including Microsoft's attributes=emails[type eq "work"].
// They live here rather than in package schema because they need paths with
// value filters.
package filter
