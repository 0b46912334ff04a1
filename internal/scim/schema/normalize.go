package schema

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of objects and arrays that
// [ResourceSchema.Normalize] accepts, the document itself counting as one.
// No SCIM resource needs more than four; the bound keeps hostile bodies
// cheap to reject.
const MaxDepth = 32

// NormalizeOptions adjusts [ResourceSchema.Normalize]. The zero value suits
// POST and PUT bodies.
type NormalizeOptions struct {
	// KeepReadOnly keeps readOnly attributes (id, meta, groups,
	// manager.displayName) instead of dropping them. Requests leave it
	// false: RFC 7643 §7 says readOnly values sent by a client SHALL be
	// ignored. Set it for documents the server built itself.
	KeepReadOnly bool
	// KeepNull keeps attributes whose value is null (or an empty object) as
	// nil instead of dropping them. A PATCH engine sets it for operation
	// values, where null asks for the attribute to be removed (RFC 7644
	// §3.5.2); in POST and PUT bodies null only means "unset".
	KeepNull bool
}

// ValueError reports a request value that cannot be made to fit the schema,
// such as "userName": 42 or "active": "maybe".
type ValueError struct {
	// Path is the canonical path of the attribute, such as "emails.primary"
	// or "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
	// or "" when the error concerns the whole document.
	Path string
	// Msg says what is wrong, for the client.
	Msg string
	// Syntax is set when the document's structure is at fault (it is nested
	// too deep) rather than a value.
	Syntax bool
}

// Error implements the error interface.
func (e *ValueError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// ScimType returns the RFC 7644 §3.12 scimType for a 400 response:
// "invalidSyntax" or "invalidValue".
func (e *ValueError) ScimType() string {
	if e.Syntax {
		return "invalidSyntax"
	}
	return "invalidValue"
}

// Normalize turns doc, a JSON object decoded with json.Decoder.UseNumber,
// into a canonical document of rs (see the package documentation). It
// returns a new map and leaves doc alone.
//
// Keys match attribute names without regard to case and are rewritten to
// the schema's spelling at every level; an extension object's key matches
// the extension URN without regard to case. Keys may also be paths: dotted
// ("name.givenName"), URN-qualified
// ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber")
// or extension attributes without their URN ("employeeNumber"), as in Entra
// ID's path-less PATCH values; they are moved to their canonical place.
//
// Values are repaired where the intent is plain: nulls are dropped (kept
// as nil with [NormalizeOptions.KeepNull]); "true" and "false" in any case
// become booleans; numeric strings become numbers for integer and decimal
// attributes; a single value given for a multi-valued attribute is wrapped
// in a list; a bare string given for a complex attribute that references a
// resource (group members, the enterprise manager) becomes {"value": s}.
// Unknown attributes, unknown extension URNs and readOnly attributes (unless
// [NormalizeOptions.KeepReadOnly]) are dropped: RFC 7644 lets a server
// ignore them and IdPs depend on it. Anything else that does not fit, and
// an attribute given twice, is a [*ValueError].
//
// "schemas" is kept as given, unknown URIs included. Normalize checks
// neither required attributes nor mutability beyond readOnly: that depends
// on the operation.
func (rs *ResourceSchema) Normalize(doc map[string]any, opts NormalizeOptions) (map[string]any, error) {
	if err := checkDepth(doc, 1); err != nil {
		return nil, err
	}
	n := normalizer{rs: rs, opts: opts}
	out := make(map[string]any, len(doc))
	keys := SortedKeys(doc)
	// Plain names first, then paths, so that "name.givenName" lands in the
	// "name" object of the same document whatever order the keys came in.
	for _, paths := range [...]bool{false, true} {
		for _, k := range keys {
			if n.isPathKey(k) != paths {
				continue
			}
			if err := n.member(out, k, doc[k]); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// NormalizeValue normalizes v as the value of the attribute or
// sub-attribute ref names, as Normalize would inside a document: a PATCH
// engine calls it for an operation's value once it has resolved the path.
// It does not check ref's own mutability; readOnly sub-attributes inside v
// are dropped as usual. For a multi-valued attribute the result is a list.
// A null v, or one that normalizes to nothing, gives nil.
func (rs *ResourceSchema) NormalizeValue(ref AttrRef, v any, opts NormalizeOptions) (any, error) {
	return rs.normalizeValue(ref, v, opts, false)
}

// NormalizeElement is [ResourceSchema.NormalizeValue] for one value of a
// multi-valued attribute, as in a PATCH whose path selects values with a
// filter (emails[type eq "work"]): v is not wrapped in a list.
func (rs *ResourceSchema) NormalizeElement(ref AttrRef, v any, opts NormalizeOptions) (any, error) {
	return rs.normalizeValue(ref, v, opts, true)
}

func (rs *ResourceSchema) normalizeValue(ref AttrRef, v any, opts NormalizeOptions, element bool) (any, error) {
	if err := checkDepth(v, 1); err != nil {
		return nil, err
	}
	if v == nil {
		return nil, nil
	}
	n := normalizer{rs: rs, opts: opts}
	if ref.Attr == nil {
		ext := rs.Extension(ref.URN)
		if ext == nil {
			return nil, fmt.Errorf("normalize value: %w %q", ErrUnknownAttribute, ref.URN)
		}
		out := map[string]any{}
		if err := n.extension(out, ext, v); err != nil {
			return nil, err
		}
		return out[ext.ID], nil
	}
	return n.value(ref.String(), ref.Def(), v, element)
}

type normalizer struct {
	rs   *ResourceSchema
	opts NormalizeOptions
}

// isPathKey reports whether a top-level key is a path to be placed after
// the plain names: it is dotted or URN-qualified, but not an extension URN.
func (n normalizer) isPathKey(k string) bool {
	if n.rs.Extension(k) != nil {
		return false
	}
	urn, rest := splitURN(k)
	return urn != "" || strings.Contains(rest, ".")
}

// member normalizes one top-level member of a document into out.
func (n normalizer) member(out map[string]any, key string, v any) error {
	if ext := n.rs.Extension(key); ext != nil {
		return n.extension(out, ext, v)
	}
	ref, err := n.rs.Resolve(key)
	if err != nil || ref.Attr == nil {
		return nil // unknown attributes are ignored
	}
	return n.set(out, ref, v)
}

// extension normalizes the object of an extension into out[ext.ID].
func (n normalizer) extension(out map[string]any, ext *Schema, v any) error {
	if v == nil {
		if n.opts.KeepNull {
			return put(out, ext.ID, nil, ext.ID)
		}
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return &ValueError{Path: ext.ID, Msg: "expected an object, got " + Describe(v)}
	}
	keys := SortedKeys(m)
	for _, paths := range [...]bool{false, true} {
		for _, k := range keys {
			name, sub, dotted := strings.Cut(k, ".")
			if dotted != paths {
				continue
			}
			ref, err := n.rs.ResolveParts(ext.ID, name, sub)
			if err != nil || ref.Attr == nil {
				continue // unknown attributes are ignored
			}
			if err := n.set(out, ref, m[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// set normalizes v as the value ref names and stores it at ref's place in
// out, creating the extension object and the parent complex value as
// needed.
func (n normalizer) set(out map[string]any, ref AttrRef, v any) error {
	def := ref.Def()
	if !n.opts.KeepReadOnly && (ref.Attr.Mutability == ReadOnly || def.Mutability == ReadOnly) {
		return nil
	}
	path := ref.String()
	var nv any
	if v != nil {
		var err error
		if nv, err = n.value(path, def, v, false); err != nil {
			return err
		}
	}
	if nv == nil && !n.opts.KeepNull {
		return nil
	}
	c := out
	if ref.URN != "" {
		var err error
		if c, err = child(out, ref.URN, ref.URN); err != nil {
			return err
		}
	}
	if ref.Sub == nil {
		return put(c, ref.Attr.Name, nv, path)
	}
	if ref.Attr.MultiValued {
		return &ValueError{Path: path, Msg: "a sub-attribute of a multi-valued attribute cannot be set on its own; use a PATCH path with a value filter, such as " + ref.Attr.Name + `[type eq "work"].` + ref.Sub.Name}
	}
	parent, err := child(c, ref.Attr.Name, path)
	if err != nil {
		return err
	}
	return put(parent, ref.Sub.Name, nv, path)
}

// value normalizes v for the attribute def; element says v is one value of
// a multi-valued attribute rather than the whole attribute.
func (n normalizer) value(path string, def *Attribute, v any, element bool) (any, error) {
	if !def.MultiValued || element {
		return n.single(path, def, v)
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	out := make([]any, 0, len(list))
	for _, e := range list {
		if e == nil {
			continue
		}
		ne, err := n.single(path, def, e)
		if err != nil {
			return nil, err
		}
		if ne != nil {
			out = append(out, ne)
		}
	}
	return out, nil
}

// single normalizes one value of the attribute def. It returns nil for a
// complex value that ends up empty.
func (n normalizer) single(path string, def *Attribute, v any) (any, error) {
	switch def.Type {
	case TypeString, TypeReference, TypeBinary:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case TypeDateTime:
		if s, ok := v.(string); ok {
			if _, err := ParseDateTime(s); err != nil {
				return nil, &ValueError{Path: path, Msg: err.Error()}
			}
			return s, nil
		}
	case TypeBoolean:
		switch b := v.(type) {
		case bool:
			return b, nil
		case string:
			if b, ok := parseBool(b); ok {
				return b, nil
			}
		}
	case TypeInteger, TypeDecimal:
		if num, ok := parseNumber(v, def.Type == TypeInteger); ok {
			return num, nil
		}
	case TypeComplex:
		switch m := v.(type) {
		case map[string]any:
			return n.complex(path, def, m)
		case string:
			if def.isReference() {
				if m == "" {
					return nil, nil
				}
				return map[string]any{def.SubAttribute("value").Name: m}, nil
			}
		}
	}
	return nil, &ValueError{Path: path, Msg: "expected " + expected(def) + ", got " + Describe(v)}
}

// complex normalizes the sub-attributes of one complex value.
func (n normalizer) complex(path string, def *Attribute, m map[string]any) (any, error) {
	out := make(map[string]any, len(m))
	for _, k := range SortedKeys(m) {
		sub := def.SubAttribute(k)
		if sub == nil || (sub.Mutability == ReadOnly && !n.opts.KeepReadOnly) {
			continue
		}
		subPath := path + "." + sub.Name
		var nv any
		if v := m[k]; v != nil {
			var err error
			if nv, err = n.value(subPath, sub, v, false); err != nil {
				return nil, err
			}
		}
		if nv == nil && !n.opts.KeepNull {
			continue
		}
		if err := put(out, sub.Name, nv, subPath); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// put stores v under key in m. When key is already there, two objects are
// merged; anything else is an attribute given twice.
func put(m map[string]any, key string, v any, path string) error {
	old, exists := m[key]
	if !exists {
		m[key] = v
		return nil
	}
	om, ok1 := old.(map[string]any)
	vm, ok2 := v.(map[string]any)
	if !ok1 || !ok2 {
		return &ValueError{Path: path, Msg: "attribute given more than once (names are case-insensitive)"}
	}
	for _, k := range SortedKeys(vm) {
		if err := put(om, k, vm[k], path+"."+k); err != nil {
			return err
		}
	}
	return nil
}

// child returns the object under key in m, creating it if absent.
func child(m map[string]any, key, path string) (map[string]any, error) {
	switch c := m[key].(type) {
	case map[string]any:
		return c, nil
	case nil:
		if _, exists := m[key]; !exists {
			c := map[string]any{}
			m[key] = c
			return c, nil
		}
	}
	return nil, &ValueError{Path: path, Msg: "attribute given more than once (names are case-insensitive)"}
}

// checkDepth fails when v nests objects and arrays deeper than MaxDepth,
// depth being v's own level.
func checkDepth(v any, depth int) error {
	switch x := v.(type) {
	case map[string]any:
		if depth > MaxDepth {
			return &ValueError{Msg: fmt.Sprintf("document nested deeper than %d levels", MaxDepth), Syntax: true}
		}
		for _, e := range x {
			if err := checkDepth(e, depth+1); err != nil {
				return err
			}
		}
	case []any:
		if depth > MaxDepth {
			return &ValueError{Msg: fmt.Sprintf("document nested deeper than %d levels", MaxDepth), Syntax: true}
		}
		for _, e := range x {
			if err := checkDepth(e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// parseBool accepts "true" and "false" in any case, as Entra ID sends them.
func parseBool(s string) (bool, bool) {
	switch s = strings.TrimSpace(s); {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// parseNumber returns v as a json.Number if it is a JSON number, or a
// string holding one, that suits an integer or decimal attribute.
func parseNumber(v any, integer bool) (json.Number, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case string:
		s = strings.TrimSpace(x)
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	case int:
		s = strconv.Itoa(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	default:
		return "", false
	}
	if !IsNumber(s) {
		return "", false
	}
	if integer {
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			return "", false
		}
	}
	return json.Number(s), true
}

// IsNumber reports whether s is a number in JSON syntax (RFC 8259 §6).
func IsNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// expected describes what def accepts, for error messages.
func expected(def *Attribute) string {
	var s string
	switch def.Type {
	case TypeString, TypeReference:
		s = "a string"
	case TypeBinary:
		s = "a base64 string"
	case TypeDateTime:
		s = "a dateTime string"
	case TypeBoolean:
		s = "a boolean"
	case TypeInteger:
		s = "an integer"
	case TypeDecimal:
		s = "a number"
	case TypeComplex:
		s = "an object"
	}
	if def.MultiValued {
		s += " or a list of them"
	}
	return s
}

// Shorten returns s cut to at most n bytes, at a rune boundary, with an
// ellipsis when it was longer.
func Shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Describe names a JSON value for error messages, quoting at most a short
// prefix of strings.
func Describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "string " + strconv.Quote(Shorten(x, 40))
	case bool:
		return "boolean " + strconv.FormatBool(x)
	case json.Number:
		return "number " + string(x)
	case float64, int, int64:
		return fmt.Sprintf("number %v", x)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("a %T", v)
}

// SortedKeys returns the keys of m in order.
func SortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
