package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"rollcall/internal/directory"
	"rollcall/internal/scim/filter"
	"rollcall/internal/scim/patch"
	"rollcall/internal/scim/schema"
)

// A group is stored as its display name, externalId and other attributes
// (as given) on one row, and its members as rows of their own, so a PATCH
// that adds or removes members costs time in proportion to the members it
// names, never to the size of the group. Member operations are therefore
// taken out of a PATCH and applied as a membership change; the other
// operations go through the PATCH engine on the group's document without
// its members.

var groupColumnAttrs = []string{"id", "externalId", "displayName", "members", "meta", "schemas"}

// groupDoc renders a group. members is nil when they were not loaded (for
// example with excludedAttributes=members).
func (s *Server) groupDoc(ws string, g *directory.Group, members []directory.GroupMember) map[string]any {
	return s.groupDocOver(s.storedAttributes("group", g.ID, g.Attributes), ws, g, members)
}

// groupDocOver is groupDoc over the group's already decoded attributes.
func (s *Server) groupDocOver(doc map[string]any, ws string, g *directory.Group, members []directory.GroupMember) map[string]any {
	for _, k := range groupColumnAttrs {
		delete(doc, k)
	}
	doc["schemas"] = []any{schema.GroupURN}
	doc["id"] = g.ID
	doc["displayName"] = g.DisplayName
	if g.ExternalID != "" {
		doc["externalId"] = g.ExternalID
	}
	if len(members) > 0 {
		list := make([]any, len(members))
		for i, m := range members {
			display := m.Display
			if display == "" {
				display = m.DisplayName
			}
			if display == "" {
				display = m.UserName
			}
			list[i] = map[string]any{"value": m.SCIMID, "display": display, "$ref": s.base(ws) + "/Users/" + m.SCIMID, "type": "User"}
		}
		doc["members"] = list
	}
	doc["meta"] = s.meta("Group", s.base(ws)+"/Groups/"+g.ID, g.Created, g.Modified, g.Version)
	return doc
}

// wantsMembers reports whether a projection returns members.
func wantsMembers(p *filter.Projection) bool {
	_, ok := p.Apply(map[string]any{"id": "x", "members": []any{map[string]any{"value": "x"}}})["members"]
	return ok
}

// membersOf reads the members of several groups in one query.
func (s *Server) membersOf(ctx context.Context, ws string, groups []*directory.Group) (map[string][]directory.GroupMember, error) {
	if len(groups) == 0 {
		return nil, nil
	}
	ids := make([]string, len(groups))
	for i, g := range groups {
		ids[i] = g.ID
	}
	return s.dir.Store().MembersOfGroups(ctx, ws, ids...)
}

// members reads every member of one group, for a representation, in one
// query (GroupMembers would count them first).
func (s *Server) members(ctx context.Context, ws, id string) ([]directory.GroupMember, error) {
	m, err := s.dir.Store().MembersOfGroups(ctx, ws, id)
	return m[id], err
}

func groupNotFound(id string) error {
	return errorf(http.StatusNotFound, "", "Group %q not found in this workspace", id)
}

var groupTranslator = translator{
	field: func(p filter.Path) (directory.Field, bool) {
		if p.URN != "" {
			return "", false
		}
		switch {
		case p.Attr == "id" && p.Sub == "":
			return directory.FieldGroupID, true
		case p.Attr == "displayName" && p.Sub == "":
			return directory.FieldGroupDisplayName, true
		case p.Attr == "externalId" && p.Sub == "":
			return directory.FieldGroupExternalID, true
		}
		return metaField(p, directory.FieldGroupCreated, directory.FieldGroupModified)
	},
	multi: func(e filter.Expr) (directory.Cond, bool) {
		// members eq "user id", members.value eq …, members[value eq …]:
		// membership tests, answered by the membership index.
		var c filter.Compare
		switch e := e.(type) {
		case filter.Compare:
			if e.Path.URN != "" || e.Path.Attr != "members" || (e.Path.Sub != "" && e.Path.Sub != "value") {
				return nil, false
			}
			c = e
		case filter.ValuePath:
			inner, ok := e.Filter.(filter.Compare)
			if !ok || e.Path.Attr != "members" || inner.Path.Attr != "value" {
				return nil, false
			}
			c = inner
		default:
			return nil, false
		}
		v, ok := c.Value.(string)
		if !ok || (c.Op != filter.OpEq && c.Op != filter.OpNe) {
			return nil, false
		}
		return directory.Compare{Field: directory.FieldGroupMember, Op: directory.Op(c.Op), Value: v}, true
	},
}

func (s *Server) respondGroups(w http.ResponseWriter, r *http.Request, rc *reqCtx, p listParams) {
	ctx := r.Context()
	q := directory.GroupQuery{Descending: p.descending}
	switch p.sortBy {
	case "", "meta.created", "id":
	case "displayName":
		q.OrderByName = true
	default:
		s.writeError(w, r, errorf(http.StatusBadRequest, typeInvalidValue, "sortBy %q is not supported for Groups; sort by displayName or meta.created", p.sortBy))
		return
	}
	exact := true
	q.Where = directory.All{}
	if p.filter != nil {
		q.Where, exact = groupTranslator.translate(p.filter)
	}
	withMembers := wantsMembers(p.proj)
	var resources []any
	total := 0
	if exact {
		q.Offset, q.Limit = p.startIndex-1, p.count
		page, err := s.dir.Store().Groups(ctx, rc.ws, q)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		var members map[string][]directory.GroupMember
		if withMembers {
			if members, err = s.membersOf(ctx, rc.ws, page.Items); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		for _, g := range page.Items {
			resources = append(resources, p.proj.Apply(s.groupDoc(rc.ws, g, members[g.ID])))
		}
		total = page.Total
	} else {
		// Filters on other attributes are evaluated here, a batch of groups
		// at a time; members are read (one query per batch) only when the
		// filter tests them, else once for the groups of the page.
		needMembers := mentions(p.filter, "members")
		var later []*directory.Group // on the page, to render with members
		const batch = 200
		for offset := 0; ; offset += batch {
			q.Offset, q.Limit = offset, batch
			page, err := s.dir.Store().Groups(ctx, rc.ws, q)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			var members map[string][]directory.GroupMember
			if needMembers {
				if members, err = s.membersOf(ctx, rc.ws, page.Items); err != nil {
					s.writeError(w, r, err)
					return
				}
			}
			for _, g := range page.Items {
				doc := s.groupDoc(rc.ws, g, members[g.ID])
				if !p.matcher.Match(doc) {
					continue
				}
				total++
				if total >= p.startIndex && len(resources)+len(later) < p.count {
					if withMembers && !needMembers {
						later = append(later, g)
					} else {
						resources = append(resources, p.proj.Apply(doc))
					}
				}
			}
			if len(page.Items) < batch {
				break
			}
		}
		if len(later) > 0 {
			members, err := s.membersOf(ctx, rc.ws, later)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			for _, g := range later {
				resources = append(resources, p.proj.Apply(s.groupDoc(rc.ws, g, members[g.ID])))
			}
		}
	}
	s.writeList(w, total, p.startIndex, resources)
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id := r.PathValue("id")
	proj, _, err := s.projection(r, s.groups)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	g, err := s.dir.Store().Group(r.Context(), rc.ws, id)
	if errors.Is(err, directory.ErrNotFound) {
		s.writeError(w, r, groupNotFound(id))
		return
	} else if err != nil {
		s.writeError(w, r, err)
		return
	}
	rc.note(g.ID, "", "")
	if notModified(r, g.Version) {
		w.Header().Set("ETag", etag(g.Version))
		w.WriteHeader(http.StatusNotModified)
		return
	}
	var ms []directory.GroupMember
	if wantsMembers(proj) {
		if ms, err = s.members(r.Context(), rc.ws, g.ID); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	s.writeResource(w, http.StatusOK, proj.Apply(s.groupDoc(rc.ws, g, ms)))
}

// memberDisplayAlias renames "displayName" to "display" in member objects:
// Microsoft's clients send {"value": id, "displayName": "…"}.
func memberDisplayAlias(v any) any {
	list, ok := v.([]any)
	if !ok {
		if m, ok := v.(map[string]any); ok {
			return memberDisplayAlias([]any{m})
		}
		return v
	}
	out := make([]any, len(list))
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			out[i] = item
			continue
		}
		c := make(map[string]any, len(m))
		var alias any
		hasDisplay := false
		for k, val := range m {
			switch {
			case strings.EqualFold(k, "displayName"):
				alias = val
			case strings.EqualFold(k, "display"):
				hasDisplay = true
				c[k] = val
			default:
				c[k] = val
			}
		}
		if alias != nil && !hasDisplay {
			c["display"] = alias
		}
		out[i] = c
	}
	return out
}

// groupBody decodes and normalizes a POST or PUT body, returning the
// group's fields and its members (nil when the body has no members
// attribute).
func (s *Server) groupBody(r *http.Request) (*directory.Group, []directory.MemberRef, error) {
	body, err := readJSON(r)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range body {
		if strings.EqualFold(k, "members") {
			body[k] = memberDisplayAlias(v)
		}
	}
	doc, err := s.groups.Normalize(body, schema.NormalizeOptions{})
	if err != nil {
		return nil, nil, err
	}
	name, _ := doc["displayName"].(string)
	if strings.TrimSpace(name) == "" {
		return nil, nil, errorf(http.StatusBadRequest, typeInvalidValue, "displayName is required")
	}
	g := &directory.Group{DisplayName: name}
	g.ExternalID, _ = doc["externalId"].(string)
	refs, err := memberRefs(doc["members"])
	if err != nil {
		return nil, nil, err
	}
	if g.Attributes, err = groupAttributes(doc); err != nil {
		return nil, nil, err
	}
	return g, refs, nil
}

// groupAttributes keeps the attributes of a group document not held in columns.
func groupAttributes(doc map[string]any) (json.RawMessage, error) {
	attrs := map[string]any{}
	for k, v := range doc {
		attrs[k] = v
	}
	for _, k := range groupColumnAttrs {
		delete(attrs, k)
	}
	return json.Marshal(attrs)
}

// memberRefs reads a canonical members value.
func memberRefs(v any) ([]directory.MemberRef, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, errorf(http.StatusBadRequest, typeInvalidValue, "members must be a list of {\"value\": user id}")
	}
	refs := make([]directory.MemberRef, 0, len(list))
	for _, item := range list {
		m, _ := item.(map[string]any)
		id, _ := m["value"].(string)
		if strings.TrimSpace(id) == "" {
			return nil, errorf(http.StatusBadRequest, typeInvalidValue, "every member needs a value: the id of a User")
		}
		if t, _ := m["type"].(string); t != "" && !strings.EqualFold(t, "User") {
			return nil, errorf(http.StatusBadRequest, typeInvalidValue, "member %q has type %q; Rollcall groups hold Users only (no nested groups)", id, t)
		}
		display, _ := m["display"].(string)
		refs = append(refs, directory.MemberRef{ID: id, Display: display})
	}
	return refs, nil
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	g, refs, err := s.groupBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	g, err = s.dir.CreateGroup(r.Context(), rc.ws, g, refs)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rc.note(g.ID, "", fmt.Sprintf("created group %q with %d members", g.DisplayName, len(refs)))
	s.respondGroup(w, r, rc, g, http.StatusCreated, nil)
}

// respondGroup writes a group after a change.
func (s *Server) respondGroup(w http.ResponseWriter, r *http.Request, rc *reqCtx, g *directory.Group, status int, proj *filter.Projection) {
	var ms []directory.GroupMember
	if proj == nil || wantsMembers(proj) {
		var err error
		if ms, err = s.members(r.Context(), rc.ws, g.ID); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	doc := s.groupDoc(rc.ws, g, ms)
	if proj != nil {
		doc = proj.Apply(doc)
	}
	s.writeResource(w, status, doc)
}

func (s *Server) replaceGroup(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id := r.PathValue("id")
	in, refs, err := s.groupBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	opts, err := s.writeOptions(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// PUT replaces the group: its members are exactly those given (RFC 7644
	// §3.5.1), none when the body has no members.
	g, err := s.dir.UpdateGroup(r.Context(), rc.ws, id, opts.IfMatch, func(g *directory.Group) error {
		g.DisplayName, g.ExternalID, g.Attributes = in.DisplayName, in.ExternalID, in.Attributes
		return nil
	}, &directory.MembershipChange{Replace: true, Set: refs})
	if err != nil {
		s.writeError(w, r, notFoundAs(err, groupNotFound(id)))
		return
	}
	rc.note(g.ID, "", fmt.Sprintf("replaced group %q (%d members)", g.DisplayName, len(refs)))
	s.respondGroup(w, r, rc, g, http.StatusOK, nil)
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id := r.PathValue("id")
	versions, err := ifMatch(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.dir.DeleteGroup(r.Context(), rc.ws, id, versions); err != nil {
		s.writeError(w, r, notFoundAs(err, groupNotFound(id)))
		return
	}
	rc.note(id, "", "deleted group "+id+"; its members stay")
	w.WriteHeader(http.StatusNoContent)
}

// membership accumulates the member operations of one PATCH, in order:
// state holds the final wish for each user named, and replaced says the
// group's other members all go.
type membership struct {
	replaced bool
	order    []string
	state    map[string]bool
	display  map[string]string
}

func (m *membership) set(id string, in bool, display string) {
	if m.state == nil {
		m.state, m.display = map[string]bool{}, map[string]string{}
	}
	if _, ok := m.state[id]; !ok {
		m.order = append(m.order, id)
	}
	m.state[id] = in
	if in && display != "" {
		m.display[id] = display
	}
}

func (m *membership) clear() {
	m.replaced = true
	m.order, m.state, m.display = nil, nil, nil
}

func (m *membership) change() *directory.MembershipChange {
	c := &directory.MembershipChange{Replace: m.replaced}
	for _, id := range m.order {
		ref := directory.MemberRef{ID: id, Display: m.display[id]}
		switch {
		case m.state[id] && m.replaced:
			c.Set = append(c.Set, ref)
		case m.state[id]:
			c.Add = append(c.Add, ref)
		case !m.replaced:
			c.Remove = append(c.Remove, id)
		}
	}
	return c
}

func isMembersPath(p *filter.PathExpr) bool {
	return p != nil && strings.EqualFold(p.Path.Attr, "members") && (p.Path.URN == "" || strings.EqualFold(p.Path.URN, schema.GroupURN))
}

func (s *Server) patchGroup(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ctx := r.Context()
	id := r.PathValue("id")
	pr, err := s.readPatch(r, s.groups)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ops, proj, wantBody, opts := pr.ops, pr.proj, pr.wantBody, pr.opts
	// Split the member operations from the rest.
	var mem membership
	var other []patch.Operation
	for _, op := range ops {
		switch {
		case isMembersPath(op.Path):
			if err := s.memberOp(ctx, rc.ws, id, op, &mem); err != nil {
				s.writeError(w, r, err)
				return
			}
		case op.Path == nil:
			v, ok := op.Value.(map[string]any)
			if !ok {
				other = append(other, op)
				continue
			}
			rest := map[string]any{}
			for k, val := range v {
				if strings.EqualFold(k, "members") {
					mop := patch.Operation{Op: op.Op, Path: &filter.PathExpr{Path: filter.Path{Attr: "members"}}, Value: val}
					if err := s.memberOp(ctx, rc.ws, id, mop, &mem); err != nil {
						s.writeError(w, r, err)
						return
					}
					continue
				}
				rest[k] = val
			}
			if len(rest) > 0 {
				other = append(other, patch.Operation{Op: op.Op, Value: rest})
			}
		default:
			other = append(other, op)
		}
	}
	change := mem.change()
	var fn func(*directory.Group) error
	if len(other) > 0 {
		fn = func(g *directory.Group) error {
			attrs, err := decodeStored("group", g.ID, g.Attributes)
			if err != nil {
				return err // an internal error: applying the PATCH would drop them
			}
			after, err := patch.Apply(s.groupDocOver(attrs, rc.ws, g, nil), s.groups, other)
			if err != nil {
				return err
			}
			name, _ := after["displayName"].(string)
			if strings.TrimSpace(name) == "" {
				return errorf(http.StatusBadRequest, typeMutability, "displayName is required and cannot be removed")
			}
			g.DisplayName = name
			g.ExternalID, _ = after["externalId"].(string)
			g.Attributes, err = groupAttributes(after)
			return err
		}
	}
	g, err := s.dir.UpdateGroup(ctx, rc.ws, id, opts.IfMatch, fn, change)
	if err != nil {
		s.writeError(w, r, notFoundAs(err, groupNotFound(id)))
		return
	}
	rc.note(g.ID, "", fmt.Sprintf("group %q: %d added, %d removed%s", g.DisplayName, len(change.Add)+len(change.Set), len(change.Remove), replacedNote(change)))
	if !wantBody {
		w.Header().Set("ETag", etag(g.Version))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.respondGroup(w, r, rc, g, http.StatusOK, proj)
}

func replacedNote(c *directory.MembershipChange) string {
	if c.Replace {
		return " (replaced the member list)"
	}
	return ""
}

// memberOp folds one PATCH operation on members into m, in every form IdPs
// send: add with a list (or a bare id), remove with a filter
// (members[value eq "id"], Okta), remove with a value list and no filter
// (Entra), remove of the whole attribute, and replace with a full list or [].
func (s *Server) memberOp(ctx context.Context, ws, groupID string, op patch.Operation, m *membership) error {
	refs, err := memberRefs(s.normalizeMembers(op.Value))
	if err != nil {
		return err
	}
	switch op.Op {
	case patch.OpAdd:
		if op.Path.Filter != nil {
			return errorf(http.StatusBadRequest, typeInvalidPath, "add to members takes the path \"members\", without a filter")
		}
		if op.Value == nil {
			return errorf(http.StatusBadRequest, typeInvalidValue, "add to members needs a value: a list of {\"value\": user id}")
		}
		for _, r := range refs {
			m.set(r.ID, true, r.Display)
		}
	case patch.OpReplace:
		if op.Path.Filter != nil {
			// Replace the members the filter selects with the value.
			ids, err := s.selectMembers(ctx, ws, groupID, op.Path.Filter, m)
			if err != nil {
				return err
			}
			for _, id := range ids {
				m.set(id, false, "")
			}
			for _, r := range refs {
				m.set(r.ID, true, r.Display)
			}
			return nil
		}
		m.clear()
		for _, r := range refs {
			m.set(r.ID, true, r.Display)
		}
	case patch.OpRemove:
		switch {
		case op.Path.Filter != nil:
			ids, err := s.selectMembers(ctx, ws, groupID, op.Path.Filter, m)
			if err != nil {
				return err
			}
			for _, id := range ids {
				m.set(id, false, "")
			}
		case len(refs) > 0:
			for _, r := range refs {
				m.set(r.ID, false, "")
			}
		default:
			m.clear()
		}
	}
	return nil
}

// normalizeMembers normalizes an operation's value as a members list.
func (s *Server) normalizeMembers(v any) any {
	if v == nil {
		return nil
	}
	ref, err := s.groups.Resolve("members")
	if err != nil {
		return v
	}
	out, err := s.groups.NormalizeValue(ref, memberDisplayAlias(v), schema.NormalizeOptions{})
	if err != nil {
		return v // memberRefs reports the problem
	}
	return out
}

// selectMembers returns the user ids a members[…] filter selects. The
// common form, value eq "id" (possibly or-ed), needs no lookup; anything
// else is evaluated against the group's members and those added earlier
// in the same request.
func (s *Server) selectMembers(ctx context.Context, ws, groupID string, f filter.Expr, m *membership) ([]string, error) {
	if ids, ok := valueEqualities(f); ok {
		return ids, nil
	}
	vp, err := filter.PathExpr{Path: filter.Path{Attr: "members"}, Filter: f}.Resolve(s.groups)
	if err != nil {
		return nil, err
	}
	members, err := s.members(ctx, ws, groupID)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	try := func(id, display string) {
		if !seen[id] && vp.Match(map[string]any{"value": id, "display": display, "type": "User"}) {
			out = append(out, id)
		}
		seen[id] = true
	}
	for _, gm := range members {
		try(gm.SCIMID, firstNonEmpty(gm.Display, gm.DisplayName, gm.UserName))
	}
	for _, id := range m.order {
		if m.state[id] {
			try(id, m.display[id])
		}
	}
	return out, nil
}

// valueEqualities reads value eq "a" [or value eq "b" …].
func valueEqualities(f filter.Expr) ([]string, bool) {
	switch f := f.(type) {
	case filter.Compare:
		v, ok := f.Value.(string)
		if f.Op != filter.OpEq || !ok || !strings.EqualFold(f.Path.Attr, "value") || f.Path.Sub != "" {
			return nil, false
		}
		return []string{v}, true
	case filter.Or:
		l, ok := valueEqualities(f.L)
		if !ok {
			return nil, false
		}
		r, ok := valueEqualities(f.R)
		return append(l, r...), ok
	}
	return nil, false
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
