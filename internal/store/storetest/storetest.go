// Package storetest is the conformance suite every Rollcall store engine
// must pass: the same behaviour on SQLite and on PostgreSQL, proven by the
// same tests. It drives the store through the directory service, so it also
// checks the domain's invariants end to end on each engine.
package storetest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"rollcall/internal/directory"
	"rollcall/internal/saml"
	"rollcall/internal/store"
)

// Opener returns a new, empty, migrated database for one test.
type Opener func(tb testing.TB) *store.DB

// Run runs the whole suite against databases from open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, *store.DB)
	}{
		{"Migrations", testMigrations},
		{"Workspaces", testWorkspaces},
		{"FirstWorkspaceOnce", testFirstWorkspace},
		{"CustomRoles", testCustomRoles},
		{"MemberCRUD", testMemberCRUD},
		{"UserNameCaseInsensitiveUnique", testUserNameUnique},
		{"ConcurrentSameUserName", testConcurrentSameUserName},
		{"LastOwner", testLastOwner},
		{"ConcurrentOwnerDemotion", testConcurrentOwnerDemotion},
		{"DeactivationKeepsDataAndEndsSessions", testDeactivation},
		{"OptimisticConcurrency", testOptimistic},
		{"TenantIsolation", testTenantIsolation},
		{"MemberQueries", testMemberQueries},
		{"IndexedFilters", testIndexedFilters},
		{"HasConnection", testHasConnection},
		{"CompleteLogin", testCompleteLogin},
		{"Pagination", testPagination},
		{"Groups", testGroups},
		{"GroupRoles", testGroupRoles},
		{"ConcurrentGroupPatches", testConcurrentGroupPatches},
		{"DetachAndReprovision", testDetachReprovision},
		{"Audit", testAudit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return directory.WithActor(ctx, directory.Actor{Kind: "cli", Label: "storetest"})
}

func scimCtx(t *testing.T) context.Context {
	return directory.WithActor(ctxFor(t), directory.Actor{Kind: "scim_token", ID: "tok", Label: "okta"})
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := directory.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}

func newWorkspace(t *testing.T, svc *directory.Service) *directory.Workspace {
	t.Helper()
	return must[*directory.Workspace](t)(svc.CreateWorkspace(ctxFor(t), "Acme"))
}

func addMember(t *testing.T, svc *directory.Service, ws, userName string, role directory.Role) *directory.Member {
	t.Helper()
	m := &directory.Member{UserName: userName, Active: true, Source: directory.SourceManual,
		Emails: []directory.Email{{Value: userName, Type: "work", Primary: true}}}
	if role != "" {
		m.Assigned = directory.RoleRef{Role: role}
	}
	return must[*directory.Member](t)(svc.CreateMember(ctxFor(t), ws, m))
}

func testMigrations(t *testing.T, db *store.DB) {
	names, err := db.Migrations(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 || names[0] != "0001_directory.sql" {
		t.Fatalf("migrations = %v", names)
	}
	// Migrating again is a no-op.
	if err := db.Migrate(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	again, _ := db.Migrations(ctxFor(t))
	if !slices.Equal(names, again) {
		t.Fatalf("after second migrate: %v, want %v", again, names)
	}
}

func testWorkspaces(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := ctxFor(t)
	a := newWorkspace(t, svc)
	b := must[*directory.Workspace](t)(svc.CreateWorkspace(ctx, "Globex"))
	if !directory.ValidWorkspaceID(a.ID) || strings.Contains(a.ID, "_") || a.ID == b.ID {
		t.Fatalf("bad workspace ids %q %q", a.ID, b.ID)
	}
	if a.SSOPolicy != directory.SSOOptional {
		t.Fatalf("default policy = %q", a.SSOPolicy)
	}
	list := must[[]*directory.Workspace](t)(db.Workspaces(ctx))
	if len(list) != 2 || list[0].Name != "Acme" || list[1].Name != "Globex" {
		t.Fatalf("list = %+v", list)
	}
	w := must[*directory.Workspace](t)(svc.SetSSOPolicy(ctx, a.ID, directory.SSORequired))
	if got := must[*directory.Workspace](t)(svc.Workspace(ctx, a.ID)); got.SSOPolicy != directory.SSORequired || w.SSOPolicy != directory.SSORequired {
		t.Fatalf("policy not stored: %+v", got)
	}
	_, err := svc.SetSSOPolicy(ctx, a.ID, "sometimes")
	wantCode(t, err, directory.EINVALID)
	_, err = svc.Workspace(ctx, "nope")
	wantCode(t, err, directory.ENOTFOUND)
	_, err = svc.CreateWorkspace(ctx, "  ")
	wantCode(t, err, directory.EINVALID)
}

// testFirstWorkspace: servers starting together on an empty database
// create one first workspace between them. On SQLite write transactions
// are serial anyway; PostgreSQL is where the lock is tested.
func testFirstWorkspace(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := ctxFor(t)
	const n = 8
	// Open the pool's connections first, so that the callers below start
	// their transactions together instead of one per new connection.
	var warm sync.WaitGroup
	for range n {
		warm.Add(1)
		go func() {
			defer warm.Done()
			if _, err := db.Workspaces(ctx); err != nil {
				t.Error(err) // not Fatal: this is not the test's goroutine
			}
		}()
	}
	warm.Wait()
	created := make([]bool, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			w, err := svc.CreateFirstWorkspace(ctx, "My Workspace")
			if err != nil {
				t.Error(err)
			}
			created[i] = w != nil
		}()
	}
	close(start)
	wg.Wait()
	list := must[[]*directory.Workspace](t)(db.Workspaces(ctx))
	if n := len(slices.DeleteFunc(created, func(ok bool) bool { return !ok })); n != 1 || len(list) != 1 {
		t.Fatalf("%d callers created a workspace, %d exist; want 1 and 1", n, len(list))
	}
	if w, err := svc.CreateFirstWorkspace(ctx, "Another"); w != nil || err != nil {
		t.Fatalf("a first workspace again: %v %v", w, err)
	}
}

func testCustomRoles(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := ctxFor(t)
	ws := newWorkspace(t, svc).ID
	r := must[*directory.CustomRole](t)(svc.CreateCustomRole(ctx, ws, "Billing Manager", "", "pays"))
	if r.BaseRole != directory.RoleMember {
		t.Fatalf("default base = %q", r.BaseRole)
	}
	_, err := svc.CreateCustomRole(ctx, ws, "billing MANAGER", directory.RoleGuest, "")
	wantCode(t, err, directory.ECONFLICT)
	_, err = svc.CreateCustomRole(ctx, ws, "Admin", directory.RoleGuest, "")
	wantCode(t, err, directory.EINVALID)
	_, err = svc.CreateCustomRole(ctx, ws, "Boss", directory.RoleOwner, "")
	wantCode(t, err, directory.EINVALID)

	// Renaming keeps the ID; a member mapped by ID keeps the role.
	m := addMember(t, svc, ws, "ann@acme.test", "")
	must[*directory.Member](t)(svc.UpdateMember(ctx, ws, m.ID, directory.UpdateOptions{}, func(m *directory.Member) error {
		m.Assigned = directory.RoleRef{CustomRoleID: r.ID}
		return nil
	}))
	newName := "Finance"
	r2 := must[*directory.CustomRole](t)(svc.UpdateCustomRole(ctx, ws, r.ID, directory.CustomRoleUpdate{Name: &newName}))
	if r2.ID != r.ID || r2.Name != "Finance" {
		t.Fatalf("rename = %+v", r2)
	}
	// A description is bounded on update as on create.
	long := strings.Repeat("d", 2000)
	_, err = svc.UpdateCustomRole(ctx, ws, r.ID, directory.CustomRoleUpdate{Description: &long})
	wantCode(t, err, directory.EINVALID)
	got := must[*directory.Member](t)(svc.Member(ctx, ws, m.ID))
	if got.CustomRoleID != r.ID || got.Role != directory.RoleMember {
		t.Fatalf("member role after rename = %q/%q", got.Role, got.CustomRoleID)
	}
	ref := must[directory.RoleRef](t)(svc.ResolveRole(ctx, ws, "FINANCE"))
	if ref.CustomRoleID != r.ID {
		t.Fatalf("resolve by name = %+v", ref)
	}
	ref = must[directory.RoleRef](t)(svc.ResolveRole(ctx, ws, r.ID))
	if ref.CustomRoleID != r.ID {
		t.Fatalf("resolve by id = %+v", ref)
	}
	_, err = svc.ResolveRole(ctx, ws, "Wizard")
	wantCode(t, err, directory.EINVALID)
	if !strings.Contains(err.Error(), "Finance (id "+r.ID+")") {
		t.Fatalf("unknown role error does not list valid roles: %v", err)
	}

	// Re-basing moves holders' effective role.
	admin := directory.RoleAdmin
	must[*directory.CustomRole](t)(svc.UpdateCustomRole(ctx, ws, r.ID, directory.CustomRoleUpdate{BaseRole: &admin}))
	if got := must[*directory.Member](t)(svc.Member(ctx, ws, m.ID)); got.Role != directory.RoleAdmin || got.CustomRoleID != r.ID {
		t.Fatalf("after re-base: %q/%q", got.Role, got.CustomRoleID)
	}

	// Deleting a held role is refused unless asked to move the holders.
	err = svc.DeleteCustomRole(ctx, ws, r.ID, nil)
	wantCode(t, err, directory.ECONFLICT)
	err = svc.DeleteCustomRole(ctx, ws, r.ID, &directory.RoleRef{Role: directory.RoleGuest})
	if err != nil {
		t.Fatal(err)
	}
	if got := must[*directory.Member](t)(svc.Member(ctx, ws, m.ID)); got.Role != directory.RoleGuest || got.CustomRoleID != "" {
		t.Fatalf("after delete with move: %q/%q", got.Role, got.CustomRoleID)
	}
	if roles := must[[]*directory.CustomRole](t)(svc.CustomRoles(ctx, ws)); len(roles) != 0 {
		t.Fatalf("roles after delete = %+v", roles)
	}
	// An unheld role deletes without ceremony.
	r3 := must[*directory.CustomRole](t)(svc.CreateCustomRole(ctx, ws, "Temp", directory.RoleGuest, ""))
	if err := svc.DeleteCustomRole(ctx, ws, r3.ID, nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, svc.DeleteCustomRole(ctx, ws, r3.ID, nil), directory.ENOTFOUND)
}

func testMemberCRUD(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := ctxFor(t)
	ws := newWorkspace(t, svc).ID
	in := &directory.Member{
		UserName: "Bjørn@Acme.test", ExternalID: "00u1", GivenName: "Bjørn", FamilyName: "Ås",
		DisplayName: "Bjørn Ås", Active: true, Source: directory.SourceSCIM,
		Emails: []directory.Email{
			{Value: "bjorn@acme.test", Type: "work", Primary: true},
			{Value: "b@home.test", Type: "home"},
		},
		Attributes: json.RawMessage(`{"title":"Engineer"}`),
	}
	m := must[*directory.Member](t)(svc.CreateMember(ctx, ws, in))
	if m.ID == "" || m.SCIMID != m.ID || m.Version != 1 || m.Role != directory.RoleMember {
		t.Fatalf("created = %+v", m)
	}
	got := must[*directory.Member](t)(db.Member(ctx, ws, m.ID))
	if got.UserName != in.UserName || got.PrimaryEmail() != "bjorn@acme.test" || len(got.Emails) != 2 ||
		string(got.Attributes) != `{"title":"Engineer"}` || !got.Active || got.Source != directory.SourceSCIM {
		t.Fatalf("read back = %+v", got)
	}
	if !got.Created.Equal(m.Created) || got.Created.IsZero() {
		t.Fatalf("created time %v vs %v", got.Created, m.Created)
	}
	byName := must[*directory.Member](t)(db.MemberByUserName(ctx, ws, "bjørn@acme.TEST"))
	if byName.ID != m.ID {
		t.Fatal("lookup by userName without regard to case failed")
	}
	upd := must[*directory.Member](t)(svc.UpdateMember(ctx, ws, m.ID, directory.UpdateOptions{}, func(m *directory.Member) error {
		m.DisplayName = "B. Ås"
		m.Emails = []directory.Email{{Value: "new@acme.test", Primary: true}, {Value: "second@acme.test", Primary: true}}
		return nil
	}))
	if upd.Version != 2 || upd.DisplayName != "B. Ås" {
		t.Fatalf("updated = %+v", upd)
	}
	// Only one primary email survives, the last one asked for.
	if upd.Emails[0].Primary || !upd.Emails[1].Primary {
		t.Fatalf("primary not unique: %+v", upd.Emails)
	}
	// A no-op update does not bump the version.
	same := must[*directory.Member](t)(svc.UpdateMember(ctx, ws, m.ID, directory.UpdateOptions{}, func(*directory.Member) error { return nil }))
	if same.Version != 2 {
		t.Fatalf("no-op bumped version to %d", same.Version)
	}
	_, err := svc.UpdateMember(ctx, ws, "missing", directory.UpdateOptions{}, func(*directory.Member) error { return nil })
	wantCode(t, err, directory.ENOTFOUND)
	_, err = svc.CreateMember(ctx, ws, &directory.Member{UserName: "", Active: true})
	wantCode(t, err, directory.EINVALID)
	_, err = svc.CreateMember(ctx, ws, &directory.Member{UserName: "a\x00b", Active: true})
	wantCode(t, err, directory.EINVALID)
	_, err = svc.CreateMember(ctx, "no-such-ws", &directory.Member{UserName: "x", Active: true})
	wantCode(t, err, directory.ENOTFOUND)
	// The IdP may not create owners.
	_, err = svc.CreateMember(scimCtx(t), ws, &directory.Member{UserName: "boss", Active: true, Assigned: directory.RoleRef{Role: directory.RoleOwner}})
	wantCode(t, err, directory.EINVALID)
}

func testUserNameUnique(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := ctxFor(t)
	ws := newWorkspace(t, svc).ID
	addMember(t, svc, ws, "Alice@Acme.test", "")
	_, err := svc.CreateMember(ctx, ws, &directory.Member{UserName: "alice@acme.TEST", Active: true})
	wantCode(t, err, directory.ECONFLICT)
	b := addMember(t, svc, ws, "bob@acme.test", "")
	_, err = svc.UpdateMember(ctx, ws, b.ID, directory.UpdateOptions{}, func(m *directory.Member) error {
		m.UserName = "ALICE@acme.test"
		return nil
	})
	wantCode(t, err, directory.ECONFLICT)
	// The same userName in another workspace is fine.
	other := newWorkspace(t, svc).ID
	addMember(t, svc, other, "alice@acme.test", "")
}

func testConcurrentSameUserName(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := ctxFor(t)
	ws := newWorkspace(t, svc).ID
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Different case each time: the database must still see one name.
			name := "Dup@Acme.Test"
			if i%2 == 1 {
				name = strings.ToLower(name)
			} else if i%3 == 0 {
				name = strings.ToUpper(name)
			}
			_, errs[i] = svc.CreateMember(ctx, ws, &directory.Member{UserName: name, Active: true})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch directory.ErrorCode(err) {
		case "":
			ok++
		case directory.ECONFLICT:
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d creates succeeded, want exactly 1", ok)
	}
	page := must[directory.Page[*directory.Member]](t)(db.Members(ctx, ws, directory.MemberQuery{Limit: 10}))
	if page.Total != 1 {
		t.Fatalf("%d members stored, want 1", page.Total)
	}
}

func testLastOwner(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := ctxFor(t)
	ws := newWorkspace(t, svc).ID
	owner := addMember(t, svc, ws, "owner@acme.test", directory.RoleOwner)
	if owner.Role != directory.RoleOwner {
		t.Fatalf("role = %q", owner.Role)
	}
	_, err := svc.UpdateMember(ctx, ws, owner.ID, directory.UpdateOptions{}, func(m *directory.Member) error {
		m.Active = false
		return nil
	})
	wantCode(t, err, directory.ECONFLICT)
	_, err = svc.UpdateMember(ctx, ws, owner.ID, directory.UpdateOptions{}, func(m *directory.Member) error {
		m.Assigned = directory.RoleRef{Role: directory.RoleAdmin}
		return nil
	})
	wantCode(t, err, directory.ECONFLICT)
	_, err = svc.DetachSCIM(ctx, ws, owner.SCIMID, nil)
	wantCode(t, err, directory.ECONFLICT)

	// The IdP cannot change an owner's role: the change is dropped.
	sctx := scimCtx(t)
	m := must[*directory.Member](t)(svc.UpdateMember(sctx, ws, owner.ID, directory.UpdateOptions{}, func(m *directory.Member) error {
		m.Assigned = directory.RoleRef{Role: directory.RoleGuest}
		m.DisplayName = "The Owner"
		return nil
	}))
	if m.Role != directory.RoleOwner || m.DisplayName != "The Owner" {
		t.Fatalf("after IdP update: role %q name %q", m.Role, m.DisplayName)
	}
	// With a second owner, the first can step down.
	addMember(t, svc, ws, "owner2@acme.test", directory.RoleOwner)
	m = must[*directory.Member](t)(svc.UpdateMember(ctx, ws, owner.ID, directory.UpdateOptions{}, func(m *directory.Member) error {
		m.Assigned = directory.RoleRef{Role: directory.RoleAdmin}
		return nil
	}))
	if m.Role != directory.RoleAdmin {
		t.Fatalf("role = %q", m.Role)
	}
}

func testConcurrentOwnerDemotion(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := ctxFor(t)
	ws := newWorkspace(t, svc).ID
	a := addMember(t, svc, ws, "a@acme.test", directory.RoleOwner)
	b := addMember(t, svc, ws, "b@acme.test", directory.RoleOwner)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, id := range []string{a.ID, b.ID} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = svc.UpdateMember(ctx, ws, id, directory.UpdateOptions{}, func(m *directory.Member) error {
				m.Active = false
				return nil
			})
		}()
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			wantCode(t, err, directory.ECONFLICT)
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d of 2 concurrent owner deactivations failed, want exactly 1 (errors %v)", failed, errs)
	}
	owners := 0
	active := true
	page := must[directory.Page[*directory.Member]](t)(db.Members(ctx, ws, directory.MemberQuery{Active: &active, Limit: 10}))
	for _, m := range page.Items {
		if m.Role == directory.RoleOwner {
			owners++
		}
	}
	if owners != 1 {
		t.Fatalf("%d active owners left, want 1", owners)
	}
}

func testDeactivation(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := ctxFor(t)
	ws := newWorkspace(t, svc).ID
	addMember(t, svc, ws, "owner@acme.test", directory.RoleOwner)
	m := addMember(t, svc, ws, "carol@acme.test", directory.RoleAdmin)
	g := must[*directory.Group](t)(svc.CreateGroup(ctx, ws, &directory.Group{DisplayName: "Eng"}, directory.Refs(m.SCIMID)))
	now := time.Now()
	sess := &store.Session{ID: directory.NewID(), WorkspaceID: ws, MemberID: m.ID, SecretHash: []byte("h"), AuthMethod: "saml",
		Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	if err := db.InsertSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Session(ctx, sess.ID); err != nil {
		t.Fatalf("fresh session: %v", err)
	}
	sctx := scimCtx(t)
	off := must[*directory.Member](t)(svc.UpdateMember(sctx, ws, m.ID, directory.UpdateOptions{}, func(m *directory.Member) error {
		m.Active = false
		return nil
	}))
	if off.Active || off.StatusChanged.Before(m.StatusChanged) {
		t.Fatalf("after deactivation: %+v", off)
	}
	if _, err := db.Session(ctx, sess.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session survived deactivation: %v", err)
	}
	// Everything is kept: the member, their role, their groups.
	got := must[*directory.Member](t)(db.Member(ctx, ws, m.ID))
	if got.Active || got.Role != directory.RoleAdmin || got.UserName != "carol@acme.test" || got.SCIMID == "" {
		t.Fatalf("kept = %+v", got)
	}
	groups := must[map[string][]directory.GroupRef](t)(db.MemberGroups(ctx, ws, m.ID))
	if len(groups[m.ID]) != 1 || groups[m.ID][0].ID != g.ID {
		t.Fatalf("groups after deactivation = %+v", groups)
	}
	// A sign-in completing while the deactivation commits can still write
	// its session after the revocation. Such a session is refused while the
	// member is inactive (web checks Active on every use), and reactivation
	// ends it, so it never comes back to life.
	late := &store.Session{ID: directory.NewID(), WorkspaceID: ws, MemberID: m.ID, SecretHash: []byte("h"), AuthMethod: "saml",
		Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	if err := db.InsertSession(ctx, late); err != nil {
		t.Fatal(err)
	}
	on := must[*directory.Member](t)(svc.UpdateMember(sctx, ws, m.ID, directory.UpdateOptions{}, func(m *directory.Member) error {
		m.Active = true
		return nil
	}))
	if !on.Active || on.Role != directory.RoleAdmin {
		t.Fatalf("after reactivation: %+v", on)
	}
	if _, err := db.Session(ctx, late.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a session written while the member was inactive survived reactivation: %v", err)
	}
}

func testOptimistic(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := ctxFor(t)
	ws := newWorkspace(t, svc).ID
	m := addMember(t, svc, ws, "dan@acme.test", "")
	_, err := svc.UpdateMember(ctx, ws, m.ID, directory.UpdateOptions{IfMatch: directory.Versions{m.Version + 1}}, func(m *directory.Member) error {
		m.DisplayName = "x"
		return nil
	})
	wantCode(t, err, directory.EPRECONDITION)
	must[*directory.Member](t)(svc.UpdateMember(ctx, ws, m.ID, directory.UpdateOptions{IfMatch: directory.Versions{m.Version}}, func(m *directory.Member) error {
		m.DisplayName = "x"
		return nil
	}))
}

func testTenantIsolation(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := ctxFor(t)
	a := newWorkspace(t, svc).ID
	b := newWorkspace(t, svc).ID
	m := addMember(t, svc, a, "eve@acme.test", "")
	g := must[*directory.Group](t)(svc.CreateGroup(ctx, a, &directory.Group{DisplayName: "Eng"}, directory.Refs(m.SCIMID)))
	role := must[*directory.CustomRole](t)(svc.CreateCustomRole(ctx, a, "Auditor", "", ""))
	if _, err := db.Member(ctx, b, m.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("member visible from other workspace by id: %v", err)
	}
	if _, err := db.MemberBySCIMID(ctx, b, m.SCIMID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("member visible from other workspace by SCIM id: %v", err)
	}
	if _, err := db.MemberByUserName(ctx, b, m.UserName); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("member visible from other workspace by userName: %v", err)
	}
	if p := must[directory.Page[*directory.Member]](t)(db.Members(ctx, b, directory.MemberQuery{Limit: 10})); p.Total != 0 {
		t.Errorf("other workspace lists %d members", p.Total)
	}
	if _, err := db.Group(ctx, b, g.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("group visible from other workspace: %v", err)
	}
	if _, err := db.CustomRole(ctx, b, role.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("role visible from other workspace: %v", err)
	}
	_, err := svc.UpdateMember(ctx, b, m.ID, directory.UpdateOptions{}, func(m *directory.Member) error { return nil })
	wantCode(t, err, directory.ENOTFOUND)
	// Group membership by another workspace's user id is refused.
	gb := must[*directory.Group](t)(svc.CreateGroup(ctx, b, &directory.Group{DisplayName: "Eng"}, nil))
	_, err = svc.UpdateGroup(ctx, b, gb.ID, nil, nil, &directory.MembershipChange{Add: directory.Refs(m.SCIMID)})
	wantCode(t, err, directory.EINVALID)
	// A custom role of workspace A cannot be assigned in B.
	mb := addMember(t, svc, b, "eve@acme.test", "")
	_, err = svc.UpdateMember(ctx, b, mb.ID, directory.UpdateOptions{}, func(m *directory.Member) error {
		m.Assigned = directory.RoleRef{CustomRoleID: role.ID}
		return nil
	})
	wantCode(t, err, directory.EINVALID)
}

func testMemberQueries(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := ctxFor(t)
	ws := newWorkspace(t, svc).ID
	mk := func(user, ext, email, typ string, active bool) *directory.Member {
		return must[*directory.Member](t)(svc.CreateMember(ctx, ws, &directory.Member{
			UserName: user, ExternalID: ext, Active: active,
			Emails: []directory.Email{{Value: email, Type: typ, Primary: true}},
		}))
	}
	a := mk("Alice@Example.com", "ExtA", "alice@example.com", "work", true)
	time.Sleep(2 * time.Millisecond)
	b := mk("bob@example.org", "extB", "BOB@Example.org", "home", false)
	time.Sleep(2 * time.Millisecond)
	c := mk("carol@example.com", "", "carol@work.example.com", "work", true)
	ids := func(c directory.Cond) []string {
		t.Helper()
		p, err := db.Members(ctx, ws, directory.MemberQuery{Where: c, Limit: 100})
		if err != nil {
			t.Fatalf("query %#v: %v", c, err)
		}
		var out []string
		for _, m := range p.Items {
			out = append(out, m.UserName)
		}
		if p.Total != len(out) {
			t.Fatalf("total %d vs %d items", p.Total, len(out))
		}
		return out
	}
	cmp := func(f directory.Field, op directory.Op, v any) directory.Compare {
		return directory.Compare{Field: f, Op: op, Value: v}
	}
	tests := []struct {
		name string
		cond directory.Cond
		want []string
	}{
		{"userName eq without regard to case", cmp(directory.FieldUserName, directory.OpEq, "ALICE@example.COM"), []string{a.UserName}},
		{"userName sw", cmp(directory.FieldUserName, directory.OpSw, "B"), []string{b.UserName}},
		{"userName ew", cmp(directory.FieldUserName, directory.OpEw, ".COM"), []string{a.UserName, c.UserName}},
		{"userName co", cmp(directory.FieldUserName, directory.OpCo, "@example."), []string{a.UserName, b.UserName, c.UserName}},
		{"userName gt", cmp(directory.FieldUserName, directory.OpGt, "b"), []string{b.UserName, c.UserName}},
		{"externalId is case exact", cmp(directory.FieldExternalID, directory.OpEq, "exta"), nil},
		{"externalId eq", cmp(directory.FieldExternalID, directory.OpEq, "ExtA"), []string{a.UserName}},
		{"externalId pr", cmp(directory.FieldExternalID, directory.OpPr, nil), []string{a.UserName, b.UserName}},
		{"externalId ne", cmp(directory.FieldExternalID, directory.OpNe, "ExtA"), []string{b.UserName, c.UserName}},
		{"externalId co exact", cmp(directory.FieldExternalID, directory.OpCo, "xtB"), []string{b.UserName}},
		{"externalId co case", cmp(directory.FieldExternalID, directory.OpCo, "XTB"), nil},
		{"active eq false", cmp(directory.FieldActive, directory.OpEq, false), []string{b.UserName}},
		{"active ne false", cmp(directory.FieldActive, directory.OpNe, false), []string{a.UserName, c.UserName}},
		{"id eq", cmp(directory.FieldSCIMID, directory.OpEq, c.SCIMID), []string{c.UserName}},
		{"created gt", cmp(directory.FieldCreated, directory.OpGt, a.Created), []string{b.UserName, c.UserName}},
		{"created ge", cmp(directory.FieldCreated, directory.OpGe, a.Created), []string{a.UserName, b.UserName, c.UserName}},
		{"created lt", cmp(directory.FieldCreated, directory.OpLt, b.Created), []string{a.UserName}},
		{"created eq", cmp(directory.FieldCreated, directory.OpEq, b.Created), []string{b.UserName}},
		{"created gt sub-microsecond", cmp(directory.FieldCreated, directory.OpGt, b.Created.Add(-time.Nanosecond)), []string{b.UserName, c.UserName}},
		{"email value", directory.EmailMatch{Cond: cmp(directory.FieldEmailValue, directory.OpEq, "bob@example.ORG")}, []string{b.UserName}},
		{"email type and value in one email", directory.EmailMatch{Cond: directory.And{
			cmp(directory.FieldEmailType, directory.OpEq, "work"),
			cmp(directory.FieldEmailValue, directory.OpCo, "@work."),
		}}, []string{c.UserName}},
		{"and", directory.And{cmp(directory.FieldActive, directory.OpEq, true), cmp(directory.FieldUserName, directory.OpEw, ".com")}, []string{a.UserName, c.UserName}},
		{"or", directory.Or{cmp(directory.FieldUserName, directory.OpSw, "a"), cmp(directory.FieldUserName, directory.OpSw, "c")}, []string{a.UserName, c.UserName}},
		{"not", directory.Not{X: cmp(directory.FieldUserName, directory.OpSw, "a")}, []string{b.UserName, c.UserName}},
		{"empty or", directory.Or{}, nil},
		{"all", directory.All{}, []string{a.UserName, b.UserName, c.UserName}},
	}
	for _, tc := range tests {
		if got := ids(tc.cond); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	// Sorting.
	p := must[directory.Page[*directory.Member]](t)(db.Members(ctx, ws, directory.MemberQuery{Order: directory.OrderUserName, Descending: true, Limit: 10}))
	if len(p.Items) != 3 || p.Items[0].ID != c.ID || p.Items[2].ID != a.ID {
		t.Errorf("sort by userName desc: %v", p.Items)
	}
	// Count only.
	p = must[directory.Page[*directory.Member]](t)(db.Members(ctx, ws, directory.MemberQuery{}))
	if p.Total != 3 || len(p.Items) != 0 {
		t.Errorf("count only: %+v", p)
	}
	// Scan.
	var scanned []string
	if err := db.ScanMembers(ctx, ws, directory.MemberQuery{Order: directory.OrderCreated}, func(m *directory.Member) error {
		scanned = append(scanned, m.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(scanned, []string{a.ID, b.ID, c.ID}) {
		t.Errorf("scan = %v", scanned)
	}
}

// testIndexedFilters checks that each filter the SCIM issue calls indexed
// (id, userName, externalId, emails, active, meta.created,
// meta.lastModified) is answered through its own index, not by scanning
// the workspace.
func testIndexedFilters(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := ctxFor(t)
	ws := newWorkspace(t, svc).ID
	// Enough members, and table statistics, that the planner tells one
	// index from another by selectivity; the values asked for are rare.
	for i := range 200 {
		must[*directory.Member](t)(svc.CreateMember(ctx, ws, &directory.Member{UserName: fmt.Sprintf("m%d@example.com", i), ExternalID: fmt.Sprint("00u", i),
			Active: true, Emails: []directory.Email{{Value: fmt.Sprintf("m%d@example.com", i), Type: "work", Primary: true}}}))
	}
	if err := db.ExecBenchmarkDDL(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	cmp := func(f directory.Field, op directory.Op, v any) directory.Cond {
		return directory.Compare{Field: f, Op: op, Value: v}
	}
	for _, tc := range []struct {
		name  string
		where directory.Cond
		index string
	}{
		{"id eq", cmp(directory.FieldSCIMID, directory.OpEq, "x"), "members_scim_id"},
		{"userName eq", cmp(directory.FieldUserName, directory.OpEq, "m7@example.com"), "members_user_name"},
		{"externalId eq", cmp(directory.FieldExternalID, directory.OpEq, "00u1"), "members_external_id"},
		{"emails.value eq", directory.EmailMatch{Cond: cmp(directory.FieldEmailValue, directory.OpEq, "a@example.com")}, "member_emails_value"},
		{"active eq false", cmp(directory.FieldActive, directory.OpEq, false), "members_inactive"},
		{"meta.created gt", cmp(directory.FieldCreated, directory.OpGt, at), "members_created"},
		{"meta.lastModified ge", cmp(directory.FieldModified, directory.OpGe, at), "members_modified"},
		{"meta.lastModified lt", cmp(directory.FieldModified, directory.OpLt, at.Add(-time.Hour)), "members_modified"},
	} {
		plan, err := db.MemberIndexPlan(ctx, ws, directory.MemberQuery{Where: tc.where})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !usesIndex(plan, tc.index) {
			t.Errorf("%s: no index answers it on %s:\n%s", tc.name, db.Engine(), plan)
		}
	}
}

// testHasConnection: the sign-in page's question, whether a workspace has
// an IdP configured, per workspace.
func testHasConnection(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := ctxFor(t)
	a, b := newWorkspace(t, svc).ID, newWorkspace(t, svc).ID
	if ok, err := db.HasConnection(ctx, a); err != nil || ok {
		t.Fatalf("before configuring: %v %v", ok, err)
	}
	now := time.Now()
	if err := db.SaveConnection(ctx, &saml.Connection{WorkspaceID: a, IdPEntityID: "https://idp.example.com", IdPSSOURL: "https://idp.example.com/sso",
		Created: now, Modified: now}); err != nil {
		t.Fatal(err)
	}
	for ws, want := range map[string]bool{a: true, b: false, "nope": false} {
		if ok, err := db.HasConnection(ctx, ws); err != nil || ok != want {
			t.Errorf("HasConnection(%s) = %v, %v; want %v", ws, ok, err, want)
		}
	}
}

// testCompleteLogin: a pending login becomes a session exactly when
// saml.Completion.Refusal accepts it and its member is active, at the
// microsecond boundaries of its expiry and of the IdP's session, with and
// without a browser binding; PostgreSQL checks it in SQL, so this is where
// the SQL and Refusal are held to one answer. A login is used up either way.
func testCompleteLogin(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := ctxFor(t)
	ws := newWorkspace(t, svc).ID
	active := addMember(t, svc, ws, "active@example.com", directory.RoleMember)
	inactive := addMember(t, svc, ws, "inactive@example.com", directory.RoleMember)
	if _, err := svc.UpdateMember(ctx, ws, inactive.ID, directory.UpdateOptions{}, func(m *directory.Member) error {
		m.Active = false
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Truncate(time.Second).Add(time.Hour) // whole microseconds, as stored
	limit := base.Add(7 * 24 * time.Hour)                   // the server's own session limit
	bound, other := []byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210")
	n := 0
	// pending stores a login for member expiring at base, capped by the
	// IdP at snooa (zero: no cap), bound to browser (nil: IdP-initiated).
	pending := func(member string, snooa time.Time, browser []byte) []byte {
		t.Helper()
		n++
		id := fmt.Sprintf("id-%d", n)
		if browser != nil {
			if err := db.InsertRequest(ctx, &saml.PendingRequest{ID: id, WorkspaceID: ws, BrowserHash: browser, Expires: base}); err != nil {
				t.Fatal(err)
			}
		} else {
			id = ""
		}
		code := []byte(fmt.Sprintf("code-%02d-0123456789abcdef012345", n))
		login := &saml.PendingLogin{CodeHash: code, WorkspaceID: ws, MemberID: member, Expires: base, SessionNotOnOrAfter: snooa}
		if _, err := db.ConsumeResponse(ctx, ws, id, fmt.Sprintf("assertion-%d", n), base, base.Add(-time.Hour), login, "", nil); err != nil {
			t.Fatal(err)
		}
		return code
	}
	for _, tc := range []struct {
		name         string
		member       string
		snooa        time.Time
		bound        []byte // the login's browser binding
		workspace    string // the completion URL's ("": the login's)
		now          time.Time
		browser      []byte // the completing browser's
		wantRefused  string
		wantCreated  bool
		wantSessionE time.Time
	}{
		{name: "a microsecond before expiry", member: active.ID, now: base.Add(-time.Microsecond), wantCreated: true, wantSessionE: limit},
		{name: "a nanosecond before expiry", member: active.ID, now: base.Add(-time.Nanosecond), wantCreated: true, wantSessionE: limit},
		{name: "at expiry", member: active.ID, now: base, wantRefused: "expired"},
		{name: "after expiry", member: active.ID, now: base.Add(time.Minute), wantRefused: "expired"},
		{name: "another workspace's URL", member: active.ID, workspace: "elsewhere", now: base.Add(-time.Minute), wantRefused: "expired"},
		{name: "the IdP's session caps ours", member: active.ID, snooa: base.Add(-time.Second), now: base.Add(-time.Minute), wantCreated: true, wantSessionE: base.Add(-time.Second)},
		{name: "the IdP's session just ended", member: active.ID, snooa: base.Add(-time.Second), now: base.Add(-time.Second), wantRefused: "expired"},
		{name: "the IdP's cap is later than ours", member: active.ID, snooa: limit.Add(time.Hour), now: base.Add(-time.Minute), wantCreated: true, wantSessionE: limit},
		{name: "the binding browser", member: active.ID, bound: bound, browser: bound, now: base.Add(-time.Minute), wantCreated: true, wantSessionE: limit},
		{name: "another browser", member: active.ID, bound: bound, browser: other, now: base.Add(-time.Minute), wantRefused: "browser"},
		{name: "a browser without the cookie", member: active.ID, bound: bound, now: base.Add(-time.Minute), wantRefused: "browser"},
		{name: "an IdP-initiated login in any browser", member: active.ID, browser: other, now: base.Add(-time.Minute), wantCreated: true, wantSessionE: limit},
		{name: "an inactive member", member: inactive.ID, now: base.Add(-time.Minute)},
	} {
		code := pending(tc.member, tc.snooa, tc.bound)
		c := &saml.Completion{Workspace: cmp.Or(tc.workspace, ws), Now: tc.now, BrowserHash: tc.browser}
		s := &store.Session{ID: fmt.Sprintf("session-%d", n), SecretHash: []byte("secret"), AuthMethod: "saml", Created: base, LastSeen: base, Expires: limit}
		l, refused, created, err := db.CompleteLogin(ctx, code, c, s)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if refused != tc.wantRefused || created != tc.wantCreated || refused != c.Refusal(l) {
			t.Errorf("%s: refused %q, created %v; want %q, %v (Refusal says %q)", tc.name, refused, created, tc.wantRefused, tc.wantCreated, c.Refusal(l))
		}
		stored, err := db.Session(ctx, s.ID)
		switch {
		case tc.wantCreated && err != nil:
			t.Errorf("%s: no session stored: %v", tc.name, err)
		case tc.wantCreated && (!stored.Expires.Equal(tc.wantSessionE) || !s.Expires.Equal(tc.wantSessionE) || stored.MemberID != tc.member):
			t.Errorf("%s: session of %s expires %v (the caller's copy %v); want %s, %v", tc.name, stored.MemberID, stored.Expires, s.Expires, tc.member, tc.wantSessionE)
		case !tc.wantCreated && !errors.Is(err, directory.ErrNotFound):
			t.Errorf("%s: a session was stored (%v)", tc.name, err)
		}
		if _, _, _, err := db.CompleteLogin(ctx, code, c, &store.Session{ID: s.ID + "-again", Expires: limit}); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("%s: the code was not used up: %v", tc.name, err)
		}
	}
}

// usesIndex reports whether a plan reads the named index and does not
// walk the workspace's members some other way: no SQLite "SCAN m" or
// "SEARCH m USING … (workspace_id=?)" (a walk of the workspace through the
// key, with the filter tried per member), and no PostgreSQL scan of
// members whose only index condition is the workspace. The named index's
// own line is exempt (members_inactive's key is the workspace alone).
func usesIndex(plan, index string) bool {
	lines := strings.Split(plan, "\n")
	found := false
	for i, line := range lines {
		if strings.Contains(line, " "+index+" ") && strings.Contains(strings.ToLower(line), "index") {
			found = true
			continue
		}
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "SCAN m") || (strings.HasPrefix(trimmed, "SEARCH m ") && strings.HasSuffix(trimmed, "(workspace_id=?)")) {
			return false
		}
		if strings.Contains(line, "Seq Scan on members ") {
			return false
		}
		if strings.Contains(line, " on members m") && i+1 < len(lines) {
			next := strings.TrimSpace(lines[i+1])
			if strings.HasPrefix(next, "Index Cond:") && !strings.Contains(next, " AND ") {
				return false
			}
		}
	}
	return found
}

func testPagination(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := ctxFor(t)
	ws := newWorkspace(t, svc).ID
	const n = 25
	for i := range n {
		addMember(t, svc, ws, fmt.Sprintf("user%02d@acme.test", i), "")
	}
	var seen []string
	for off := 0; off < n; off += 7 {
		p := must[directory.Page[*directory.Member]](t)(db.Members(ctx, ws, directory.MemberQuery{Offset: off, Limit: 7}))
		if p.Total != n {
			t.Fatalf("total = %d", p.Total)
		}
		for _, m := range p.Items {
			seen = append(seen, m.ID)
		}
	}
	if len(seen) != n {
		t.Fatalf("pages returned %d members", len(seen))
	}
	sorted := slices.Clone(seen)
	slices.Sort(sorted)
	if !slices.Equal(seen, sorted) || len(slices.Compact(sorted)) != n {
		t.Fatalf("pages not in one stable order without duplicates")
	}
	p := must[directory.Page[*directory.Member]](t)(db.Members(ctx, ws, directory.MemberQuery{Offset: 100, Limit: 7}))
	if p.Total != n || len(p.Items) != 0 {
		t.Fatalf("past the end: %+v", p)
	}

	// The SCIM listing in SCIM id order (the index path), both ways.
	for _, desc := range []bool{false, true} {
		var ids []string
		for off := 0; off < n; off += 7 {
			p := must[directory.Page[*directory.Member]](t)(db.Members(ctx, ws, directory.MemberQuery{
				SCIMOnly: true, Order: directory.OrderSCIMID, Descending: desc, Offset: off, Limit: 7}))
			if p.Total != n {
				t.Fatalf("SCIM order, descending %v, offset %d: total %d", desc, off, p.Total)
			}
			for _, m := range p.Items {
				ids = append(ids, m.SCIMID)
			}
		}
		want := slices.Clone(ids)
		slices.Sort(want)
		if desc {
			slices.Reverse(want)
		}
		if len(ids) != n || !slices.Equal(ids, want) || len(slices.Compact(slices.Clone(want))) != n {
			t.Fatalf("SCIM order, descending %v: %d ids, sorted %v", desc, len(ids), slices.Equal(ids, want))
		}
	}

	// A page at an offset no earlier page ended on skips the offset in
	// the index (the path of a replica without the continuation).
	for _, desc := range []bool{false, true} {
		q := directory.MemberQuery{Where: directory.All{}, SCIMOnly: true, Order: directory.OrderSCIMID, Descending: desc}
		q.Limit = 100
		all := must[directory.Page[*directory.Member]](t)(db.Members(ctx, ws, q)).Items
		q.Offset, q.Limit = 3, 5
		got := must[directory.Page[*directory.Member]](t)(db.Members(ctx, ws, q)).Items
		if len(got) != 5 || got[0].SCIMID != all[3].SCIMID || got[4].SCIMID != all[7].SCIMID {
			t.Fatalf("descending %v: the page at offset 3 does not start at the fourth member", desc)
		}
	}

	// A walk through the SCIM listing continues after the page it read
	// last: a member of an earlier page removed in between neither shifts
	// the next page nor makes the walk skip anyone (a counted offset would
	// skip one). In both directions.
	for _, desc := range []bool{false, true} {
		// All{} is how the SCIM layer asks for the whole listing.
		q := directory.MemberQuery{Where: directory.All{}, SCIMOnly: true, Order: directory.OrderSCIMID, Descending: desc, Limit: 7}
		all := must[directory.Page[*directory.Member]](t)(db.Members(ctx, ws, directory.MemberQuery{
			SCIMOnly: true, Order: directory.OrderSCIMID, Descending: desc, Limit: 100})).Items
		first := must[directory.Page[*directory.Member]](t)(db.Members(ctx, ws, q)).Items
		must[*directory.Member](t)(svc.DetachSCIM(scimCtx(t), ws, first[2].SCIMID, nil))
		q.Offset = 7
		next := must[directory.Page[*directory.Member]](t)(db.Members(ctx, ws, q)).Items
		if len(next) != 7 || next[0].SCIMID != all[7].SCIMID {
			t.Fatalf("descending %v: the page after a removal starts at %v, want %s", desc, func() []string {
				var ids []string
				for _, m := range next {
					ids = append(ids, m.SCIMID)
				}
				return ids
			}(), all[7].SCIMID)
		}
	}

	// Totals after a change: a first page and a page that is not full are
	// always exact; a full later page may reuse a recent count, but never
	// one its own items contradict.
	addMember(t, svc, ws, "user99@acme.test", "")
	for _, tc := range []struct {
		off, limit int
		exact      bool
	}{{0, 7, true}, {0, 100, true}, {21, 7, true}, {7, 7, false}} {
		p := must[directory.Page[*directory.Member]](t)(db.Members(ctx, ws, directory.MemberQuery{Offset: tc.off, Limit: tc.limit}))
		if tc.exact && p.Total != n+1 || p.Total < tc.off+len(p.Items) || p.Total > n+1 {
			t.Errorf("after a create, page at %d of %d: total %d, %d items (want %d)", tc.off, tc.limit, p.Total, len(p.Items), n+1)
		}
	}

	// A recent count is reused only for the same filter: two time filters
	// whose values differ (stored as large integers) are different
	// listings, so a full later page of one does not take the total the
	// other's first page counted.
	all := must[directory.Page[*directory.Member]](t)(db.Members(ctx, ws, directory.MemberQuery{Limit: 100})).Items
	created := make([]time.Time, 0, len(all))
	for _, m := range all {
		created = append(created, m.Created)
	}
	slices.SortFunc(created, time.Time.Compare)
	since := func(at time.Time, offset int) (directory.MemberQuery, int) {
		want := 0
		for _, c := range created {
			if c.After(at) {
				want++
			}
		}
		return directory.MemberQuery{Where: directory.Compare{Field: directory.FieldCreated, Op: directory.OpGt, Value: at}, Offset: offset, Limit: 7}, want
	}
	first, _ := since(created[0].Add(-time.Hour), 0)
	must[directory.Page[*directory.Member]](t)(db.Members(ctx, ws, first)) // counts every member
	later, want := since(created[5], 7)
	if p := must[directory.Page[*directory.Member]](t)(db.Members(ctx, ws, later)); len(p.Items) != 7 || p.Total != want {
		t.Errorf("created after the sixth member, a full later page: total %d, %d items; want total %d", p.Total, len(p.Items), want)
	}
}

func testGroups(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := ctxFor(t)
	ws := newWorkspace(t, svc).ID
	a := addMember(t, svc, ws, "a@acme.test", "")
	b := addMember(t, svc, ws, "b@acme.test", "")
	c := addMember(t, svc, ws, "c@acme.test", "")
	g := must[*directory.Group](t)(svc.CreateGroup(ctx, ws, &directory.Group{DisplayName: "Engineering", ExternalID: "okta-1"}, directory.Refs(a.SCIMID, a.SCIMID)))
	_, err := svc.CreateGroup(ctx, ws, &directory.Group{DisplayName: "ENGINEERING"}, nil)
	wantCode(t, err, directory.ECONFLICT)
	_, err = svc.CreateGroup(ctx, ws, &directory.Group{DisplayName: "Bad"}, directory.Refs("no-such-user"))
	wantCode(t, err, directory.EINVALID)
	if !strings.Contains(err.Error(), "no-such-user") {
		t.Fatalf("error does not name the unknown user: %v", err)
	}
	// Adding an existing member and removing a non-member are no-ops.
	g2 := must[*directory.Group](t)(svc.UpdateGroup(ctx, ws, g.ID, nil, nil, &directory.MembershipChange{Add: directory.Refs(a.SCIMID, b.SCIMID), Remove: []string{c.SCIMID, "ghost"}}))
	must[*directory.Group](t)(svc.UpdateGroup(ctx, ws, g.ID, nil, nil, &directory.MembershipChange{Add: []directory.MemberRef{{ID: b.SCIMID, Display: "ignored, already a member"}}}))
	members := must[directory.Page[directory.GroupMember]](t)(db.GroupMembers(ctx, ws, g.ID, 0, 100))
	if members.Total != 2 || len(members.Items) != 2 {
		t.Fatalf("members = %+v", members)
	}
	g3 := must[*directory.Group](t)(svc.CreateGroup(ctx, ws, &directory.Group{DisplayName: "Shown"}, []directory.MemberRef{{ID: c.SCIMID, Display: "new User"}}))
	if p := must[directory.Page[directory.GroupMember]](t)(db.GroupMembers(ctx, ws, g3.ID, 0, 10)); len(p.Items) != 1 || p.Items[0].Display != "new User" {
		t.Fatalf("membership display not kept: %+v", p.Items)
	}
	// A page of groups reads its members in one query, the same as each alone.
	batch := must[map[string][]directory.GroupMember](t)(db.MembersOfGroups(ctx, ws, g.ID, g3.ID, "no-such-group"))
	g3Members := must[directory.Page[directory.GroupMember]](t)(db.GroupMembers(ctx, ws, g3.ID, 0, 10)).Items
	if len(batch) != 2 || !slices.Equal(batch[g.ID], members.Items) || !slices.Equal(batch[g3.ID], g3Members) {
		t.Fatalf("MembersOfGroups = %+v, want %+v and %+v", batch, members.Items, g3Members)
	}
	if g2.Version != g.Version+1 {
		t.Fatalf("membership change did not bump version: %d -> %d", g.Version, g2.Version)
	}
	noop := must[*directory.Group](t)(svc.UpdateGroup(ctx, ws, g.ID, nil, nil, &directory.MembershipChange{Add: directory.Refs(a.SCIMID)}))
	if noop.Version != g2.Version {
		t.Fatalf("no-op add bumped version")
	}
	// An unknown user in an add fails the whole change.
	_, err = svc.UpdateGroup(ctx, ws, g.ID, nil, nil, &directory.MembershipChange{Add: directory.Refs(c.SCIMID, "ghost")})
	wantCode(t, err, directory.EINVALID)
	if p := must[directory.Page[directory.GroupMember]](t)(db.GroupMembers(ctx, ws, g.ID, 0, 100)); p.Total != 2 {
		t.Fatalf("failed change was partly applied: %d members", p.Total)
	}
	// Replace.
	must[*directory.Group](t)(svc.UpdateGroup(ctx, ws, g.ID, nil, nil, &directory.MembershipChange{Replace: true, Set: directory.Refs(c.SCIMID)}))
	p := must[directory.Page[directory.GroupMember]](t)(db.GroupMembers(ctx, ws, g.ID, 0, 100))
	if p.Total != 1 || p.Items[0].SCIMID != c.SCIMID {
		t.Fatalf("after replace: %+v", p)
	}
	must[*directory.Group](t)(svc.UpdateGroup(ctx, ws, g.ID, nil, nil, &directory.MembershipChange{Replace: true}))
	if p := must[directory.Page[directory.GroupMember]](t)(db.GroupMembers(ctx, ws, g.ID, 0, 100)); p.Total != 0 {
		t.Fatalf("after replace with nothing: %+v", p)
	}
	// Rename keeps the ID.
	r := must[*directory.Group](t)(svc.UpdateGroup(ctx, ws, g.ID, nil, func(g *directory.Group) error {
		g.DisplayName = "Platform"
		return nil
	}, nil))
	if r.ID != g.ID || r.DisplayName != "Platform" {
		t.Fatalf("rename = %+v", r)
	}
	// Queries.
	must[*directory.Group](t)(svc.CreateGroup(ctx, ws, &directory.Group{DisplayName: "Sales"}, directory.Refs(b.SCIMID)))
	q := func(c directory.Cond) int {
		p, err := db.Groups(ctx, ws, directory.GroupQuery{Where: c, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return p.Total
	}
	if n := q(directory.Compare{Field: directory.FieldGroupDisplayName, Op: directory.OpEq, Value: "platform"}); n != 1 {
		t.Errorf("displayName eq: %d", n)
	}
	if n := q(directory.Compare{Field: directory.FieldGroupExternalID, Op: directory.OpEq, Value: "okta-1"}); n != 1 {
		t.Errorf("externalId eq: %d", n)
	}
	if n := q(directory.And{
		directory.Compare{Field: directory.FieldGroupDisplayName, Op: directory.OpEq, Value: "sales"},
		directory.Compare{Field: directory.FieldGroupMember, Op: directory.OpEq, Value: b.SCIMID},
	}); n != 1 {
		t.Errorf("members eq: %d", n)
	}
	if n := q(directory.Compare{Field: directory.FieldGroupMember, Op: directory.OpEq, Value: a.SCIMID}); n != 0 {
		t.Errorf("members eq non-member: %d", n)
	}
	mg := must[map[string][]directory.GroupRef](t)(db.MemberGroups(ctx, ws, b.ID, a.ID))
	if len(mg[b.ID]) != 1 || mg[b.ID][0].DisplayName != "Sales" || len(mg[a.ID]) != 0 {
		t.Errorf("member groups = %+v", mg)
	}
	// Delete keeps members.
	if err := svc.DeleteGroup(ctx, ws, g.ID, nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, svc.DeleteGroup(ctx, ws, g.ID, nil), directory.ENOTFOUND)
	if _, err := db.Member(ctx, ws, c.ID); err != nil {
		t.Fatalf("member gone with group: %v", err)
	}
}

func testGroupRoles(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := ctxFor(t)
	ws := newWorkspace(t, svc).ID
	owner := addMember(t, svc, ws, "owner@acme.test", directory.RoleOwner)
	plain := addMember(t, svc, ws, "plain@acme.test", "")
	explicit := addMember(t, svc, ws, "explicit@acme.test", directory.RoleGuest)
	editor := must[*directory.CustomRole](t)(svc.CreateCustomRole(ctx, ws, "Editor", directory.RoleMember, ""))
	all := directory.Refs(owner.SCIMID, plain.SCIMID, explicit.SCIMID)
	admins := must[*directory.Group](t)(svc.CreateGroup(ctx, ws, &directory.Group{DisplayName: "Admins"}, all))
	editors := must[*directory.Group](t)(svc.CreateGroup(ctx, ws, &directory.Group{DisplayName: "Editors"}, all))
	roleOf := func(m *directory.Member) directory.RoleRef {
		t.Helper()
		return must[*directory.Member](t)(db.Member(ctx, ws, m.ID)).EffectiveRole()
	}
	must[*directory.Group](t)(svc.SetGroupRole(ctx, ws, editors.ID, directory.RoleRef{CustomRoleID: editor.ID}))
	if r := roleOf(plain); r.CustomRoleID != editor.ID || r.Role != directory.RoleMember {
		t.Fatalf("plain after Editors mapping = %+v", r)
	}
	must[*directory.Group](t)(svc.SetGroupRole(ctx, ws, admins.ID, directory.RoleRef{Role: directory.RoleAdmin}))
	if r := roleOf(plain); r.Role != directory.RoleAdmin || r.CustomRoleID != "" {
		t.Fatalf("highest privilege should win: %+v", r)
	}
	if r := roleOf(explicit); r.Role != directory.RoleGuest {
		t.Fatalf("explicit role should win over groups: %+v", r)
	}
	if r := roleOf(owner); r.Role != directory.RoleOwner {
		t.Fatalf("owner changed by group: %+v", r)
	}
	_, err := svc.SetGroupRole(ctx, ws, admins.ID, directory.RoleRef{Role: directory.RoleOwner})
	wantCode(t, err, directory.EINVALID)
	// Leaving the admin group falls back to the next mapped group, in the
	// same transaction as the membership change.
	must[*directory.Group](t)(svc.UpdateGroup(ctx, ws, admins.ID, nil, nil, &directory.MembershipChange{Remove: []string{plain.SCIMID}}))
	if r := roleOf(plain); r.CustomRoleID != editor.ID {
		t.Fatalf("after leaving Admins: %+v", r)
	}
	// Deleting a group removes its role effect.
	if err := svc.DeleteGroup(ctx, ws, editors.ID, nil); err != nil {
		t.Fatal(err)
	}
	if r := roleOf(plain); r.Role != directory.RoleMember || r.CustomRoleID != "" {
		t.Fatalf("after deleting Editors: %+v", r)
	}
	// Rename keeps the mapping (it holds the ID).
	must[*directory.Group](t)(svc.UpdateGroup(ctx, ws, admins.ID, nil, func(g *directory.Group) error { g.DisplayName = "Administrators"; return nil },
		&directory.MembershipChange{Add: directory.Refs(plain.SCIMID)}))
	if r := roleOf(plain); r.Role != directory.RoleAdmin {
		t.Fatalf("after rename and re-add: %+v", r)
	}
	// Clearing the explicit role lets groups decide.
	must[*directory.Member](t)(svc.UpdateMember(ctx, ws, explicit.ID, directory.UpdateOptions{}, func(m *directory.Member) error {
		m.Assigned = directory.RoleRef{}
		return nil
	}))
	if r := roleOf(explicit); r.Role != directory.RoleAdmin {
		t.Fatalf("after clearing explicit role: %+v", r)
	}
	// Every change is in the audit trail with its cause.
	entries := must[[]directory.AuditEntry](t)(db.Audit(ctx, ws, directory.AuditQuery{TargetID: plain.ID, Limit: 100}))
	var causes []string
	for _, e := range entries {
		if e.Action == "member.role_changed" {
			var d struct{ Cause string }
			if err := json.Unmarshal(e.Detail, &d); err != nil {
				t.Fatalf("audit detail %s: %v", e.Detail, err)
			}
			causes = append(causes, d.Cause)
		}
	}
	if len(causes) < 4 || !strings.Contains(strings.Join(causes, "|"), admins.ID) {
		t.Fatalf("role changes in audit: %q", causes)
	}
}

func testConcurrentGroupPatches(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := ctxFor(t)
	ws := newWorkspace(t, svc).ID
	const n = 24
	var ids []string
	for i := range n {
		ids = append(ids, addMember(t, svc, ws, fmt.Sprintf("u%d@acme.test", i), "").SCIMID)
	}
	g := must[*directory.Group](t)(svc.CreateGroup(ctx, ws, &directory.Group{DisplayName: "Busy"}, nil))
	must[*directory.Group](t)(svc.SetGroupRole(ctx, ws, g.ID, directory.RoleRef{Role: directory.RoleAdmin}))
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.UpdateGroup(ctx, ws, g.ID, nil, nil, &directory.MembershipChange{Add: directory.Refs(id)})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	p := must[directory.Page[directory.GroupMember]](t)(db.GroupMembers(ctx, ws, g.ID, 0, 1000))
	if p.Total != n || len(p.Items) != n {
		t.Fatalf("lost membership changes: count %d, rows %d, want %d", p.Total, len(p.Items), n)
	}
	admin := true
	page := must[directory.Page[*directory.Member]](t)(db.Members(ctx, ws, directory.MemberQuery{Active: &admin, Limit: 1000}))
	for _, m := range page.Items {
		if m.Role != directory.RoleAdmin {
			t.Errorf("%s has role %q, want admin from the group", m.UserName, m.Role)
		}
	}
}

func testDetachReprovision(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := scimCtx(t)
	ws := newWorkspace(t, svc).ID
	m, re, err := svc.ProvisionMember(ctx, ws, &directory.Member{UserName: "frank@acme.test", ExternalID: "00uF", Active: true, Source: directory.SourceSCIM,
		Assigned: directory.RoleRef{Role: directory.RoleAdmin}})
	if err != nil || re {
		t.Fatalf("provision: %v %v", err, re)
	}
	g := must[*directory.Group](t)(svc.CreateGroup(ctx, ws, &directory.Group{DisplayName: "G"}, directory.Refs(m.SCIMID)))
	d := must[*directory.Member](t)(svc.DetachSCIM(ctx, ws, m.SCIMID, nil))
	if d.SCIMID != "" || d.Active {
		t.Fatalf("detached = %+v", d)
	}
	if _, err := db.MemberBySCIMID(ctx, ws, m.SCIMID); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("old SCIM id still resolves")
	}
	if p := must[directory.Page[*directory.Member]](t)(db.Members(ctx, ws, directory.MemberQuery{SCIMOnly: true, Limit: 10})); p.Total != 0 {
		t.Fatalf("detached member still listed for SCIM")
	}
	if p := must[directory.Page[directory.GroupMember]](t)(db.GroupMembers(ctx, ws, g.ID, 0, 10)); p.Total != 0 {
		t.Fatalf("detached member still in group")
	}
	_, err = svc.DetachSCIM(ctx, ws, m.SCIMID, nil)
	wantCode(t, err, directory.ENOTFOUND)
	// Same userName again: the same member, a new SCIM id, active again.
	again, re, err := svc.ProvisionMember(ctx, ws, &directory.Member{UserName: "FRANK@acme.test", Active: true, Source: directory.SourceSCIM})
	if err != nil || !re {
		t.Fatalf("re-provision: %v reattached=%v", err, re)
	}
	// The request names no role, so the admin role given at the first
	// provisioning does not come back: re-provisioning is a create.
	if again.ID != m.ID || again.SCIMID == "" || again.SCIMID == m.SCIMID || !again.Active || again.Role != directory.RoleMember || !again.Assigned.IsZero() {
		t.Fatalf("re-provisioned = %+v (first %+v)", again, m)
	}
	var roleAudit []directory.AuditEntry
	for _, e := range must[[]directory.AuditEntry](t)(db.Audit(ctx, ws, directory.AuditQuery{TargetID: m.ID, Limit: 100})) {
		if e.Action == "member.role_changed" {
			roleAudit = append(roleAudit, e)
		}
	}
	if len(roleAudit) != 1 || !strings.Contains(string(roleAudit[0].Detail), "re-provisioned") {
		t.Fatalf("role change at re-provisioning audited as %+v, want one member.role_changed with its cause", roleAudit)
	}
	// A userName already attached is a conflict.
	_, _, err = svc.ProvisionMember(ctx, ws, &directory.Member{UserName: "frank@acme.test", Active: true})
	wantCode(t, err, directory.ECONFLICT)
	// By externalId when the userName changed at the IdP.
	must[*directory.Member](t)(svc.DetachSCIM(ctx, ws, again.SCIMID, nil))
	third, re, err := svc.ProvisionMember(ctx, ws, &directory.Member{UserName: "franklin@acme.test", ExternalID: "00uF", Active: true})
	if err != nil || !re || third.ID != m.ID || third.UserName != "franklin@acme.test" {
		t.Fatalf("re-provision by externalId: %+v %v %v", third, re, err)
	}
	// A live userName wins over a detached externalId match: conflict, and
	// the detached member stays detached.
	gone := must[*directory.Member](t)(svc.CreateMember(ctx, ws, &directory.Member{UserName: "gina@acme.test", ExternalID: "00uG", Active: true, Source: directory.SourceSCIM}))
	must[*directory.Member](t)(svc.DetachSCIM(ctx, ws, gone.SCIMID, nil))
	_, _, err = svc.ProvisionMember(ctx, ws, &directory.Member{UserName: "franklin@acme.test", ExternalID: "00uG", Active: true})
	wantCode(t, err, directory.ECONFLICT)
	if g := must[*directory.Member](t)(db.Member(ctx, ws, gone.ID)); g.SCIMID != "" || g.UserName != "gina@acme.test" {
		t.Fatalf("detached member changed by a conflicting request: %+v", g)
	}
	// A detached member without an externalId is not found by a request
	// without one: an empty externalId matches nothing.
	blank := must[*directory.Member](t)(svc.CreateMember(ctx, ws, &directory.Member{UserName: "hal@acme.test", Active: true, Source: directory.SourceSCIM}))
	must[*directory.Member](t)(svc.DetachSCIM(ctx, ws, blank.SCIMID, nil))
	fresh, re, err := svc.ProvisionMember(ctx, ws, &directory.Member{UserName: "ivy@acme.test", Active: true})
	if err != nil || re || fresh.ID == blank.ID {
		t.Fatalf("provision without externalId took over a detached member: %+v reattached=%v %v", fresh, re, err)
	}
	// An owner the IdP deleted comes back as owner, but re-provisioning
	// cannot change their email (where a password reset goes): refused,
	// and the owner stays detached with their address.
	addMember(t, svc, ws, "first-owner@acme.test", directory.RoleOwner)
	owner := addMember(t, svc, ws, "owner@acme.test", directory.RoleOwner)
	must[*directory.Member](t)(svc.DetachSCIM(ctx, ws, owner.SCIMID, nil))
	_, _, err = svc.ProvisionMember(ctx, ws, &directory.Member{UserName: "owner@acme.test", Active: true,
		Emails: []directory.Email{{Value: "evil@evil.test", Primary: true}}})
	wantCode(t, err, directory.EIMMUTABLE)
	if o := must[*directory.Member](t)(db.Member(ctx, ws, owner.ID)); o.SCIMID != "" || len(o.Emails) != 1 || o.Emails[0].Value != "owner@acme.test" {
		t.Fatalf("owner after a refused re-provisioning: %+v", o)
	}
	back, re, err := svc.ProvisionMember(ctx, ws, &directory.Member{UserName: "owner@acme.test", Active: true,
		Emails: []directory.Email{{Value: "owner@acme.test", Primary: true}}})
	if err != nil || !re || back.ID != owner.ID || back.Role != directory.RoleOwner {
		t.Fatalf("owner re-provisioned with the same identity: %+v reattached=%v %v", back, re, err)
	}
}

func testAudit(t *testing.T, db *store.DB) {
	svc := directory.NewService(db)
	ctx := directory.WithActor(ctxFor(t), directory.Actor{Kind: "api_key", ID: "k1", Label: "ci", RequestID: "req-1"})
	ws := must[*directory.Workspace](t)(svc.CreateWorkspace(ctx, "Audited"))
	m := must[*directory.Member](t)(svc.CreateMember(ctx, ws.ID, &directory.Member{UserName: "gina@acme.test", Active: true}))
	must[*directory.Member](t)(svc.UpdateMember(ctx, ws.ID, m.ID, directory.UpdateOptions{}, func(m *directory.Member) error {
		m.Active = false
		return nil
	}))
	entries := must[[]directory.AuditEntry](t)(db.Audit(ctx, ws.ID, directory.AuditQuery{Limit: 10}))
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		if e.Actor.Kind != "api_key" || e.Actor.RequestID != "req-1" || e.Time.IsZero() {
			t.Errorf("entry %+v lacks its actor", e)
		}
	}
	want := []string{"member.deactivated", "member.created", "workspace.created"}
	if !slices.Equal(actions, want) {
		t.Fatalf("actions = %v, want %v", actions, want)
	}
	older := must[[]directory.AuditEntry](t)(db.Audit(ctx, ws.ID, directory.AuditQuery{Before: entries[0].ID, Limit: 10}))
	if len(older) != 2 {
		t.Fatalf("paging: %d", len(older))
	}
}
