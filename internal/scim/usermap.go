package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"rollcall/internal/directory"
	"rollcall/internal/scim/schema"
)

// A member is stored as typed columns the directory acts on (userName,
// externalId, given and family name, displayName, emails, active, role)
// plus every other attribute the IdP sent, kept as a canonical JSON object
// in Member.Attributes. A User representation is the stored attributes with
// the columns laid over them, the read-only attributes (id, groups, meta)
// and the Rollcall extension with the member's effective role.

// columnAttrs are the attributes held in columns or computed, never in
// Member.Attributes.
var columnAttrs = []string{"id", "externalId", "userName", "displayName", "emails", "active", "groups", "meta", "schemas", "password", schema.RollcallUserURN}

// roleSet is a workspace's custom roles, by ID and by lower-cased name,
// read from the store only when a request first needs them (most requests
// name no custom role and render no member holding one).
type roleSet struct {
	load   func() ([]*directory.CustomRole, error)
	once   sync.Once
	err    error
	byID   map[string]*directory.CustomRole
	byName map[string]*directory.CustomRole
	list   []*directory.CustomRole
}

func newRoleSet(load func() ([]*directory.CustomRole, error)) *roleSet {
	return &roleSet{load: load}
}

func (rs *roleSet) ensure() error {
	rs.once.Do(func() {
		rs.list, rs.err = rs.load()
		rs.byID, rs.byName = map[string]*directory.CustomRole{}, map[string]*directory.CustomRole{}
		for _, r := range rs.list {
			rs.byID[r.ID] = r
			rs.byName[strings.ToLower(r.Name)] = r
		}
	})
	return rs.err
}

// name returns the name of the custom role id ("" if unknown).
func (rs *roleSet) name(id string) string {
	if rs.ensure() != nil {
		return ""
	}
	if r, ok := rs.byID[id]; ok {
		return r.Name
	}
	return ""
}

// byIDRef returns the custom role id as a RoleRef.
func (rs *roleSet) byIDRef(id string) (directory.RoleRef, bool, error) {
	if err := rs.ensure(); err != nil {
		return directory.RoleRef{}, false, err
	}
	r, ok := rs.byID[strings.TrimSpace(id)]
	if !ok {
		return directory.RoleRef{}, false, nil
	}
	return directory.RoleRef{Role: r.BaseRole, CustomRoleID: r.ID}, true, nil
}

// resolve finds a role by built-in name, custom role ID or custom role
// name. The error lists every valid name and ID, so an IT admin can fix the
// IdP's mapping without asking anyone.
func (rs *roleSet) resolve(v string) (directory.RoleRef, error) {
	v = strings.TrimSpace(v)
	if r, ok := directory.ParseRole(v); ok {
		return directory.RoleRef{Role: r}, nil
	}
	if err := rs.ensure(); err != nil {
		return directory.RoleRef{}, err
	}
	if r, ok := rs.byID[v]; ok {
		return directory.RoleRef{Role: r.BaseRole, CustomRoleID: r.ID}, nil
	}
	if r, ok := rs.byName[strings.ToLower(v)]; ok {
		return directory.RoleRef{Role: r.BaseRole, CustomRoleID: r.ID}, nil
	}
	return directory.RoleRef{}, rs.unknown(v)
}

func (rs *roleSet) unknown(v string) error {
	if err := rs.ensure(); err != nil {
		return err
	}
	valid := []string{"admin", "member", "guest"}
	for _, r := range rs.list {
		valid = append(valid, fmt.Sprintf("%q (customRoleId %s)", r.Name, r.ID))
	}
	return errorf(http.StatusBadRequest, typeInvalidValue, "unknown role %q; valid roles are: %s", v, strings.Join(valid, ", "))
}

// decodeStored decodes the extra attributes stored with a member or group
// (numbers kept exact) into a fresh document.
func decodeStored(kind, id string, raw []byte) (map[string]any, error) {
	doc := map[string]any{}
	if len(raw) <= 2 { // "{}" or empty
		return doc, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return nil, fmt.Errorf("the stored attributes of %s %s do not decode: %v", kind, id, err)
	}
	return doc, nil
}

// storedAttributes is decodeStored for rendering. We wrote the attributes,
// so a value that does not decode means a damaged row: it is logged and
// the resource is rendered from its columns alone rather than failing
// every read of it. A PATCH, which would write the damage back as loss,
// uses decodeStored and fails instead.
func (s *Server) storedAttributes(kind, id string, raw []byte) map[string]any {
	doc, err := decodeStored(kind, id, raw)
	if err != nil {
		s.cfg.Log.Error("scim: rendering without stored attributes", "err", err)
		return map[string]any{}
	}
	return doc
}

// userDoc renders a member as a canonical User document.
func (s *Server) userDoc(ws string, m *directory.Member, groups []directory.GroupRef, roles *roleSet) map[string]any {
	return s.userDocOver(s.storedAttributes("member", m.ID, m.Attributes), ws, m, groups, roles)
}

// userDocOver is userDoc over the member's already decoded attributes.
func (s *Server) userDocOver(doc map[string]any, ws string, m *directory.Member, groups []directory.GroupRef, roles *roleSet) map[string]any {
	for _, k := range columnAttrs {
		delete(doc, k)
	}
	doc["id"] = m.SCIMID
	doc["userName"] = m.UserName
	if m.ExternalID != "" {
		doc["externalId"] = m.ExternalID
	}
	name, _ := doc["name"].(map[string]any)
	if name == nil {
		name = map[string]any{}
	}
	setOrDelete(name, "givenName", m.GivenName)
	setOrDelete(name, "familyName", m.FamilyName)
	if len(name) > 0 {
		doc["name"] = name
	} else {
		delete(doc, "name")
	}
	if m.DisplayName != "" {
		doc["displayName"] = m.DisplayName
	}
	if len(m.Emails) > 0 {
		emails := make([]any, len(m.Emails))
		for i, e := range m.Emails {
			em := map[string]any{"value": e.Value}
			if e.Type != "" {
				em["type"] = e.Type
			}
			if e.Primary {
				em["primary"] = true
			}
			if e.Display != "" {
				em["display"] = e.Display
			}
			emails[i] = em
		}
		doc["emails"] = emails
	}
	doc["active"] = m.Active
	if len(groups) > 0 {
		gs := make([]any, len(groups))
		for i, g := range groups {
			gs[i] = map[string]any{"value": g.ID, "display": g.DisplayName, "$ref": s.base(ws) + "/Groups/" + g.ID, "type": "direct"}
		}
		doc["groups"] = gs
	}
	ext := map[string]any{"role": string(m.Role)}
	if m.CustomRoleID != "" {
		ext["customRoleId"] = m.CustomRoleID
		if name := roles.name(m.CustomRoleID); name != "" {
			ext["customRoleName"] = name
		}
	}
	doc[schema.RollcallUserURN] = ext
	schemas := []any{schema.UserURN}
	if _, ok := doc[schema.EnterpriseUserURN]; ok {
		schemas = append(schemas, schema.EnterpriseUserURN)
	}
	doc["schemas"] = append(schemas, schema.RollcallUserURN)
	doc["meta"] = s.meta("User", s.base(ws)+"/Users/"+m.SCIMID, m.Created, m.Modified, m.Version)
	return doc
}

func (s *Server) meta(resourceType, location string, created, modified time.Time, version int64) map[string]any {
	return map[string]any{
		"resourceType": resourceType,
		"created":      created.UTC().Format(time.RFC3339Nano),
		"lastModified": modified.UTC().Format(time.RFC3339Nano),
		"location":     location,
		"version":      etag(version),
	}
}

func setOrDelete(m map[string]any, k, v string) {
	if v == "" {
		delete(m, k)
	} else {
		m[k] = v
	}
}

// userFields is what a canonical User document says about a member.
type userFields struct {
	userName    string
	externalID  string
	givenName   string
	familyName  string
	displayName string
	emails      []directory.Email
	active      *bool // nil: not given
	attributes  json.RawMessage
}

// fromUserDoc splits a canonical User document into the member's columns
// and the attributes kept as given.
func fromUserDoc(doc map[string]any) (userFields, error) {
	var f userFields
	str := func(k string) string { s, _ := doc[k].(string); return s }
	f.userName, f.externalID, f.displayName = str("userName"), str("externalId"), str("displayName")
	if a, ok := doc["active"].(bool); ok {
		f.active = &a
	}
	attrs := make(map[string]any, len(doc))
	for k, v := range doc {
		attrs[k] = v
	}
	for _, k := range columnAttrs {
		delete(attrs, k)
	}
	if name, ok := doc["name"].(map[string]any); ok {
		f.givenName, _ = name["givenName"].(string)
		f.familyName, _ = name["familyName"].(string)
		rest := map[string]any{}
		for k, v := range name {
			if k != "givenName" && k != "familyName" {
				rest[k] = v
			}
		}
		if len(rest) > 0 {
			attrs["name"] = rest
		} else {
			delete(attrs, "name")
		}
	}
	if list, ok := doc["emails"].([]any); ok {
		for _, item := range list {
			e, ok := item.(map[string]any)
			if !ok {
				continue
			}
			v, _ := e["value"].(string)
			if strings.TrimSpace(v) == "" {
				return f, errorf(http.StatusBadRequest, typeInvalidValue, "emails: every email needs a non-empty value")
			}
			t, _ := e["type"].(string)
			p, _ := e["primary"].(bool)
			d, _ := e["display"].(string)
			f.emails = append(f.emails, directory.Email{Value: v, Type: t, Primary: p, Display: d})
		}
	}
	if err := checkListSizes(attrs); err != nil {
		return f, err
	}
	b, err := json.Marshal(attrs)
	if err != nil {
		return f, fmt.Errorf("encode attributes: %w", err)
	}
	f.attributes = b
	return f, nil
}

// maxValues bounds each multi-valued attribute of a stored User (emails
// have their own, lower bound in the directory). No person has a thousand
// phone numbers; the bound keeps filtered PATCH operations, which scan a
// list, cheap.
const maxValues = 1000

func checkListSizes(attrs map[string]any) error {
	for k, v := range attrs {
		switch v := v.(type) {
		case []any:
			if len(v) > maxValues {
				return errorf(http.StatusBadRequest, typeInvalidValue, "%s has %d values; at most %d are allowed", k, len(v), maxValues)
			}
		case map[string]any:
			if err := checkListSizes(v); err != nil {
				return err
			}
		}
	}
	return nil
}

// apply copies the fields onto m. active is applied only when given.
func (f userFields) apply(m *directory.Member) {
	m.UserName, m.ExternalID = f.userName, f.externalID
	m.GivenName, m.FamilyName, m.DisplayName = f.givenName, f.familyName, f.displayName
	m.Emails, m.Attributes = f.emails, f.attributes
	if f.active != nil {
		m.Active = *f.active
	}
}

// roleIntent is what a request says about a member's role.
type roleIntent struct {
	given bool              // the request names a role
	clear bool              // the request removes the role (PATCH remove)
	ref   directory.RoleRef // the role named
	asked string            // as written, for errors
}

// roleFromDoc reads the role a POST or PUT body asks for: the Rollcall
// extension's customRoleId, customRoleName or role (also accepted without
// the URN, where Okta puts custom attributes in the core namespace), or
// else the primary (or only) value of the core "roles" attribute.
func roleFromDoc(doc map[string]any, roles *roleSet) (roleIntent, error) {
	if ext, ok := doc[schema.RollcallUserURN].(map[string]any); ok {
		for _, k := range []string{"customRoleId", "customRoleName", "role"} {
			if v, ok := ext[k].(string); ok && strings.TrimSpace(v) != "" {
				return intentFor(v, k, roles)
			}
		}
	}
	if list, ok := doc["roles"].([]any); ok {
		var pick string
		for _, item := range list {
			r, _ := item.(map[string]any)
			v, _ := r["value"].(string)
			if v == "" {
				v, _ = r["display"].(string)
			}
			if v == "" {
				continue
			}
			if p, _ := r["primary"].(bool); p || pick == "" {
				pick = v
				if p {
					break
				}
			}
		}
		if pick != "" {
			return intentFor(pick, "roles", roles)
		}
	}
	return roleIntent{}, nil
}

func intentFor(v, attr string, roles *roleSet) (roleIntent, error) {
	if attr == "customRoleId" {
		ref, ok, err := roles.byIDRef(v)
		if err != nil {
			return roleIntent{}, err
		}
		if !ok {
			return roleIntent{}, roles.unknown(v)
		}
		return roleIntent{given: true, ref: ref, asked: v}, nil
	}
	ref, err := roles.resolve(v)
	if err != nil {
		return roleIntent{}, err
	}
	return roleIntent{given: true, ref: ref, asked: v}, nil
}

// applyRole applies a role intent to m under the rule that a role equal to
// the member's current effective role changes nothing — so an IdP that
// reads a User and writes it back (Okta's GET then PUT) never turns a
// role granted by a group into an explicit one — and that the owner role
// cannot be asked for over SCIM.
func applyRole(m *directory.Member, in roleIntent) error {
	switch {
	case in.clear:
		if m.Assigned.Role != directory.RoleOwner {
			m.Assigned = directory.RoleRef{}
		}
	case in.given:
		if sameRole(in.ref, m.EffectiveRole()) {
			return nil
		}
		if in.ref.Role == directory.RoleOwner && in.ref.CustomRoleID == "" {
			return errorf(http.StatusBadRequest, typeInvalidValue, "the owner role cannot be given over SCIM; use admin, member, guest or a custom role")
		}
		m.Assigned = in.ref
	}
	return nil
}

func sameRole(a, b directory.RoleRef) bool {
	if a.CustomRoleID != "" || b.CustomRoleID != "" {
		return a.CustomRoleID == b.CustomRoleID
	}
	return a.Role == b.Role
}
