// Package api is Rollcall's public REST API for the SaaS team that embeds
// it: JSON over HTTP under /api/v1, authenticated with a workspace API key
// ("Authorization: Bearer rcak_…").
//
// Errors are {"code": "…", "message": "…"} with a stable code from one
// table ([statusFor]). A key of workspace A used on workspace B's URLs gets
// 404, as if the workspace did not exist; a key that does not authenticate
// at all gets 401.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"rollcall/internal/credential"
	"rollcall/internal/directory"
	"rollcall/internal/httpx"
	"rollcall/internal/store"
)

// maxBody caps API request bodies.
const maxBody = 1 << 20

// ProvisioningLog reads the SCIM provisioning log.
type ProvisioningLog interface {
	ProvisioningLog(ctx context.Context, ws string, q store.ProvisioningQuery) ([]store.ProvisioningEntry, error)
}

// Server serves the REST API.
type Server struct {
	Dir     *directory.Service
	Creds   *credential.Service
	Prov    ProvisioningLog
	SSO     SSOAdmin
	BaseURL string // externally visible base URL, no trailing slash
	Log     *slog.Logger
}

// Register adds the API's routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	ws := func(h func(w http.ResponseWriter, r *http.Request, ws string)) http.Handler {
		return s.authenticated(h)
	}
	mux.Handle("GET /api/v1/workspaces/{ws}", ws(s.getWorkspace))
	mux.Handle("GET /api/v1/workspaces/{ws}/roles", ws(s.listRoles))
	mux.Handle("POST /api/v1/workspaces/{ws}/roles", ws(s.createRole))
	mux.Handle("PATCH /api/v1/workspaces/{ws}/roles/{id}", ws(s.updateRole))
	mux.Handle("DELETE /api/v1/workspaces/{ws}/roles/{id}", ws(s.deleteRole))
	mux.Handle("GET /api/v1/workspaces/{ws}/members", ws(s.listMembers))
	mux.Handle("GET /api/v1/workspaces/{ws}/members/{id}", ws(s.getMember))
	mux.Handle("GET /api/v1/workspaces/{ws}/audit", ws(s.listAudit))
	mux.Handle("GET /api/v1/workspaces/{ws}/provisioning-log", ws(s.listProvisioning))
	mux.Handle("GET /api/v1/workspaces/{ws}/scim-tokens", ws(s.listCredentials(credential.KindSCIMToken)))
	mux.Handle("POST /api/v1/workspaces/{ws}/scim-tokens", ws(s.createCredential(credential.KindSCIMToken)))
	mux.Handle("DELETE /api/v1/workspaces/{ws}/scim-tokens/{id}", ws(s.revokeCredential(credential.KindSCIMToken)))
	mux.Handle("GET /api/v1/workspaces/{ws}/scim-clients", ws(s.listCredentials(credential.KindSCIMClient)))
	mux.Handle("POST /api/v1/workspaces/{ws}/scim-clients", ws(s.createCredential(credential.KindSCIMClient)))
	mux.Handle("DELETE /api/v1/workspaces/{ws}/scim-clients/{id}", ws(s.revokeCredential(credential.KindSCIMClient)))
	mux.Handle("GET /api/v1/workspaces/{ws}/api-keys", ws(s.listCredentials(credential.KindAPIKey)))
	mux.Handle("POST /api/v1/workspaces/{ws}/api-keys", ws(s.createCredential(credential.KindAPIKey)))
	mux.Handle("DELETE /api/v1/workspaces/{ws}/api-keys/{id}", ws(s.revokeCredential(credential.KindAPIKey)))
	mux.Handle("GET /api/v1/workspaces/{ws}/groups", ws(s.listGroups))
	mux.Handle("GET /api/v1/workspaces/{ws}/groups/{id}", ws(s.getGroup))
	mux.Handle("GET /api/v1/workspaces/{ws}/groups/{id}/members", ws(s.listGroupMembers))
	mux.Handle("PUT /api/v1/workspaces/{ws}/groups/{id}/role", ws(s.setGroupRole))
	mux.Handle("DELETE /api/v1/workspaces/{ws}/groups/{id}/role", ws(s.clearGroupRole))
	s.registerSSO(mux, ws)
}

// authenticated checks the API key against the workspace in the URL.
func (s *Server) authenticated(h func(w http.ResponseWriter, r *http.Request, ws string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws := r.PathValue("ws")
		key, err := s.Creds.Authenticate(r.Context(), "", httpx.BearerToken(r), credential.KindAPIKey)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="rollcall"`)
			s.Error(w, r, err)
			return
		}
		if key.WorkspaceID != ws {
			s.Error(w, r, directory.Errorf(directory.ENOTFOUND, "workspace %q not found", ws))
			return
		}
		ctx := directory.WithActor(r.Context(), directory.Actor{
			Kind: "api_key", ID: key.ID, Label: key.Label, RequestID: httpx.RequestID(r.Context()),
		})
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h(w, r.WithContext(ctx), ws)
	})
}

// statusFor maps domain error codes to HTTP statuses: the one table.
func statusFor(code string) int {
	switch code {
	case directory.EINVALID, directory.EIMMUTABLE:
		return http.StatusBadRequest
	case directory.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case directory.EFORBIDDEN:
		return http.StatusForbidden
	case directory.ENOTFOUND:
		return http.StatusNotFound
	case directory.ECONFLICT:
		return http.StatusConflict
	case directory.EPRECONDITION:
		return http.StatusPreconditionFailed
	}
	return http.StatusInternalServerError
}

// Error writes err as a JSON error; internal causes go to the log only.
func (s *Server) Error(w http.ResponseWriter, r *http.Request, err error) {
	code := directory.ErrorCode(err)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		httpx.WriteJSON(w, http.StatusRequestEntityTooLarge, "application/json", map[string]string{
			"code": "too_large", "message": "request body is larger than " + strconv.FormatInt(mbe.Limit, 10) + " bytes"})
		return
	}
	if code == directory.EINTERNAL {
		s.Log.Error("api error", "request_id", httpx.RequestID(r.Context()), "err", err)
	}
	httpx.WriteJSON(w, statusFor(code), "application/json", map[string]string{"code": code, "message": directory.ErrorMessage(err)})
}

// JSON writes v with status.
func (s *Server) JSON(w http.ResponseWriter, status int, v any) {
	httpx.WriteJSON(w, status, "application/json", v)
}

// Decode reads a JSON body into v, refusing unknown fields and trailing data.
func Decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return directory.Errorf(directory.EINVALID, "request body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return directory.Errorf(directory.EINVALID, "request body: unexpected data after the JSON object")
	}
	return nil
}

// ---- workspaces ----

// WorkspaceJSON is the API form of a workspace.
type WorkspaceJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	SSOPolicy   string    `json:"sso_policy"`
	SCIMBaseURL string    `json:"scim_base_url"`
	Created     time.Time `json:"created"`
}

// WorkspaceView renders a workspace with its URLs under baseURL.
func WorkspaceView(w *directory.Workspace, baseURL string) WorkspaceJSON {
	return WorkspaceJSON{ID: w.ID, Name: w.Name, SSOPolicy: string(w.SSOPolicy), SCIMBaseURL: SCIMBaseURL(baseURL, w.ID), Created: w.Created}
}

// SCIMBaseURL is a workspace's SCIM base URL.
func SCIMBaseURL(baseURL, ws string) string {
	return strings.TrimRight(baseURL, "/") + "/scim/v2/" + ws
}

func (s *Server) getWorkspace(w http.ResponseWriter, r *http.Request, ws string) {
	wsp, err := s.Dir.Workspace(r.Context(), ws)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.JSON(w, http.StatusOK, WorkspaceView(wsp, s.BaseURL))
}

// ---- roles ----

// RoleJSON is the API form of a role, built-in or custom.
type RoleJSON struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Builtin     bool       `json:"builtin"`
	BaseRole    string     `json:"base_role"`
	Description string     `json:"description,omitempty"`
	Created     *time.Time `json:"created,omitempty"`
	Modified    *time.Time `json:"modified,omitempty"`
}

// BuiltinRoleViews lists the built-in roles; their IDs are their names.
func BuiltinRoleViews() []RoleJSON {
	desc := map[directory.Role]string{
		directory.RoleOwner:  "Full control, including billing and SSO; cannot be given by the identity provider.",
		directory.RoleAdmin:  "Manages members, groups and settings.",
		directory.RoleMember: "The default role.",
		directory.RoleGuest:  "Limited access to what is shared with them.",
	}
	var out []RoleJSON
	for _, r := range directory.BuiltinRoles() {
		out = append(out, RoleJSON{ID: string(r), Name: string(r), Builtin: true, BaseRole: string(r), Description: desc[r]})
	}
	return out
}

// CustomRoleView renders a custom role.
func CustomRoleView(r *directory.CustomRole) RoleJSON {
	return RoleJSON{ID: r.ID, Name: r.Name, BaseRole: string(r.BaseRole), Description: r.Description, Created: &r.Created, Modified: &r.Modified}
}

func (s *Server) listRoles(w http.ResponseWriter, r *http.Request, ws string) {
	roles, err := s.Dir.CustomRoles(r.Context(), ws)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	out := BuiltinRoleViews()
	for _, cr := range roles {
		out = append(out, CustomRoleView(cr))
	}
	s.JSON(w, http.StatusOK, map[string]any{"roles": out})
}

func (s *Server) createRole(w http.ResponseWriter, r *http.Request, ws string) {
	var in struct {
		Name        string `json:"name"`
		BaseRole    string `json:"base_role"`
		Description string `json:"description"`
	}
	if err := Decode(r, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	role, err := s.Dir.CreateCustomRole(r.Context(), ws, in.Name, directory.Role(in.BaseRole), in.Description)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.JSON(w, http.StatusCreated, CustomRoleView(role))
}

func (s *Server) updateRole(w http.ResponseWriter, r *http.Request, ws string) {
	var in struct {
		Name        *string `json:"name"`
		BaseRole    *string `json:"base_role"`
		Description *string `json:"description"`
	}
	if err := Decode(r, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	u := directory.CustomRoleUpdate{Name: in.Name, Description: in.Description}
	if in.BaseRole != nil {
		b := directory.Role(*in.BaseRole)
		u.BaseRole = &b
	}
	role, err := s.Dir.UpdateCustomRole(r.Context(), ws, r.PathValue("id"), u)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.JSON(w, http.StatusOK, CustomRoleView(role))
}

func (s *Server) deleteRole(w http.ResponseWriter, r *http.Request, ws string) {
	var moveTo *directory.RoleRef
	if m := r.URL.Query().Get("move_to"); m != "" {
		ref, err := s.Dir.ResolveRole(r.Context(), ws, m)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		moveTo = &ref
	}
	if err := s.Dir.DeleteCustomRole(r.Context(), ws, r.PathValue("id"), moveTo); err != nil {
		s.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- members ----

// MemberJSON is the API form of a member.
type MemberJSON struct {
	ID             string          `json:"id"`
	WorkspaceID    string          `json:"workspace_id"`
	UserName       string          `json:"user_name"`
	ExternalID     string          `json:"external_id,omitempty"`
	GivenName      string          `json:"given_name,omitempty"`
	FamilyName     string          `json:"family_name,omitempty"`
	DisplayName    string          `json:"display_name,omitempty"`
	Email          string          `json:"email,omitempty"`
	Emails         []EmailJSON     `json:"emails"`
	Status         string          `json:"status"`
	StatusChanged  time.Time       `json:"status_changed"`
	Role           string          `json:"role"`
	CustomRoleID   string          `json:"custom_role_id,omitempty"`
	CustomRoleName string          `json:"custom_role_name,omitempty"`
	Source         string          `json:"source"`
	SCIMID         string          `json:"scim_id,omitempty"`
	Groups         []GroupRefJSON  `json:"groups"`
	Created        time.Time       `json:"created"`
	Modified       time.Time       `json:"modified"`
	Version        int64           `json:"version"`
	Profile        json.RawMessage `json:"profile,omitempty"`
}

// EmailJSON is one email address.
type EmailJSON struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty"`
	Primary bool   `json:"primary,omitempty"`
}

// GroupRefJSON names a group.
type GroupRefJSON struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
}

// MemberView renders a member. roleNames maps custom role IDs to names.
func MemberView(m *directory.Member, groups []directory.GroupRef, roleNames map[string]string) MemberJSON {
	status := "active"
	if !m.Active {
		status = "inactive"
	}
	out := MemberJSON{
		ID: m.ID, WorkspaceID: m.WorkspaceID, UserName: m.UserName, ExternalID: m.ExternalID,
		GivenName: m.GivenName, FamilyName: m.FamilyName, DisplayName: m.DisplayName, Email: m.PrimaryEmail(),
		Emails: []EmailJSON{}, Status: status, StatusChanged: m.StatusChanged, Role: string(m.Role),
		CustomRoleID: m.CustomRoleID, CustomRoleName: roleNames[m.CustomRoleID], Source: string(m.Source),
		SCIMID: m.SCIMID, Groups: []GroupRefJSON{}, Created: m.Created, Modified: m.Modified, Version: m.Version,
	}
	if string(m.Attributes) != "{}" && len(m.Attributes) > 0 {
		out.Profile = m.Attributes
	}
	for _, e := range m.Emails {
		out.Emails = append(out.Emails, EmailJSON{Value: e.Value, Type: e.Type, Primary: e.Primary})
	}
	for _, g := range groups {
		out.Groups = append(out.Groups, GroupRefJSON{ID: g.ID, DisplayName: g.DisplayName})
	}
	return out
}

func (s *Server) roleNames(ctx context.Context, ws string) (map[string]string, error) {
	roles, err := s.Dir.Store().CustomRoles(ctx, ws)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(roles))
	for _, r := range roles {
		names[r.ID] = r.Name
	}
	return names, nil
}

// Paging reads limit (default 100, at most 1000) and offset query parameters.
func Paging(r *http.Request) (limit, offset int, err error) {
	limit, offset = 100, 0
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			return 0, 0, directory.Errorf(directory.EINVALID, "limit must be a number from 1 to 1000")
		}
	}
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, directory.Errorf(directory.EINVALID, "offset must be a number of at least 0")
		}
	}
	return limit, offset, nil
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request, ws string) {
	limit, offset, err := Paging(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	q := directory.MemberQuery{Limit: limit, Offset: offset}
	switch st := r.URL.Query().Get("status"); st {
	case "", "all":
	case "active", "inactive":
		active := st == "active"
		q.Active = &active
	default:
		s.Error(w, r, directory.Errorf(directory.EINVALID, "status must be active, inactive or all"))
		return
	}
	page, err := s.Dir.Store().Members(r.Context(), ws, q)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	ids := make([]string, len(page.Items))
	for i, m := range page.Items {
		ids[i] = m.ID
	}
	groups, err := s.Dir.Store().MemberGroups(r.Context(), ws, ids...)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	names, err := s.roleNames(r.Context(), ws)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	out := make([]MemberJSON, len(page.Items))
	for i, m := range page.Items {
		out[i] = MemberView(m, groups[m.ID], names)
	}
	resp := map[string]any{"members": out, "total": page.Total, "limit": limit, "offset": offset}
	if offset+len(out) < page.Total {
		resp["next_offset"] = offset + len(out)
	}
	s.JSON(w, http.StatusOK, resp)
}

func (s *Server) getMember(w http.ResponseWriter, r *http.Request, ws string) {
	m, err := s.Dir.Member(r.Context(), ws, r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	groups, err := s.Dir.Store().MemberGroups(r.Context(), ws, m.ID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	names, err := s.roleNames(r.Context(), ws)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.JSON(w, http.StatusOK, MemberView(m, groups[m.ID], names))
}

// ---- audit ----

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, ws string) {
	limit, _, err := Paging(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	q := directory.AuditQuery{Limit: limit, TargetID: r.URL.Query().Get("target")}
	if v := r.URL.Query().Get("before"); v != "" {
		if q.Before, err = strconv.ParseInt(v, 10, 64); err != nil {
			s.Error(w, r, directory.Errorf(directory.EINVALID, "before must be an entry id"))
			return
		}
	}
	entries, err := s.Dir.Store().Audit(r.Context(), ws, q)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	type entry struct {
		ID         int64           `json:"id"`
		Time       time.Time       `json:"time"`
		Actor      directory.Actor `json:"actor"`
		Action     string          `json:"action"`
		TargetType string          `json:"target_type"`
		TargetID   string          `json:"target_id"`
		Detail     json.RawMessage `json:"detail"`
	}
	out := make([]entry, len(entries))
	for i, e := range entries {
		out[i] = entry{e.ID, e.Time, e.Actor, e.Action, e.TargetType, e.TargetID, e.Detail}
	}
	resp := map[string]any{"entries": out}
	if len(out) == limit {
		resp["next_before"] = out[len(out)-1].ID
	}
	s.JSON(w, http.StatusOK, resp)
}
