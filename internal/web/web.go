// Package web serves Rollcall's HTML pages: the workspace sign-in page
// (single sign-on, and passwords where the SSO policy allows them), the
// password reset flow, the workspace home a sign-in lands on, sign-out,
// the error and auto-post pages of the SAML flow, and the session API
// (GET /api/v1/session) a host application asks "who is signed in?".
//
// # SSO policy and passwords
//
// With the "optional" policy any active member may have a password and
// reset it by an emailed link. With "required", members and admins sign in
// only by SSO; owners keep their password, as Slack and GitHub keep a way
// in, so a broken IdP never locks a company out. That is also how an owner
// rescues a locked-out member: switch the policy to optional, and the
// member resets their password. Switching to required also ends the
// password sessions of those it takes the password from: each is deleted
// at its next use, so switching back does not revive it.
//
// Pages are rendered with html/template (contextual escaping) under a
// strict Content-Security-Policy; forms post to the same origin, and
// state-changing posts check the Origin header. Password sign-in attempts
// are rate-limited per workspace and email.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"rollcall/internal/credential"
	"rollcall/internal/directory"
	"rollcall/internal/httpx"
	"rollcall/internal/session"
)

//go:embed templates/*.html
var templateFS embed.FS

// Store is what the pages need beyond the directory and sessions.
type Store interface {
	SetPassword(ctx context.Context, ws, memberID, hash string, at time.Time) error
	PasswordHash(ctx context.Context, ws, memberID string) (string, error)
	InsertReset(ctx context.Context, tokenHash []byte, ws, memberID string, expires time.Time) error
	TakeReset(ctx context.Context, tokenHash []byte) (ws, memberID string, expires time.Time, err error)
}

// SSOConfigured reports whether a workspace has an IdP, to show the SSO
// button.
type SSOConfigured func(ctx context.Context, ws string) bool

// Mailer sends email (password reset links).
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// Server serves the pages.
type Server struct {
	BaseURL  string
	Dir      *directory.Service
	Store    Store
	Sessions *session.Manager
	SSO      SSOConfigured
	Mail     Mailer // nil: no SMTP configured
	Log      *slog.Logger
	Now      func() time.Time

	tmpl    map[string]*template.Template
	limiter attempts
}

// New prepares the templates.
func New(s *Server) (*Server, error) {
	s.tmpl = map[string]*template.Template{}
	for _, name := range []string{"error", "postform", "signin", "reset_request", "reset_form", "home"} {
		t, err := template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		s.tmpl[name] = t
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	s.BaseURL = strings.TrimRight(s.BaseURL, "/")
	s.limiter = attempts{m: map[string][]time.Time{}, now: s.Now}
	return s, nil
}

// Register adds the page routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /signin/{ws}", s.signin)
	mux.HandleFunc("POST /signin/{ws}/password", s.passwordSignin)
	mux.HandleFunc("GET /signin/{ws}/reset", s.resetRequest)
	mux.HandleFunc("POST /signin/{ws}/reset", s.resetSend)
	mux.HandleFunc("GET /signin/{ws}/reset/{token}", s.resetForm)
	mux.HandleFunc("POST /signin/{ws}/reset/{token}", s.resetSet)
	mux.HandleFunc("GET /w/{ws}/{$}", s.home)
	mux.HandleFunc("POST /signout", s.signout)
	mux.HandleFunc("GET /api/v1/session", s.sessionAPI)
}

// SignInURL is workspace ws's sign-in page under baseURL ("" for the path
// alone, as redirects use it).
func SignInURL(baseURL, ws string) string {
	return strings.TrimRight(baseURL, "/") + "/signin/" + ws
}

// render writes a page with the security headers every page gets.
func (s *Server) render(w http.ResponseWriter, status int, name string, data map[string]any, formAction string) {
	n := credential.NewSecret(16)
	data["Nonce"] = n
	if formAction == "" {
		formAction = "'self'"
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; script-src 'nonce-"+n+
		"'; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	if err := s.tmpl[name].ExecuteTemplate(w, "layout", data); err != nil {
		s.Log.Error("render", "template", name, "err", err)
	}
}

// Error implements saml.Pages.
func (s *Server) Error(w http.ResponseWriter, r *http.Request, status int, title, message string) {
	s.render(w, status, "error", map[string]any{"Title": title, "Message": message,
		"Workspace": r.PathValue("ws"), "RequestID": httpx.RequestID(r.Context())}, "")
}

// PostForm implements saml.Pages. Browsers apply form-action to the
// redirects that follow a form submission too, and IdPs do redirect their
// POST endpoint to another origin (a login host, a region), so this page
// lets its form go anywhere: it holds nothing but the SAMLRequest, and its
// action is the IdP's configured SSO URL.
func (s *Server) PostForm(w http.ResponseWriter, r *http.Request, action string, fields map[string]string) {
	s.render(w, http.StatusOK, "postform", map[string]any{"Title": "Signing in", "Action": action, "Fields": fields}, "*")
}

// postedForm begins the handling of a form posted to a workspace page: it
// finds the workspace, caps the body, and refuses (403, with title and
// text) a form posted from another site or one that does not parse. It
// returns nil when it has already answered.
func (s *Server) postedForm(w http.ResponseWriter, r *http.Request, title, text string) *directory.Workspace {
	ws := s.workspace(w, r)
	if ws == nil {
		return nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !s.sameOrigin(r) || r.ParseForm() != nil {
		s.Error(w, r, http.StatusForbidden, title, text)
		return nil
	}
	return ws
}

// workspace loads the workspace named in the URL or renders a 404.
func (s *Server) workspace(w http.ResponseWriter, r *http.Request) *directory.Workspace {
	ws, err := s.Dir.Workspace(r.Context(), r.PathValue("ws"))
	if err != nil {
		s.Error(w, r, http.StatusNotFound, "No such workspace", "There is no workspace at this address.")
		return nil
	}
	return ws
}

// sameOrigin rejects cross-site form posts (login CSRF, forced sign-out).
func (s *Server) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		// Browsers send Origin on every POST; tools without it are not
		// subject to CSRF. A "null" origin is a sandboxed or privacy-
		// stripped request: refuse.
		return o == ""
	}
	u, err := url.Parse(s.BaseURL)
	return err == nil && strings.EqualFold(o, u.Scheme+"://"+u.Host)
}

func safeReturnTo(v, fallback string) string {
	if len(v) == 0 || len(v) > 2048 || v[0] != '/' || (len(v) > 1 && (v[1] == '/' || v[1] == '\\')) || strings.ContainsAny(v, "\\\x00\r\n\t") {
		return fallback
	}
	return v
}

func (s *Server) signinData(ctx context.Context, ws *directory.Workspace, r *http.Request) map[string]any {
	return map[string]any{
		"Title": "Sign in", "Workspace": ws.ID, "WorkspaceName": ws.Name,
		"ReturnTo": safeReturnTo(r.FormValue("return_to"), ""),
		"SSO":      s.SSO != nil && s.SSO(ctx, ws.ID),
		"Password": true, "Required": ws.SSOPolicy == directory.SSORequired,
	}
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	ws := s.workspace(w, r)
	if ws == nil {
		return
	}
	data := s.signinData(r.Context(), ws, r)
	switch r.URL.Query().Get("m") {
	case "reset":
		data["Message"] = "Your password is set. Sign in with it."
	case "signedout":
		data["Message"] = "You are signed out."
	}
	s.render(w, http.StatusOK, "signin", data, "")
}

// FindMember finds a member by userName or primary email.
func (s *Server) FindMember(ctx context.Context, ws, email string) (*directory.Member, error) {
	st := s.Dir.Store()
	m, err := st.MemberByUserName(ctx, ws, email)
	if err == nil {
		return m, nil
	} else if !errors.Is(err, directory.ErrNotFound) {
		return nil, err
	}
	page, err := st.Members(ctx, ws, directory.MemberQuery{Limit: 2, Where: directory.EmailMatch{Cond: directory.And{
		directory.Compare{Field: directory.FieldEmailValue, Op: directory.OpEq, Value: email},
		directory.Compare{Field: directory.FieldEmailPrimary, Op: directory.OpEq, Value: true},
	}}})
	if err != nil {
		return nil, err
	}
	if len(page.Items) != 1 {
		return nil, directory.ErrNotFound
	}
	return page.Items[0], nil
}

// dummyHash is checked when no member matches, so a failed sign-in takes
// as long whether or not the account exists.
var dummyHash = HashPassword("not a real password, only for timing")

func (s *Server) passwordSignin(w http.ResponseWriter, r *http.Request) {
	ws := s.postedForm(w, r, "Sign-in refused", "This sign-in form was posted from another site.")
	if ws == nil {
		return
	}
	ctx := r.Context()
	email, pw := strings.TrimSpace(r.PostForm.Get("email")), r.PostForm.Get("password")
	fail := func(status int, msg string) {
		data := s.signinData(ctx, ws, r)
		data["Message"], data["Failed"] = msg, true
		s.render(w, status, "signin", data, "")
	}
	key := ws.ID + "\x00" + strings.ToLower(email)
	if !s.limiter.allow(key) {
		fail(http.StatusTooManyRequests, "Too many failed attempts. Wait 15 minutes, or reset your password.")
		return
	}
	m, err := s.FindMember(ctx, ws.ID, email)
	var hash string
	if err == nil {
		hash, err = s.Store.PasswordHash(ctx, ws.ID, m.ID)
	}
	if err != nil && !errors.Is(err, directory.ErrNotFound) {
		s.Log.Error("password sign-in", "err", err)
		fail(http.StatusInternalServerError, "Something went wrong. Try again.")
		return
	}
	if hash == "" {
		CheckPassword(dummyHash, pw)
		s.limiter.fail(key)
		fail(http.StatusUnauthorized, "Wrong email or password.")
		return
	}
	if !CheckPassword(hash, pw) {
		s.limiter.fail(key)
		fail(http.StatusUnauthorized, "Wrong email or password.")
		return
	}
	if !m.Active {
		fail(http.StatusForbidden, "Your access to this workspace is deactivated. Your administrator can reactivate it.")
		return
	}
	method := session.MethodPassword
	if ws.SSOPolicy == directory.SSORequired {
		if m.Role != directory.RoleOwner {
			fail(http.StatusForbidden, "This workspace requires single sign-on. Sign in with single sign-on instead.")
			return
		}
		method = session.MethodBreakGlass
	}
	s.limiter.reset(key)
	if _, err := s.Sessions.Create(ctx, w, ws.ID, m.ID, method); err != nil {
		s.Log.Error("session", "err", err)
		fail(http.StatusInternalServerError, "Something went wrong. Try again.")
		return
	}
	s.auditMember(ctx, ws.ID, m, "member.signed_in", map[string]any{"method": method})
	http.Redirect(w, r, safeReturnTo(r.PostForm.Get("return_to"), "/w/"+ws.ID+"/"), http.StatusSeeOther)
}

func (s *Server) auditMember(ctx context.Context, ws string, m *directory.Member, action string, detail map[string]any) {
	detail["user_name"] = m.UserName
	ctx = directory.WithActor(ctx, directory.Actor{Kind: "member", ID: m.ID, Label: m.UserName, RequestID: httpx.RequestID(ctx)})
	if err := s.Dir.Record(ctx, ws, action, "member", m.ID, detail); err != nil {
		s.Log.Error("audit", "action", action, "err", err)
	}
}

// passwordAllowed reports whether a member may use a password under the
// workspace's policy.
func passwordAllowed(ws *directory.Workspace, m *directory.Member) bool {
	return ws.SSOPolicy != directory.SSORequired || m.Role == directory.RoleOwner
}

func (s *Server) resetRequest(w http.ResponseWriter, r *http.Request) {
	ws := s.workspace(w, r)
	if ws == nil {
		return
	}
	s.render(w, http.StatusOK, "reset_request", map[string]any{"Title": "Reset password", "Workspace": ws.ID,
		"WorkspaceName": ws.Name, "NoMail": s.Mail == nil}, "")
}

// ResetTTL is how long a password reset link works.
const ResetTTL = time.Hour

// ResetLink issues a one-time password reset link for a member, valid for
// an hour (used by the emailed flow and by `rollcall member reset-link`).
func (s *Server) ResetLink(ctx context.Context, ws, memberID string) (string, error) {
	tok := credential.NewSecret(32)
	if err := s.Store.InsertReset(ctx, credential.Hash(tok), ws, memberID, s.Now().Add(ResetTTL)); err != nil {
		return "", err
	}
	return SignInURL(s.BaseURL, ws) + "/reset/" + tok, nil
}

func (s *Server) resetSend(w http.ResponseWriter, r *http.Request) {
	ws := s.postedForm(w, r, "Request refused", "This form was posted from another site.")
	if ws == nil {
		return
	}
	ctx := r.Context()
	data := map[string]any{"Title": "Reset password", "Workspace": ws.ID, "WorkspaceName": ws.Name, "NoMail": s.Mail == nil}
	if s.Mail == nil {
		// A configuration state, not a failure: the page explains it and
		// names the command that issues a link instead.
		s.Log.Warn("password reset email requested, but no SMTP server is configured (serve --smtp-addr, --smtp-from); "+
			"issue a link with rollcall member reset-link", "workspace", ws.ID, "request_id", httpx.RequestID(ctx))
		s.render(w, http.StatusServiceUnavailable, "reset_request", data, "")
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	key := "reset\x00" + ws.ID + "\x00" + strings.ToLower(email)
	// The same answer whether or not the account exists: no enumeration.
	data["Message"] = "If " + email + " may use a password in this workspace, a reset link is on its way. It works for an hour."
	if !s.limiter.allow(key) {
		s.render(w, http.StatusOK, "reset_request", data, "")
		return
	}
	s.limiter.fail(key) // count every request: at most a few emails per address
	m, err := s.FindMember(ctx, ws.ID, email)
	if err == nil && m.Active && passwordAllowed(ws, m) && m.PrimaryEmail() != "" {
		link, err := s.ResetLink(ctx, ws.ID, m.ID)
		if err == nil {
			body := fmt.Sprintf("Someone asked to set or reset the password of %s in the workspace %q.\r\n\r\n"+
				"To choose a new password, open this link within an hour:\r\n\r\n%s\r\n\r\n"+
				"If it was not you, ignore this email; nothing changes.\r\n", m.UserName, ws.Name, link)
			err = s.Mail.Send(ctx, m.PrimaryEmail(), "Reset your Rollcall password for "+ws.Name, body)
		}
		if err != nil {
			s.Log.Error("password reset email", "workspace", ws.ID, "err", err)
		} else {
			s.auditMember(ctx, ws.ID, m, "member.password_reset_requested", map[string]any{})
		}
	}
	s.render(w, http.StatusOK, "reset_request", data, "")
}

func (s *Server) resetForm(w http.ResponseWriter, r *http.Request) {
	ws := s.workspace(w, r)
	if ws == nil {
		return
	}
	s.render(w, http.StatusOK, "reset_form", map[string]any{"Title": "New password", "Workspace": ws.ID,
		"WorkspaceName": ws.Name, "Token": r.PathValue("token")}, "")
}

func (s *Server) resetSet(w http.ResponseWriter, r *http.Request) {
	ws := s.postedForm(w, r, "Request refused", "This form was posted from another site.")
	if ws == nil {
		return
	}
	ctx := r.Context()
	tok := r.PathValue("token")
	pw, confirm := r.PostForm.Get("password"), r.PostForm.Get("confirm")
	if msg := checkNewPassword(pw, confirm); msg != "" {
		s.render(w, http.StatusBadRequest, "reset_form", map[string]any{"Title": "New password", "Workspace": ws.ID,
			"WorkspaceName": ws.Name, "Token": tok, "Message": msg}, "")
		return
	}
	wsID, memberID, expires, err := s.Store.TakeReset(ctx, credential.Hash(tok))
	if err != nil || wsID != ws.ID || !s.Now().Before(expires) {
		s.Error(w, r, http.StatusBadRequest, "This link does not work", "The reset link was already used, has expired, or belongs to another workspace. Ask for a new one.")
		return
	}
	m, err := s.Dir.Member(ctx, ws.ID, memberID)
	if err != nil || !m.Active || !passwordAllowed(ws, m) {
		s.Error(w, r, http.StatusForbidden, "Password not allowed", "This workspace requires single sign-on, or your access is deactivated.")
		return
	}
	if err := s.Store.SetPassword(ctx, ws.ID, m.ID, HashPassword(pw), s.Now().UTC()); err != nil {
		s.Log.Error("set password", "err", err)
		s.Error(w, r, http.StatusInternalServerError, "Something went wrong", "Try again.")
		return
	}
	s.auditMember(ctx, ws.ID, m, "member.password_set", map[string]any{})
	http.Redirect(w, r, SignInURL("", ws.ID)+"?m=reset", http.StatusSeeOther)
}

// sessionFor returns the request's session and member. ws, when not nil,
// is the workspace the caller already read (it is used only if it is the
// session's).
//
// A session made with a password (session.ByPassword, an owner's break-glass too)
// is checked against the workspace's SSO policy on every use, because the
// policy can change after the sign-in: when the member may no longer use a
// password (passwordAllowed), the session is deleted and the request
// counts as signed out. Only those sessions pay for reading the workspace;
// a SAML session costs nothing more.
func (s *Server) sessionFor(r *http.Request, ws *directory.Workspace) (*session.Session, *directory.Member, error) {
	ctx := r.Context()
	sess, err := s.Sessions.Get(r)
	if err != nil {
		return nil, nil, err
	}
	m, err := s.Dir.Store().Member(ctx, sess.WorkspaceID, sess.MemberID)
	if err != nil || !m.Active {
		return nil, nil, session.ErrNoSession
	}
	if !sess.ByPassword() {
		return sess, m, nil
	}
	if ws == nil || ws.ID != sess.WorkspaceID {
		if ws, err = s.Dir.Store().Workspace(ctx, sess.WorkspaceID); errors.Is(err, directory.ErrNotFound) {
			return nil, nil, session.ErrNoSession
		} else if err != nil {
			return nil, nil, err
		}
	}
	if !passwordAllowed(ws, m) {
		// Deleted, not merely refused: switching the policy back to
		// optional does not bring it back.
		if err := s.Sessions.Store.DeleteSession(ctx, sess.ID); err != nil {
			s.Log.Warn("ending a password session the SSO policy no longer allows", "workspace", ws.ID, "member", m.ID, "err", err)
		} else {
			s.Log.Info("password session ended: the workspace requires SSO for this member", "workspace", ws.ID, "member", m.ID, "auth_method", sess.AuthMethod)
		}
		return nil, nil, session.ErrNoSession
	}
	return sess, m, nil
}

func (s *Server) roleLabel(ctx context.Context, m *directory.Member) string {
	if m.CustomRoleID == "" {
		return string(m.Role)
	}
	if r, err := s.Dir.Store().CustomRole(ctx, m.WorkspaceID, m.CustomRoleID); err == nil {
		return r.Name + " (" + string(m.Role) + ")"
	}
	return string(m.Role)
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	ws := s.workspace(w, r)
	if ws == nil {
		return
	}
	sess, m, err := s.sessionFor(r, ws)
	if err != nil || sess.WorkspaceID != ws.ID {
		http.Redirect(w, r, SignInURL("", ws.ID)+"?return_to="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "home", map[string]any{"Title": ws.Name, "WorkspaceName": ws.Name, "Member": m,
		"Role": s.roleLabel(r.Context(), m), "Method": sess.AuthMethod}, "")
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request) {
	if !s.sameOrigin(r) {
		s.Error(w, r, http.StatusForbidden, "Sign-out refused", "This form was posted from another site.")
		return
	}
	target := "/"
	if sess, err := s.Sessions.Get(r); err == nil {
		target = SignInURL("", sess.WorkspaceID) + "?m=signedout"
	}
	if err := s.Sessions.End(w, r); err != nil {
		s.Log.Error("sign-out", "err", err)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// sessionAPI answers who is signed in, for the session cookie sent.
func (s *Server) sessionAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	sess, m, err := s.sessionFor(r, nil)
	if err != nil {
		if !errors.Is(err, session.ErrNoSession) {
			s.Log.Error("session api", "err", err)
		}
		httpx.WriteJSON(w, http.StatusUnauthorized, "application/json", map[string]string{"code": "unauthorized", "message": "no valid session"})
		return
	}
	out := map[string]any{"member_id": m.ID, "workspace_id": m.WorkspaceID, "user_name": m.UserName, "email": m.PrimaryEmail(),
		"role": string(m.Role), "auth_method": sess.AuthMethod, "display_name": m.DisplayName, "session_expires": sess.Expires}
	if m.CustomRoleID != "" {
		out["custom_role_id"] = m.CustomRoleID
		if cr, err := s.Dir.Store().CustomRole(r.Context(), m.WorkspaceID, m.CustomRoleID); err == nil {
			out["custom_role_name"] = cr.Name
		}
	}
	httpx.WriteJSON(w, http.StatusOK, "application/json", out)
}

// attempts limits failed password attempts: 10 per key in 15 minutes.
type attempts struct {
	mu  sync.Mutex
	m   map[string][]time.Time
	now func() time.Time
}

const (
	maxAttempts   = 10
	attemptWindow = 15 * time.Minute
)

func (a *attempts) recent(key string) []time.Time {
	cut := a.now().Add(-attemptWindow)
	list := a.m[key]
	i := 0
	for i < len(list) && list[i].Before(cut) {
		i++
	}
	return list[i:]
}

func (a *attempts) allow(key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.recent(key)) < maxAttempts
}

func (a *attempts) fail(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.m) > 100_000 {
		a.m = map[string][]time.Time{} // bounded memory under a spray of keys
	}
	a.m[key] = append(a.recent(key), a.now())
}

func (a *attempts) reset(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.m, key)
}
