package api

import (
	"net/http"
	"strconv"
	"time"

	"rollcall/internal/credential"
	"rollcall/internal/directory"
	"rollcall/internal/store"
)

// CredentialJSON is the API form of a credential; its secret appears only
// in the response that creates it.
type CredentialJSON struct {
	ID           string     `json:"id"`
	Kind         string     `json:"kind"`
	Label        string     `json:"label"`
	Created      time.Time  `json:"created"`
	LastUsed     *time.Time `json:"last_used,omitempty"`
	Revoked      *time.Time `json:"revoked,omitempty"`
	Token        string     `json:"token,omitempty"`
	Key          string     `json:"key,omitempty"`
	ClientID     string     `json:"client_id,omitempty"`
	ClientSecret string     `json:"client_secret,omitempty"`
	TokenURL     string     `json:"token_url,omitempty"`
	SCIMBaseURL  string     `json:"scim_base_url,omitempty"`
}

// CredentialView renders a credential. secret is set only on creation.
func CredentialView(c *credential.Credential, secret, baseURL string) CredentialJSON {
	out := CredentialJSON{ID: c.ID, Kind: string(c.Kind), Label: c.Label, Created: c.Created}
	if !c.LastUsed.IsZero() {
		out.LastUsed = &c.LastUsed
	}
	if !c.Revoked.IsZero() {
		out.Revoked = &c.Revoked
	}
	switch c.Kind {
	case credential.KindSCIMToken:
		out.Token = secret
		out.SCIMBaseURL = SCIMBaseURL(baseURL, c.WorkspaceID)
	case credential.KindSCIMClient:
		out.ClientID, out.ClientSecret = c.ClientID(), secret
		out.TokenURL = baseURL + "/oauth/token"
		out.SCIMBaseURL = SCIMBaseURL(baseURL, c.WorkspaceID)
	case credential.KindAPIKey:
		out.Key = secret
	}
	return out
}

func (s *Server) listCredentials(kind credential.Kind) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, ws string) {
		list, err := s.Creds.List(r.Context(), ws, kind)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		out := make([]CredentialJSON, len(list))
		for i, c := range list {
			out[i] = CredentialView(c, "", s.BaseURL)
		}
		s.JSON(w, http.StatusOK, map[string]any{"credentials": out})
	}
}

func (s *Server) createCredential(kind credential.Kind) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, ws string) {
		var in struct {
			Label string `json:"label"`
		}
		if r.ContentLength != 0 {
			if err := Decode(r, &in); err != nil {
				s.Error(w, r, err)
				return
			}
		}
		c, secret, err := s.Creds.Create(r.Context(), ws, kind, in.Label)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		s.JSON(w, http.StatusCreated, CredentialView(c, secret, s.BaseURL))
	}
}

func (s *Server) revokeCredential(kind credential.Kind) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, ws string) {
		if err := s.Creds.Revoke(r.Context(), ws, kind, r.PathValue("id")); err != nil {
			s.Error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) listProvisioning(w http.ResponseWriter, r *http.Request, ws string) {
	limit, _, err := Paging(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	q := store.ProvisioningQuery{Limit: limit, MemberID: r.URL.Query().Get("member"), Errors: r.URL.Query().Get("errors") == "true"}
	if v := r.URL.Query().Get("before"); v != "" {
		if q.Before, err = strconv.ParseInt(v, 10, 64); err != nil {
			s.Error(w, r, directory.Errorf(directory.EINVALID, "before must be an entry id"))
			return
		}
	}
	entries, err := s.Prov.ProvisioningLog(r.Context(), ws, q)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	resp := map[string]any{"entries": entries}
	if len(entries) == limit {
		resp["next_before"] = entries[len(entries)-1].ID
	}
	s.JSON(w, http.StatusOK, resp)
}

// GroupJSON is the API form of a group (a team).
type GroupJSON struct {
	ID           string    `json:"id"`
	DisplayName  string    `json:"display_name"`
	ExternalID   string    `json:"external_id,omitempty"`
	Members      int       `json:"member_count"`
	Role         string    `json:"role,omitempty"`
	CustomRoleID string    `json:"custom_role_id,omitempty"`
	Created      time.Time `json:"created"`
	Modified     time.Time `json:"modified"`
}

// GroupView renders a group.
func GroupView(g *directory.Group) GroupJSON {
	return GroupJSON{ID: g.ID, DisplayName: g.DisplayName, ExternalID: g.ExternalID, Members: g.Members,
		Role: string(g.Role.Role), CustomRoleID: g.Role.CustomRoleID, Created: g.Created, Modified: g.Modified}
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request, ws string) {
	limit, offset, err := Paging(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	page, err := s.Dir.Store().Groups(r.Context(), ws, directory.GroupQuery{OrderByName: true, Limit: limit, Offset: offset})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	out := make([]GroupJSON, len(page.Items))
	for i, g := range page.Items {
		out[i] = GroupView(g)
	}
	resp := map[string]any{"groups": out, "total": page.Total, "limit": limit, "offset": offset}
	if offset+len(out) < page.Total {
		resp["next_offset"] = offset + len(out)
	}
	s.JSON(w, http.StatusOK, resp)
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request, ws string) {
	g, err := s.Dir.Group(r.Context(), ws, r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.JSON(w, http.StatusOK, GroupView(g))
}

func (s *Server) listGroupMembers(w http.ResponseWriter, r *http.Request, ws string) {
	limit, offset, err := Paging(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	id := r.PathValue("id")
	page, err := s.Dir.Store().GroupMembers(r.Context(), ws, id, offset, limit)
	if err != nil {
		s.Error(w, r, notFound(err, "group %q not found", id))
		return
	}
	type member struct {
		ID          string `json:"id"`
		UserName    string `json:"user_name"`
		DisplayName string `json:"display_name,omitempty"`
	}
	out := make([]member, len(page.Items))
	for i, m := range page.Items {
		out[i] = member{m.MemberID, m.UserName, m.DisplayName}
	}
	resp := map[string]any{"members": out, "total": page.Total, "limit": limit, "offset": offset}
	if offset+len(out) < page.Total {
		resp["next_offset"] = offset + len(out)
	}
	s.JSON(w, http.StatusOK, resp)
}

func notFound(err error, format string, args ...any) error {
	if err == directory.ErrNotFound {
		return directory.Errorf(directory.ENOTFOUND, format, args...)
	}
	return err
}

func (s *Server) setGroupRole(w http.ResponseWriter, r *http.Request, ws string) {
	var in struct {
		Role string `json:"role"`
	}
	if err := Decode(r, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	if in.Role == "" {
		s.Error(w, r, directory.Errorf(directory.EINVALID, "role is required: admin, member, guest, or a custom role's name or ID"))
		return
	}
	ref, err := s.Dir.ResolveRole(r.Context(), ws, in.Role)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	g, err := s.Dir.SetGroupRole(r.Context(), ws, r.PathValue("id"), ref)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.JSON(w, http.StatusOK, GroupView(g))
}

func (s *Server) clearGroupRole(w http.ResponseWriter, r *http.Request, ws string) {
	g, err := s.Dir.SetGroupRole(r.Context(), ws, r.PathValue("id"), directory.RoleRef{})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.JSON(w, http.StatusOK, GroupView(g))
}
