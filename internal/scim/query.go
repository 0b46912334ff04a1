package scim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"rollcall/internal/directory"
	"rollcall/internal/scim/filter"
	"rollcall/internal/scim/schema"
)

// listParams are the query parameters of a list or search (RFC 7644 §3.4.2).
type listParams struct {
	filter     filter.Expr     // resolved; nil for none
	matcher    *filter.Matcher // for in-memory evaluation
	startIndex int             // 1-based
	count      int
	sortBy     string // canonical attribute path, "" for none
	descending bool
	proj       *filter.Projection
}

// respondFunc answers a list or search whose parameters are parsed.
type respondFunc func(http.ResponseWriter, *http.Request, *reqCtx, listParams)

// list is GET /{Resources}: parameters from the query string.
func (s *Server) list(rs *schema.ResourceSchema, respond respondFunc) func(http.ResponseWriter, *http.Request, *reqCtx) {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		p, err := s.paramsFromQuery(r.URL.Query(), rs)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		respond(w, r, rc, p)
	}
}

// search is POST /{Resources}/.search: parameters from the JSON body.
func (s *Server) search(rs *schema.ResourceSchema, respond respondFunc) func(http.ResponseWriter, *http.Request, *reqCtx) {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		body, err := readJSON(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		p, err := s.paramsFromSearch(body, rs)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		respond(w, r, rc, p)
	}
}

// paramsFromQuery reads list parameters from a URL query.
func (s *Server) paramsFromQuery(q url.Values, rs *schema.ResourceSchema) (listParams, error) {
	get := func(k string) string {
		// Parameter names are matched without regard to case, as attribute names are.
		for key, v := range q {
			if strings.EqualFold(key, k) && len(v) > 0 {
				return v[0]
			}
		}
		return ""
	}
	return s.params(rs, get("filter"), get("startIndex"), get("count"), get("sortBy"), get("sortOrder"),
		get("attributes"), get("excludedAttributes"))
}

// paramsFromSearch reads list parameters from a .search body.
func (s *Server) paramsFromSearch(body map[string]any, rs *schema.ResourceSchema) (listParams, error) {
	str := func(k string) (string, error) {
		for key, v := range body {
			if !strings.EqualFold(key, k) || v == nil {
				continue
			}
			switch v := v.(type) {
			case string:
				return v, nil
			case json.Number:
				return v.String(), nil
			case []any: // attributes may be given as a list
				parts := make([]string, 0, len(v))
				for _, p := range v {
					ps, ok := p.(string)
					if !ok {
						return "", errorf(http.StatusBadRequest, typeInvalidSyntax, "%s must be a list of strings", k)
					}
					parts = append(parts, ps)
				}
				return strings.Join(parts, ","), nil
			}
			return "", errorf(http.StatusBadRequest, typeInvalidSyntax, "%s has the wrong type", k)
		}
		return "", nil
	}
	var vals [7]string
	for i, k := range []string{"filter", "startIndex", "count", "sortBy", "sortOrder", "attributes", "excludedAttributes"} {
		v, err := str(k)
		if err != nil {
			return listParams{}, err
		}
		vals[i] = v
	}
	return s.params(rs, vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], vals[6])
}

func (s *Server) params(rs *schema.ResourceSchema, f, start, count, sortBy, sortOrder, attrs, excluded string) (listParams, error) {
	p := listParams{startIndex: 1, count: s.cfg.DefaultCount}
	if f = strings.TrimSpace(f); f != "" {
		e, err := s.cfg.Filter.Parse(f)
		if err != nil {
			return p, err
		}
		m, err := filter.Compile(e, rs)
		if err != nil {
			return p, err
		}
		p.filter, p.matcher = m.Expr(), m
	}
	if start != "" {
		n, err := strconv.Atoi(strings.TrimSpace(start))
		if err != nil {
			return p, errorf(http.StatusBadRequest, typeInvalidValue, "startIndex must be an integer, not %q", start)
		}
		p.startIndex = max(n, 1) // RFC 7644 §3.4.2.4: less than 1 means 1
	}
	if count != "" {
		n, err := strconv.Atoi(strings.TrimSpace(count))
		if err != nil {
			return p, errorf(http.StatusBadRequest, typeInvalidValue, "count must be an integer, not %q", count)
		}
		p.count = min(max(n, 0), s.cfg.MaxCount) // negative means 0; never more than advertised
	}
	if sortBy = strings.TrimSpace(sortBy); sortBy != "" {
		ref, err := rs.Resolve(sortBy)
		if err != nil {
			return p, errorf(http.StatusBadRequest, typeInvalidValue, "sortBy: unknown attribute %q", sortBy)
		}
		p.sortBy = ref.String()
	}
	switch strings.ToLower(strings.TrimSpace(sortOrder)) {
	case "", "ascending":
	case "descending":
		p.descending = true
	default:
		return p, errorf(http.StatusBadRequest, typeInvalidValue, "sortOrder must be ascending or descending, not %q", sortOrder)
	}
	var inc, exc []filter.PathExpr
	var err error
	if strings.TrimSpace(attrs) != "" {
		if inc, err = s.cfg.Filter.ParseAttributeList(attrs); err != nil {
			return p, errorf(http.StatusBadRequest, typeInvalidPath, "attributes: %v", err)
		}
	}
	if strings.TrimSpace(excluded) != "" {
		if exc, err = s.cfg.Filter.ParseAttributeList(excluded); err != nil {
			return p, errorf(http.StatusBadRequest, typeInvalidPath, "excludedAttributes: %v", err)
		}
	}
	if p.proj, err = filter.NewProjection(rs, inc, exc); err != nil {
		return p, err
	}
	return p, nil
}

// listResponse renders a ListResponse.
func listResponse(total, startIndex int, resources []any) map[string]any {
	if resources == nil {
		resources = []any{}
	}
	return map[string]any{
		"schemas":      []string{listURN},
		"totalResults": total,
		"startIndex":   startIndex,
		"itemsPerPage": len(resources),
		"Resources":    resources,
	}
}

// ---- filter → SQL ----

// A resolved filter is split into the part the database answers and the
// rest. translate returns a condition and whether it is exact: an exact
// condition selects precisely the matching resources, so the database does
// the counting and paging; an inexact one selects a superset, and the
// caller evaluates the full filter in memory over it. Only attributes the
// stores index are translated, so "userName eq" on a million-member
// workspace is an index lookup while "title eq" scans.

type translator struct {
	field func(p filter.Path) (directory.Field, bool) // top-level attributes
	multi func(e filter.Expr) (directory.Cond, bool)  // multi-valued attributes (emails, members)
}

func (t translator) translate(e filter.Expr) (directory.Cond, bool) {
	switch e := e.(type) {
	case filter.And:
		l, lok := t.translate(e.L)
		r, rok := t.translate(e.R)
		return directory.And{l, r}, lok && rok
	case filter.Or:
		l, lok := t.translate(e.L)
		r, rok := t.translate(e.R)
		if !lok || !rok {
			return directory.All{}, false
		}
		return directory.Or{l, r}, true
	case filter.Not:
		x, ok := t.translate(e.X)
		if !ok {
			return directory.All{}, false
		}
		return directory.Not{X: x}, true
	case filter.Compare:
		if f, ok := t.field(e.Path); ok {
			v, ok := sqlValue(f, e.Value)
			if !ok {
				return directory.All{}, false
			}
			return directory.Compare{Field: f, Op: directory.Op(e.Op), Value: v}, true
		}
	case filter.Present:
		if f, ok := t.field(e.Path); ok {
			return directory.Compare{Field: f, Op: directory.OpPr}, true
		}
	}
	if t.multi != nil {
		if c, ok := t.multi(e); ok {
			return c, true
		}
	}
	return directory.All{}, false
}

// sqlValue converts a resolved filter value for a field.
func sqlValue(f directory.Field, v any) (any, bool) {
	switch f {
	case directory.FieldCreated, directory.FieldModified, directory.FieldGroupCreated, directory.FieldGroupModified:
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		t, err := schema.ParseDateTime(s)
		return t, err == nil
	case directory.FieldActive, directory.FieldEmailPrimary:
		b, ok := v.(bool)
		return b, ok
	}
	switch v := v.(type) {
	case string:
		return v, true
	case nil:
		return nil, true
	}
	return nil, false
}

func metaField(p filter.Path, created, modified directory.Field) (directory.Field, bool) {
	if p.Attr != "meta" || p.URN != "" {
		return "", false
	}
	switch p.Sub {
	case "created":
		return created, true
	case "lastModified":
		return modified, true
	}
	return "", false
}

var userTranslator = translator{
	field: func(p filter.Path) (directory.Field, bool) {
		if p.URN != "" {
			return "", false
		}
		switch {
		case p.Attr == "id" && p.Sub == "":
			return directory.FieldSCIMID, true
		case p.Attr == "userName" && p.Sub == "":
			return directory.FieldUserName, true
		case p.Attr == "externalId" && p.Sub == "":
			return directory.FieldExternalID, true
		case p.Attr == "active" && p.Sub == "":
			return directory.FieldActive, true
		}
		return metaField(p, directory.FieldCreated, directory.FieldModified)
	},
	multi: emailCond,
}

var emailFields = map[string]directory.Field{
	"value":   directory.FieldEmailValue,
	"type":    directory.FieldEmailType,
	"primary": directory.FieldEmailPrimary,
}

// emailCond translates conditions on emails: "emails co x" and "emails.value
// eq x" test some email's value, emails[type eq "work" and value co "@x"]
// tests one email for both. Multi-valued semantics follow RFC 7644
// §3.4.2.2 as the in-memory evaluator does: a comparison holds when some
// value satisfies it, "ne" also when there are no values, "eq null" when
// there are none.
func emailCond(e filter.Expr) (directory.Cond, bool) {
	switch e := e.(type) {
	case filter.Compare:
		if e.Path.URN != "" || e.Path.Attr != "emails" {
			return nil, false
		}
		sub := e.Path.Sub
		if sub == "" {
			sub = "value"
		}
		f, ok := emailFields[sub]
		if !ok {
			return nil, false
		}
		anyEmail := directory.EmailMatch{Cond: directory.All{}}
		if e.Value == nil {
			if e.Op == filter.OpEq {
				return directory.Not{X: anyEmail}, true
			}
			if e.Op == filter.OpNe {
				return anyEmail, true
			}
		}
		v, ok := sqlValue(f, e.Value)
		if !ok {
			return nil, false
		}
		c := directory.EmailMatch{Cond: directory.Compare{Field: f, Op: directory.Op(e.Op), Value: v}}
		if e.Op == filter.OpNe {
			return directory.Or{directory.Not{X: anyEmail}, c}, true
		}
		return c, true
	case filter.Present:
		if e.Path.URN != "" || e.Path.Attr != "emails" {
			return nil, false
		}
		if e.Path.Sub == "" {
			return directory.EmailMatch{Cond: directory.All{}}, true
		}
		f, ok := emailFields[e.Path.Sub]
		if !ok {
			return nil, false
		}
		return directory.EmailMatch{Cond: directory.Compare{Field: f, Op: directory.OpPr}}, true
	case filter.ValuePath:
		if e.Path.URN != "" || e.Path.Attr != "emails" {
			return nil, false
		}
		inner := translator{field: func(p filter.Path) (directory.Field, bool) {
			f, ok := emailFields[p.Attr]
			return f, ok && p.Sub == "" && p.URN == ""
		}}
		c, ok := inner.translate(e.Filter)
		if !ok {
			return nil, false
		}
		return directory.EmailMatch{Cond: c}, true
	}
	return nil, false
}

// memberOrder maps a sortBy attribute to a store order.
func memberOrder(sortBy string) (directory.MemberOrder, error) {
	switch sortBy {
	case "", "id":
		// By SCIM id by default: unique, stable, and the order of an
		// index, so deep pages skip their offset inside it.
		return directory.OrderSCIMID, nil
	case "userName":
		return directory.OrderUserName, nil
	case "externalId":
		return directory.OrderExternalID, nil
	case "displayName":
		return directory.OrderDisplayName, nil
	case "meta.created":
		return directory.OrderCreated, nil
	case "meta.lastModified":
		return directory.OrderModified, nil
	}
	return "", errorf(http.StatusBadRequest, typeInvalidValue, "sortBy %q is not supported; sort by id, userName, externalId, displayName, meta.created or meta.lastModified", sortBy)
}
