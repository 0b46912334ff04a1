package scim_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"rollcall/internal/scim"
	"rollcall/internal/scim/filter"
	"rollcall/internal/testenv/dbtest"
)

// chain joins n terms, term(0) … term(n-1), with op ("or", "and").
func chain(n int, op string, term func(i int) string) string {
	terms := make([]string, n)
	for i := range terms {
		terms[i] = term(i)
	}
	return strings.Join(terms, " "+op+" ")
}

// searchBody is a POST .search request for filter.
func searchBody(t *testing.T, filter string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "filter": filter})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantInvalidFilter fails the test unless r is a 400 invalidFilter.
func wantInvalidFilter(t *testing.T, r response) {
	t.Helper()
	r.want(t, 400)
	if r.str("scimType") != "invalidFilter" {
		t.Fatalf("scimType %q, want invalidFilter: %s", r.str("scimType"), r.Raw)
	}
}

// TestFilterTermBound: every filter the parser accepts is answered, up to
// its bound of terms, on each attribute answered in SQL, and a filter over
// the bound is a 400 invalidFilter, never a 500. (A chain of 65 terms
// used to fail in the store as "nested deeper than 64 levels".)
func TestFilterTermBound(t *testing.T) {
	n := filter.DefaultMaxTerms
	// The members and groups that exist, among the n each filter names.
	hits := []int{0, n / 2, n - 1}
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, engine, scim.Config{})
			ids := map[int]string{}
			for _, i := range hits {
				ids[i] = f.do("POST", "/Users", user(fmt.Sprintf("u%d", i), fmt.Sprintf(`"emails":[{"value":"u%d@x.test","type":"work"}]`, i))).want(t, 201).str("id")
				f.do("POST", "/Groups", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"g%d","members":[{"value":%q}]}`, i, ids[i])).want(t, 201)
			}
			// Neither named by the filters nor a member of a group.
			f.do("POST", "/Users", user("other", `"emails":[{"value":"other@x.test"}]`)).want(t, 201)
			f.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"other"}`).want(t, 201)

			id := func(i int) string {
				if s, ok := ids[i]; ok {
					return s
				}
				return fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
			}
			userName := func(i int) string { return fmt.Sprintf(`userName eq "u%d"`, i) }
			for _, tc := range []struct {
				path, filter string
				want         int
			}{
				{"/Users", chain(n, "or", userName), len(hits)},
				{"/Users", chain(n, "or", func(i int) string { return fmt.Sprintf(`emails.value eq "U%d@x.test"`, i) }), len(hits)},
				{"/Users", chain(n, "or", func(i int) string { return fmt.Sprintf(`id eq %q`, id(i)) }), len(hits)},
				{"/Users", chain(n, "and", func(i int) string {
					if i == 0 {
						return `userName eq "u0"`
					}
					return fmt.Sprintf(`userName ne "u%d"`, i)
				}), 1},
				// other, and u199: of the emails only it has none of these.
				{"/Users", `userName eq "other" or (` + chain(n-1, "and", func(i int) string { return fmt.Sprintf(`emails.value ne "u%d@x.test"`, i) }) + `)`, 2},
				{"/Groups", chain(n, "or", func(i int) string { return fmt.Sprintf(`displayName eq "G%d"`, i) }), len(hits)},
				{"/Groups", chain(n, "or", func(i int) string { return fmt.Sprintf(`members.value eq %q`, id(i)) }), len(hits)},
				{"/Groups", chain(n, "and", func(i int) string { return fmt.Sprintf(`members.value ne %q`, id(i)) }), 1},
			} {
				name := tc.path + " " + tc.filter[:strings.Index(tc.filter, " ")]
				r := f.do("GET", tc.path+"?filter="+url.QueryEscape(tc.filter), "")
				if r.Status != 200 || r.total() != tc.want {
					t.Errorf("%s (%d terms): status %d, totalResults %d, want 200 and %d: %.300s", name, n, r.Status, r.total(), tc.want, r.Raw)
				}
			}
			// The same through POST .search.
			if r := f.do("POST", "/Users/.search", searchBody(t, chain(n, "or", userName))).want(t, 200); r.total() != len(hits) {
				t.Errorf(".search: totalResults %d, want %d", r.total(), len(hits))
			}

			// One term over the bound is the client's mistake.
			over := chain(n+1, "or", userName)
			wantInvalidFilter(t, f.do("GET", "/Users?filter="+url.QueryEscape(over), ""))
			wantInvalidFilter(t, f.do("POST", "/Users/.search", searchBody(t, over)))
			wantInvalidFilter(t, f.do("GET", "/Groups?filter="+url.QueryEscape(chain(n+1, "or", func(i int) string { return fmt.Sprintf(`displayName eq "g%d"`, i) })), ""))
		})
	}
}

// TestFilterDepthBound: the deepest filter the parser accepts, each level
// a "not (… or … and …)" so that no chain can be merged, and an "ne" on
// emails at the bottom, is answered; one level more is a 400.
func TestFilterDepthBound(t *testing.T) {
	nested := func(depth int) string {
		// Each level is "not (false or (true and X))", that is "not X";
		// the bottom holds for every member, so an even depth matches all.
		s := `emails.value ne "nobody@x.test"`
		for range depth {
			s = `not (userName eq "nobody" or userName pr and ` + s + `)`
		}
		return s
	}
	d := filter.DefaultMaxDepth
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, engine, scim.Config{})
			f.do("POST", "/Users", user("with@x.test", `"emails":[{"value":"with@x.test"}]`)).want(t, 201)
			f.do("POST", "/Users", user("without@x.test", "")).want(t, 201)
			want := 2 * ((d + 1) % 2) // all at an even depth, none at an odd one
			r := f.do("GET", "/Users?filter="+url.QueryEscape(nested(d)), "")
			if r.Status != 200 || r.total() != want {
				t.Fatalf("depth %d: status %d, totalResults %d, want 200 and %d: %.300s", d, r.Status, r.total(), want, r.Raw)
			}
			wantInvalidFilter(t, f.do("GET", "/Users?filter="+url.QueryEscape(nested(d+1)), ""))
		})
	}
}

// TestFilterRaisedTermBound: a term bound raised by configuration
// (--scim-filter-max-terms) is answered too: SQLite refuses expressions
// more than 1000 deep, which a flat chain of as many terms would be.
func TestFilterRaisedTermBound(t *testing.T) {
	const n = 2500
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, engine, scim.Config{Filter: filter.Limits{MaxTerms: n, MaxLength: 1 << 20}})
			f.do("POST", "/Users", user(fmt.Sprintf("u%d", n-1), "")).want(t, 201)
			flt := chain(n, "or", func(i int) string { return fmt.Sprintf(`userName eq "u%d"`, i) })
			if r := f.do("GET", "/Users?filter="+url.QueryEscape(flt), ""); r.Status != 200 || r.total() != 1 {
				t.Fatalf("%d terms: status %d, totalResults %d, want 200 and 1: %.300s", n, r.Status, r.total(), r.Raw)
			}
		})
	}
}
