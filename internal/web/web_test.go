package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"rollcall/internal/directory"
	"rollcall/internal/httpx"
	"rollcall/internal/session"
	"rollcall/internal/store"
	"rollcall/internal/testenv/dbtest"
	"rollcall/internal/testenv/logtail"
	"rollcall/internal/web"
)

type fixture struct {
	url  string
	db   *store.DB
	dir  *directory.Service
	web  *web.Server
	ws   string
	mail *smtpSink
}

func setup(t *testing.T, engine string) *fixture {
	t.Helper()
	db := dbtest.Open(t, engine)
	dir := directory.NewService(db)
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	sink := newSMTPSink(t)
	pages, err := web.New(&web.Server{BaseURL: base, Dir: dir, Store: db, Sessions: &session.Manager{Store: db},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Mail: &web.SMTP{Addr: sink.addr, From: "rollcall@acme.test"}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	pages.Register(mux)
	ts.Config.Handler = httpx.Handler(mux, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	ts.Start()
	t.Cleanup(ts.Close)
	w, err := dir.CreateWorkspace(context.Background(), "Acme")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{url: base, db: db, dir: dir, web: pages, ws: w.ID, mail: sink}
}

func (f *fixture) member(t *testing.T, user string, role directory.Role) *directory.Member {
	t.Helper()
	m, err := f.dir.CreateMember(context.Background(), f.ws, &directory.Member{UserName: user, Active: true,
		Assigned: directory.RoleRef{Role: role}, Emails: []directory.Email{{Value: user, Primary: true}}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (f *fixture) postForm(t *testing.T, c *http.Client, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", f.url)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (f *fixture) setPassword(t *testing.T, c *http.Client, link, pw string) *http.Response {
	t.Helper()
	u, _ := url.Parse(link)
	resp, _ := f.postForm(t, c, u.Path, url.Values{"password": {pw}, "confirm": {pw}})
	return resp
}

// givePassword sets m's password through a reset link, as the member
// would, and returns the link (used up).
func (f *fixture) givePassword(t *testing.T, m *directory.Member, pw string) string {
	t.Helper()
	link, err := f.web.ResetLink(context.Background(), f.ws, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if resp := f.setPassword(t, client(), link, pw); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("set %s's password: %d", m.UserName, resp.StatusCode)
	}
	return link
}

func (f *fixture) signIn(t *testing.T, c *http.Client, email, pw string) (*http.Response, string) {
	t.Helper()
	return f.postForm(t, c, "/signin/"+f.ws+"/password", url.Values{"email": {email}, "password": {pw}, "return_to": {"/w/" + f.ws + "/"}})
}

func who(t *testing.T, c *http.Client, f *fixture) map[string]any {
	resp, err := c.Get(f.url + "/api/v1/session")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil
	}
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out
}

func TestPasswordPolicy(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := setup(t, engine)
			ctx := context.Background()
			member := f.member(t, "mia@acme.test", directory.RoleMember)
			owner := f.member(t, "olga@acme.test", directory.RoleOwner)
			pw := "correct horse battery staple"
			for _, m := range []*directory.Member{member, owner} {
				link := f.givePassword(t, m, pw)
				if resp := f.setPassword(t, client(), link, pw); resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("reset link used twice: %d", resp.StatusCode)
				}
			}
			c := client()
			if resp, _ := f.signIn(t, c, "mia@acme.test", pw); resp.StatusCode != http.StatusSeeOther || who(t, c, f)["auth_method"] != "password" {
				t.Fatalf("optional policy, member with password: %d %v", resp.StatusCode, who(t, c, f))
			}
			if resp, b := f.signIn(t, client(), "mia@acme.test", "wrong password!"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(b, "Wrong email or password") {
				t.Fatalf("wrong password: %d", resp.StatusCode)
			}
			if resp, _ := f.signIn(t, client(), "nobody@acme.test", pw); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("unknown account: %d", resp.StatusCode)
			}
			// SSO required: members may not use passwords; owners keep a way in.
			if _, err := f.dir.SetSSOPolicy(ctx, f.ws, directory.SSORequired); err != nil {
				t.Fatal(err)
			}
			if resp, b := f.signIn(t, client(), "mia@acme.test", pw); resp.StatusCode != http.StatusForbidden || !strings.Contains(b, "requires single sign-on") {
				t.Fatalf("required policy, member: %d", resp.StatusCode)
			}
			oc := client()
			if resp, _ := f.signIn(t, oc, "olga@acme.test", pw); resp.StatusCode != http.StatusSeeOther || who(t, oc, f)["auth_method"] != "break_glass" {
				t.Fatalf("required policy, owner break-glass: %d %v", resp.StatusCode, who(t, oc, f))
			}
			// The owner rescues the member: policy back to optional, the member
			// resets and signs in.
			if _, err := f.dir.SetSSOPolicy(ctx, f.ws, directory.SSOOptional); err != nil {
				t.Fatal(err)
			}
			mc := client()
			if resp, _ := f.signIn(t, mc, "mia@acme.test", pw); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("after switching back to optional: %d", resp.StatusCode)
			}
			// A cross-site post of the sign-in form is refused (login CSRF).
			req, _ := http.NewRequest("POST", f.url+"/signin/"+f.ws+"/password", strings.NewReader(url.Values{"email": {"mia@acme.test"}, "password": {pw}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "https://evil.example")
			resp, err := client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("cross-site sign-in post: %d", resp.StatusCode)
			}
		})
	}
}

// TestPolicyEndsPasswordSessions: requiring SSO ends the password sessions
// of the members it takes passwords from (deleted, so switching back to
// optional does not revive them); owners keep theirs, SAML sessions are
// untouched, and an owner's break-glass session ends if they stop being an
// owner.
func TestPolicyEndsPasswordSessions(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := setup(t, engine)
			ctx := context.Background()
			member := f.member(t, "mia@acme.test", directory.RoleMember)
			owner := f.member(t, "olga@acme.test", directory.RoleOwner)
			f.member(t, "oscar@acme.test", directory.RoleOwner) // so that olga may be demoted
			pw := "correct horse battery staple"
			for _, m := range []*directory.Member{member, owner} {
				f.givePassword(t, m, pw)
			}
			home := func(c *http.Client) *http.Response {
				t.Helper()
				resp, err := c.Get(f.url + "/w/" + f.ws + "/")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp
			}
			setPolicy := func(p directory.SSOPolicy) {
				t.Helper()
				if _, err := f.dir.SetSSOPolicy(ctx, f.ws, p); err != nil {
					t.Fatal(err)
				}
			}
			mc, oc := client(), client()
			if resp, _ := f.signIn(t, mc, "mia@acme.test", pw); resp.StatusCode != http.StatusSeeOther || who(t, mc, f)["auth_method"] != "password" {
				t.Fatalf("optional policy, member: %d %v", resp.StatusCode, who(t, mc, f))
			}
			if resp := home(mc); resp.StatusCode != http.StatusOK {
				t.Fatalf("optional policy, member's home page: %d", resp.StatusCode)
			}
			if resp, _ := f.signIn(t, oc, "olga@acme.test", pw); resp.StatusCode != http.StatusSeeOther || who(t, oc, f)["auth_method"] != "password" {
				t.Fatalf("optional policy, owner: %d %v", resp.StatusCode, who(t, oc, f))
			}
			// The member also has a SAML session, in another browser.
			sc := client()
			sess, cookie := f.web.Sessions.New(f.ws, member.ID, "saml")
			if err := f.db.InsertSession(ctx, sess); err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(f.url)
			if err != nil {
				t.Fatal(err)
			}
			sc.Jar.SetCookies(u, []*http.Cookie{{Name: session.CookieName, Value: cookie, Path: "/"}})

			setPolicy(directory.SSORequired)
			if got := who(t, mc, f); got != nil {
				t.Fatalf("required policy: the member's password session still answers %v", got)
			}
			if resp := home(mc); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin/"+f.ws) {
				t.Fatalf("required policy, member's home page: %d %q, want a redirect to sign-in", resp.StatusCode, resp.Header.Get("Location"))
			}
			if got := who(t, oc, f); got["auth_method"] != "password" {
				t.Fatalf("required policy: the owner's password session ended: %v", got)
			}
			if got := who(t, sc, f); got["auth_method"] != "saml" || got["member_id"] != member.ID {
				t.Fatalf("required policy: the member's SAML session: %v", got)
			}
			// The refused session was deleted: optional again does not revive it.
			setPolicy(directory.SSOOptional)
			if got := who(t, mc, f); got != nil {
				t.Fatalf("back to optional: the ended session came back: %v", got)
			}
			// Break-glass: an owner's session under required ends when they
			// are no longer an owner.
			setPolicy(directory.SSORequired)
			bc := client()
			if resp, _ := f.signIn(t, bc, "olga@acme.test", pw); resp.StatusCode != http.StatusSeeOther || who(t, bc, f)["auth_method"] != "break_glass" {
				t.Fatalf("required policy, owner break-glass: %d %v", resp.StatusCode, who(t, bc, f))
			}
			if _, err := f.dir.UpdateMember(ctx, f.ws, owner.ID, directory.UpdateOptions{}, func(m *directory.Member) error {
				m.Assigned = directory.RoleRef{Role: directory.RoleAdmin}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			for _, c := range []*http.Client{bc, oc} {
				if got := who(t, c, f); got != nil {
					t.Fatalf("required policy, owner demoted to admin: a password session still answers %v", got)
				}
			}
		})
	}
}

func TestResetByEmail(t *testing.T) {
	f := setup(t, "sqlite")
	f.member(t, "mia@acme.test", directory.RoleMember)
	c := client()
	resp, b := f.postForm(t, c, "/signin/"+f.ws+"/reset", url.Values{"email": {"MIA@acme.test"}})
	if resp.StatusCode != 200 || !strings.Contains(b, "reset link is on its way") {
		t.Fatalf("reset request: %d %s", resp.StatusCode, b)
	}
	// Unknown accounts get the same answer and no email.
	_, b2 := f.postForm(t, c, "/signin/"+f.ws+"/reset", url.Values{"email": {"ghost@acme.test"}})
	if !strings.Contains(b2, "reset link is on its way") {
		t.Fatalf("unknown account answered differently: %s", b2)
	}
	msgs := f.mail.wait(t, 1)
	if len(msgs) != 1 || msgs[0].to != "mia@acme.test" {
		t.Fatalf("mails: %+v", msgs)
	}
	link := regexp.MustCompile(`http://\S+/reset/\S+`).FindString(msgs[0].data)
	if link == "" {
		t.Fatalf("no link in %q", msgs[0].data)
	}
	if resp := f.setPassword(t, c, link, "short"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("short password: %d", resp.StatusCode)
	}
	if resp := f.setPassword(t, c, link, "a long enough password"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("set via emailed link: %d", resp.StatusCode)
	}
	if resp, _ := f.signIn(t, c, "mia@acme.test", "a long enough password"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in after reset: %d", resp.StatusCode)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(f.mail.messages()); n != 1 {
		t.Fatalf("%d emails sent, want 1 (none for the unknown account)", n)
	}
}

func TestAttemptLimit(t *testing.T) {
	f := setup(t, "sqlite")
	m := f.member(t, "mia@acme.test", directory.RoleMember)
	f.givePassword(t, m, "the right password")
	for i := 0; i < 10; i++ {
		f.signIn(t, client(), "mia@acme.test", "the wrong password")
	}
	if resp, _ := f.signIn(t, client(), "mia@acme.test", "the right password"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after 10 failures: %d, want 429", resp.StatusCode)
	}
}

func TestNoSMTP(t *testing.T) {
	f := setup(t, "sqlite")
	f.web.Mail = nil
	logs := &logtail.Buffer{Max: 1 << 20}
	f.web.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	resp, err := http.Get(f.url + "/signin/" + f.ws + "/reset")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "cannot send email") || !strings.Contains(string(b), "rollcall member reset-link") {
		t.Fatalf("reset page without SMTP does not explain: %s", b)
	}
	// Asking for an email anyway: 503 with the same explanation, and a
	// warning in the log (a configuration state, not an error).
	resp, body := f.postForm(t, client(), "/signin/"+f.ws+"/reset", url.Values{"email": {"mia@acme.test"}})
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "cannot send email") {
		t.Fatalf("reset request without SMTP: %d %s", resp.StatusCode, body)
	}
	out := logs.String()
	if strings.Count(out, "level=WARN") != 1 || !strings.Contains(out, "no SMTP server is configured") || strings.Contains(out, "level=ERROR") {
		t.Fatalf("log of a reset request without SMTP, want one warning and no error:\n%s", out)
	}
}

func TestPasswordHash(t *testing.T) {
	h := web.HashPassword("s3cret-s3cret")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || !web.CheckPassword(h, "s3cret-s3cret") || web.CheckPassword(h, "s3cret-s3creT") {
		t.Fatalf("hash %q does not check out", h)
	}
	for _, bad := range []string{"", "$argon2id$", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=99999999,t=1,p=1$AA$AA"} {
		if web.CheckPassword(bad, "x") {
			t.Errorf("CheckPassword(%q) accepted", bad)
		}
	}
}

// smtpSink is a minimal SMTP server that records what the real net/smtp
// client delivers to it.
type smtpSink struct {
	addr string
	mu   sync.Mutex
	msgs []mail
}

type mail struct{ to, data string }

func newSMTPSink(t *testing.T) *smtpSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &smtpSink{addr: ln.Addr().String()}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(conn)
		}
	}()
	return s
}

func (s *smtpSink) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	say := func(line string) { _, _ = conn.Write([]byte(line + "\r\n")) }
	say("220 sink ESMTP")
	var m mail
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250 sink")
		case strings.HasPrefix(cmd, "MAIL FROM"):
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO"):
			m.to = strings.Trim(strings.TrimSpace(line[len("RCPT TO:"):]), "<>")
			say("250 ok")
		case cmd == "DATA":
			say("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			m.data = b.String()
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func (s *smtpSink) messages() []mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mail(nil), s.msgs...)
}

func (s *smtpSink) wait(t *testing.T, n int) []mail {
	t.Helper()
	for i := 0; i < 200; i++ {
		if m := s.messages(); len(m) >= n {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("waited for %d emails, got %d", n, len(s.messages()))
	return nil
}
