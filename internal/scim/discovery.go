package scim

import (
	"net/http"
	"strings"

	"rollcall/internal/scim/schema"
)

// serviceProviderConfig answers /ServiceProviderConfig (RFC 7643 §5), and
// Microsoft's /serviceConfiguration alias.
func (s *Server) serviceProviderConfig(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	base := s.base(rc.ws)
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas":        []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"patch":          map[string]any{"supported": true},
		"bulk":           map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":         map[string]any{"supported": true, "maxResults": s.cfg.MaxCount},
		"changePassword": map[string]any{"supported": false},
		"sort":           map[string]any{"supported": true},
		"etag":           map[string]any{"supported": true},
		"authenticationSchemes": []any{
			map[string]any{
				"type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": true,
				"description": "A SCIM token of this workspace, or an access token from " + s.cfg.BaseURL + "/oauth/token (client credentials grant), as Authorization: Bearer <token>.",
				"specUri":     "https://www.rfc-editor.org/info/rfc6750",
			},
		},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": base + "/ServiceProviderConfig"},
	})
}

func (s *Server) resourceTypes(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	base := s.base(rc.ws)
	var out []any
	for _, rs := range []*schema.ResourceSchema{s.users, s.groups} {
		out = append(out, rs.ResourceType().Representation(base))
	}
	s.writeList(w, len(out), 1, out)
}

func (s *Server) resourceType(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id := r.PathValue("id")
	for _, rs := range []*schema.ResourceSchema{s.users, s.groups} {
		if strings.EqualFold(rs.ResourceType().ID, id) {
			writeJSON(w, http.StatusOK, rs.ResourceType().Representation(s.base(rc.ws)))
			return
		}
	}
	s.writeError(w, r, errorf(http.StatusNotFound, "", "no resource type %q; there are User and Group", id))
}

// allSchemas lists every schema Rollcall serves, without duplicates.
func (s *Server) allSchemas() []*schema.Schema {
	return append(s.users.Schemas(), s.groups.Schemas()...)
}

func (s *Server) schemas(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var out []any
	for _, sc := range s.allSchemas() {
		out = append(out, sc.Representation(s.base(rc.ws)))
	}
	s.writeList(w, len(out), 1, out)
}

func (s *Server) schema(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id := r.PathValue("id")
	for _, sc := range s.allSchemas() {
		if strings.EqualFold(sc.ID, id) {
			writeJSON(w, http.StatusOK, sc.Representation(s.base(rc.ws)))
			return
		}
	}
	s.writeError(w, r, errorf(http.StatusNotFound, "", "no schema %q; GET %s/Schemas lists them", id, s.base(rc.ws)))
}
