package scim

import (
	"net/http"
	"strings"

	"rollcall/internal/credential"
	"rollcall/internal/directory"
	"rollcall/internal/httpx"
)

// token implements the OAuth 2.0 client credentials grant (RFC 6749 §4.4)
// for IdPs configured with a client ID and secret instead of a token. The
// client authenticates with HTTP Basic or with client_id and client_secret
// in the form; the access token it gets is a bearer token for its
// workspace's SCIM API, valid for an hour.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	fail := func(status int, code, desc string) {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="rollcall"`)
		}
		httpx.WriteJSON(w, status, "application/json", map[string]string{"error": code, "error_description": desc})
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		fail(http.StatusBadRequest, "unsupported_grant_type", "only grant_type=client_credentials is supported")
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id == "" || secret == "" {
		fail(http.StatusUnauthorized, "invalid_client", "client authentication is required (HTTP Basic or client_id and client_secret)")
		return
	}
	ctx := directory.WithActor(r.Context(), directory.Actor{Kind: "scim_client", ID: strings.TrimPrefix(id, credential.ClientIDPrefix), RequestID: httpx.RequestID(r.Context())})
	tok, at, err := s.creds.IssueAccessToken(ctx, id, secret)
	if err != nil {
		if directory.ErrorCode(err) == directory.EUNAUTHORIZED {
			fail(http.StatusUnauthorized, "invalid_client", "unknown client, wrong secret, or revoked client")
			return
		}
		s.cfg.Log.Error("oauth token", "request_id", httpx.RequestID(r.Context()), "err", err)
		fail(http.StatusInternalServerError, "server_error", "internal error")
		return
	}
	httpx.WriteJSON(w, http.StatusOK, "application/json", map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   int(at.Expires.Sub(at.Created).Seconds()),
		"scope":        "scim",
	})
}
