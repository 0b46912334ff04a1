package store

import (
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
