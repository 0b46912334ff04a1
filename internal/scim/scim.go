// Package scim is Rollcall's SCIM 2.0 service provider (RFC 7643, 7644):
// the door through which an identity provider pushes a company's people and
// groups into a workspace and keeps them in sync.
//
// Each workspace has its own base URL, {base-url}/scim/v2/{workspace id},
// and its own bearer tokens (SCIM tokens, or access tokens from the OAuth
// client credentials grant at {base-url}/oauth/token). A token of another
// workspace gets 401 exactly like a wrong one.
//
// Handlers translate the protocol into calls on directory.Service, which
// owns every rule; this package owns only the protocol: resource
// representations, filters (compiled to SQL where the attribute is indexed,
// evaluated in memory otherwise), PATCH, pagination, projections, ETags,
// errors, the per-token rate limit and the provisioning log. Requests are
// shaped after what Okta, Entra ID, JumpCloud, OneLogin and Google send;
// where they deviate from the RFC both forms are accepted.
package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"rollcall/internal/credential"
	"rollcall/internal/directory"
	"rollcall/internal/httpx"
	"rollcall/internal/scim/filter"
	"rollcall/internal/scim/schema"
	"rollcall/internal/store"
)

// Media types.
const (
	contentType = "application/scim+json"
	errorURN    = "urn:ietf:params:scim:api:messages:2.0:Error"
	listURN     = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	patchURN    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	searchURN   = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
)

// Config tunes the SCIM server. Zero values take the defaults.
type Config struct {
	// BaseURL is the externally visible base URL (no trailing slash).
	BaseURL string
	// MaxBody caps request bodies (default 16 MiB: enough for Okta pushing
	// a 100,000-member group in one request).
	MaxBody int64
	// RatePerSecond and Burst configure each token's bucket (defaults 500
	// and 5000: a 100,000-user initial import is never throttled by
	// Rollcall before the IdP's own pace). A negative rate disables the limit.
	RatePerSecond float64
	Burst         int
	// Filter bounds filter expressions (defaults: 16 KiB, 200 terms).
	Filter filter.Limits
	// DefaultCount and MaxCount bound list pages (defaults 100 and 1000).
	DefaultCount, MaxCount int
	Log                    *slog.Logger
}

func (c *Config) defaults() {
	if c.MaxBody <= 0 {
		c.MaxBody = 16 << 20
	}
	if c.RatePerSecond == 0 {
		c.RatePerSecond = 500
	}
	if c.Burst <= 0 {
		c.Burst = 5000
	}
	if c.DefaultCount <= 0 {
		c.DefaultCount = 100
	}
	if c.MaxCount <= 0 {
		c.MaxCount = 1000
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
}

// Store is what the SCIM door needs beyond the directory service: the
// provisioning log.
type Store interface {
	InsertProvisioningEntries(ctx context.Context, entries []store.ProvisioningEntry) error
	ProvisioningLog(ctx context.Context, ws string, q store.ProvisioningQuery) ([]store.ProvisioningEntry, error)
}

// Server serves the SCIM API of every workspace.
type Server struct {
	cfg     Config
	dir     *directory.Service
	creds   *credential.Service
	store   Store
	log     *provLog
	limiter *limiter
	users   *schema.ResourceSchema
	groups  *schema.ResourceSchema
	now     func() time.Time
}

// New returns a SCIM server. Close flushes its provisioning log.
func New(cfg Config, dir *directory.Service, creds *credential.Service, st Store) *Server {
	cfg.defaults()
	s := &Server{
		cfg: cfg, dir: dir, creds: creds, store: st,
		users: schema.User(), groups: schema.Group(), now: time.Now,
	}
	s.limiter = newLimiter(cfg.RatePerSecond, cfg.Burst, s.now)
	s.log = newProvLog(st, cfg.Log)
	return s
}

// Close writes out the provisioning log entries still buffered.
func (s *Server) Close() { s.log.close() }

// Flush writes out buffered provisioning log entries now (tests).
func (s *Server) Flush() { s.log.flush() }

// Register adds the SCIM routes and the OAuth token endpoint to mux.
func (s *Server) Register(mux *http.ServeMux) {
	inner := http.NewServeMux()
	h := func(resource string, f func(w http.ResponseWriter, r *http.Request, rc *reqCtx)) http.Handler {
		return s.authenticated(resource, f)
	}
	p := "/scim/v2/{ws}"
	inner.Handle("GET "+p+"/Users", h("User", s.list(s.users, s.respondUsers)))
	inner.Handle("POST "+p+"/Users", h("User", s.createUser))
	inner.Handle("POST "+p+"/Users/.search", h("User", s.search(s.users, s.respondUsers)))
	inner.Handle("GET "+p+"/Users/{id}", h("User", s.getUser))
	inner.Handle("PUT "+p+"/Users/{id}", h("User", s.replaceUser))
	inner.Handle("PATCH "+p+"/Users/{id}", h("User", s.patchUser))
	inner.Handle("DELETE "+p+"/Users/{id}", h("User", s.deleteUser))
	inner.Handle("GET "+p+"/Groups", h("Group", s.list(s.groups, s.respondGroups)))
	inner.Handle("POST "+p+"/Groups", h("Group", s.createGroup))
	inner.Handle("POST "+p+"/Groups/.search", h("Group", s.search(s.groups, s.respondGroups)))
	inner.Handle("GET "+p+"/Groups/{id}", h("Group", s.getGroup))
	inner.Handle("PUT "+p+"/Groups/{id}", h("Group", s.replaceGroup))
	inner.Handle("PATCH "+p+"/Groups/{id}", h("Group", s.patchGroup))
	inner.Handle("DELETE "+p+"/Groups/{id}", h("Group", s.deleteGroup))
	inner.Handle("GET "+p+"/ServiceProviderConfig", h("", s.serviceProviderConfig))
	// Microsoft's reference Postman collection asks for this path.
	inner.Handle("GET "+p+"/serviceConfiguration", h("", s.serviceProviderConfig))
	inner.Handle("GET "+p+"/ResourceTypes", h("", s.resourceTypes))
	inner.Handle("GET "+p+"/ResourceTypes/{id}", h("", s.resourceType))
	inner.Handle("GET "+p+"/Schemas", h("", s.schemas))
	inner.Handle("GET "+p+"/Schemas/{id}", h("", s.schema))
	inner.Handle(p+"/", h("", s.notFound))
	// Trailing slashes are accepted everywhere (Microsoft sends
	// /Users/?filter=…), and resource names match without regard to case
	// (newman sends Microsoft's collection's /users as written).
	mux.Handle("/scim/v2/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r
		if p := canonicalPath(r.URL.Path); p != r.URL.Path {
			r2 = r.Clone(r.Context())
			r2.URL.Path, r2.URL.RawPath = p, ""
		}
		inner.ServeHTTP(w, r2)
		r.Pattern = r2.Pattern // for the access log and metrics
	}))
	mux.HandleFunc("POST /oauth/token", s.token)
}

// resourceNames are the endpoint names under a workspace's base URL, by
// lower-cased name.
var resourceNames = map[string]string{
	"users": "Users", "groups": "Groups", "serviceproviderconfig": "ServiceProviderConfig",
	"serviceconfiguration": "serviceConfiguration", "resourcetypes": "ResourceTypes", "schemas": "Schemas",
	".search": ".search",
}

// canonicalPath trims trailing slashes and spells the resource segments
// (/scim/v2/{ws}/Users/.search) as the routes do.
func canonicalPath(p string) string {
	p = strings.TrimRight(p, "/")
	parts := strings.Split(p, "/") // "", "scim", "v2", ws, resource, id or .search
	for i := 4; i < len(parts) && i <= 5; i++ {
		if i == 5 && parts[i] != ".search" && !strings.EqualFold(parts[i], ".search") {
			break // an id: case-sensitive
		}
		if c, ok := resourceNames[strings.ToLower(parts[i])]; ok {
			parts[i] = c
		}
	}
	return strings.Join(parts, "/")
}

// reqCtx is what a handler knows about its request beyond *http.Request.
type reqCtx struct {
	ws    string
	cred  *credential.Credential
	entry *store.ProvisioningEntry
}

// note records what a request did, for the provisioning log.
func (rc *reqCtx) note(resourceID, memberID, summary string) {
	rc.entry.ResourceID, rc.entry.MemberID, rc.entry.Summary = resourceID, memberID, summary
}

// authenticated checks the bearer token against the workspace in the URL,
// applies the token's rate limit, caps the body, and records the request in
// the provisioning log when it ends.
func (s *Server) authenticated(resource string, h func(w http.ResponseWriter, r *http.Request, rc *reqCtx)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		ws := r.PathValue("ws")
		tok := httpx.BearerToken(r)
		if tok == "" {
			// Some IdPs send the token without the "Bearer" scheme.
			tok = strings.TrimSpace(r.Header.Get("Authorization"))
		}
		cred, err := s.creds.Authenticate(r.Context(), ws, tok, credential.KindSCIMToken, credential.KindAccessToken)
		if err != nil {
			if directory.ErrorCode(err) == directory.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="rollcall-scim"`)
				s.writeError(w, r, errorf(http.StatusUnauthorized, "", "authentication failed: send a valid SCIM token of this workspace as \"Authorization: Bearer <token>\""))
				return
			}
			s.writeError(w, r, err)
			return
		}
		label := cred.Label
		if cred.Kind == credential.KindAccessToken {
			label = "OAuth client " + cred.ParentID
			if cred.Label != "" {
				label = cred.Label + " (OAuth)"
			}
		}
		entry := &store.ProvisioningEntry{
			WorkspaceID: ws, Time: start.UTC(), RequestID: httpx.RequestID(r.Context()),
			CredentialID: cred.ID, CredentialLabel: label, UserAgent: schema.Shorten(r.UserAgent(), 200),
			Method: r.Method, Path: schema.Shorten(r.URL.RequestURI(), 2000), ResourceType: resource,
		}
		// The entry is recorded when the status is written, before any byte
		// reaches the client: by then the handler has said what it did, and
		// whoever reads the log after seeing the response finds it there.
		sw := &statusRecorder{ResponseWriter: w}
		sw.onStatus = func(status int) {
			entry.Status = status
			entry.Duration = s.now().Sub(start)
			if sw.scimType != "" {
				entry.ScimType = sw.scimType
			}
			if sw.detail != "" && entry.Summary == "" {
				entry.Summary = schema.Shorten(sw.detail, 500)
			}
			s.log.add(*entry)
		}
		limiterKey := cred.ID
		if cred.Kind == credential.KindAccessToken {
			limiterKey = cred.ParentID // all tokens of one client share its bucket
		}
		if wait, ok := s.limiter.allow(limiterKey); !ok {
			secs := int(wait/time.Second) + 1
			sw.Header().Set("Retry-After", strconv.Itoa(secs))
			entry.ScimType = "rateLimited" // before the status is written, which records the entry
			s.writeError(sw, r, errorf(http.StatusTooManyRequests, "", "too many requests for this token; retry after %d seconds", secs))
			return
		}
		actorKind := "scim_token"
		if cred.Kind == credential.KindAccessToken {
			actorKind = "scim_client"
		}
		ctx := directory.WithActor(r.Context(), directory.Actor{Kind: actorKind, ID: cred.ID, Label: label, RequestID: entry.RequestID})
		r = r.WithContext(ctx)
		r.Body = http.MaxBytesReader(sw, r.Body, s.cfg.MaxBody)
		rc := &reqCtx{ws: ws, cred: cred, entry: entry}
		h(sw, r, rc)
		if sw.status == 0 {
			sw.WriteHeader(http.StatusOK) // a handler that wrote nothing
		}
	})
}

// statusRecorder remembers the status and error of a response for the
// log, and calls onStatus once, when the status is written.
type statusRecorder struct {
	http.ResponseWriter
	status   int
	scimType string
	detail   string
	onStatus func(int)
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		if w.onStatus != nil {
			w.onStatus(code)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.writeError(w, r, errorf(http.StatusNotFound, "", "no SCIM endpoint %s %s; see %s/ResourceTypes", r.Method, r.URL.Path, s.base(rc.ws)))
}

// base returns a workspace's SCIM base URL.
func (s *Server) base(ws string) string { return s.cfg.BaseURL + "/scim/v2/" + ws }

// writeError writes err as an RFC 7644 §3.12 error body.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err)
	if e.Status >= 500 {
		s.cfg.Log.Error("scim error", "request_id", httpx.RequestID(r.Context()), "err", err)
	}
	if sr, ok := w.(*statusRecorder); ok {
		sr.scimType, sr.detail = e.ScimType, e.Detail
	}
	body := map[string]any{"schemas": []string{errorURN}, "status": strconv.Itoa(e.Status), "detail": e.Detail}
	if e.ScimType != "" {
		body["scimType"] = e.ScimType
	}
	httpx.WriteJSON(w, e.Status, contentType, body)
}

// writeJSON writes v as application/scim+json.
func writeJSON(w http.ResponseWriter, status int, v any) { httpx.WriteJSON(w, status, contentType, v) }

// writeResource writes a resource with its ETag and, for 201, its Location.
func (s *Server) writeResource(w http.ResponseWriter, status int, doc map[string]any) {
	if meta, ok := doc["meta"].(map[string]any); ok {
		if v, ok := meta["version"].(string); ok {
			w.Header().Set("ETag", v)
		}
		if loc, ok := meta["location"].(string); ok && status == http.StatusCreated {
			w.Header().Set("Location", loc)
		}
	}
	writeJSON(w, status, doc)
}

// readJSON reads a request body that must be one JSON object. Numbers stay
// json.Number, so nothing is lost before the schema decides their type.
func readJSON(r *http.Request) (map[string]any, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, errorf(http.StatusBadRequest, typeInvalidSyntax, "could not read the request body: %v", err)
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, errorf(http.StatusBadRequest, typeInvalidSyntax, "the request body is empty; send a JSON object")
	}
	if !utf8.Valid(raw) {
		// encoding/json would store U+FFFD in place of each bad byte,
		// silently changing a userName (RFC 8259 §8.1: JSON is UTF-8).
		return nil, errorf(http.StatusBadRequest, typeInvalidSyntax, "the request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return nil, errorf(http.StatusBadRequest, typeInvalidSyntax, "the request body must be a JSON object, not %s", ute.Value)
		}
		return nil, errorf(http.StatusBadRequest, typeInvalidSyntax, "the request body is not valid JSON: %v", err)
	}
	if doc == nil {
		return nil, errorf(http.StatusBadRequest, typeInvalidSyntax, "the request body must be a JSON object, not null")
	}
	if dec.More() {
		return nil, errorf(http.StatusBadRequest, typeInvalidSyntax, "unexpected data after the JSON object")
	}
	return doc, nil
}

// etag returns the weak ETag of a version.
func etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// notModified reports whether a GET's If-None-Match names the current version.
func notModified(r *http.Request, version int64) bool {
	inm := r.Header.Get("If-None-Match")
	return inm != "" && (inm == "*" || etagListHas(inm, etag(version)))
}

func etagListHas(list, tag string) bool {
	strong := strings.TrimPrefix(tag, "W/")
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == tag || strings.TrimPrefix(t, "W/") == strong {
			return true
		}
	}
	return false
}

// parseVersion reads an ETag ("W/\"3\"", "\"3\"" or "3") as a version.
func parseVersion(tag string) (int64, bool) {
	tag = strings.Trim(strings.TrimPrefix(strings.TrimSpace(tag), "W/"), `"`)
	v, err := strconv.ParseInt(tag, 10, 64)
	return v, err == nil && v > 0
}
