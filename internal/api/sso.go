package api

import (
	"context"
	"net/http"
	"time"

	"rollcall/internal/directory"
	"rollcall/internal/saml"
)

// SSOAdmin is the SAML configuration the API exposes.
type SSOAdmin interface {
	Configure(ctx context.Context, ws string, in saml.Settings) (*saml.Connection, error)
	Show(ctx context.Context, ws string) (*saml.Info, error)
	Refresh(ctx context.Context, ws string) (*saml.Connection, error)
	// ChangeKeys runs one SP key step: begin-rollover, complete-rollover
	// or reset.
	ChangeKeys(ctx context.Context, ws, step string) error
	// SetSSOPolicy sets the policy; required needs an IdP first.
	SetSSOPolicy(ctx context.Context, ws string, p directory.SSOPolicy) (*directory.Workspace, error)
}

func (s *Server) registerSSO(mux *http.ServeMux, ws func(func(http.ResponseWriter, *http.Request, string)) http.Handler) {
	mux.Handle("GET /api/v1/workspaces/{ws}/sso", ws(s.getSSO))
	mux.Handle("PUT /api/v1/workspaces/{ws}/sso", ws(s.putSSO))
	mux.Handle("POST /api/v1/workspaces/{ws}/sso/refresh", ws(s.refreshSSO))
	mux.Handle("POST /api/v1/workspaces/{ws}/sso/sp-key/{stage}", ws(s.rolloverSSO))
	mux.Handle("PUT /api/v1/workspaces/{ws}/sso/policy", ws(s.putPolicy))
}

func (s *Server) getSSO(w http.ResponseWriter, r *http.Request, ws string) {
	info, err := s.SSO.Show(r.Context(), ws)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.JSON(w, http.StatusOK, info)
}

// SSOSettingsJSON is the body of PUT …/sso. Give the IdP one way:
// metadata_xml, metadata_url, or sso_url with entity_id and certificates.
type SSOSettingsJSON struct {
	MetadataXML       string            `json:"metadata_xml"`
	MetadataURL       string            `json:"metadata_url"`
	SSOURL            string            `json:"sso_url"`
	EntityID          string            `json:"entity_id"`
	Certificates      []string          `json:"certificates"`
	AllowIdPInitiated *bool             `json:"allow_idp_initiated"`
	AllowSHA1         *bool             `json:"allow_sha1"`
	JIT               *bool             `json:"jit"`
	ClockSkewSeconds  *int              `json:"clock_skew_seconds"`
	AttributePreset   *string           `json:"attribute_preset"`
	AttributeMap      map[string]string `json:"attribute_map"`
}

// Settings converts the JSON body to saml.Settings.
func (in SSOSettingsJSON) Settings() saml.Settings {
	st := saml.Settings{MetadataXML: []byte(in.MetadataXML), MetadataURL: in.MetadataURL, SSOURL: in.SSOURL,
		EntityID: in.EntityID, Certificates: in.Certificates, AllowIdPInitiated: in.AllowIdPInitiated,
		AllowSHA1: in.AllowSHA1, JIT: in.JIT, Preset: in.AttributePreset, AttributeMap: in.AttributeMap}
	if in.ClockSkewSeconds != nil {
		d := time.Duration(*in.ClockSkewSeconds) * time.Second
		st.ClockSkew = &d
	}
	return st
}

func (s *Server) putSSO(w http.ResponseWriter, r *http.Request, ws string) {
	var in SSOSettingsJSON
	if err := Decode(r, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	if _, err := s.SSO.Configure(r.Context(), ws, in.Settings()); err != nil {
		s.Error(w, r, err)
		return
	}
	s.getSSO(w, r, ws)
}

func (s *Server) refreshSSO(w http.ResponseWriter, r *http.Request, ws string) {
	if _, err := s.SSO.Refresh(r.Context(), ws); err != nil {
		s.Error(w, r, err)
		return
	}
	s.getSSO(w, r, ws)
}

func (s *Server) rolloverSSO(w http.ResponseWriter, r *http.Request, ws string) {
	if err := s.SSO.ChangeKeys(r.Context(), ws, r.PathValue("stage")); err != nil {
		s.Error(w, r, err)
		return
	}
	s.getSSO(w, r, ws)
}

func (s *Server) putPolicy(w http.ResponseWriter, r *http.Request, ws string) {
	var in struct {
		Policy string `json:"policy"`
	}
	if err := Decode(r, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	wsp, err := s.SSO.SetSSOPolicy(r.Context(), ws, directory.SSOPolicy(in.Policy))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.JSON(w, http.StatusOK, WorkspaceView(wsp, s.BaseURL))
}
