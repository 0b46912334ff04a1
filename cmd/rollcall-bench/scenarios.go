package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"rollcall/internal/saml"
	"rollcall/internal/session"
	"rollcall/internal/testenv/samltest"
)

// scenario runs one scenario's rows: one per -c value (and, for
// group-patch, per group size and K) on a server started for it.
func (e *engineRun) scenario(ctx context.Context, name string) ([]row, error) {
	if name == bareInsert {
		return e.bareInsert(ctx)
	}
	srv, err := e.startServer(ctx)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	var rows []row
	for _, c := range e.cfg.conc {
		var rs []row
		var err error
		switch name {
		case scimCreate:
			rs, err = e.scimCreate(ctx, srv, c)
		case scimLookup:
			rs, err = e.scimLookup(ctx, srv, c)
		case scimGet:
			rs, err = e.scimGet(ctx, srv, c)
		case scimPatch:
			rs, err = e.scimPatch(ctx, srv, c)
		case scimPage:
			rs, err = e.scimPage(ctx, srv, c)
		case scimWalk:
			rs, err = e.scimWalk(ctx, srv, c)
		case groupList:
			rs, err = e.groupList(ctx, srv, c)
		case samlACS:
			rs, err = e.samlACS(ctx, srv, c)
		case samlSP:
			rs, err = e.samlSP(ctx, srv, c)
		case groupPatch:
			continue // rows by group size and K, below
		default:
			return rows, fmt.Errorf("unknown scenario %q", name)
		}
		rows = append(rows, rs...)
		if err != nil {
			return rows, err
		}
	}
	if name == groupPatch {
		for _, size := range e.cfg.groupSizes {
			for _, k := range e.cfg.groupK {
				for _, c := range e.cfg.conc {
					r, err := e.groupPatch(ctx, srv, size, k, c)
					if err != nil {
						return rows, err
					}
					rows = append(rows, r)
				}
			}
		}
	}
	return rows, nil
}

// single wraps one row as a row list.
func single(r row, err error) ([]row, error) {
	if err != nil {
		return nil, err
	}
	return []row{r}, nil
}

// human writes a count the way a table reader reads it: 1k, 100k, 1M.
func human(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

// job returns a job that sends r.
func (c *httpClient) job(r *request) job {
	return func(ctx context.Context) error {
		_, _, err := c.do(ctx, r)
		return err
	}
}

// scimQuery escapes a query parameter as Okta does (%20, not +).
func scimQuery(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

func (e *engineRun) usersLabel(name string) string {
	return fmt.Sprintf("%s (%s members)", name, human(e.cfg.members))
}

func (e *engineRun) scimCreate(ctx context.Context, srv *child, c int) ([]row, error) {
	w, n := e.users, e.cfg.n
	cl := newHTTPClient(srv.base, w.token, c)
	defer cl.close()
	jobs := make([]job, n)
	for i := range jobs {
		jobs[i] = cl.job(&request{method: http.MethodPost, path: w.scim("/Users"), body: personAt(w.next + i).createBody(),
			contentType: scimJSON, want: []int{http.StatusCreated}, check: hasString(`"id":`)})
	}
	w.next += n
	r, err := e.measure(ctx, srv, e.usersLabel(scimCreate), c, split(jobs, c))
	if err != nil {
		return nil, err
	}
	// Every create must have made exactly one member.
	got, err := e.seed.count(ctx, "SELECT COUNT(*) FROM members WHERE workspace_id = $1", w.id)
	if err != nil {
		return nil, err
	}
	if got != w.next {
		return nil, fmt.Errorf("the workspace has %d members after the creates, want %d", got, w.next)
	}
	return single(r, nil)
}

func hasString(s string) func(http.Header, []byte) error {
	return func(_ http.Header, body []byte) error {
		if !bytes.Contains(body, []byte(s)) {
			return fmt.Errorf("the answer lacks %s", s)
		}
		return nil
	}
}

func (e *engineRun) scimLookup(ctx context.Context, srv *child, c int) ([]row, error) {
	w, m := e.users, e.cfg.members
	cl := newHTTPClient(srv.base, w.token, c)
	defer cl.close()
	jobs := make([]job, e.cfg.n)
	one := func(_ http.Header, body []byte) error { return wantInt(body, "totalResults", 1) }
	for i := range jobs {
		u := personAt(e.rng.IntN(m)).userName
		// Okta's pre-create check, exactly as it sends it.
		path := w.scim("/Users?filter=" + scimQuery(`userName eq "`+u+`"`) + "&startIndex=1&count=100")
		jobs[i] = cl.job(&request{method: http.MethodGet, path: path, want: []int{http.StatusOK}, check: one})
	}
	return single(e.measure(ctx, srv, e.usersLabel(scimLookup), c, split(jobs, c)))
}

func (e *engineRun) scimGet(ctx context.Context, srv *child, c int) ([]row, error) {
	w, m := e.users, e.cfg.members
	cl := newHTTPClient(srv.base, w.token, c)
	defer cl.close()
	jobs := make([]job, e.cfg.n)
	for i := range jobs {
		id := w.memberID(e.rng.IntN(m))
		jobs[i] = cl.job(&request{method: http.MethodGet, path: w.scim("/Users/" + id), want: []int{http.StatusOK}, check: hasString(id)})
	}
	return single(e.measure(ctx, srv, e.usersLabel(scimGet), c, split(jobs, c)))
}

// patchActive is Okta's deactivation (false) and reactivation (true).
func patchActive(active bool) []byte {
	return []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":` +
		strconv.FormatBool(active) + `}}]}`)
}

func (e *engineRun) scimPatch(ctx context.Context, srv *child, c int) ([]row, error) {
	w, m := e.users, e.cfg.members
	if m < c {
		return nil, fmt.Errorf("scim-patch needs at least as many members as clients")
	}
	cl := newHTTPClient(srv.base, w.token, c)
	defer cl.close()
	off, on := patchActive(false), patchActive(true)
	// Client k deactivates and reactivates members k, k+c, k+2c, …: no
	// two clients ever change one member, so every pair ends active.
	clients := make([][]job, c)
	for p := range (e.cfg.n + 1) / 2 {
		k := p % c
		id := w.memberID(k + c*e.rng.IntN((m-k+c-1)/c))
		path := w.scim("/Users/" + id)
		clients[k] = append(clients[k],
			cl.job(&request{method: http.MethodPatch, path: path, body: off, contentType: scimJSON, want: []int{http.StatusOK, http.StatusNoContent}}),
			cl.job(&request{method: http.MethodPatch, path: path, body: on, contentType: scimJSON, want: []int{http.StatusOK, http.StatusNoContent}}))
	}
	r, err := e.measure(ctx, srv, e.usersLabel(scimPatch), c, clients)
	if err != nil {
		return nil, err
	}
	inactive, err := e.seed.count(ctx, "SELECT COUNT(*) FROM members WHERE workspace_id = $1 AND active = $2", w.id, false)
	if err != nil {
		return nil, err
	}
	if inactive != 0 {
		return nil, fmt.Errorf("%d members are inactive after deactivate/reactivate pairs", inactive)
	}
	return single(r, nil)
}

func (e *engineRun) scimPage(ctx context.Context, srv *child, c int) ([]row, error) {
	w := e.users
	total := w.next // seeded plus created: every one has a SCIM id
	cl := newHTTPClient(srv.base, w.token, c)
	defer cl.close()
	check := fullPage(total)
	jobs := make([]job, e.cfg.n)
	for i := range jobs {
		start := 1 + e.rng.IntN(max(1, total-99))
		jobs[i] = cl.job(&request{method: http.MethodGet, path: w.scim(fmt.Sprintf("/Users?startIndex=%d&count=100", start)),
			want: []int{http.StatusOK}, check: check})
	}
	return single(e.measure(ctx, srv, e.usersLabel(scimPage), c, split(jobs, c)))
}

// fullPage checks a page of 100 Users of a listing of total.
func fullPage(total int) func(http.Header, []byte) error {
	return func(_ http.Header, body []byte) error {
		if err := wantInt(body, "itemsPerPage", 100); err != nil {
			return err
		}
		return wantInt(body, "totalResults", total)
	}
}

// scimWalk reads pages of 100 in sequence, as an IdP's import does: client
// i walks on from its own random startIndex, one page after the other (the
// first page of each walk is a random deep page like scim-page's).
func (e *engineRun) scimWalk(ctx context.Context, srv *child, c int) ([]row, error) {
	w := e.users
	total := w.next
	cl := newHTTPClient(srv.base, w.token, c)
	defer cl.close()
	check := fullPage(total)
	span := max(1, total-99) // the startIndexes of full pages
	starts := make([]int, c)
	for i := range starts {
		starts[i] = e.rng.IntN(span)
	}
	jobs := make([]job, e.cfg.n)
	for j := range jobs {
		// split deals job j to client j%c: its (j/c)-th page. A walk that
		// reaches the end starts over at the beginning.
		start := 1 + (starts[j%c]+100*(j/c))%span
		jobs[j] = cl.job(&request{method: http.MethodGet, path: w.scim(fmt.Sprintf("/Users?startIndex=%d&count=100", start)),
			want: []int{http.StatusOK}, check: check})
	}
	return single(e.measure(ctx, srv, e.usersLabel(scimWalk), c, split(jobs, c)))
}

// membersPatch is a Group PATCH that adds members (as Okta pushes them,
// with their display) or removes them (with a value list, as Entra does).
func membersPatch(op string, w *workspace, from, k int) []byte {
	type ref struct {
		Value   string `json:"value"`
		Display string `json:"display,omitempty"`
	}
	refs := make([]ref, k)
	for i := range refs {
		refs[i].Value = w.memberID(from + i)
		if op == "add" {
			refs[i].Display = personAt(from + i).userName
		}
	}
	b, _ := json.Marshal(map[string]any{ // strings only
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": op, "path": "members", "value": refs}},
	})
	return b
}

func (e *engineRun) groupPatch(ctx context.Context, srv *child, size, k, c int) (row, error) {
	w, gid := e.groups, e.groupIDs[size]
	maxS, maxK := slices.Max(e.cfg.groupSizes), slices.Max(e.cfg.groupK)
	cl := newHTTPClient(srv.base, w.token, c)
	defer cl.close()
	path := w.scim("/Groups/" + gid)
	ok := []int{http.StatusOK, http.StatusNoContent}
	// Client j adds and removes its own K members, none of them in any
	// group, so each pair leaves the group as it was.
	clients := make([][]job, c)
	for j := range c {
		from := maxS + j*maxK
		add := &request{method: http.MethodPatch, path: path, body: membersPatch("add", w, from, k), contentType: scimJSON, want: ok}
		remove := &request{method: http.MethodPatch, path: path, body: membersPatch("remove", w, from, k), contentType: scimJSON, want: ok}
		for p := j; p < (e.cfg.n+1)/2; p += c {
			clients[j] = append(clients[j], cl.job(add), cl.job(remove))
		}
	}
	label := fmt.Sprintf("%s K=%s, group of %s", groupPatch, human(k), human(size))
	r, err := e.measure(ctx, srv, label, c, clients)
	if err != nil {
		return r, err
	}
	g, err := e.setup.Dir.Group(ctx, w.id, gid)
	if err != nil {
		return r, err
	}
	rowsIn, err := e.seed.count(ctx, "SELECT COUNT(*) FROM group_members WHERE workspace_id = $1 AND group_id = $2", w.id, gid)
	if err != nil {
		return r, err
	}
	if g.Members != size || rowsIn != size {
		return r, fmt.Errorf("%s, c=%d: after add/remove pairs group %s has member_count %d and %d member rows, want %d", label, c, gid, g.Members, rowsIn, size)
	}
	return r, nil
}

func (e *engineRun) groupList(ctx context.Context, srv *child, c int) ([]row, error) {
	w, g := e.lists, e.cfg.groups
	cl := newHTTPClient(srv.base, w.token, c)
	defer cl.close()
	check := func(_ http.Header, body []byte) error {
		if bytes.Contains(body, []byte(`"members"`)) {
			return fmt.Errorf("members listed despite excludedAttributes=members")
		}
		if err := wantInt(body, "itemsPerPage", min(100, g)); err != nil {
			return err
		}
		return wantInt(body, "totalResults", g)
	}
	jobs := make([]job, e.cfg.n)
	for i := range jobs {
		start := 1 + e.rng.IntN(max(1, g-99))
		jobs[i] = cl.job(&request{method: http.MethodGet, want: []int{http.StatusOK}, check: check,
			path: w.scim(fmt.Sprintf("/Groups?excludedAttributes=members&startIndex=%d&count=100", start))})
	}
	return single(e.measure(ctx, srv, fmt.Sprintf("%s (%s groups)", groupList, human(g)), c, split(jobs, c)))
}

// configureSAML trusts a new IdP in the SAML workspace, from its metadata,
// with IdP-initiated sign-in allowed (dashboard tiles).
func (e *engineRun) configureSAML(ctx context.Context) error {
	idp, err := samltest.Generate("https://idp.bench.test/"+e.saml.id, nil, time.Time{})
	if err != nil {
		return err
	}
	sp := saml.New(saml.Config{BaseURL: e.setup.BaseURL()}, e.setup.Dir, e.setup.DB, nil, nil, nil)
	yes := true
	if _, err := sp.Configure(benchContext(ctx), e.saml.id, saml.Settings{MetadataXML: idp.Metadata(), AllowIdPInitiated: &yes}); err != nil {
		return fmt.Errorf("configure SAML: %w", err)
	}
	e.idp = idp
	return nil
}

func (e *engineRun) samlACS(ctx context.Context, srv *child, c int) ([]row, error) {
	w, n := e.saml, e.cfg.n
	forms, err := e.mintResponses(srv, n, func(int) string { return "" })
	if err != nil {
		return nil, err
	}
	before, err := e.sessions(ctx)
	if err != nil {
		return nil, err
	}
	cl := newHTTPClient(srv.base, "", c)
	defer cl.close()
	jobs := make([]job, n)
	for i := range jobs {
		jobs[i] = func(ctx context.Context) error { return finishSignIn(ctx, cl, w.id, forms[i], "") }
	}
	r, err := e.measure(ctx, srv, samlACS+" (sign-ins)", c, split(jobs, c))
	if err != nil {
		return nil, err
	}
	return single(r, e.checkSessions(ctx, before, n))
}

// samlSP measures SP-initiated sign-ins in two rows, so that the IdP's
// signing stays out of the timing: n starts (GET /login: the AuthnRequest,
// signed with the SP key, the request record and the browser-binding
// cookie), then, with responses minted for those requests, n completions
// (POST /acs with that browser's cookie, then GET /complete). A whole
// sign-in costs the two rows' times added.
func (e *engineRun) samlSP(ctx context.Context, srv *child, c int) ([]row, error) {
	w, n := e.saml, e.cfg.n
	before, err := e.sessions(ctx)
	if err != nil {
		return nil, err
	}
	cl := newHTTPClient(srv.base, "", c)
	defer cl.close()
	ids, cookies := make([]string, n), make([]string, n)
	start := &request{method: http.MethodGet, path: "/saml/" + w.id + "/login?return_to=/", want: []int{http.StatusFound}}
	jobs := make([]job, n)
	for i := range jobs {
		jobs[i] = func(ctx context.Context) error {
			h, _, err := cl.do(ctx, start)
			if err != nil {
				return err
			}
			if ids[i], err = samltest.ParseRequestID(h.Get("Location")); err != nil {
				return fmt.Errorf("GET /login redirected to %q: %w", h.Get("Location"), err)
			}
			for _, ck := range (&http.Response{Header: h}).Cookies() {
				if ck.Name == saml.NonceCookie(w.id) {
					cookies[i] = ck.Name + "=" + ck.Value
				}
			}
			if cookies[i] == "" {
				return errors.New("GET /login set no browser-binding cookie")
			}
			return nil
		}
	}
	started, err := e.measure(ctx, srv, samlSP+" start (GET /login)", c, split(jobs, c))
	if err != nil {
		return nil, err
	}
	forms, err := e.mintResponses(srv, n, func(i int) string { return ids[i] })
	if err != nil {
		return nil, err
	}
	for i := range jobs {
		jobs[i] = func(ctx context.Context) error { return finishSignIn(ctx, cl, w.id, forms[i], cookies[i]) }
	}
	finished, err := e.measure(ctx, srv, samlSP+" finish (sign-ins)", c, split(jobs, c))
	if err != nil {
		return nil, err
	}
	return []row{started, finished}, e.checkSessions(ctx, before, n)
}

// mintResponses signs n responses of the SAML workspace's IdP, the i-th
// answering request inResponseTo(i) ("" for IdP-initiated), as form
// bodies. Signing is the IdP's work, so it happens before timing.
func (e *engineRun) mintResponses(srv *child, n int, inResponseTo func(int) string) ([][]byte, error) {
	w := e.saml
	// The SP's URLs as the server under test computes them.
	sp := saml.New(saml.Config{BaseURL: srv.base}, nil, nil, nil, nil, nil)
	acs, audience := sp.ACSURL(w.id), sp.EntityID(w.id)
	start := time.Now()
	forms := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for k := range workers {
		wg.Go(func() {
			for i := k; i < n; i += workers {
				raw, err := e.idp.ResponseXML(samltest.Assertion{ACSURL: acs, Audience: audience, InResponseTo: inResponseTo(i),
					NameID: personAt(i % len(w.ids)).userName}) // a distinct random assertion ID each
				errs[i] = err
				forms[i] = []byte("SAMLResponse=" + url.QueryEscape(base64.StdEncoding.EncodeToString(raw)))
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("mint a SAML response: %w", err)
	}
	e.logf("minted %d signed SAML responses in %s", n, time.Since(start).Round(time.Millisecond))
	return forms, nil
}

// finishSignIn posts a response to the ACS as a browser holding cookie
// ("" for none) and follows it to the completion, which must set a
// session cookie.
func finishSignIn(ctx context.Context, cl *httpClient, ws string, form []byte, cookie string) error {
	h, _, err := cl.do(ctx, &request{method: http.MethodPost, path: "/saml/" + ws + "/acs", body: form, cookie: cookie,
		contentType: "application/x-www-form-urlencoded", want: []int{http.StatusSeeOther}, check: toCompletion})
	if err != nil {
		return err
	}
	_, _, err = cl.do(ctx, &request{method: http.MethodGet, path: h.Get("Location"), cookie: cookie,
		want: []int{http.StatusSeeOther}, check: withSession})
	return err
}

func toCompletion(h http.Header, _ []byte) error {
	if !strings.Contains(h.Get("Location"), "/complete?code=") {
		return fmt.Errorf("redirected to %q, not to the completion URL", h.Get("Location"))
	}
	return nil
}

func withSession(h http.Header, _ []byte) error {
	for _, v := range h.Values("Set-Cookie") {
		if strings.HasPrefix(v, session.CookieName+"=") {
			return nil
		}
	}
	return fmt.Errorf("no %s cookie set", session.CookieName)
}

// sessions counts the sessions of the SAML workspace.
func (e *engineRun) sessions(ctx context.Context) (int, error) {
	return e.seed.count(ctx, "SELECT COUNT(*) FROM sessions WHERE workspace_id = $1", e.saml.id)
}

// checkSessions makes sure n sign-ins made n sessions in the SAML
// workspace, which had before.
func (e *engineRun) checkSessions(ctx context.Context, before, n int) error {
	after, err := e.sessions(ctx)
	if err != nil {
		return err
	}
	if after-before != n {
		return fmt.Errorf("%d sign-ins made %d sessions", n, after-before)
	}
	return nil
}

// bareInsert measures the floor under every write: one INSERT of a small
// row and its COMMIT, through the store's own driver and writer pool, in
// this process.
func (e *engineRun) bareInsert(ctx context.Context) ([]row, error) {
	db := e.setup.DB
	if err := db.ExecBenchmarkDDL(ctx, "CREATE TABLE bench_bare_insert (id TEXT PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		return nil, err
	}
	var rows []row
	for _, c := range e.cfg.conc {
		jobs := make([]job, e.cfg.n)
		for i := range jobs {
			id := fmt.Sprintf("c%d-%d", c, i)
			jobs[i] = func(ctx context.Context) error {
				return db.ExecBenchmarkInsert(ctx, "INSERT INTO bench_bare_insert (id, v) VALUES ($1, $2)", id, "value")
			}
		}
		m, err := runLoad(ctx, split(jobs, c))
		if err != nil {
			return rows, err
		}
		r := row{scenario: bareInsert + " (commits)", engine: e.engine, c: c, m: m, rss: -1}
		e.logf("%s", r.line())
		rows = append(rows, r)
	}
	return rows, nil
}

// rsaVerifyRows measures one RSA-2048 PKCS#1 v1.5 signature verification
// of a SHA-256 digest: the cryptographic floor of a SAML sign-in.
func rsaVerifyRows(ctx context.Context, cfg *config, rep *report, logf func(string, ...any)) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	digest := sha256.Sum256([]byte("rollcall-bench"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return err
	}
	for _, c := range cfg.conc {
		jobs := make([]job, cfg.n)
		for i := range jobs {
			jobs[i] = func(context.Context) error { return rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig) }
		}
		m, err := runLoad(ctx, split(jobs, c))
		if err != nil {
			return err
		}
		r := row{scenario: rsaVerify + " (RSA-2048)", engine: "-", c: c, m: m, rss: -1}
		logf("%s", r.line())
		rep.rows = append(rep.rows, r)
	}
	return nil
}
