package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"rollcall/internal/directory"
	"rollcall/internal/scim/filter"
	"rollcall/internal/scim/patch"
	"rollcall/internal/scim/schema"
)

// roles returns the workspace's custom roles, read on first use.
func (s *Server) roles(ctx context.Context, ws string) *roleSet {
	return newRoleSet(func() ([]*directory.CustomRole, error) { return s.dir.Store().CustomRoles(ctx, ws) })
}

// respondUsers answers a list or search of Users. When the filter only
// tests indexed attributes the database filters, counts and pages;
// otherwise the database narrows the candidates by the indexed part and
// the rest of the filter is evaluated here, streaming, so memory stays
// bounded by the page.
func (s *Server) respondUsers(w http.ResponseWriter, r *http.Request, rc *reqCtx, p listParams) {
	ctx := r.Context()
	order, err := memberOrder(p.sortBy)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	roles := s.roles(ctx, rc.ws)
	var cond directory.Cond = directory.All{}
	exact := true
	if p.filter != nil {
		cond, exact = userTranslator.translate(p.filter)
	}
	q := directory.MemberQuery{Where: cond, SCIMOnly: true, Order: order, Descending: p.descending}
	var resources []any
	var total int
	st := s.dir.Store()
	if exact {
		q.Offset, q.Limit = p.startIndex-1, p.count
		page, err := st.Members(ctx, rc.ws, q)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		var groups map[string][]directory.GroupRef
		if len(page.Items) > 0 {
			if groups, err = st.MemberGroups(ctx, rc.ws, memberIDs(page.Items)...); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		for _, m := range page.Items {
			resources = append(resources, p.proj.Apply(s.userDoc(rc.ws, m, groups[m.ID], roles)))
		}
		total = page.Total
	} else {
		needGroups := mentions(p.filter, "groups")
		var batch []*directory.Member
		var page []*directory.Member // the page's members, when their groups are read after the scan
		flush := func() error {
			var groups map[string][]directory.GroupRef
			if needGroups {
				var err error
				if groups, err = st.MemberGroups(ctx, rc.ws, memberIDs(batch)...); err != nil {
					return err
				}
			}
			for _, m := range batch {
				doc := s.userDoc(rc.ws, m, groups[m.ID], roles)
				if !p.matcher.Match(doc) {
					continue
				}
				total++
				if total >= p.startIndex && len(resources)+len(page) < p.count {
					if needGroups {
						resources = append(resources, p.proj.Apply(doc))
					} else {
						page = append(page, m)
					}
				}
			}
			batch = batch[:0]
			return nil
		}
		err := st.ScanMembers(ctx, rc.ws, q, func(m *directory.Member) error {
			batch = append(batch, m)
			if len(batch) == 500 {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err == nil && len(page) > 0 {
			// The page is small: read its members' groups in one query.
			var groups map[string][]directory.GroupRef
			if groups, err = st.MemberGroups(ctx, rc.ws, memberIDs(page)...); err == nil {
				for _, m := range page {
					resources = append(resources, p.proj.Apply(s.userDoc(rc.ws, m, groups[m.ID], roles)))
				}
			}
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	s.writeList(w, total, p.startIndex, resources)
}

func (s *Server) writeList(w http.ResponseWriter, total, start int, resources []any) {
	writeJSON(w, http.StatusOK, listResponse(total, start, resources))
}

func memberIDs(ms []*directory.Member) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

// mentions reports whether a filter tests the attribute attr.
func mentions(e filter.Expr, attr string) bool {
	switch e := e.(type) {
	case filter.And:
		return mentions(e.L, attr) || mentions(e.R, attr)
	case filter.Or:
		return mentions(e.L, attr) || mentions(e.R, attr)
	case filter.Not:
		return mentions(e.X, attr)
	case filter.Compare:
		return e.Path.URN == "" && e.Path.Attr == attr
	case filter.Present:
		return e.Path.URN == "" && e.Path.Attr == attr
	case filter.ValuePath:
		return e.Path.URN == "" && e.Path.Attr == attr
	}
	return false
}

// projection reads attributes and excludedAttributes from a query.
func (s *Server) projection(r *http.Request, rs *schema.ResourceSchema) (*filter.Projection, bool, error) {
	q := r.URL.Query()
	var attrs, excluded string
	for k, v := range q {
		switch {
		case strings.EqualFold(k, "attributes"):
			attrs = v[0]
		case strings.EqualFold(k, "excludedAttributes"):
			excluded = v[0]
		}
	}
	p, err := s.params(rs, "", "", "", "", "", attrs, excluded)
	return p.proj, attrs != "" || excluded != "", err
}

// renderUser loads what a User representation needs beyond the member.
func (s *Server) renderUser(ctx context.Context, ws string, m *directory.Member) (map[string]any, error) {
	groups, err := s.dir.Store().MemberGroups(ctx, ws, m.ID)
	if err != nil {
		return nil, err
	}
	return s.userDoc(ws, m, groups[m.ID], s.roles(ctx, ws)), nil
}

func userNotFound(id string) error {
	return errorf(http.StatusNotFound, "", "User %q not found in this workspace", id)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id := r.PathValue("id")
	proj, _, err := s.projection(r, s.users)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.dir.Store().MemberBySCIMID(r.Context(), rc.ws, id)
	if errors.Is(err, directory.ErrNotFound) {
		s.writeError(w, r, userNotFound(id))
		return
	} else if err != nil {
		s.writeError(w, r, err)
		return
	}
	rc.note(m.SCIMID, m.ID, "")
	if notModified(r, m.Version) {
		w.Header().Set("ETag", etag(m.Version))
		w.WriteHeader(http.StatusNotModified)
		return
	}
	doc, err := s.renderUser(r.Context(), rc.ws, m)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeResource(w, http.StatusOK, proj.Apply(doc))
}

// normalizeUser decodes and normalizes a POST or PUT body.
func (s *Server) normalizeUser(r *http.Request) (map[string]any, error) {
	body, err := readJSON(r)
	if err != nil {
		return nil, err
	}
	return s.users.Normalize(body, schema.NormalizeOptions{})
}

// userBody reads a POST or PUT body: the member's fields, which must
// include a userName, and the role it asks for (given: false when none).
func (s *Server) userBody(r *http.Request, ws string) (userFields, roleIntent, error) {
	doc, err := s.normalizeUser(r)
	if err != nil {
		return userFields{}, roleIntent{}, err
	}
	f, err := fromUserDoc(doc)
	if err != nil {
		return userFields{}, roleIntent{}, err
	}
	if strings.TrimSpace(f.userName) == "" {
		return userFields{}, roleIntent{}, errorf(http.StatusBadRequest, typeInvalidValue, "userName is required (and PUT replaces the whole User)")
	}
	intent, err := roleFromDoc(doc, s.roles(r.Context(), ws))
	return f, intent, err
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ctx := r.Context()
	f, intent, err := s.userBody(r, rc.ws)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if intent.given && intent.ref.Role == directory.RoleOwner && intent.ref.CustomRoleID == "" {
		s.writeError(w, r, errorf(http.StatusBadRequest, typeInvalidValue, "the owner role cannot be given over SCIM; use admin, member, guest or a custom role"))
		return
	}
	m := &directory.Member{Active: true, Source: directory.SourceSCIM, Assigned: intent.ref}
	f.apply(m)
	m, reattached, err := s.dir.ProvisionMember(ctx, rc.ws, m)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	summary := "created member " + m.UserName
	if reattached {
		summary = "re-provisioned earlier member " + m.UserName + " (same member, new SCIM id), role " + roleText(m.EffectiveRole())
	}
	rc.note(m.SCIMID, m.ID, summary)
	if !reattached {
		// A member created just now is in no group: no need to ask.
		s.writeResource(w, http.StatusCreated, s.userDoc(rc.ws, m, nil, s.roles(ctx, rc.ws)))
		return
	}
	out, err := s.renderUser(ctx, rc.ws, m)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeResource(w, http.StatusCreated, out)
}

func (s *Server) replaceUser(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ctx := r.Context()
	id := r.PathValue("id")
	f, intent, err := s.userBody(r, rc.ws)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	opts, err := s.writeOptions(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var before *directory.Member
	m, err := s.dir.UpdateMember(ctx, rc.ws, id, opts, func(m *directory.Member) error {
		before = m.Clone()
		f.apply(m)
		return applyRole(m, intent) // absent means unchanged: an IdP that does not manage roles never demotes
	})
	if err != nil {
		s.writeError(w, r, notFoundAs(err, userNotFound(id)))
		return
	}
	rc.note(m.SCIMID, m.ID, changeSummary(before, m))
	out, err := s.renderUser(ctx, rc.ws, m)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeResource(w, http.StatusOK, out)
}

// writeOptions turns If-Match into the version a write must find.
func (s *Server) writeOptions(r *http.Request) (directory.UpdateOptions, error) {
	opts := directory.UpdateOptions{BySCIMID: true}
	var err error
	opts.IfMatch, err = ifMatch(r)
	return opts, err
}

// ifMatch reads If-Match (RFC 7232 §3.1): "*" or absent allows any
// version; otherwise the write goes ahead only if the resource is at one of
// the listed versions. A list naming none of our ETags can match nothing.
func ifMatch(r *http.Request) (directory.Versions, error) {
	im := strings.TrimSpace(r.Header.Get("If-Match"))
	if im == "" || im == "*" {
		return nil, nil
	}
	var vs directory.Versions
	for _, tag := range strings.Split(im, ",") {
		if v, ok := parseVersion(tag); ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return nil, errorf(http.StatusPreconditionFailed, "", "If-Match %q names no version of this resource", im)
	}
	return vs, nil
}

// notFoundAs replaces a domain not-found error with a protocol one.
func notFoundAs(err error, nf error) error {
	if directory.ErrorCode(err) == directory.ENOTFOUND {
		return nf
	}
	return err
}

func (s *Server) patchUser(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ctx := r.Context()
	id := r.PathValue("id")
	pr, err := s.readPatch(r, s.users)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ops, proj, wantBody, opts := pr.ops, pr.proj, pr.wantBody, pr.opts
	roles := s.roles(ctx, rc.ws)
	var before *directory.Member
	m, err := s.dir.UpdateMember(ctx, rc.ws, id, opts, func(m *directory.Member) error {
		before = m.Clone()
		attrs, err := decodeStored("member", m.ID, m.Attributes)
		if err != nil {
			return err // an internal error: applying the PATCH would drop them
		}
		doc := s.userDocOver(attrs, rc.ws, m, nil, roles)
		after, err := patch.Apply(doc, s.users, ops)
		if err != nil {
			return err
		}
		f, err := fromUserDoc(after)
		if err != nil {
			return err
		}
		if strings.TrimSpace(f.userName) == "" {
			return errorf(http.StatusBadRequest, typeMutability, "userName is required and cannot be removed")
		}
		intent, err := patchRoleIntent(doc, after, roles)
		if err != nil {
			return err
		}
		f.apply(m)
		return applyRole(m, intent)
	})
	if err != nil {
		s.writeError(w, r, notFoundAs(err, userNotFound(id)))
		return
	}
	rc.note(m.SCIMID, m.ID, changeSummary(before, m))
	if !wantBody {
		// RFC 7644 §3.5.2: 204 is allowed, and Microsoft's Entra guidance and
		// test collection expect it; 200 with the resource when the request
		// asks for attributes.
		w.Header().Set("ETag", etag(m.Version))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	out, err := s.renderUser(ctx, rc.ws, m)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeResource(w, http.StatusOK, proj.Apply(out))
}

// patchRequest is what every PATCH reads before it changes anything.
type patchRequest struct {
	ops      []patch.Operation
	proj     *filter.Projection
	wantBody bool // attributes or excludedAttributes asked for: answer 200 with the resource
	opts     directory.UpdateOptions
}

func (s *Server) readPatch(r *http.Request, rs *schema.ResourceSchema) (*patchRequest, error) {
	body, err := readJSON(r)
	if err != nil {
		return nil, err
	}
	pr := &patchRequest{}
	if pr.ops, err = patch.Parse(body); err != nil {
		return nil, err
	}
	if pr.proj, pr.wantBody, err = s.projection(r, rs); err != nil {
		return nil, err
	}
	pr.opts, err = s.writeOptions(r)
	return pr, err
}

// patchRoleIntent compares the Rollcall extension (and the core roles
// attribute) before and after a PATCH to find what the request asked for
// the role. The most specific value the PATCH set wins. A PATCH that only
// removes role attributes (or sets them empty) clears the explicit role, so
// group mappings decide again: the attributes it left are the rendering of
// the role it removed (a custom role shows as customRoleId, customRoleName
// and its base role), not a role asked for. A replace of the whole
// extension merges (RFC 7644 §3.5.2.3), so it removes nothing it does not
// name.
func patchRoleIntent(before, after map[string]any, roles *roleSet) (roleIntent, error) {
	b, _ := before[schema.RollcallUserURN].(map[string]any)
	a, _ := after[schema.RollcallUserURN].(map[string]any)
	keys := []string{"customRoleId", "customRoleName", "role"}
	val := func(m map[string]any, k string) string { v, _ := m[k].(string); return strings.TrimSpace(v) }
	removed := false
	for _, k := range keys {
		if val(a, k) != val(b, k) {
			if val(a, k) != "" {
				return intentFor(val(a, k), k, roles)
			}
			removed = true
		}
	}
	if removed {
		return roleIntent{clear: true}, nil
	}
	if !reflect.DeepEqual(before["roles"], after["roles"]) {
		in, err := roleFromDoc(map[string]any{"roles": after["roles"]}, roles)
		if err != nil || in.given {
			return in, err
		}
		return roleIntent{clear: true}, nil
	}
	return roleIntent{}, nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id := r.PathValue("id")
	versions, err := ifMatch(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.dir.DetachSCIM(r.Context(), rc.ws, id, versions)
	if err != nil {
		s.writeError(w, r, notFoundAs(err, userNotFound(id)))
		return
	}
	rc.note(id, m.ID, "deleted User "+id+"; member "+m.UserName+" kept as inactive")
	w.WriteHeader(http.StatusNoContent)
}

// changeSummary describes a member change for the provisioning log.
func changeSummary(before, after *directory.Member) string {
	if before == nil || after == nil {
		return ""
	}
	var parts []string
	switch {
	case before.Active && !after.Active:
		parts = append(parts, "deactivated")
	case !before.Active && after.Active:
		parts = append(parts, "reactivated")
	}
	var fields []string
	add := func(changed bool, name string) {
		if changed {
			fields = append(fields, name)
		}
	}
	add(before.UserName != after.UserName, "userName")
	add(before.ExternalID != after.ExternalID, "externalId")
	add(before.GivenName != after.GivenName || before.FamilyName != after.FamilyName, "name")
	add(before.DisplayName != after.DisplayName, "displayName")
	add(!slices.Equal(before.Emails, after.Emails), "emails")
	add(string(before.Attributes) != string(after.Attributes), "attributes")
	if len(fields) > 0 {
		parts = append(parts, "updated "+strings.Join(fields, ", "))
	}
	if before.EffectiveRole() != after.EffectiveRole() {
		parts = append(parts, fmt.Sprintf("role %s → %s", roleText(before.EffectiveRole()), roleText(after.EffectiveRole())))
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, "; ")
}

func roleText(r directory.RoleRef) string {
	if r.CustomRoleID != "" {
		return "custom " + r.CustomRoleID
	}
	return string(r.Role)
}
