package ssp

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Post is an HTML form that the IdP asks the browser to POST, normally to an
// SP's assertion consumer service.
type Post struct {
	// Action is the absolute URL the form posts to.
	Action string
	// Fields are the form's fields: SAMLResponse and, when there is one,
	// RelayState.
	Fields url.Values
}

// SAMLResponse returns the base64 SAMLResponse field.
func (p *Post) SAMLResponse() string { return p.Fields.Get("SAMLResponse") }

// RelayState returns the RelayState field, or "".
func (p *Post) RelayState() string { return p.Fields.Get("RelayState") }

// XML returns the decoded SAMLResponse: the samlp:Response document.
func (p *Post) XML() ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(p.SAMLResponse())
	if err != nil {
		return nil, fmt.Errorf("decode SAMLResponse: %w", err)
	}
	return b, nil
}

// Submit POSTs the form to its action with client, as the browser would.
func (p *Post) Submit(ctx context.Context, client *http.Client) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.Action, strings.NewReader(p.Fields.Encode()))
	if err != nil {
		return nil, fmt.Errorf("post to %s: %w", p.Action, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("post to %s: %w", p.Action, err)
	}
	return resp, nil
}

// ErrLoginRejected is returned by [IdP.Login] when the IdP shows its login
// form again after the credentials were posted (a wrong password).
var ErrLoginRejected = errors.New("ssp: the IdP rejected the username or password")

// Login performs a login the way a browser would, with client and no
// JavaScript. It GETs startURL (an SP login URL that redirects to the IdP,
// an AuthnRequest URL at [IdP.SSOURL], or [IdP.IdPInitiatedURL]), follows
// redirects, posts username and password to the login form when the IdP
// shows one (it does not when client's cookie jar already holds an IdP
// session), and returns the auto-POST form that carries the SAMLResponse.
// It does not submit it: call [Post.Submit], or post the fields elsewhere.
//
// client must have a cookie jar, because the IdP keeps its session in
// cookies; its CheckRedirect is not used. Login fails when the form posts
// anywhere but an ACS Location of an SP given to SetSPMetadata (the IdP
// posts to errorreport.php on its errors), when the IdP shows an error page,
// and with [ErrLoginRejected] for a wrong password. The errors include the
// page text and the tail of the IdP log. Everything is bounded by a
// 60-second timeout.
func (i *IdP) Login(tb testing.TB, client *http.Client, startURL, username, password string) (*Post, error) {
	tb.Helper()
	if client == nil || client.Jar == nil {
		return nil, errors.New("ssp.Login: the client needs a cookie jar (net/http/cookiejar)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), loginTimeout)
	defer cancel()
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	method, target, body := http.MethodGet, startURL, url.Values(nil)
	var trail []string
	posted := false
	for step := 0; step < 20; step++ {
		trail = append(trail, method+" "+short(target))
		page, err := i.fetch(ctx, &c, method, target, body)
		if err != nil {
			return nil, fmt.Errorf("ssp.Login: %w (steps: %s)\n%s", err, strings.Join(trail, " → "), i.logTail())
		}
		if page.location != "" {
			method, target, body = http.MethodGet, page.location, nil
			continue
		}
		forms := parseForms(page.body)
		if f, ok := findForm(forms, "SAMLResponse"); ok {
			action, err := resolve(page.url, f.action)
			if err != nil {
				return nil, fmt.Errorf("ssp.Login: SAMLResponse form action %q: %w", f.action, err)
			}
			if !i.isACS(action) {
				return nil, fmt.Errorf("ssp.Login: the IdP's form posts to %s, which is no ACS in the SP metadata given to SetSPMetadata (steps: %s)\npage: %s\n%s",
					action, strings.Join(trail, " → "), snippet(page.body), i.logTail())
			}
			return &Post{Action: action, Fields: f.values}, nil
		}
		if f, ok := findForm(forms, "password"); ok {
			if posted {
				return nil, fmt.Errorf("%w: user %q (steps: %s)\npage: %s", ErrLoginRejected, username, strings.Join(trail, " → "), snippet(page.body))
			}
			action, err := resolve(page.url, f.action)
			if err != nil {
				return nil, fmt.Errorf("ssp.Login: login form action %q: %w", f.action, err)
			}
			vals := f.values
			vals.Set("username", username)
			vals.Set("password", password)
			method, target, body = http.MethodPost, action, vals
			posted = true
			continue
		}
		return nil, fmt.Errorf("ssp.Login: %s answered %d with neither a login form nor a SAMLResponse form (steps: %s)\npage: %s\n%s",
			page.url, page.status, strings.Join(trail, " → "), snippet(page.body), i.logTail())
	}
	return nil, fmt.Errorf("ssp.Login: more than 20 steps (steps: %s)", strings.Join(trail, " → "))
}

// isACS reports whether action is an ACS Location of a registered SP.
func (i *IdP) isACS(action string) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, acs := range i.spACS {
		if slices.Contains(acs, action) {
			return true
		}
	}
	return false
}

type page struct {
	url      string
	status   int
	location string // absolute redirect target, for 3xx
	body     string
}

func (i *IdP) fetch(ctx context.Context, c *http.Client, method, target string, form url.Values) (page, error) {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(rctx, method, target, rd)
	if err != nil {
		return page{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return page{}, fmt.Errorf("read %s: %w", target, err)
	}
	p := page{url: resp.Request.URL.String(), status: resp.StatusCode, body: string(b)}
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		loc, err := resp.Location()
		if err != nil {
			return page{}, fmt.Errorf("%s %s: redirect %d without a usable Location: %w", method, target, resp.StatusCode, err)
		}
		p.location = loc.String()
	}
	return p, nil
}

// form is a parsed HTML form.
type form struct {
	action string
	values url.Values
	names  []string
}

var (
	formRE  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRE = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	attrRE  = regexp.MustCompile(`(?s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))`)
	tagRE   = regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>|<[^>]*>`)
	spaceRE = regexp.MustCompile(`\s+`)
)

// parseForms finds the forms of a page and their input fields. It is a
// scanner for the simple, machine-made pages of SimpleSAMLphp, not a
// general HTML parser. Checkboxes and buttons are left out.
func parseForms(body string) []form {
	var forms []form
	for _, m := range formRE.FindAllStringSubmatch(body, -1) {
		f := form{action: attrs(m[1])["action"], values: url.Values{}}
		for _, in := range inputRE.FindAllStringSubmatch(m[2], -1) {
			a := attrs(in[1])
			name := a["name"]
			switch strings.ToLower(a["type"]) {
			case "checkbox", "radio", "submit", "button", "image", "reset":
				continue
			}
			if name == "" {
				continue
			}
			f.values.Add(name, a["value"])
			f.names = append(f.names, name)
		}
		forms = append(forms, f)
	}
	return forms
}

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRE.FindAllStringSubmatch(s, -1) {
		name := strings.ToLower(a[1])
		if _, dup := m[name]; dup {
			continue
		}
		m[name] = html.UnescapeString(a[2] + a[3] + a[4])
	}
	return m
}

func findForm(forms []form, field string) (form, bool) {
	for _, f := range forms {
		if slices.Contains(f.names, field) {
			return f, true
		}
	}
	return form{}, false
}

func resolve(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", err
	}
	return b.ResolveReference(r).String(), nil
}

// short shortens a URL for an error message; SAMLRequest values are long.
func short(u string) string {
	if len(u) > 160 {
		return u[:160] + "…"
	}
	return u
}

// snippet returns the visible text of an HTML page, shortened for an error
// message.
func snippet(body string) string {
	t := html.UnescapeString(tagRE.ReplaceAllString(body, " "))
	t = strings.TrimSpace(spaceRE.ReplaceAllString(t, " "))
	if len(t) > 1500 {
		t = t[:1500] + "…"
	}
	return t
}
