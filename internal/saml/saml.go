// Package saml is Rollcall's SAML 2.0 service provider: one SP per
// workspace, trusting that workspace's IdP, and the sign-in flows through
// it.
//
// # URLs
//
// For workspace W, with B the base URL:
//
//	B/saml/W/metadata   SP metadata; also the SP entity ID
//	B/saml/W/login      SP-initiated sign-in (?return_to=/path)
//	B/saml/W/acs        Assertion Consumer Service (HTTP-POST)
//	B/saml/W/complete   completion of a sign-in in the browser
//
// The workspace in the URL chooses the trust anchors (IdP certificates,
// entity IDs, ACS and audience); the unverified Issuer never does. Two
// workspaces may trust the same IdP.
//
// # A sign-in, and why it has two steps
//
// SP-initiated: /login records the AuthnRequest ID in the database (shared
// by every replica) with a ten-minute lifetime and the hash of a nonce
// held in a SameSite=Lax cookie of the browser that started it, then
// redirects to the IdP.
//
// The IdP's POST to /acs is cross-site, so that cookie does not come with
// it. The ACS validates the Response (package response: signatures,
// algorithms, audience, recipient, destination, time windows — every check
// on signed content only), then, in one transaction, consumes the pending
// request its InResponseTo names (once, whatever happens next), records
// the assertion ID in the replay cache until it expires, and stores a
// one-time login code bound to the request's browser hash. It answers 303
// to /complete?code=…, a same-site top-level GET that carries the nonce
// cookie. /complete consumes the code, checks the nonce against the
// browser hash — so a response injected into someone else's browser (login
// CSRF, session swapping) fails there — re-checks that the member is still
// active, and only then creates the session and redirects to the
// validated return_to.
//
// IdP-initiated responses (no InResponseTo) are accepted only when the
// workspace allows them; they carry no browser binding, which is why they
// are off by default. Their RelayState, like every return_to, leads only to
// a same-origin relative path.
//
// Access is denied by default: the assertion's NameID (or a mapped
// attribute) must match an active member of the workspace by userName,
// externalId or primary email, without regard to case. A deactivated
// member is told their access is deactivated; anyone else is refused
// unless the workspace turned on just-in-time creation. The browser only
// ever sees "Authentication failed" for a rejected Response: the reason
// goes to the log and the audit log, for the admin.
package saml

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"

	"rollcall/internal/credential"
	"rollcall/internal/directory"
	"rollcall/internal/httpx"
	"rollcall/internal/saml/authn"
	"rollcall/internal/saml/metadata"
	"rollcall/internal/saml/response"
	"rollcall/internal/session"
)

// Pages renders the HTML pages of the sign-in flow.
type Pages interface {
	// Error renders a page explaining why a sign-in did not happen.
	Error(w http.ResponseWriter, r *http.Request, status int, title, message string)
	// PostForm renders a page that posts fields to action (a button for
	// browsers without JavaScript, submitted automatically otherwise).
	PostForm(w http.ResponseWriter, r *http.Request, action string, fields map[string]string)
}

// Config tunes the SP.
type Config struct {
	BaseURL string
	// RefreshEvery is how often IdP metadata URLs are fetched again
	// (default 6 h).
	RefreshEvery time.Duration
	// RequestTTL bounds how long an SP-initiated sign-in may take (default
	// 10 min).
	RequestTTL time.Duration
	// Sealer, when set, encrypts SP private keys at rest (--secret-key):
	// new keys are stored sealed, and keys stored before are sealed by
	// SealKeys. Without it keys are stored as PEM, and a sealed key cannot
	// be used.
	Sealer *credential.Sealer
	Log    *slog.Logger
}

// Server is the SP of every workspace.
type Server struct {
	cfg      Config
	dir      *directory.Service
	store    Store
	sessions *session.Manager
	pages    Pages
	fetcher  *Fetcher
	now      func() time.Time
	parsed   *parsed
}

// New returns an SP server.
func New(cfg Config, dir *directory.Service, st Store, sessions *session.Manager, pages Pages, fetcher *Fetcher) *Server {
	if cfg.RefreshEvery <= 0 {
		cfg.RefreshEvery = 6 * time.Hour
	}
	if cfg.RequestTTL <= 0 {
		cfg.RequestTTL = 10 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &Server{cfg: cfg, dir: dir, store: st, sessions: sessions, pages: pages, fetcher: fetcher, now: time.Now,
		parsed: &parsed{certs: map[[32]byte]*x509.Certificate{}, keys: map[[32]byte]*spKey{}, bindings: map[[32]byte]bool{}}}
}

// SetClock replaces the clock (tests).
func (s *Server) SetClock(now func() time.Time) { s.now = now }

// Register adds the SAML routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /saml/{ws}/metadata", s.metadata)
	mux.HandleFunc("GET /saml/{ws}/login", s.login)
	mux.HandleFunc("POST /saml/{ws}/acs", s.acs)
	mux.HandleFunc("GET /saml/{ws}/complete", s.complete)
}

func (s *Server) base(ws string) string { return s.cfg.BaseURL + "/saml/" + ws }

// EntityID is a workspace's SP entity ID (also its metadata URL).
func (s *Server) EntityID(ws string) string { return s.base(ws) + "/metadata" }

// ACSURL is a workspace's Assertion Consumer Service URL.
func (s *Server) ACSURL(ws string) string { return s.base(ws) + "/acs" }

// Home is where a sign-in lands without a return_to.
func (s *Server) Home(ws string) string { return "/w/" + ws + "/" }

func (s *Server) audit(ctx context.Context, ws, action string, detail any) {
	if err := s.dir.Record(ctx, ws, action, "sso", ws, detail); err != nil {
		s.cfg.Log.Error("audit", "workspace", ws, "action", action, "err", err)
	}
}

func (s *Server) auditEntry(ctx context.Context, ws, action, target string, detail any) *directory.AuditEntry {
	b, _ := json.Marshal(detail) // details are maps of plain values
	if target == "" {
		target = ws
	}
	return &directory.AuditEntry{WorkspaceID: ws, Time: s.now().UTC(), Actor: directory.ActorFrom(ctx),
		Action: action, TargetType: "sso", TargetID: target, Detail: b}
}

// ---- metadata ----

func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	ws := r.PathValue("ws")
	if _, err := s.dir.Workspace(r.Context(), ws); err != nil {
		http.Error(w, "no such workspace", http.StatusNotFound)
		return
	}
	body, err := s.SPMetadata(r.Context(), ws)
	if err != nil {
		s.cfg.Log.Error("sp metadata", "workspace", ws, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write(body) // nothing to do if the client left
}

// SPMetadata renders a workspace's SP metadata, with the next key's
// certificate beside the current one during a rollover.
func (s *Server) SPMetadata(ctx context.Context, ws string) ([]byte, error) {
	ks, err := s.ensureKeys(ctx, ws)
	if err != nil {
		return nil, err
	}
	cfg := metadata.SPConfig{EntityID: s.EntityID(ws), ACSURL: s.ACSURL(ws), AuthnRequestsSigned: true}
	for _, k := range []*spKey{ks.current, ks.next} {
		if k != nil {
			cfg.SigningCertificates = append(cfg.SigningCertificates, k.cert)
			cfg.EncryptionCertificates = append(cfg.EncryptionCertificates, k.cert)
		}
	}
	return metadata.SP(cfg)
}

// ---- sign-in ----

// NonceCookie names the cookie that binds an SP-initiated sign-in of
// workspace ws to the browser that started it.
func NonceCookie(ws string) string { return "rollcall_sso_" + ws }

// SafeReturnTo returns v when it is a same-origin relative path — "/x",
// not "//x", "/\x", a scheme, or anything with control characters — and
// "" otherwise.
func SafeReturnTo(v string) string {
	if len(v) == 0 || len(v) > 2048 || v[0] != '/' {
		return ""
	}
	if len(v) > 1 && (v[1] == '/' || v[1] == '\\') {
		return ""
	}
	for _, c := range v {
		if unicode.IsControl(c) || c == '\\' {
			return ""
		}
	}
	return v
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ws := r.PathValue("ws")
	c, err := s.store.Connection(ctx, ws)
	if errors.Is(err, directory.ErrNotFound) {
		s.pages.Error(w, r, http.StatusNotFound, "Single sign-on is not set up", "This workspace has no identity provider configured. Ask your administrator.")
		return
	} else if err != nil {
		s.internalError(w, r, err)
		return
	}
	ks, err := s.ensureKeys(ctx, ws)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	req, err := authn.New(authn.Config{SPEntityID: s.EntityID(ws), ACSURL: s.ACSURL(ws), IdPSSOURL: c.IdPSSOURL,
		SigningKey: ks.current.key, SigningCertificate: ks.current.cert}, s.now(), nil)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	nonce := ""
	if ck, err := r.Cookie(NonceCookie(ws)); err == nil && len(ck.Value) >= 32 && len(ck.Value) <= 64 {
		nonce = ck.Value // one binding per browser and workspace: parallel tabs keep working
	} else {
		nonce = credential.NewSecret(32)
	}
	http.SetCookie(w, &http.Cookie{Name: NonceCookie(ws), Value: nonce, Path: "/saml/" + ws + "/", HttpOnly: true,
		Secure: strings.HasPrefix(s.cfg.BaseURL, "https://"), SameSite: http.SameSiteLaxMode, MaxAge: int(s.cfg.RequestTTL.Seconds())})
	returnTo := SafeReturnTo(r.URL.Query().Get("return_to"))
	if err := s.store.InsertRequest(ctx, &PendingRequest{ID: req.ID, WorkspaceID: ws, BrowserHash: credential.Hash(nonce),
		ReturnTo: returnTo, Expires: s.now().Add(s.cfg.RequestTTL)}); err != nil {
		s.internalError(w, r, err)
		return
	}
	if s.parsed.postOnly(c.MetadataXML) {
		form, err := req.PostForm("")
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		s.pages.PostForm(w, r, form.URL, map[string]string{"SAMLRequest": form.SAMLRequest})
		return
	}
	u, err := req.RedirectURL("")
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	http.Redirect(w, r, u, http.StatusFound)
}

func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	s.cfg.Log.Error("saml", "request_id", httpx.RequestID(r.Context()), "err", err)
	s.pages.Error(w, r, http.StatusInternalServerError, "Something went wrong", "Rollcall could not complete this request. Try again in a moment.")
}

// refusal is a sign-in that did not happen, with what the browser may see
// and what the admin should.
type refusal struct {
	status     int
	title, msg string
	reason     string // machine-readable, for the audit log and metrics
	detail     string // for the admin
	memberID   string
	idpStatus  string
}

func (e *refusal) Error() string { return e.reason + ": " + e.detail }

func authFailed(reason, detail string) *refusal {
	return &refusal{status: http.StatusForbidden, title: "Authentication failed", reason: reason, detail: detail,
		msg: response.PublicMessage + ". Your administrator can see the reason in the workspace's audit log."}
}

const maxSAMLResponse = 1 << 20

func (s *Server) acs(w http.ResponseWriter, r *http.Request) {
	ctx := directory.WithActor(r.Context(), directory.Actor{Kind: "idp", RequestID: httpx.RequestID(r.Context())})
	ws := r.PathValue("ws")
	r.Body = http.MaxBytesReader(w, r.Body, 2*maxSAMLResponse)
	if err := r.ParseForm(); err != nil {
		s.refuse(w, r, ws, authFailed("malformed", "the ACS request body could not be read: "+err.Error()), nil)
		return
	}
	if r.PostForm.Get("SAMLart") != "" {
		s.refuse(w, r, ws, authFailed("binding", "the IdP used the Artifact binding; Rollcall accepts HTTP-POST only"), nil)
		return
	}
	raw := r.PostForm.Get("SAMLResponse")
	if raw == "" {
		s.refuse(w, r, ws, authFailed("malformed", "the POST to the ACS has no SAMLResponse"), nil)
		return
	}
	data, err := base64.StdEncoding.DecodeString(strings.Map(dropSpace, raw))
	if err != nil || len(data) > maxSAMLResponse {
		s.refuse(w, r, ws, authFailed("malformed", "SAMLResponse is not base64 or is larger than 1 MiB"), nil)
		return
	}
	c, err := s.store.Connection(ctx, ws)
	if errors.Is(err, directory.ErrNotFound) {
		s.refuse(w, r, ws, &refusal{status: http.StatusNotFound, title: "Single sign-on is not set up", reason: "not_configured",
			msg: "This workspace has no identity provider configured.", detail: "no SAML connection"}, nil)
		return
	} else if err != nil {
		s.internalError(w, r, err)
		return
	}
	// The SP keys only decrypt. An element name cannot be escaped or
	// spelled with references (and DTDs are refused), so a response
	// without these bytes has no EncryptedAssertion: skip the key lookup.
	var decryptionKeys []*rsa.PrivateKey
	if bytes.Contains(data, []byte("EncryptedAssertion")) {
		ks, err := s.keys(ctx, ws) // an IdP's POST never makes a key: without one nothing was encrypted to us
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		decryptionKeys = ks.decryptionKeys()
	}
	certs, err := s.parsed.certificates(c.IdPCerts)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	now := s.now()
	a, err := response.Parse(data, &response.Config{
		SPEntityID: s.EntityID(ws), ACSURL: s.ACSURL(ws), IdPEntityID: c.IdPEntityID,
		IdPCertificates: certs, DecryptionKeys: decryptionKeys, AllowSHA1: c.AllowSHA1, ClockSkew: c.ClockSkew,
	}, now)
	if err != nil {
		var re *response.Error
		ref := authFailed("invalid_response", err.Error())
		if errors.As(err, &re) {
			ref.reason, ref.detail = "response_"+string(re.Reason), re.Detail
			if re.Status != nil {
				ref.idpStatus = re.Status.String()
				ref.msg = "Your identity provider did not sign you in (" + re.Status.String() + "). If this persists, contact your administrator."
			}
		}
		s.refuse(w, r, ws, ref, nil)
		return
	}
	returnTo := ""
	if a.InResponseTo == "" {
		if !c.AllowIdPInitiated {
			s.refuse(w, r, ws, authFailed("idp_initiated_disabled", "the response is IdP-initiated (no InResponseTo) and this workspace accepts only sign-ins started at Rollcall; enable IdP-initiated sign-in to allow dashboard tiles"), a)
			return
		}
		returnTo = SafeReturnTo(r.PostForm.Get("RelayState"))
	}
	m, ref := s.findMember(ctx, ws, c, a)
	var login *PendingLogin
	var code string
	entry := s.auditEntry(ctx, ws, "sso.login_accepted", "", nil)
	if ref == nil {
		code = credential.NewSecret(32)
		login = &PendingLogin{CodeHash: credential.Hash(code), WorkspaceID: ws, MemberID: m.ID, ReturnTo: returnTo, Expires: now.Add(2 * time.Minute),
			SessionNotOnOrAfter: a.SessionNotOnOrAfter}
		entry.TargetType, entry.TargetID = "member", m.ID
		entry.Detail, _ = json.Marshal(map[string]any{"user_name": m.UserName, "name_id": a.NameID, "assertion_id": a.AssertionID, "idp_initiated": a.InResponseTo == ""})
	} else {
		entry.Action = "sso.login_refused"
		if ref.memberID != "" {
			entry.TargetType, entry.TargetID = "member", ref.memberID
		}
		entry.Detail, _ = json.Marshal(map[string]any{"reason": ref.reason, "detail": ref.detail, "name_id": a.NameID, "assertion_id": a.AssertionID})
	}
	_, err = s.store.ConsumeResponse(ctx, ws, a.InResponseTo, a.AssertionID, a.NotOnOrAfter, now, login, s.lastLogin(a, m, ref, now), entry)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		s.refuse(w, r, ws, authFailed("unknown_request", "the response answers request "+a.InResponseTo+", which this workspace is not waiting for: it expired, was already answered, or was never made here"), a)
		return
	case errors.Is(err, directory.ErrConflict):
		s.refuse(w, r, ws, authFailed("replay", "assertion "+a.AssertionID+" was already used to sign in"), a)
		return
	case err != nil:
		s.internalError(w, r, err)
		return
	}
	if ref != nil {
		s.cfg.Log.Info("sso refused", "workspace", ws, "reason", ref.reason, "detail", ref.detail, "request_id", httpx.RequestID(ctx))
		s.pages.Error(w, r, ref.status, ref.title, ref.msg)
		return
	}
	http.Redirect(w, r, s.base(ws)+"/complete?code="+code, http.StatusSeeOther)
}

func dropSpace(r rune) rune {
	if unicode.IsSpace(r) {
		return -1
	}
	return r
}

// refuse renders a refused sign-in and records why.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, ws string, ref *refusal, a *response.Assertion) {
	ctx := r.Context()
	s.cfg.Log.Info("sso refused", "workspace", ws, "reason", ref.reason, "detail", ref.detail, "request_id", httpx.RequestID(ctx))
	if _, err := s.dir.Workspace(ctx, ws); err == nil {
		detail := map[string]any{"reason": ref.reason, "detail": ref.detail}
		if ref.idpStatus != "" {
			detail["idp_status"] = ref.idpStatus
		}
		if a != nil {
			detail["name_id"], detail["assertion_id"] = a.NameID, a.AssertionID
		}
		s.audit(directory.WithActor(ctx, directory.Actor{Kind: "idp", RequestID: httpx.RequestID(ctx)}), ws, "sso.login_refused", detail)
	}
	s.pages.Error(w, r, ref.status, ref.title, ref.msg)
}

// lastLogin records the raw attributes of a sign-in for the admin's
// debugging page.
func (s *Server) lastLogin(a *response.Assertion, m *directory.Member, ref *refusal, now time.Time) string {
	attrs := map[string][]string{}
	for name, at := range a.Attributes {
		attrs[name] = at.Values
	}
	out := map[string]any{"time": now.UTC(), "name_id": a.NameID, "name_id_format": a.NameIDFormat,
		"attributes": attrs, "assertion_id": a.AssertionID, "idp_initiated": a.InResponseTo == "",
		"signed_response": a.ResponseSigned, "signed_assertion": a.AssertionSigned, "encrypted": a.Encrypted}
	if m != nil {
		out["member_id"] = m.ID
	}
	if ref != nil {
		out["refused"] = ref.reason
	}
	b, _ := json.Marshal(out) // plain values
	return string(b)
}

// attrValues returns the values of the first present attribute of names,
// matched without regard to case; a short name ("emailaddress") also
// matches a claim URI by its last segment.
func attrValues(a *response.Assertion, names []string) []string {
	for _, want := range names {
		for name, at := range a.Attributes {
			match := strings.EqualFold(name, want) ||
				(!strings.Contains(want, "/") && strings.Contains(name, "/") && strings.EqualFold(lastSegment(name), want))
			if match && len(at.Values) > 0 {
				return at.Values
			}
		}
	}
	return nil
}

func lastSegment(s string) string {
	if i := strings.LastIndexAny(s, "/:"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// findMember maps an assertion to an active member of the workspace.
// Candidates are the NameID, then the mapped userName and email
// attributes; each is matched against userName, externalId and primary
// email without regard to case, within this workspace only — an email an
// IdP asserts can never reach a member of another workspace.
func (s *Server) findMember(ctx context.Context, ws string, c *Connection, a *response.Assertion) (*directory.Member, *refusal) {
	candidates := []string{a.NameID}
	candidates = append(candidates, attrValues(a, c.attributeNames("userName"))...)
	emails := attrValues(a, c.attributeNames("email"))
	candidates = append(candidates, emails...)
	st := s.dir.Store()
	var found *directory.Member
	for _, v := range candidates {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		m, err := s.matchMember(ctx, st, ws, v)
		if err != nil {
			return nil, &refusal{status: http.StatusInternalServerError, title: "Something went wrong", msg: "Try again in a moment.", reason: "internal", detail: err.Error()}
		}
		if m != nil {
			found = m
			break
		}
	}
	if found == nil {
		if !c.JIT {
			return nil, &refusal{status: http.StatusForbidden, title: "You are not a member of this workspace",
				msg:    "Your identity provider signed you in, but your account has not been added to this workspace. Ask your administrator to assign you the app.",
				reason: "not_a_member", detail: fmt.Sprintf("no member matches NameID %q or the email attribute %v", a.NameID, emails)}
		}
		return s.createJIT(ctx, ws, c, a, emails)
	}
	if !found.Active {
		return nil, &refusal{status: http.StatusForbidden, title: "Your access is deactivated",
			msg:    "Your access to this workspace is deactivated. Your administrator can reactivate it.",
			reason: "member_inactive", detail: "member " + found.UserName + " is inactive", memberID: found.ID}
	}
	return found, nil
}

func (s *Server) matchMember(ctx context.Context, st directory.Reader, ws, v string) (*directory.Member, error) {
	m, err := st.MemberByUserName(ctx, ws, v)
	if err == nil {
		return m, nil
	} else if !errors.Is(err, directory.ErrNotFound) {
		return nil, err
	}
	for _, cond := range []directory.Cond{
		directory.Compare{Field: directory.FieldExternalID, Op: directory.OpEq, Value: v},
		directory.EmailMatch{Cond: directory.And{
			directory.Compare{Field: directory.FieldEmailValue, Op: directory.OpEq, Value: v},
			directory.Compare{Field: directory.FieldEmailPrimary, Op: directory.OpEq, Value: true},
		}},
	} {
		page, err := st.Members(ctx, ws, directory.MemberQuery{Where: cond, Limit: 2})
		if err != nil {
			return nil, err
		}
		if len(page.Items) == 1 {
			return page.Items[0], nil
		}
		// Two members with that value: ambiguous, so neither.
	}
	return nil, nil
}

// createJIT adds a member for a first sign-in, when the workspace allows it.
func (s *Server) createJIT(ctx context.Context, ws string, c *Connection, a *response.Assertion, emails []string) (*directory.Member, *refusal) {
	userName := a.NameID
	m := &directory.Member{Active: true, Source: directory.SourceSSO}
	if len(emails) > 0 && strings.Contains(emails[0], "@") {
		m.Emails = []directory.Email{{Value: emails[0], Type: "work", Primary: true}}
		if !strings.Contains(userName, "@") {
			userName = emails[0] // an opaque NameID (persistent, transient) makes a poor userName
		}
	} else if strings.Contains(userName, "@") {
		m.Emails = []directory.Email{{Value: userName, Type: "work", Primary: true}}
	}
	m.UserName = userName
	if v := attrValues(a, c.attributeNames("givenName")); len(v) > 0 {
		m.GivenName = v[0]
	}
	if v := attrValues(a, c.attributeNames("familyName")); len(v) > 0 {
		m.FamilyName = v[0]
	}
	m.DisplayName = strings.TrimSpace(m.GivenName + " " + m.FamilyName)
	created, err := s.dir.CreateMember(ctx, ws, m)
	if err != nil {
		return nil, &refusal{status: http.StatusForbidden, title: "Authentication failed", msg: response.PublicMessage + ".",
			reason: "jit_failed", detail: "just-in-time creation failed: " + err.Error()}
	}
	return created, nil
}

// complete finishes a sign-in in the browser that started it.
func (s *Server) complete(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ws := r.PathValue("ws")
	code := r.URL.Query().Get("code")
	if code == "" || len(code) > 64 {
		s.pages.Error(w, r, http.StatusBadRequest, "Authentication failed", "This sign-in link is not valid. Start again from the sign-in page.")
		return
	}
	// The code is used up and the session stored in one atomic write, only
	// for a member who is still active and a login c accepts.
	c := &Completion{Workspace: ws, Now: s.now()}
	if ck, err := r.Cookie(NonceCookie(ws)); err == nil {
		c.BrowserHash = credential.Hash(ck.Value)
	}
	sess, cookie := s.sessions.New(ws, "", session.MethodSAML)
	l, refused, created, err := s.store.CompleteLogin(ctx, credential.Hash(code), c, sess)
	switch {
	case err != nil && !errors.Is(err, directory.ErrNotFound):
		s.internalError(w, r, err)
		return
	case err != nil || refused == "expired":
		s.pages.Error(w, r, http.StatusBadRequest, "Authentication failed", "This sign-in link was already used or has expired. Start again from the sign-in page.")
		return
	case refused == "browser":
		s.refuse(w, r, ws, &refusal{status: http.StatusForbidden, title: "Authentication failed",
			msg:    "This sign-in was started in another browser. Start again from the sign-in page in this one.",
			reason: "browser_mismatch", detail: "the completing browser does not hold the nonce of the browser that started the sign-in (login CSRF or a changed browser)", memberID: l.MemberID}, nil)
		return
	case !created:
		s.pages.Error(w, r, http.StatusForbidden, "Your access is deactivated", "Your access to this workspace is deactivated. Your administrator can reactivate it.")
		return
	}
	s.sessions.SetCookie(w, sess, cookie)
	target := l.ReturnTo
	if target == "" {
		target = s.Home(ws)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
