package filter

import (
	"testing"

	"rollcall/internal/scim/schema"
)

// BenchmarkParse parses the filter Okta sends before every user creation.
func BenchmarkParse(b *testing.B) {
	const s = `userName eq "test.user@okta.local"`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseComplex parses the longest filter of Microsoft's
// collection.
func BenchmarkParseComplex(b *testing.B) {
	const s = `name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatch evaluates a value filter against a full user.
func BenchmarkMatch(b *testing.B) {
	e, err := Parse(`emails[type eq "work"].value eq "BJENSEN@example.com" and active eq true`)
	if err != nil {
		b.Fatal(err)
	}
	m, err := Compile(e, schema.User())
	if err != nil {
		b.Fatal(err)
	}
	doc := users(b)["bjensen"]
	b.ReportAllocs()
	for b.Loop() {
		if !m.Match(doc) {
			b.Fatal("no match")
		}
	}
}
