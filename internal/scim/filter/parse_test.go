package filter

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	coreURN = "urn:ietf:params:scim:schemas:core:2.0:User"
	entURN  = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

// Shorthands for building expected trees.

// p parses "attr", "attr.sub" or "urn:…:attr.sub" the simple way.
func p(s string) Path {
	var path Path
	if strings.HasPrefix(s, "urn:") {
		i := strings.LastIndexByte(s, ':')
		path.URN, s = s[:i], s[i+1:]
	}
	path.Attr, path.Sub, _ = strings.Cut(s, ".")
	return path
}

func eq(path string, v any) Compare { return Compare{Path: p(path), Op: OpEq, Value: v} }
func cmpOp(path string, op Op, v any) Compare {
	return Compare{Path: p(path), Op: op, Value: v}
}
func pr(path string) Present           { return Present{Path: p(path)} }
func and(l, r Expr) And                { return And{L: l, R: r} }
func or(l, r Expr) Or                  { return Or{L: l, R: r} }
func not(x Expr) Not                   { return Not{X: x} }
func vp(path string, f Expr) ValuePath { return ValuePath{Path: p(path), Filter: f} }
func num(s string) json.Number         { return json.Number(s) }
func pe(path string, f Expr) PathExpr  { return PathExpr{Path: p(path), Filter: f} }
func vpSub(attr, sub string, f Expr) PathExpr {
	return PathExpr{Path: Path{Attr: attr, Sub: sub}, Filter: f}
}

type parseTest struct {
	in   string
	want Expr
	// str is the canonical String() of want, when it differs from in.
	str string
}

// parseTests are valid filters: every example of RFC 7644 §3.4.2.2, every
// filter in the IdP research notes and Microsoft's test collection, and the
// corners of the grammar.
func parseTests() []parseTest {
	return []parseTest{
		// RFC 7644 §3.4.2.2, Figure 2.
		{in: `userName eq "bjensen"`, want: eq("userName", "bjensen")},
		{in: `name.familyName co "O'Malley"`, want: cmpOp("name.familyName", OpCo, "O'Malley")},
		{in: `userName sw "J"`, want: cmpOp("userName", OpSw, "J")},
		{in: `urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`, want: cmpOp(coreURN+":userName", OpSw, "J")},
		{in: `title pr`, want: pr("title")},
		{in: `meta.lastModified gt "2011-05-13T04:42:34Z"`, want: cmpOp("meta.lastModified", OpGt, "2011-05-13T04:42:34Z")},
		{in: `meta.lastModified ge "2011-05-13T04:42:34Z"`, want: cmpOp("meta.lastModified", OpGe, "2011-05-13T04:42:34Z")},
		{in: `meta.lastModified lt "2011-05-13T04:42:34Z"`, want: cmpOp("meta.lastModified", OpLt, "2011-05-13T04:42:34Z")},
		{in: `meta.lastModified le "2011-05-13T04:42:34Z"`, want: cmpOp("meta.lastModified", OpLe, "2011-05-13T04:42:34Z")},
		{in: `title pr and userType eq "Employee"`, want: and(pr("title"), eq("userType", "Employee"))},
		{in: `title pr or userType eq "Intern"`, want: or(pr("title"), eq("userType", "Intern"))},
		{in: `schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, want: eq("schemas", entURN)},
		{in: `userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
			want: and(eq("userType", "Employee"), or(cmpOp("emails", OpCo, "example.com"), cmpOp("emails.value", OpCo, "example.org")))},
		{in: `userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
			want: and(cmpOp("userType", OpNe, "Employee"), not(or(cmpOp("emails", OpCo, "example.com"), cmpOp("emails.value", OpCo, "example.org"))))},
		{in: `userType eq "Employee" and (emails.type eq "work")`, want: and(eq("userType", "Employee"), eq("emails.type", "work")),
			str: `userType eq "Employee" and emails.type eq "work"`},
		{in: `userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
			want: and(eq("userType", "Employee"), vp("emails", and(eq("type", "work"), cmpOp("value", OpCo, "@example.com"))))},
		{in: `emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
			want: or(vp("emails", and(eq("type", "work"), cmpOp("value", OpCo, "@example.com"))), vp("ims", and(eq("type", "xmpp"), cmpOp("value", OpCo, "@foo.com"))))},
		{in: `filter=(meta.resourceType eq User) or (meta.resourceType eq Group)`[len("filter="):],
			want: or(eq("meta.resourceType", "User"), eq("meta.resourceType", "Group")),
			str:  `meta.resourceType eq "User" or meta.resourceType eq "Group"`},

		// Okta, Entra ID and Microsoft's collection (shared/research/scim.md,
		// shared/scim-suites).
		{in: `userName eq "test.user@okta.local"`, want: eq("userName", "test.user@okta.local")},
		{in: `userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"`, want: eq("userName", "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee")},
		{in: `emails[type eq "work"].value eq "user@contoso.com"`, want: vp("emails", and(eq("type", "work"), eq("value", "user@contoso.com"))),
			str: `emails[type eq "work" and value eq "user@contoso.com"]`},
		{in: `displayName eq "displayName"`, want: eq("displayName", "displayName")},
		{in: `id eq "abf4dd94-a4c0-4f67-89c9-76b03340cb9b" and members eq "23a35c27-23d3-4c03-b4c5-6443c09e7173"`,
			want: and(eq("id", "abf4dd94-a4c0-4f67-89c9-76b03340cb9b"), eq("members", "23a35c27-23d3-4c03-b4c5-6443c09e7173"))},
		{in: `externalId eq jyoung`, want: eq("externalId", "jyoung"), str: `externalId eq "jyoung"`},
		{in: `externalId eq "johnwong"`, want: eq("externalId", "johnwong")},
		{in: `DisplayName eq "BobIsAmazing"`, want: eq("DisplayName", "BobIsAmazing")},
		{in: `name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`,
			want: and(eq("name.FamilyName", "Employee"), or(cmpOp("emails.Value", OpCo, "example.com"), cmpOp("emails.Value", OpCo, "example.org"))),
			str:  `name.FamilyName eq "Employee" and (emails.Value co "example.com" or emails.Value co "example.org")`},
		{in: `userName sw O`, want: cmpOp("userName", OpSw, "O"), str: `userName sw "O"`},
		{in: `meta.Created gt 2015-10-10T14:38:21.8617979-07:00`, want: cmpOp("meta.Created", OpGt, "2015-10-10T14:38:21.8617979-07:00"),
			str: `meta.Created gt "2015-10-10T14:38:21.8617979-07:00"`},
		{in: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`, want: eq(entURN+":employeeNumber", "701984")},
		{in: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915"`, want: eq(entURN+":manager.value", "26118915")},

		// Case, spacing and grouping.
		{in: `userName Eq "john"`, want: eq("userName", "john"), str: `userName eq "john"`},
		{in: `Username EQ "john"`, want: eq("Username", "john"), str: `Username eq "john"`},
		{in: `title PR AND userType NE "x" OR NOT (x Pr)`, want: or(and(pr("title"), cmpOp("userType", OpNe, "x")), not(pr("x"))),
			str: `title pr and userType ne "x" or not (x pr)`},
		{in: "  userName \t eq\n\"x\"  ", want: eq("userName", "x"), str: `userName eq "x"`},
		{in: `userName eq"x"and title pr`, want: and(eq("userName", "x"), pr("title")), str: `userName eq "x" and title pr`},
		{in: `((userName eq "x"))`, want: eq("userName", "x"), str: `userName eq "x"`},
		{in: `not(userName eq "x")`, want: not(eq("userName", "x")), str: `not (userName eq "x")`},
		{in: `not  (  userName eq "x"  )`, want: not(eq("userName", "x")), str: `not (userName eq "x")`},
		{in: `not (not (a pr))`, want: not(not(pr("a")))},
		{in: `a pr or b pr and c pr`, want: or(pr("a"), and(pr("b"), pr("c")))},
		{in: `a pr and b pr or c pr`, want: or(and(pr("a"), pr("b")), pr("c"))},
		{in: `a pr and (b pr or c pr)`, want: and(pr("a"), or(pr("b"), pr("c")))},
		{in: `a pr and (b pr and c pr)`, want: and(pr("a"), and(pr("b"), pr("c")))},
		{in: `(a pr or b pr) and c pr`, want: and(or(pr("a"), pr("b")), pr("c"))},
		{in: `a pr or (b pr or c pr)`, want: or(pr("a"), or(pr("b"), pr("c")))},
		{in: `a pr and b pr and c pr`, want: and(and(pr("a"), pr("b")), pr("c"))},
		{in: `emails [type eq "work"]`, want: vp("emails", eq("type", "work")), str: `emails[type eq "work"]`},
		{in: `emails[type eq "work"].value pr`, want: vp("emails", and(eq("type", "work"), pr("value"))), str: `emails[type eq "work" and value pr]`},
		{in: `emails[type eq "work" or type eq "home"].value eq "a"`, want: vp("emails", and(or(eq("type", "work"), eq("type", "home")), eq("value", "a"))),
			str: `emails[(type eq "work" or type eq "home") and value eq "a"]`},
		{in: `emails[not (type eq "work")]`, want: vp("emails", not(eq("type", "work")))},
		{in: `members[value eq "2819c223"]`, want: vp("members", eq("value", "2819c223"))},
		{in: `members.$ref eq "x"`, want: eq("members.$ref", "x")},
		{in: `not eq "x"`, want: eq("not", "x")}, // an attribute called "not"
		{in: `title eq and`, want: eq("title", "and"), str: `title eq "and"`},
		{in: `a-b_c9 pr`, want: pr("a-b_c9")},

		// Values.
		{in: `active eq true`, want: eq("active", true)},
		{in: `active eq TRUE`, want: eq("active", true), str: `active eq true`},
		{in: `active eq False`, want: eq("active", false), str: `active eq false`},
		{in: `title eq null`, want: eq("title", nil)},
		{in: `title ne NULL`, want: cmpOp("title", OpNe, nil), str: `title ne null`},
		{in: `level gt 42`, want: cmpOp("level", OpGt, num("42"))},
		{in: `score le -1.5e3`, want: cmpOp("score", OpLe, num("-1.5e3"))},
		{in: `score ge 0`, want: cmpOp("score", OpGe, num("0"))},
		{in: `x eq 01`, want: eq("x", "01"), str: `x eq "01"`},
		{in: `x eq 12345`, want: eq("x", num("12345"))},
		{in: `x eq "true"`, want: eq("x", "true")},
		{in: `x eq ""`, want: eq("x", "")},
		{in: `x eq "a\"b\\c\/d\b\f\n\r\t\u00e9\u00E9"`, want: eq("x", "a\"b\\c/d\b\f\n\r\téé"), str: `x eq "a\"b\\c/d\u0008\u000c\n\r\téé"`},
		{in: `x eq "\ud83d\ude00"`, want: eq("x", "😀"), str: `x eq "😀"`},
		{in: `x eq "\ud800x"`, want: eq("x", "\ufffdx"), str: "x eq \"\ufffdx\""},
		{in: "x eq \"tab\there\"", want: eq("x", "tab\there"), str: `x eq "tab\there"`},
		{in: `x eq "<a&b>"`, want: eq("x", "<a&b>")},
		{in: `x eq "é"`, want: eq("x", "é")},
		{in: `x eq a"b`, want: eq("x", `a"b`), str: `x eq "a\"b"`},
		{in: `x eq ab(c`, want: eq("x", "ab(c"), str: `x eq "ab(c"`},
		{in: `(x eq abc)`, want: eq("x", "abc"), str: `x eq "abc"`},
		{in: `emails[value eq abc]`, want: vp("emails", eq("value", "abc")), str: `emails[value eq "abc"]`},
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tt := range parseTests() {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.in, diff)
			}
			wantStr := tt.str
			if wantStr == "" {
				wantStr = tt.in
			}
			if s := got.String(); s != wantStr {
				t.Errorf("Parse(%q).String() = %s, want %s", tt.in, s, wantStr)
			}
			checkRoundTrip(t, got)
		})
	}
}

// checkRoundTrip checks that e prints as a filter that parses back to e.
func checkRoundTrip(tb testing.TB, e Expr) {
	tb.Helper()
	s := e.String()
	big := Limits{MaxLength: 1 << 30, MaxTerms: 1 << 30, MaxDepth: 1 << 20}
	again, err := big.Parse(s)
	if err != nil {
		tb.Fatalf("Parse(%q) (from String): %v", s, err)
	}
	if diff := cmp.Diff(e, again); diff != "" {
		tb.Fatalf("Parse(e.String()) != e for %q (-e +reparsed):\n%s", s, diff)
	}
	if s2 := again.String(); s2 != s {
		tb.Fatalf("String not stable: %q then %q", s, s2)
	}
}

type parseErrorTest struct {
	in   string
	want string // the exact error text
}

func parseErrorTests() []parseErrorTest {
	return []parseErrorTest{
		{``, "empty filter"},
		{"  \t", "empty filter"},
		{`userName eqq "x"`, "unknown operator 'eqq' at offset 9"},
		{`userName regex "x"`, "unknown operator 'regex' at offset 9"},
		{`userName eq "x")`, "unexpected ')' at offset 15"},
		{`(userName eq "x"`, "expected ')' to close '(' at offset 0, got end of filter at offset 16"},
		{`not (a pr`, "expected ')' to close '(' at offset 0, got end of filter at offset 9"},
		{`userName eq`, "expected a value after 'eq', got end of filter at offset 11"},
		{`userName eq )`, "expected a value after 'eq', got ')' at offset 12"},
		{`userName`, "expected an operator after 'userName', got end of filter at offset 8"},
		{`userName "x"`, `expected an operator after 'userName', got '"' at offset 9`},
		{`userName eq "x`, "unterminated string at offset 12"},
		{`userName eq "x\`, "unterminated string at offset 14"},
		{`userName eq "a\qb"`, `invalid escape '\q' at offset 14`},
		{`userName eq "\u12"`, `invalid \u escape at offset 13`},
		{`1userName eq "x"`, "invalid attribute name '1userName' at offset 0"},
		{`$ref eq "x"`, "invalid attribute name '$ref' at offset 0"},
		{`name..x eq 1`, "invalid sub-attribute name '.x' at offset 5"},
		{`name.given.x eq 1`, "invalid sub-attribute name 'given.x' at offset 5"},
		{`name. eq 1`, "invalid sub-attribute name '' at offset 5"},
		{`foo:bar eq 1`, `unexpected ':' in attribute path 'foo:bar' (only a schema URN starting with "urn:" may precede the attribute name) at offset 3`},
		{`urn:ietf:params:scim:schemas:core:2.0:User: eq 1`, "expected an attribute name after the schema URN 'urn:ietf:params:scim:schemas:core:2.0:User' at offset 43"},
		{`userName eq "x" and`, "unexpected end of filter at offset 19"},
		{`userName eq "x" and ()`, "expected an attribute name, got ')' at offset 21"},
		{`userName eq "x" foo`, "unexpected 'foo' at offset 16"},
		{`userName eq "x" andy pr`, "unexpected 'andy' at offset 16"},
		{`userName eq "x" or or`, "expected an operator after 'or', got end of filter at offset 21"},
		{`userName pr pr`, "unexpected 'pr' at offset 12"},
		{`()`, "expected an attribute name, got ')' at offset 1"},
		{`)`, "expected an attribute name, got ')' at offset 0"},
		{`not userName eq "x"`, "unknown operator 'userName' at offset 4"},
		{`emails[type eq "work"`, "expected ']' to close '[' at offset 6, got end of filter at offset 21"},
		{`emails[type eq "work"]]`, "unexpected ']' at offset 22"},
		{`emails[]`, "expected an attribute name, got ']' at offset 7"},
		{`emails[type[value eq 1] eq 2]`, "unexpected '[' inside a value filter at offset 11"},
		{`name.givenName[x eq 1]`, "a value filter must follow an attribute, not a sub-attribute such as 'name.givenName' at offset 0"},
		{`emails[type eq "work"].1x eq 1`, "expected a sub-attribute name after ']', got '1x' at offset 23"},
		{`emails[type eq "work"]. eq 1`, "expected a sub-attribute name after ']', got ' ' at offset 23"},
		{`emails[type eq "work"].value`, "expected an operator after 'value', got end of filter at offset 28"},
		{"userName eq \"\xff\"", "filter is not valid UTF-8 at offset 13"},
		{strings.Repeat("(", 33) + "a pr" + strings.Repeat(")", 33), "nesting deeper than 32 at offset 32"},
		{strings.Repeat("not (", 33) + "a pr" + strings.Repeat(")", 33), "nesting deeper than 32 at offset 160"},
		{`userName eq "` + strings.Repeat("x", 16384) + `"`, "filter longer than 16384 bytes"},
		{"a pr" + strings.Repeat(" and a pr", 200), "more than 200 comparisons"},
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range parseErrorTests() {
		name := tt.in
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.in)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %v, %v; want a *SyntaxError", tt.in, got, err)
			}
			if err.Error() != tt.want {
				t.Errorf("Parse(%q) error = %q, want %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	atLength := `userName eq "` + strings.Repeat("x", DefaultMaxLength-14) + `"`
	tests := []struct {
		name    string
		lim     Limits
		in      string
		wantErr string
	}{
		{"default length", Limits{}, atLength, ""},
		{"default length plus one", Limits{}, atLength + " ", "filter longer than 16384 bytes"},
		{"default terms", Limits{}, "a pr" + strings.Repeat(" or a pr", 199), ""},
		{"default depth", Limits{}, strings.Repeat("(", 32) + "a pr" + strings.Repeat(")", 32), ""},
		{"depth counts brackets", Limits{}, strings.Repeat("(", 31) + "e[a pr]" + strings.Repeat(")", 31), ""},
		{"depth counts brackets over", Limits{}, strings.Repeat("(", 32) + "e[a pr]" + strings.Repeat(")", 32), "nesting deeper than 32 at offset 33"},
		{"length", Limits{MaxLength: 10}, `userName pr`, "filter longer than 10 bytes"},
		{"terms", Limits{MaxTerms: 2}, `a pr and b pr and c pr`, "more than 2 comparisons"},
		{"terms in value filters", Limits{MaxTerms: 2}, `e[a pr and b pr] and c pr`, "more than 2 comparisons"},
		{"depth", Limits{MaxDepth: 2}, `((not (a pr)))`, "nesting deeper than 2 at offset 2"},
		{"large limits", Limits{MaxLength: 1 << 20, MaxTerms: 1 << 20, MaxDepth: 1 << 20},
			strings.Repeat("not (", 10000) + "a pr" + strings.Repeat(" and b eq x", 50000) + strings.Repeat(")", 10000), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.lim.Parse(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Parse error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

type pathTest struct {
	in   string
	want PathExpr
	str  string // canonical String(), when it differs from in
}

func pathTests() []pathTest {
	return []pathTest{
		{in: `members`, want: pe("members", nil)},
		{in: `userName`, want: pe("userName", nil)},
		{in: `active`, want: pe("active", nil)},
		{in: `displayName`, want: pe("displayName", nil)},
		{in: `nickName`, want: pe("nickName", nil)},
		{in: `manager`, want: pe("manager", nil)},
		{in: `name.givenName`, want: pe("name.givenName", nil)},
		{in: `name.familyName`, want: pe("name.familyName", nil)},
		{in: `members[value eq "89bb1940-b905-4575-9e7f-6f887cfb368e"]`, want: pe("members", eq("value", "89bb1940-b905-4575-9e7f-6f887cfb368e"))},
		{in: `members[value eq "7f4bc1a3-285e-48ae-8202-5accb43efb0e"]`, want: pe("members", eq("value", "7f4bc1a3-285e-48ae-8202-5accb43efb0e"))},
		{in: `emails[type eq "work"].value`, want: vpSub("emails", "value", eq("type", "work"))},
		{in: `addresses[type eq "work"].streetAddress`, want: vpSub("addresses", "streetAddress", eq("type", "work"))},
		{in: `emails[type eq "work" and value ew "example.com"]`, want: pe("emails", and(eq("type", "work"), cmpOp("value", OpEw, "example.com")))},
		{in: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`, want: pe(entURN+":manager", nil)},
		{in: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`, want: pe(entURN+":employeeNumber", nil)},
		{in: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`, want: pe(entURN+":manager.value", nil)},
		{in: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`, want: PathExpr{Path: Path{URN: "urn:ietf:params:scim:schemas:extension:enterprise:2.0", Attr: "User"}}},
		{in: `MEMBERS[VALUE EQ "x"]`, want: pe("MEMBERS", eq("VALUE", "x")), str: `MEMBERS[VALUE eq "x"]`},
		{in: ` members [ value eq x ] `, want: pe("members", eq("value", "x")), str: `members[value eq "x"]`},
		{in: `members[value eq "id"].display`, want: vpSub("members", "display", eq("value", "id"))},
		{in: `members.$ref`, want: pe("members.$ref", nil)},
	}
}

func TestParsePath(t *testing.T) {
	t.Parallel()
	for _, tt := range pathTests() {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePath(tt.in)
			if err != nil {
				t.Fatalf("ParsePath(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParsePath(%q) (-want +got):\n%s", tt.in, diff)
			}
			wantStr := tt.str
			if wantStr == "" {
				wantStr = tt.in
			}
			if s := got.String(); s != wantStr {
				t.Errorf("ParsePath(%q).String() = %s, want %s", tt.in, s, wantStr)
			}
			again, err := ParsePath(got.String())
			if err != nil || !cmp.Equal(got, again) {
				t.Errorf("ParsePath(%q) = %v, %v; want %v", got.String(), again, err, got)
			}
		})
	}
}

func pathErrorTests() []parseErrorTest {
	return []parseErrorTest{
		{``, "empty path"},
		{`members[`, "unexpected end of path at offset 8"},
		{`members[value eq "x"`, "expected ']' to close '[' at offset 7, got end of path at offset 20"},
		{`members[value eq "x"] extra`, "unexpected 'extra' at offset 22"},
		{`members extra`, "unexpected 'extra' at offset 8"},
		{`members[value eqq "x"]`, "unknown operator 'eqq' at offset 14"},
		{`name.givenName[x eq 1]`, "a value filter must follow an attribute, not a sub-attribute such as 'name.givenName' at offset 0"},
		{`emails[type eq "work"].`, "expected a sub-attribute name after ']', got end of path at offset 23"},
		{`emails[type eq "work"].value.x`, "unexpected '.x' at offset 28"},
		{`emails[type eq "work"][value pr]`, "unexpected '[' at offset 22"},
		{`members[value eq "x"]` + strings.Repeat(" ", 16384), "path longer than 16384 bytes"},
		{`"members"`, `expected an attribute name, got '"' at offset 0`},
	}
}

func TestParsePathErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range pathErrorTests() {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePath(tt.in)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ParsePath(%q) = %v, %v; want a *SyntaxError", tt.in, got, err)
			}
			if err.Error() != tt.want {
				t.Errorf("ParsePath(%q) error = %q, want %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestParseAttributeList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []PathExpr
		wantErr string
	}{
		{in: ``, want: nil},
		{in: `userName`, want: []PathExpr{pe("userName", nil)}},
		{in: `userName,emails`, want: []PathExpr{pe("userName", nil), pe("emails", nil)}},
		{in: ` userName , emails `, want: []PathExpr{pe("userName", nil), pe("emails", nil)}},
		{in: `,,userName,,`, want: []PathExpr{pe("userName", nil)}},
		{in: `emails[type eq "work"]`, want: []PathExpr{pe("emails", eq("type", "work"))}},
		{in: `emails[value eq "emailName357"]`, want: []PathExpr{pe("emails", eq("value", "emailName357"))}},
		{in: `emails[value eq "a,b"],userName`, want: []PathExpr{pe("emails", eq("value", "a,b")), pe("userName", nil)}},
		{in: `emails[type eq work],name.givenName`, want: []PathExpr{pe("emails", eq("type", "work")), pe("name.givenName", nil)}},
		{in: entURN + `:department,` + entURN, want: []PathExpr{pe(entURN+":department", nil), {Path: Path{URN: "urn:ietf:params:scim:schemas:extension:enterprise:2.0", Attr: "User"}}}},
		{in: `members`, want: []PathExpr{pe("members", nil)}},
		{in: `userName emails`, wantErr: "expected ',' or end of list, got 'emails' at offset 9"},
		{in: `emails[type eq "work"`, wantErr: "expected ']' to close '[' at offset 6, got end of attribute list at offset 21"},
		{in: `userName;emails`, wantErr: "expected ',' or end of list, got ';emails' at offset 8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAttributeList(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ParseAttributeList(%q) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAttributeList(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseAttributeList(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestStringOfBuiltTrees(t *testing.T) {
	t.Parallel()
	// Trees built by hand, as an SQL compiler's tests might, print
	// unambiguously.
	tests := []struct {
		e    Expr
		want string
	}{
		{and(or(pr("a"), pr("b")), or(pr("c"), pr("d"))), `(a pr or b pr) and (c pr or d pr)`},
		{or(and(pr("a"), pr("b")), and(pr("c"), pr("d"))), `a pr and b pr or c pr and d pr`},
		{not(and(pr("a"), pr("b"))), `not (a pr and b pr)`},
		{and(not(pr("a")), pr("b")), `not (a pr) and b pr`},
		{eq("x", "line\nbreak\x01\x7f"), `x eq "line\nbreak\u0001\u007f"`},
		{eq("x", "bad\xffutf8"), `x eq "bad\ufffdutf8"`},
		{eq("x", 3), `x eq <invalid>`},
		{ValuePath{Path: Path{URN: entURN, Attr: "manager"}, Filter: eq("value", "x")}, entURN + `:manager[value eq "x"]`},
		{Present{Path: Path{URN: entURN}}, entURN + ` pr`},
	}
	for _, tt := range tests {
		if got := tt.e.String(); got != tt.want {
			t.Errorf("String() = %s, want %s", got, tt.want)
		}
	}
}
