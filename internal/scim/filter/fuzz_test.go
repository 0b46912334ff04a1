package filter

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"rollcall/internal/scim/schema"
)

// fuzzDocs returns the documents fuzzed filters are evaluated against.
func fuzzDocs(tb testing.TB) (userDocs, groupDocs []map[string]any) {
	for _, d := range users(tb) {
		userDocs = append(userDocs, d)
	}
	for _, d := range groups(tb) {
		groupDocs = append(groupDocs, d)
	}
	return userDocs, groupDocs
}

// FuzzParse checks that Parse never panics, fails only with a
// *SyntaxError, and that what it parses prints as a filter that parses
// back to the same tree; and that resolving, compiling and matching the
// result against real documents never panics either.
func FuzzParse(f *testing.F) {
	for _, tt := range parseTests() {
		f.Add(tt.in)
	}
	for _, tt := range parseErrorTests() {
		if len(tt.in) < 1000 {
			f.Add(tt.in)
		}
	}
	userDocs, groupDocs := fuzzDocs(f)
	user, group := schema.User(), schema.Group()
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %T %v, want a *SyntaxError", s, err, err)
			}
			if se.Offset > len(s) {
				t.Fatalf("Parse(%q) error offset %d beyond the input", s, se.Offset)
			}
			return
		}
		checkRoundTrip(t, e)
		for _, c := range []struct {
			rs   *schema.ResourceSchema
			docs []map[string]any
		}{{user, userDocs}, {group, groupDocs}} {
			m, err := Compile(e, c.rs)
			if err != nil {
				var re *ResolveError
				if !errors.As(err, &re) {
					t.Fatalf("Compile(%q) error %T %v, want a *ResolveError", s, err, err)
				}
				continue
			}
			// The canonical form compiles and matches the same documents.
			m2, err := Compile(m.Expr(), c.rs)
			if err != nil {
				t.Fatalf("Compile(%s) (canonical of %q): %v", m.Expr(), s, err)
			}
			checkRoundTrip(t, m.Expr())
			for _, d := range c.docs {
				if m.Match(d) != m2.Match(d) {
					t.Fatalf("%q and its canonical form %s disagree on %v", s, m.Expr(), d["id"])
				}
			}
		}
	})
}

// FuzzParsePath does the same for PATCH paths and attribute lists, and
// projects real documents with what it parses.
func FuzzParsePath(f *testing.F) {
	for _, tt := range pathTests() {
		f.Add(tt.in)
	}
	for _, tt := range pathErrorTests() {
		if len(tt.in) < 1000 {
			f.Add(tt.in)
		}
	}
	f.Add(`userName,emails`)
	f.Add(`emails[value eq "a,b"],userName`)
	userDocs, _ := fuzzDocs(f)
	user := schema.User()
	f.Fuzz(func(t *testing.T, s string) {
		pe, err := ParsePath(s)
		if err == nil {
			again, err := ParsePath(pe.String())
			if err != nil {
				t.Fatalf("ParsePath(%q) (from %q): %v", pe.String(), s, err)
			}
			if diff := cmp.Diff(pe, again); diff != "" {
				t.Fatalf("ParsePath(p.String()) != p for %q (-p +reparsed):\n%s", s, diff)
			}
			if rp, err := pe.Resolve(user); err == nil {
				for _, d := range userDocs {
					if em, ok := d["emails"].([]any); ok && len(em) > 0 {
						if m, ok := em[0].(map[string]any); ok {
							rp.Match(m)
						}
					}
				}
			} else if !errors.As(err, new(*ResolveError)) {
				t.Fatalf("Resolve(%q) error %T %v", s, err, err)
			}
		} else if !errors.As(err, new(*SyntaxError)) {
			t.Fatalf("ParsePath(%q) error %T %v, want a *SyntaxError", s, err, err)
		}

		list, err := ParseAttributeList(s)
		if err != nil {
			if !errors.As(err, new(*SyntaxError)) {
				t.Fatalf("ParseAttributeList(%q) error %T %v", s, err, err)
			}
			return
		}
		for _, lists := range [][2][]PathExpr{{list, nil}, {nil, list}, {list, list}} {
			proj, err := NewProjection(user, lists[0], lists[1])
			if err != nil {
				continue
			}
			for _, d := range userDocs {
				out := proj.Apply(d)
				if out["id"] != d["id"] {
					t.Fatalf("projection %q lost the id", s)
				}
				if _, ok := out["password"]; ok {
					t.Fatalf("projection %q returned the password", s)
				}
			}
		}
	})
}
