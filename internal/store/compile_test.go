package store

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"rollcall/internal/directory"
)

// TestBooleansAreLiterals: a boolean comparison is compiled to a literal,
// not a parameter, because a plan made once for all values (PostgreSQL's
// generic plan of a prepared statement) can use the members_inactive
// partial index only for a literal FALSE. (The store suite's plans are
// made for the values given, so they cannot tell the two apart.)
func TestBooleansAreLiterals(t *testing.T) {
	db := &DB{d: Dialect{Name: "test"}}
	f := false
	for _, tc := range []struct {
		name string
		q    directory.MemberQuery
		want string
	}{
		{"active eq false", directory.MemberQuery{Where: directory.Compare{Field: directory.FieldActive, Op: directory.OpEq, Value: false}}, "m.active = FALSE"},
		{"active ne true", directory.MemberQuery{Where: directory.Compare{Field: directory.FieldActive, Op: directory.OpNe, Value: true}}, "m.active = FALSE"},
		{"active eq true", directory.MemberQuery{Where: directory.Compare{Field: directory.FieldActive, Op: directory.OpEq, Value: true}}, "m.active = TRUE"},
		{"inactive members", directory.MemberQuery{Active: &f}, "m.active = FALSE"},
	} {
		where, _, args, _, err := db.memberQuerySQL("ws1", tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !strings.Contains(where, tc.want) || len(args) != 1 {
			t.Errorf("%s: WHERE %s with %d args; want %q and only the workspace as a parameter", tc.name, where, len(args), tc.want)
		}
	}
}

// leftDeep builds a chain the way the SCIM door translates "a op b op c
// …": each operator node holds the chain so far and one more operand, so
// the tree is as deep as the chain is long.
func leftDeep(xs []directory.Cond, or bool) directory.Cond {
	acc := xs[0]
	for _, x := range xs[1:] {
		if or {
			acc = directory.Or{acc, x}
		} else {
			acc = directory.And{acc, x}
		}
	}
	return acc
}

func userNames(from, n int) []directory.Cond {
	out := make([]directory.Cond, n)
	for i := range out {
		out[i] = directory.Compare{Field: directory.FieldUserName, Op: directory.OpEq, Value: fmt.Sprintf("U%d", from+i)}
	}
	return out
}

// sqlShape measures compiled SQL: the deepest nesting of parentheses and
// the longest run of one operator between two parentheses (what SQLite
// turns into a tree of that depth).
func sqlShape(s string) (parens, run int) {
	runs := []int{0}
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '(':
			runs = append(runs, 0)
			parens = max(parens, len(runs)-1)
		case s[i] == ')':
			runs = runs[:len(runs)-1]
		case strings.HasPrefix(s[i:], " OR "), strings.HasPrefix(s[i:], " AND "):
			runs[len(runs)-1]++
			run = max(run, runs[len(runs)-1]+1)
		}
	}
	return parens, run
}

// TestLongChains: a chain of one operator compiles however long it is
// (the SCIM filter parser accepts 200 terms; a 65-term chain used to fail
// as "nested deeper than 64 levels", a 500), every term gets its
// parameter, the SQL's nesting stays shallow, and mixed operators keep
// their parentheses.
func TestLongChains(t *testing.T) {
	db := &DB{d: Dialect{Name: "test"}}
	n := 200
	mixed := directory.And{
		leftDeep(userNames(0, n/2), true),
		directory.Not{X: leftDeep(userNames(n/2, n/2), false)},
	}
	for _, tc := range []struct {
		name      string
		where     directory.Cond
		ors, ands int
	}{
		{"or, left-deep", leftDeep(userNames(0, n), true), n - 1, 0},
		{"and, left-deep", leftDeep(userNames(0, n), false), 0, n - 1},
		{"or, flat", directory.Or(userNames(0, n)), n - 1, 0},
		{"or, right-deep", directory.Or{userNames(0, 1)[0], directory.Or{directory.Or(userNames(1, n-2)), userNames(n-1, 1)[0]}}, n - 1, 0},
		{"or of ands", leftDeep([]directory.Cond{leftDeep(userNames(0, n/2), false), leftDeep(userNames(n/2, n/2), false)}, true), 1, n - 2},
		{"and of or and not", mixed, n/2 - 1, n / 2},
		{"emails", leftDeep(func() []directory.Cond {
			var xs []directory.Cond
			for i := range n {
				xs = append(xs, directory.EmailMatch{Cond: directory.Compare{Field: directory.FieldEmailValue, Op: directory.OpEq, Value: fmt.Sprintf("u%d@x.test", i)}})
			}
			return xs
		}(), true), n - 1, n}, // each email subquery has its own "workspace_id = $1 AND"
	} {
		where, _, args, _, err := db.memberQuerySQL("ws1", directory.MemberQuery{Where: tc.where, SCIMOnly: true})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(args) != n+1 {
			t.Errorf("%s: %d parameters, want %d (the workspace and one a term)", tc.name, len(args), n+1)
		}
		if got := strings.Count(where, " OR "); got != tc.ors {
			t.Errorf("%s: %d ORs, want %d", tc.name, got, tc.ors)
		}
		if got := strings.Count(where, " AND ") - 2; got != tc.ands { // less the workspace's and SCIMOnly's
			t.Errorf("%s: %d ANDs, want %d", tc.name, got, tc.ands)
		}
		if parens, run := sqlShape(where); parens > 8 || run > chainWidth {
			t.Errorf("%s: parentheses %d deep, a run of %d operators: %s", tc.name, parens, run, where)
		}
	}

	// The same on groups.
	c := &compiler{d: &db.d, args: []any{"ws1"}, fields: groupFields}
	var xs []directory.Cond
	for i := range n {
		xs = append(xs, directory.Compare{Field: directory.FieldGroupDisplayName, Op: directory.OpEq, Value: fmt.Sprint("G", i)})
	}
	if s, err := c.cond(leftDeep(xs, true)); err != nil || len(c.args) != n+1 || strings.Count(s, " OR ") != n-1 {
		t.Errorf("groups: %d parameters, %v: %s", len(c.args), err, s)
	}
}

// TestChainSQL pins the SQL of short chains and of mixed operators: flat
// chains, nested chains of one operator merged, each operand and each
// operator of another kind in parentheses.
func TestChainSQL(t *testing.T) {
	u := func(i int) directory.Cond {
		return directory.Compare{Field: directory.FieldUserName, Op: directory.OpEq, Value: fmt.Sprint(i)}
	}
	for _, tc := range []struct {
		name string
		cond directory.Cond
		want string
	}{
		{"or", directory.Or{directory.Or{u(1), u(2)}, u(3)}, "(m.user_name_lower = $2) OR (m.user_name_lower = $3) OR (m.user_name_lower = $4)"},
		{"and", directory.And{u(1), directory.And{u(2), u(3)}}, "(m.user_name_lower = $2) AND (m.user_name_lower = $3) AND (m.user_name_lower = $4)"},
		{"or in and", directory.And{directory.Or{u(1), u(2)}, u(3)}, "((m.user_name_lower = $2) OR (m.user_name_lower = $3)) AND (m.user_name_lower = $4)"},
		{"and in or", directory.Or{directory.And{u(1), u(2)}, directory.Or{u(3), directory.And{u(4), u(5)}}},
			"((m.user_name_lower = $2) AND (m.user_name_lower = $3)) OR (m.user_name_lower = $4) OR ((m.user_name_lower = $5) AND (m.user_name_lower = $6))"},
		{"not of or in or", directory.Or{u(1), directory.Not{X: directory.Or{u(2), u(3)}}},
			"(m.user_name_lower = $2) OR (NOT ((m.user_name_lower = $3) OR (m.user_name_lower = $4)))"},
		{"empty chains", directory.Or{directory.Or{}, u(1), directory.And{}}, "(m.user_name_lower = $2) OR (1=1)"},
		{"empty or", directory.Or{directory.Or{}}, "1=0"},
		{"long", directory.Or(userNames(0, chainWidth+1)), "((" + strings.Repeat("x) OR (", chainWidth-1) + "x)) OR ((x))"},
	} {
		c := &compiler{d: &Dialect{Name: "test"}, args: []any{"ws1"}, fields: memberFields}
		got, err := c.cond(tc.cond)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if tc.name == "long" {
			got = regexp.MustCompile(`m\.user_name_lower = \$\d+`).ReplaceAllString(got, "x")
		}
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// TestCompileBounds: what the compiler refuses, it refuses as the
// request's fault (directory.EINVALID, a 400 at the SCIM door), never as
// an internal error.
func TestCompileBounds(t *testing.T) {
	deep := directory.Cond(userNames(0, 1)[0])
	for i := range maxCondDepth {
		// Alternate the operators, so that no chain can be flattened.
		switch i % 3 {
		case 0:
			deep = directory.Not{X: deep}
		case 1:
			deep = directory.Or{deep, userNames(i, 1)[0]}
		case 2:
			deep = directory.And{deep, userNames(i, 1)[0]}
		}
	}
	many := directory.Or(userNames(0, maxParams))
	for name, cond := range map[string]directory.Cond{"deep": deep, "many parameters": many} {
		c := &compiler{d: &Dialect{Name: "test"}, args: []any{"ws1"}, fields: memberFields}
		_, err := c.cond(cond)
		var de *directory.Error
		if !errors.As(err, &de) || de.Code != directory.EINVALID || de.Field != "filter" {
			t.Errorf("%s: %v, want a directory.EINVALID on the filter", name, err)
		}
	}
	// Just within both bounds.
	c := &compiler{d: &Dialect{Name: "test"}, args: []any{"ws1"}, fields: memberFields}
	if _, err := c.cond(directory.Or(userNames(0, maxParams-1))); err != nil {
		t.Errorf("%d parameters: %v", maxParams, err)
	}
}
