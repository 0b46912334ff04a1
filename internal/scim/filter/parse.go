package filter

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"rollcall/internal/scim/schema"
)

// Default limits, used for the zero fields of [Limits].
const (
	DefaultMaxLength = 16 << 10 // bytes
	DefaultMaxTerms  = 200      // comparisons and presence tests
	DefaultMaxDepth  = 32       // nested parentheses, brackets and not
)

// Limits bounds the work a parse may do, so that a hostile filter costs
// little to reject. Zero fields take the defaults.
type Limits struct {
	MaxLength int // longest input in bytes
	MaxTerms  int // most comparisons and presence tests
	MaxDepth  int // deepest nesting of "(", "[" and "not ("
}

func (l Limits) withDefaults() Limits {
	if l.MaxLength <= 0 {
		l.MaxLength = DefaultMaxLength
	}
	if l.MaxTerms <= 0 {
		l.MaxTerms = DefaultMaxTerms
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// SyntaxError reports a filter, path or attribute list that does not follow
// the grammar or exceeds a limit.
type SyntaxError struct {
	// Offset is the byte offset of the problem in the input, or -1 when the
	// problem is the input as a whole (too long, too many comparisons).
	Offset int
	// Msg says what is wrong, for the client.
	Msg string
}

// Error returns the message followed by the offset, as in
// "unexpected ')' at offset 17".
func (e *SyntaxError) Error() string {
	if e.Offset < 0 {
		return e.Msg
	}
	return fmt.Sprintf("%s at offset %d", e.Msg, e.Offset)
}

// Parse parses a filter (RFC 7644 §3.4.2.2) within the default limits.
func Parse(s string) (Expr, error) { return Limits{}.Parse(s) }

// ParsePath parses a PATCH path (RFC 7644 §3.5.2) within the default
// limits.
func ParsePath(s string) (PathExpr, error) { return Limits{}.ParsePath(s) }

// ParseAttributeList parses the value of an attributes or
// excludedAttributes parameter (RFC 7644 §3.4.2.5): comma-separated paths
// in standard attribute notation, each optionally with a value filter as
// Microsoft sends (emails[type eq "work"]). Empty items are skipped; an
// empty list gives nil.
func ParseAttributeList(s string) ([]PathExpr, error) { return Limits{}.ParseAttributeList(s) }

// Parse parses a filter within l.
func (l Limits) Parse(s string) (Expr, error) {
	p, err := newParser(s, l, "filter")
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() {
		return nil, &SyntaxError{Offset: -1, Msg: "empty filter"}
	}
	e, err := p.parseOr(false)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		return nil, p.unexpected()
	}
	return e, nil
}

// ParsePath parses a PATCH path within l.
func (l Limits) ParsePath(s string) (PathExpr, error) {
	p, err := newParser(s, l, "path")
	if err != nil {
		return PathExpr{}, err
	}
	p.skipSpace()
	if p.eof() {
		return PathExpr{}, &SyntaxError{Offset: -1, Msg: "empty path"}
	}
	pe, err := p.parsePathExpr()
	if err != nil {
		return PathExpr{}, err
	}
	p.skipSpace()
	if !p.eof() {
		return PathExpr{}, p.unexpected()
	}
	return pe, nil
}

// ParseAttributeList parses an attributes or excludedAttributes value
// within l, which applies to the list as a whole.
func (l Limits) ParseAttributeList(s string) ([]PathExpr, error) {
	p, err := newParser(s, l, "attribute list")
	if err != nil {
		return nil, err
	}
	var list []PathExpr
	for {
		p.skipSpace()
		if p.eof() {
			return list, nil
		}
		if p.s[p.pos] == ',' {
			p.pos++
			continue
		}
		pe, err := p.parsePathExpr()
		if err != nil {
			return nil, err
		}
		list = append(list, pe)
		p.skipSpace()
		if p.eof() {
			return list, nil
		}
		if p.s[p.pos] != ',' {
			return nil, p.errorf(p.pos, "expected ',' or end of list, got %s", p.token())
		}
	}
}

// parser is a recursive-descent parser working directly on the input
// bytes. Each byte is examined a bounded number of times, and recursion is
// bounded by MaxDepth.
type parser struct {
	s     string
	pos   int
	lim   Limits
	what  string // "filter", "path" or "attribute list", for messages
	terms int
	depth int
}

func newParser(s string, l Limits, what string) (*parser, error) {
	l = l.withDefaults()
	if len(s) > l.MaxLength {
		return nil, &SyntaxError{Offset: -1, Msg: fmt.Sprintf("%s longer than %d bytes", what, l.MaxLength)}
	}
	if !utf8.ValidString(s) {
		off := 0
		for off < len(s) {
			r, size := utf8.DecodeRuneInString(s[off:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			off += size
		}
		return nil, &SyntaxError{Offset: off, Msg: what + " is not valid UTF-8"}
	}
	return &parser{s: s, lim: l, what: what}, nil
}

func (p *parser) eof() bool { return p.pos >= len(p.s) }

func (p *parser) errorf(off int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *parser) skipSpace() {
	for p.pos < len(p.s) && isSpace(p.s[p.pos]) {
		p.pos++
	}
}

// isDelim reports whether c ends a word.
func isDelim(c byte) bool {
	return isSpace(c) || c == '(' || c == ')' || c == '[' || c == ']' || c == '"' || c == ','
}

// wordEnd returns the end of the word starting at i.
func (p *parser) wordEnd(i int) int {
	for i < len(p.s) && !isDelim(p.s[i]) {
		i++
	}
	return i
}

// token describes the input at p.pos for error messages: a word or a
// single character, quoted, or "end of <what>".
func (p *parser) token() string {
	if p.eof() {
		return "end of " + p.what
	}
	if end := p.wordEnd(p.pos); end > p.pos {
		return "'" + schema.Shorten(p.s[p.pos:end], 32) + "'"
	}
	r, _ := utf8.DecodeRuneInString(p.s[p.pos:])
	return "'" + string(r) + "'"
}

func (p *parser) unexpected() *SyntaxError {
	if p.eof() {
		return p.errorf(p.pos, "unexpected end of %s", p.what)
	}
	return p.errorf(p.pos, "unexpected %s", p.token())
}

// keyword reports whether the word at p.pos is kw, in any case, and moves
// past it if so.
func (p *parser) keyword(kw string) bool {
	end := p.pos + len(kw)
	if end > len(p.s) || !strings.EqualFold(p.s[p.pos:end], kw) || (end < len(p.s) && !isDelim(p.s[end])) {
		return false
	}
	p.pos = end
	return true
}

func (p *parser) enter(off int) error {
	p.depth++
	if p.depth > p.lim.MaxDepth {
		return p.errorf(off, "nesting deeper than %d", p.lim.MaxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) countTerm() error {
	p.terms++
	if p.terms > p.lim.MaxTerms {
		return &SyntaxError{Offset: -1, Msg: fmt.Sprintf("more than %d comparisons", p.lim.MaxTerms)}
	}
	return nil
}

// parseOr parses: andExpr *("or" andExpr). inValue says the parser is
// inside the brackets of a value filter.
func (p *parser) parseOr(inValue bool) (Expr, error) {
	l, err := p.parseAnd(inValue)
	if err != nil {
		return nil, err
	}
	for {
		save := p.pos
		p.skipSpace()
		if !p.keyword("or") {
			p.pos = save
			return l, nil
		}
		r, err := p.parseAnd(inValue)
		if err != nil {
			return nil, err
		}
		l = Or{L: l, R: r}
	}
}

// parseAnd parses: term *("and" term).
func (p *parser) parseAnd(inValue bool) (Expr, error) {
	l, err := p.parseTerm(inValue)
	if err != nil {
		return nil, err
	}
	for {
		save := p.pos
		p.skipSpace()
		if !p.keyword("and") {
			p.pos = save
			return l, nil
		}
		r, err := p.parseTerm(inValue)
		if err != nil {
			return nil, err
		}
		l = And{L: l, R: r}
	}
}

// parseTerm parses: "(" filter ")" / "not" "(" filter ")" / attrExp /
// valuePath.
func (p *parser) parseTerm(inValue bool) (Expr, error) {
	p.skipSpace()
	if p.eof() {
		return nil, p.unexpected()
	}
	start := p.pos
	if p.s[p.pos] == '(' {
		p.pos++
		return p.parseGroup(start, inValue)
	}
	if p.keyword("not") {
		p.skipSpace()
		if !p.eof() && p.s[p.pos] == '(' {
			p.pos++
			x, err := p.parseGroup(start, inValue)
			if err != nil {
				return nil, err
			}
			return Not{X: x}, nil
		}
		// An attribute called "not"? Only if an operator follows.
		p.pos = start
	}
	return p.parseAttrExp(inValue)
}

// parseGroup parses the rest of a parenthesised filter whose "(" (or
// "not (") started at start.
func (p *parser) parseGroup(start int, inValue bool) (Expr, error) {
	if err := p.enter(start); err != nil {
		return nil, err
	}
	e, err := p.parseOr(inValue)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() || p.s[p.pos] != ')' {
		return nil, p.errorf(p.pos, "expected ')' to close '(' at offset %d, got %s", start, p.token())
	}
	p.pos++
	p.leave()
	return e, nil
}

// parseAttrExp parses: attrPath "pr" / attrPath compareOp compValue /
// attrPath "[" valFilter "]" [("." subAttr compareOp compValue) /
// ("." subAttr "pr")].
func (p *parser) parseAttrExp(inValue bool) (Expr, error) {
	start := p.pos
	path, err := p.parseAttrPath()
	if err != nil {
		return nil, err
	}
	save := p.pos
	p.skipSpace()
	if p.eof() || p.s[p.pos] != '[' {
		p.pos = save
		return p.parseComparison(path)
	}
	if inValue {
		return nil, p.errorf(p.pos, "unexpected '[' inside a value filter")
	}
	if path.Sub != "" {
		return nil, p.errorf(start, "a value filter must follow an attribute, not a sub-attribute such as '%s'", path)
	}
	filter, err := p.parseValueFilter()
	if err != nil {
		return nil, err
	}
	vp := ValuePath{Path: path, Filter: filter}
	if p.eof() || p.s[p.pos] != '.' {
		return vp, nil
	}
	// Entra ID's emails[type eq "work"].value eq "x": a comparison on a
	// sub-attribute of the values the filter selects.
	p.pos++
	subStart := p.pos
	end := p.nameEnd(p.pos)
	sub := p.s[p.pos:end]
	if !validSubName(sub) {
		return nil, p.errorf(subStart, "expected a sub-attribute name after ']', got %s", p.token())
	}
	p.pos = end
	cmp, err := p.parseComparison(Path{Attr: sub})
	if err != nil {
		return nil, err
	}
	vp.Filter = And{L: filter, R: cmp}
	return vp, nil
}

// parseValueFilter parses "[" valFilter "]" at p.pos.
func (p *parser) parseValueFilter() (Expr, error) {
	open := p.pos
	p.pos++
	if err := p.enter(open); err != nil {
		return nil, err
	}
	filter, err := p.parseOr(true)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() || p.s[p.pos] != ']' {
		return nil, p.errorf(p.pos, "expected ']' to close '[' at offset %d, got %s", open, p.token())
	}
	p.pos++
	p.leave()
	return filter, nil
}

// parseComparison parses the operator and value that follow path.
func (p *parser) parseComparison(path Path) (Expr, error) {
	p.skipSpace()
	opStart := p.pos
	end := p.wordEnd(p.pos)
	if end == p.pos {
		if p.eof() {
			return nil, p.errorf(p.pos, "expected an operator after '%s', got end of %s", path, p.what)
		}
		return nil, p.errorf(p.pos, "expected an operator after '%s', got %s", path, p.token())
	}
	word := p.s[p.pos:end]
	if strings.EqualFold(word, "pr") {
		p.pos = end
		if err := p.countTerm(); err != nil {
			return nil, err
		}
		return Present{Path: path}, nil
	}
	op, ok := parseOp(word)
	if !ok {
		return nil, p.errorf(opStart, "unknown operator %s", p.token())
	}
	p.pos = end
	v, err := p.parseValue(op)
	if err != nil {
		return nil, err
	}
	if err := p.countTerm(); err != nil {
		return nil, err
	}
	return Compare{Path: path, Op: op, Value: v}, nil
}

// parseValue parses a comparison value: a JSON string, or a bare word
// running to the next space, ")" or "]".
func (p *parser) parseValue(op Op) (any, error) {
	p.skipSpace()
	if p.eof() {
		return nil, p.errorf(p.pos, "expected a value after '%s', got end of %s", op, p.what)
	}
	if p.s[p.pos] == '"' {
		return p.parseString()
	}
	start := p.pos
	for p.pos < len(p.s) && !isSpace(p.s[p.pos]) && p.s[p.pos] != ')' && p.s[p.pos] != ']' {
		p.pos++
	}
	if p.pos == start {
		return nil, p.errorf(start, "expected a value after '%s', got %s", op, p.token())
	}
	return bareValue(p.s[start:p.pos]), nil
}

// bareValue gives an unquoted value its JSON meaning when it has one.
func bareValue(w string) any {
	switch {
	case strings.EqualFold(w, "true"):
		return true
	case strings.EqualFold(w, "false"):
		return false
	case strings.EqualFold(w, "null"):
		return nil
	case schema.IsNumber(w):
		return json.Number(w)
	}
	return w
}

// parseString parses a JSON string at p.pos. Raw control characters are
// tolerated; escapes follow RFC 8259, lone surrogates becoming U+FFFD.
func (p *parser) parseString() (string, error) {
	start := p.pos
	p.pos++
	var b strings.Builder
	plain := p.pos // start of the current run without escapes
	for p.pos < len(p.s) {
		switch c := p.s[p.pos]; c {
		case '"':
			s := p.s[plain:p.pos]
			p.pos++
			if b.Len() == 0 && plain == start+1 {
				return s, nil
			}
			b.WriteString(s)
			return b.String(), nil
		case '\\':
			b.WriteString(p.s[plain:p.pos])
			if err := p.parseEscape(&b); err != nil {
				return "", err
			}
			plain = p.pos
		default:
			p.pos++
		}
	}
	return "", p.errorf(start, "unterminated string")
}

// parseEscape parses the escape sequence at p.pos into b.
func (p *parser) parseEscape(b *strings.Builder) error {
	start := p.pos
	if p.pos+1 >= len(p.s) {
		return p.errorf(start, "unterminated string")
	}
	c := p.s[p.pos+1]
	p.pos += 2
	switch c {
	case '"', '\\', '/':
		b.WriteByte(c)
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'u':
		r, ok := p.hex4()
		if !ok {
			return p.errorf(start, `invalid \u escape`)
		}
		if utf16.IsSurrogate(r) {
			save := p.pos
			if p.pos+1 < len(p.s) && p.s[p.pos] == '\\' && p.s[p.pos+1] == 'u' {
				p.pos += 2
				if r2, ok := p.hex4(); ok {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						b.WriteRune(dec)
						return nil
					}
				}
			}
			p.pos = save
			r = utf8.RuneError
		}
		b.WriteRune(r)
	default:
		return p.errorf(start, "invalid escape '\\%c'", c)
	}
	return nil
}

// hex4 parses four hexadecimal digits at p.pos.
func (p *parser) hex4() (rune, bool) {
	if p.pos+4 > len(p.s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(p.s[p.pos : p.pos+4]) {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	p.pos += 4
	return r, true
}

// parsePathExpr parses: attrPath / attrPath "[" valFilter "]" ["." subAttr].
func (p *parser) parsePathExpr() (PathExpr, error) {
	start := p.pos
	path, err := p.parseAttrPath()
	if err != nil {
		return PathExpr{}, err
	}
	save := p.pos
	p.skipSpace()
	if p.eof() || p.s[p.pos] != '[' {
		p.pos = save
		return PathExpr{Path: path}, nil
	}
	if path.Sub != "" {
		return PathExpr{}, p.errorf(start, "a value filter must follow an attribute, not a sub-attribute such as '%s'", path)
	}
	filter, err := p.parseValueFilter()
	if err != nil {
		return PathExpr{}, err
	}
	if !p.eof() && p.s[p.pos] == '.' {
		p.pos++
		end := p.nameEnd(p.pos)
		if sub := p.s[p.pos:end]; validSubName(sub) {
			path.Sub = sub
			p.pos = end
		} else {
			return PathExpr{}, p.errorf(p.pos, "expected a sub-attribute name after ']', got %s", p.token())
		}
	}
	return PathExpr{Path: path, Filter: filter}, nil
}

// isPathChar reports whether c may appear in an attribute path, URN
// included.
func isPathChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '-' || c == ':' || c == '.' || c == '$'
}

// nameEnd returns the end of the attribute name starting at i.
func (p *parser) nameEnd(i int) int {
	for i < len(p.s) && isPathChar(p.s[i]) && p.s[i] != ':' && p.s[i] != '.' {
		i++
	}
	return i
}

// parseAttrPath parses: [URI ":"] ATTRNAME ["." ATTRNAME]. A path starting
// with "urn:" is split at its last colon, since attribute names have none.
func (p *parser) parseAttrPath() (Path, error) {
	start := p.pos
	for p.pos < len(p.s) && isPathChar(p.s[p.pos]) {
		p.pos++
	}
	raw := p.s[start:p.pos]
	if raw == "" {
		if p.eof() {
			return Path{}, p.errorf(p.pos, "expected an attribute name, got end of %s", p.what)
		}
		return Path{}, p.errorf(p.pos, "expected an attribute name, got %s", p.token())
	}
	var path Path
	rest, restOff := raw, start
	if len(raw) >= 4 && strings.EqualFold(raw[:4], "urn:") {
		i := strings.LastIndexByte(raw, ':')
		path.URN, rest, restOff = raw[:i], raw[i+1:], start+i+1
		if rest == "" {
			return Path{}, p.errorf(restOff, "expected an attribute name after the schema URN '%s'", path.URN)
		}
	} else if i := strings.IndexByte(raw, ':'); i >= 0 {
		return Path{}, p.errorf(start+i, "unexpected ':' in attribute path '%s' (only a schema URN starting with \"urn:\" may precede the attribute name)", raw)
	}
	attr, sub, dotted := strings.Cut(rest, ".")
	if !validName(attr) {
		return Path{}, p.errorf(restOff, "invalid attribute name '%s'", attr)
	}
	path.Attr = attr
	if dotted {
		if !validSubName(sub) {
			return Path{}, p.errorf(restOff+len(attr)+1, "invalid sub-attribute name '%s'", sub)
		}
		path.Sub = sub
	}
	return path, nil
}

// validName reports whether s is an ATTRNAME: ALPHA *(ALPHA / DIGIT / "-"
// / "_").
func validName(s string) bool {
	if s == "" || !('a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validSubName reports whether s may name a sub-attribute: an ATTRNAME or
// "$ref" (RFC 7643 §2.4, which the ABNF forgot).
func validSubName(s string) bool {
	return validName(s) || strings.EqualFold(s, "$ref")
}
