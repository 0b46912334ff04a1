package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"rollcall/internal/credential"
	"rollcall/internal/directory"
	"rollcall/internal/server"
)

// Seeding. Large data (a million members, a group of 100,000, ten thousand
// groups) is written straight into the tables with multi-row INSERTs in
// large transactions: through the SCIM API it would take longer than the
// benchmark. To write rows exactly as the server does, the first member
// and the first group of each workspace are created through the SCIM door
// itself (in-process, on the same database), and every bulk row copies
// what is not per-person from them: role, source, stored attributes,
// version. The per-person columns (names, lower-cased keys, the emails
// JSON and its index rows) are computed here the way internal/store
// computes them, and checked against the SCIM-created row before any bulk
// row is written, so a change in how the server stores members fails the
// seeding instead of skewing the figures.

// scimJSON is the content type IdPs send.
const scimJSON = "application/scim+json"

var givenNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim",
	"Margaret", "John", "Leslie", "Niklaus", "Sophie", "Dennis", "Hedy", "Claude", "Katherine", "Linus",
	"Mary", "Robert", "Shafi", "Whitfield", "Anita", "Butler", "Evelyn", "Fernando", "Joan", "Ivan", "Lynn", "Vint"}

var familyNames = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
	"Perlman", "Lee", "Hamilton", "McCarthy", "Lamport", "Wirth", "Wilson", "Ritchie", "Lamarr", "Shannon",
	"Johnson", "Torvalds", "Keller", "Tarjan", "Goldwasser", "Diffie", "Borg", "Lampson", "Berezin", "Corbato",
	"Clarke", "Sutherland", "Conway", "Cerf"}

// person is the IdP's view of person number i.
type person struct {
	given, family, userName, externalID, password string
}

func personAt(i int) person {
	g := givenNames[i%len(givenNames)]
	f := familyNames[(i/len(givenNames))%len(familyNames)]
	// Okta user IDs are 20 characters starting "00u".
	x := uint64(i)*0x9E3779B97F4A7C15 + 0x2545F4914F6CDD1D
	ext := "00u" + leftPad(strconv.FormatUint(x, 36), 17)
	return person{given: g, family: f, userName: strings.ToLower(g+"."+f) + "." + strconv.Itoa(i) + "@example.com",
		externalID: ext[:20], password: strconv.FormatUint(x>>20, 36)}
}

func leftPad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return strings.Repeat("0", n-len(s)) + s
}

func (p person) displayName() string { return p.given + " " + p.family }

// oktaUser is the body Okta sends to create a user (field order as Okta's).
type oktaUser struct {
	Schemas     []string    `json:"schemas"`
	UserName    string      `json:"userName"`
	Name        oktaName    `json:"name"`
	Emails      []oktaEmail `json:"emails"`
	DisplayName string      `json:"displayName"`
	Locale      string      `json:"locale"`
	ExternalID  string      `json:"externalId"`
	Groups      []struct{}  `json:"groups"`
	Password    string      `json:"password"`
	Active      bool        `json:"active"`
}

type oktaName struct {
	GivenName  string `json:"givenName"`
	FamilyName string `json:"familyName"`
}

type oktaEmail struct {
	Primary bool   `json:"primary"`
	Value   string `json:"value"`
	Type    string `json:"type"`
}

// createBody returns Okta's POST /Users body for p.
func (p person) createBody() []byte {
	b, _ := json.Marshal(oktaUser{ // strings, bools and empty slices always marshal
		Schemas:  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		UserName: p.userName, Name: oktaName{GivenName: p.given, FamilyName: p.family},
		Emails:      []oktaEmail{{Primary: true, Value: p.userName, Type: "work"}},
		DisplayName: p.displayName(), Locale: "en-US", ExternalID: p.externalID,
		Groups: []struct{}{}, Password: p.password, Active: true,
	})
	return b
}

// uuid7 returns a version 7 UUID for the given time, the layout of
// directory.NewID, with random bits from rng.
func uuid7(ms int64, rng *rand.Rand) [16]byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(ms)<<16|rng.Uint64()&0xffff)
	binary.BigEndian.PutUint64(b[8:], rng.Uint64())
	b[6] = 0x70 | b[6]&0x0f
	b[8] = 0x80 | b[8]&0x3f
	return b
}

// workspace is a seeded workspace: member i is personAt(i) with ID ids[i],
// which is also their SCIM id.
type workspace struct {
	id    string
	token string
	ids   [][16]byte
	next  int // the next person number for scim-create
}

func (w *workspace) memberID(i int) string { return directory.FormatUUID(w.ids[i]) }

func (w *workspace) scim(path string) string { return "/scim/v2/" + w.id + path }

// memberRow is a members row, in the column order of memberColumns.
type memberRow struct {
	ID, SCIMID, UserName, UserNameLower, ExternalID, GivenName, FamilyName string
	DisplayName, DisplayNameLower, Emails                                  string
	Active                                                                 bool
	StatusChanged                                                          int64
	Role                                                                   string
	CustomRoleID                                                           sql.NullString
	AssignedRole                                                           string
	AssignedCustomRoleID                                                   sql.NullString
	Source, Attributes                                                     string
	Created, Modified, Version                                             int64
}

var memberColumns = []string{"id", "scim_id", "user_name", "user_name_lower", "external_id", "given_name", "family_name",
	"display_name", "display_name_lower", "emails", "active", "status_changed", "role", "custom_role_id",
	"assigned_role", "assigned_custom_role_id", "source", "attributes", "created", "modified", "version"}

func (r *memberRow) args(ws string, a []any) []any {
	return append(a, ws, r.ID, r.SCIMID, r.UserName, r.UserNameLower, r.ExternalID, r.GivenName, r.FamilyName,
		r.DisplayName, r.DisplayNameLower, r.Emails, r.Active, r.StatusChanged, r.Role, r.CustomRoleID,
		r.AssignedRole, r.AssignedCustomRoleID, r.Source, r.Attributes, r.Created, r.Modified, r.Version)
}

func (r *memberRow) dest() []any {
	return []any{&r.ID, &r.SCIMID, &r.UserName, &r.UserNameLower, &r.ExternalID, &r.GivenName, &r.FamilyName,
		&r.DisplayName, &r.DisplayNameLower, &r.Emails, &r.Active, &r.StatusChanged, &r.Role, &r.CustomRoleID,
		&r.AssignedRole, &r.AssignedCustomRoleID, &r.Source, &r.Attributes, &r.Created, &r.Modified, &r.Version}
}

// emailRow is a member_emails row.
type emailRow struct {
	Position              int
	ValueLower, TypeLower string
	Primary               bool
}

// storedEmail is how internal/store encodes one email in members.emails.
type storedEmail struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty"`
	Primary bool   `json:"primary,omitempty"`
	Display string `json:"display,omitempty"`
}

// memberTemplate makes the rows of seeded members.
type memberTemplate struct {
	from memberRow // the SCIM-created member
}

// row returns the members row of person i with the given ID and time.
func (t *memberTemplate) row(i int, id string, at int64) memberRow {
	p := personAt(i)
	emails, _ := json.Marshal([]storedEmail{{Value: p.userName, Type: "work", Primary: true}}) // plain strings and bools
	r := t.from
	r.ID, r.SCIMID = id, id
	r.UserName, r.UserNameLower, r.ExternalID = p.userName, strings.ToLower(p.userName), p.externalID
	r.GivenName, r.FamilyName = p.given, p.family
	r.DisplayName, r.DisplayNameLower = p.displayName(), strings.ToLower(p.displayName())
	r.Emails = string(emails)
	r.StatusChanged, r.Created, r.Modified = at, at, at
	return r
}

// emails returns the member_emails rows of person i.
func (t *memberTemplate) emails(i int) []emailRow {
	return []emailRow{{Position: 0, ValueLower: strings.ToLower(personAt(i).userName), TypeLower: "work", Primary: true}}
}

// groupRow is a groups row.
type groupRow struct {
	ID, DisplayName, DisplayNameLower, ExternalID, Attributes, Role string
	CustomRoleID                                                    sql.NullString
	MemberCount, Created, Modified, Version                         int64
}

// seeder writes bulk rows through its own connection to the database.
type seeder struct {
	db    *sql.DB
	pg    bool
	setup *server.Server // the project's own services on the same database
	rng   *rand.Rand
	log   func(format string, args ...any)
}

// openSeeder opens a connection pool of its own: bulk transactions need
// the database/sql handle the store does not expose. On SQLite it uses
// bulk-load pragmas (no foreign keys, synchronous off, a large cache), not
// the store's; the server opens the file with its own afterwards.
func openSeeder(ctx context.Context, database string, setup *server.Server, rng *rand.Rand, log func(string, ...any)) (*seeder, error) {
	s := &seeder{pg: server.IsPostgres(database), setup: setup, rng: rng, log: log}
	var err error
	if s.pg {
		s.db, err = sql.Open("pgx", database)
	} else {
		v := url.Values{}
		// Bulk-load settings for this connection only: a page cache of
		// 256 MiB (inserts touch index pages all over a file of hundreds
		// of megabytes; the default cache is 2 MiB), no fsync, and no
		// foreign key checks, which make SQLite keep a statement journal
		// for every statement. The rows are consistent by construction
		// and checked by the scenarios.
		for _, p := range []string{"journal_mode(WAL)", "foreign_keys(0)", "busy_timeout(10000)", "synchronous(OFF)", "cache_size(-262144)"} {
			v.Add("_pragma", p)
		}
		s.db, err = sql.Open("sqlite", "file:"+strings.TrimPrefix(database, "sqlite:")+"?"+v.Encode()+"&_txlock=immediate")
	}
	if err != nil {
		return nil, err
	}
	if !s.pg {
		s.db.SetMaxOpenConns(1)
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

func (s *seeder) close() error { return s.db.Close() }

// q rewrites $n placeholders for SQLite.
func (s *seeder) q(query string) string {
	if s.pg {
		return query
	}
	var b strings.Builder
	for i := 0; i < len(query); i++ {
		if query[i] == '$' {
			b.WriteByte('?')
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

func (s *seeder) count(ctx context.Context, query string, args ...any) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(query), args...).Scan(&n)
	return n, err
}

func (s *seeder) exec(ctx context.Context, query string, args ...any) error {
	_, err := s.db.ExecContext(ctx, s.q(query), args...)
	return err
}

// insertSQL returns a multi-row INSERT of rows rows.
func (s *seeder) insertSQL(table string, cols []string, rows int) string {
	var b strings.Builder
	if s.pg {
		b.WriteString("INSERT INTO ")
	} else {
		// OR FAIL, like foreign_keys(0) above, spares SQLite a statement
		// journal per statement; a failure still aborts the transaction.
		b.WriteString("INSERT OR FAIL INTO ")
	}
	b.WriteString(table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	n := 0
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			n++
			if s.pg {
				b.WriteString("$" + strconv.Itoa(n))
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

// insert writes rows [from, to) of a table inside tx, in multi-row
// statements; row appends the values of row i to args.
func (s *seeder) insert(ctx context.Context, tx *sql.Tx, table string, cols []string, from, to int, row func(i int, args []any) []any) error {
	per := min(500, 30000/len(cols))
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, per*len(cols))
	for a := from; a < to; a += per {
		k := min(per, to-a)
		args = args[:0]
		for i := a; i < a+k; i++ {
			args = row(i, args)
		}
		var err error
		if k == per {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, s.insertSQL(table, cols, per)); err != nil {
					return fmt.Errorf("prepare insert into %s: %w", table, err)
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, s.insertSQL(table, cols, k), args...)
		}
		if err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
	}
	return nil
}

// inTxs runs fn over [0, n) in transactions of at most per rows,
// reporting progress now and then.
func (s *seeder) inTxs(ctx context.Context, n, per int, fn func(tx *sql.Tx, from, to int) error) error {
	start, last := time.Now(), time.Now()
	for a := 0; a < n; a += per {
		if time.Since(last) > 15*time.Second {
			last = time.Now()
			s.log("… %d of %d rows (%.0f rows/s)", a, n, float64(a)/time.Since(start).Seconds())
		}
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := fn(tx, a, min(a+per, n)); err != nil {
			_ = tx.Rollback() // the error from fn is what matters
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
	}
	return nil
}

// txRows is how many rows one seeding transaction writes.
const txRows = 50_000

// benchContext marks setup work in the audit trail.
func benchContext(ctx context.Context) context.Context {
	return directory.WithActor(ctx, directory.Actor{Kind: "cli", Label: "rollcall-bench"})
}

// newWorkspace creates a workspace and a SCIM token for it through the
// directory and credential services.
func (s *seeder) newWorkspace(ctx context.Context, name string) (*workspace, error) {
	ctx = benchContext(ctx)
	w, err := s.setup.Dir.CreateWorkspace(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("create workspace: %w", err)
	}
	_, token, err := s.setup.Creds.Create(ctx, w.ID, credential.KindSCIMToken, "Okta")
	if err != nil {
		return nil, fmt.Errorf("create SCIM token: %w", err)
	}
	return &workspace{id: w.ID, token: token}, nil
}

// recorder is an in-memory http.ResponseWriter for in-process requests.
type recorder struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// scimInProcess sends one SCIM request through the server's own handler,
// in this process, and decodes the JSON answer (nil when it has none).
func (s *seeder) scimInProcess(ctx context.Context, w *workspace, method, path string, body []byte, want int) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, method, w.scim(path), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.RemoteAddr = "127.0.0.1:1"
	req.Header.Set("Authorization", "Bearer "+w.token)
	req.Header.Set("Content-Type", scimJSON)
	rec := &recorder{h: http.Header{}}
	s.setup.Handler().ServeHTTP(rec, req)
	if rec.code != want {
		return nil, fmt.Errorf("%s %s: status %d, want %d: %s", method, path, rec.code, want, clip(rec.body.Bytes(), 2000))
	}
	if rec.body.Len() == 0 {
		return nil, nil // 204
	}
	var doc map[string]any
	if err := json.Unmarshal(rec.body.Bytes(), &doc); err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return doc, nil
}

// scimMember creates person i in w through the SCIM door, in-process,
// and returns the row the server wrote.
func (s *seeder) scimMember(ctx context.Context, w *workspace, i int) (memberRow, error) {
	var r memberRow
	doc, err := s.scimInProcess(ctx, w, http.MethodPost, "/Users", personAt(i).createBody(), http.StatusCreated)
	if err != nil {
		return r, fmt.Errorf("create member %d through SCIM: %w", i, err)
	}
	id, _ := doc["id"].(string)
	if id == "" {
		return r, fmt.Errorf("create member %d through SCIM: the answer has no id", i)
	}
	err = s.db.QueryRowContext(ctx, s.q("SELECT "+strings.Join(memberColumns, ", ")+" FROM members WHERE workspace_id = $1 AND id = $2"),
		w.id, id).Scan(r.dest()...)
	if err != nil {
		return r, fmt.Errorf("read member %s: %w", id, err)
	}
	return r, nil
}

// emailRows returns a member's member_emails rows.
func (s *seeder) emailRows(ctx context.Context, ws, id string) ([]emailRow, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT position, value_lower, type_lower, is_primary FROM member_emails WHERE workspace_id = $1 AND member_id = $2 ORDER BY position"), ws, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []emailRow
	for rows.Next() {
		var e emailRow
		if err := rows.Scan(&e.Position, &e.ValueLower, &e.TypeLower, &e.Primary); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// seedMembers gives w n members: person 0 through the SCIM door, the
// rest by bulk SQL modelled on it.
func (s *seeder) seedMembers(ctx context.Context, w *workspace, n int) error {
	start := time.Now()
	first, err := s.scimMember(ctx, w, 0)
	if err != nil {
		return fmt.Errorf("create the template member: %w", err)
	}
	tmpl := memberTemplate{from: first}
	id := first.ID
	if err := s.checkTemplate(ctx, w, &tmpl); err != nil {
		return err
	}
	w.ids = make([][16]byte, n)
	if err := parseUUID(id, &w.ids[0]); err != nil {
		return err
	}
	// Seeded members were "created" over the last n seconds, one per
	// second, so IDs are time-ordered as the server's are.
	t0 := time.Now().Add(-time.Duration(n) * time.Second)
	for i := 1; i < n; i++ {
		w.ids[i] = uuid7(t0.Add(time.Duration(i)*time.Second).UnixMilli(), s.rng)
	}
	at := func(i int) int64 { return t0.Add(time.Duration(i) * time.Second).UnixMicro() }
	cols := append([]string{"workspace_id"}, memberColumns...)
	ecols := []string{"workspace_id", "member_id", "position", "value_lower", "type_lower", "is_primary"}
	err = s.inTxs(ctx, n-1, txRows, func(tx *sql.Tx, from, to int) error {
		err := s.insert(ctx, tx, "members", cols, from+1, to+1, func(i int, a []any) []any {
			r := tmpl.row(i, w.memberID(i), at(i))
			return r.args(w.id, a)
		})
		if err != nil {
			return err
		}
		return s.insert(ctx, tx, "member_emails", ecols, from+1, to+1, func(i int, a []any) []any {
			e := tmpl.emails(i)[0]
			return append(a, w.id, w.memberID(i), e.Position, e.ValueLower, e.TypeLower, e.Primary)
		})
	})
	if err != nil {
		return fmt.Errorf("seed members: %w", err)
	}
	w.next = n
	if err := s.analyze(ctx, "members", "member_emails"); err != nil {
		return err
	}
	s.log("seeded %d members in workspace %s in %s (1 through SCIM, %d by bulk SQL)", n, w.id, time.Since(start).Round(time.Millisecond), n-1)
	return nil
}

// checkTemplate makes sure the rows computed here for person 0 are the
// rows the server wrote for them, and that the columns copied to every
// bulk row hold nothing personal.
func (s *seeder) checkTemplate(ctx context.Context, w *workspace, t *memberTemplate) error {
	got := t.from
	want := t.row(0, got.ID, got.Created)
	if got.StatusChanged != got.Created || got.Modified != got.Created {
		return fmt.Errorf("seeding: the SCIM-created member has distinct created, modified and status times; teach the seeder")
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("seeding: the server stores a SCIM-created member as\n  %+v\nbut the seeder would write\n  %+v\nupdate memberTemplate.row", got, want)
	}
	p := personAt(0)
	for _, v := range []string{p.given, p.family, p.externalID, p.password, strings.Split(p.userName, "@")[0]} {
		if strings.Contains(t.from.Attributes, v) {
			return fmt.Errorf("seeding: the stored attributes %s hold a per-person value (%q); teach the seeder to write them", t.from.Attributes, v)
		}
	}
	emails, err := s.emailRows(ctx, w.id, got.ID)
	if err != nil {
		return err
	}
	if want := t.emails(0); !reflect.DeepEqual(emails, want) {
		return fmt.Errorf("seeding: the server indexes the member's emails as %+v, the seeder would write %+v", emails, want)
	}
	return nil
}

func parseUUID(s string, out *[16]byte) error {
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		return fmt.Errorf("member id %q is not a UUID", s)
	}
	copy(out[:], b)
	return nil
}

// createGroup creates an empty group through the SCIM door (as Okta's
// Group Push does) and returns its ID.
func (s *seeder) createGroup(ctx context.Context, w *workspace, name string) (string, error) {
	body, _ := json.Marshal(map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name, "members": []any{}}) // plain values
	doc, err := s.scimInProcess(ctx, w, http.MethodPost, "/Groups", body, http.StatusCreated)
	if err != nil {
		return "", fmt.Errorf("create group %q: %w", name, err)
	}
	if id, _ := doc["id"].(string); id != "" {
		return id, nil
	}
	return "", fmt.Errorf("create group %q: the answer has no id", name)
}

// addMembers puts members [0, size) of w into group id, as an IdP's
// pushes would have, and maintains the group's member count.
func (s *seeder) addMembers(ctx context.Context, w *workspace, groupID string, size int) error {
	cols := []string{"workspace_id", "group_id", "member_id", "display"}
	err := s.inTxs(ctx, size, txRows, func(tx *sql.Tx, from, to int) error {
		err := s.insert(ctx, tx, "group_members", cols, from, to, func(i int, a []any) []any {
			return append(a, w.id, groupID, w.memberID(i), personAt(i).userName) // Okta sends the userName as display
		})
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q("UPDATE groups SET member_count = member_count + $1 WHERE workspace_id = $2 AND id = $3"), to-from, w.id, groupID)
		return err
	})
	if err != nil {
		return fmt.Errorf("seed members of group %s: %w", groupID, err)
	}
	return nil
}

// seedGroups gives w n groups of perGroup members each (members taken in
// turn from w's members): the first through the SCIM door, the rest by
// bulk SQL modelled on it.
func (s *seeder) seedGroups(ctx context.Context, w *workspace, n, perGroup int) error {
	start := time.Now()
	name := func(i int) string { return fmt.Sprintf("Team %05d", i) }
	first, err := s.createGroup(ctx, w, name(0))
	if err != nil {
		return err
	}
	var t groupRow
	err = s.db.QueryRowContext(ctx, s.q(`SELECT id, display_name, display_name_lower, external_id, attributes, role,
		custom_role_id, member_count, created, modified, version FROM groups WHERE workspace_id = $1 AND id = $2`), w.id, first).Scan(
		&t.ID, &t.DisplayName, &t.DisplayNameLower, &t.ExternalID, &t.Attributes, &t.Role, &t.CustomRoleID, &t.MemberCount, &t.Created, &t.Modified, &t.Version)
	if err != nil {
		return fmt.Errorf("read the template group: %w", err)
	}
	if t.DisplayName != name(0) || t.DisplayNameLower != strings.ToLower(name(0)) || strings.Contains(t.Attributes, name(0)) || t.MemberCount != 0 {
		return fmt.Errorf("seeding: the server stores a SCIM-created group as %+v; teach the seeder", t)
	}
	ids := make([]string, n)
	ids[0] = first
	t0 := time.Now().Add(-time.Duration(n) * time.Second)
	for i := 1; i < n; i++ {
		ids[i] = directory.FormatUUID(uuid7(t0.Add(time.Duration(i)*time.Second).UnixMilli(), s.rng))
	}
	cols := []string{"workspace_id", "id", "display_name", "display_name_lower", "external_id", "attributes", "role",
		"custom_role_id", "member_count", "created", "modified", "version"}
	err = s.inTxs(ctx, n-1, txRows, func(tx *sql.Tx, from, to int) error {
		return s.insert(ctx, tx, "groups", cols, from+1, to+1, func(i int, a []any) []any {
			at := t0.Add(time.Duration(i) * time.Second).UnixMicro()
			return append(a, w.id, ids[i], name(i), strings.ToLower(name(i)), t.ExternalID, t.Attributes, t.Role,
				t.CustomRoleID, perGroup, at, at, t.Version)
		})
	})
	if err != nil {
		return fmt.Errorf("seed groups: %w", err)
	}
	if err := s.analyze(ctx, "groups"); err != nil {
		return err
	}
	m := len(w.ids)
	gcols := []string{"workspace_id", "group_id", "member_id", "display"}
	err = s.inTxs(ctx, n*perGroup, txRows, func(tx *sql.Tx, from, to int) error {
		return s.insert(ctx, tx, "group_members", gcols, from, to, func(r int, a []any) []any {
			return append(a, w.id, ids[r/perGroup], w.memberID(r%m), personAt(r%m).userName)
		})
	})
	if err != nil {
		return fmt.Errorf("seed group members: %w", err)
	}
	// The first group was created empty through SCIM; its members were
	// just added above.
	if err := s.exec(ctx, "UPDATE groups SET member_count = $1 WHERE workspace_id = $2 AND id = $3", perGroup, w.id, first); err != nil {
		return err
	}
	s.log("seeded %d groups of %d members in workspace %s in %s (1 through SCIM, the rest by bulk SQL)", n, perGroup, w.id, time.Since(start).Round(time.Millisecond))
	return nil
}

// analyze refreshes PostgreSQL's statistics of tables that just grew.
// Besides being what autovacuum would soon do, it makes PostgreSQL replan
// the foreign key checks this connection cached while the tables were
// small: a check planned as a sequential scan of a handful of groups would
// otherwise scan ten thousand for every membership row.
func (s *seeder) analyze(ctx context.Context, tables ...string) error {
	if !s.pg {
		return nil
	}
	if err := s.exec(ctx, "ANALYZE "+strings.Join(tables, ", ")); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

// settle leaves the database as a server would find it after a large
// import: PostgreSQL's statistics current (autovacuum would analyse the
// tables soon anyway, in the middle of a measurement), SQLite's
// write-ahead log checkpointed.
func (s *seeder) settle(ctx context.Context) error {
	start := time.Now()
	if s.pg {
		if err := s.exec(ctx, "VACUUM (ANALYZE) members, member_emails, groups, group_members"); err != nil {
			return fmt.Errorf("vacuum analyze: %w", err)
		}
	} else if err := s.exec(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	s.log("settled the database in %s", time.Since(start).Round(time.Millisecond))
	return nil
}
