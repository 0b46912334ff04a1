package scim_test

// Replays of JumpCloud's custom SCIM connector (../shared/research/scim.md
// §1.3). JumpCloud documents the sequence (connection test, user and group
// lifecycle, groups taken over by name) but not the wire format; the bodies
// in testdata/replay/jumpcloud follow the third-party observations the
// research records (one replace operation per attribute with a path,
// member objects with only "value", Entra-style member removal). JumpCloud
// sends no custom attributes, so roles come from groups only.

import (
	"context"
	"net/url"
	"slices"
	"testing"

	"rollcall/internal/directory"
	"rollcall/internal/scim"
	"rollcall/internal/scim/schema"
	"rollcall/internal/testenv/dbtest"
)

func TestReplayJumpCloud(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			t.Run("ConnectionTest", func(t *testing.T) { t.Parallel(); jumpcloudConnectionTest(t, engine) })
			t.Run("Users", func(t *testing.T) { t.Parallel(); jumpcloudUsers(t, engine) })
			t.Run("GroupRoles", func(t *testing.T) { t.Parallel(); jumpcloudGroupRoles(t, engine) })
		})
	}
}

func jumpcloudClient(f *fixture) replayClient { return replayClient{f: f} }

func jumpcloudUser(t *testing.T, userName, given, family string) string {
	t.Helper()
	return replayBody(t, "jumpcloud/create-user.json", "userName", userName, "externalId", "jc-"+given, "givenName", given, "familyName", family)
}

func jumpcloudGroup(t *testing.T, name string, members ...string) string {
	t.Helper()
	list := ""
	for i, m := range members {
		if i > 0 {
			list += ", "
		}
		list += `{"value": "` + m + `"}`
	}
	return replayBody(t, "jumpcloud/group-create.json", "displayName", name, "members", list)
}

// jumpcloudConnectionTest: "Test Connection" on an empty workspace. JumpCloud
// lists users, then creates a test user and a test group and deletes both.
func jumpcloudConnectionTest(t *testing.T, engine string) {
	f := newFixture(t, engine, scim.Config{})
	jc := jumpcloudClient(f)

	wantListTotal(t, jc.do("GET", "/Users", ""), 0)
	u := jc.do("POST", "/Users", jumpcloudUser(t, "jctest@example.com", "JumpCloud", "Test")).want(t, 201).str("id")
	// "Empty groups are not created": the test group has the test user.
	g := jc.do("POST", "/Groups", jumpcloudGroup(t, "JumpCloud Test Group", u)).want(t, 201)
	if ms := memberValues(g); !slices.Equal(ms, []string{u}) {
		t.Errorf("test group members %v, want [%s]", ms, u)
	}
	jc.do("DELETE", "/Groups/"+g.str("id"), "").want(t, 204)
	jc.do("DELETE", "/Users/"+u, "").want(t, 204)
	wantListTotal(t, jc.do("GET", "/Users", ""), 0)
	wantListTotal(t, jc.do("GET", "/Groups", ""), 0)
	wantSCIMError(t, jc.do("GET", "/Users/"+u, ""), 404, "")

	// A second connection test (the admin presses the button again) works
	// the same: the deleted test user does not get in the way.
	u2 := jc.do("POST", "/Users", jumpcloudUser(t, "jctest@example.com", "JumpCloud", "Test")).want(t, 201).str("id")
	g2 := jc.do("POST", "/Groups", jumpcloudGroup(t, "JumpCloud Test Group", u2)).want(t, 201).str("id")
	jc.do("DELETE", "/Groups/"+g2, "").want(t, 204)
	jc.do("DELETE", "/Users/"+u2, "").want(t, 204)
	wantListTotal(t, jc.do("GET", "/Users", ""), 0)
}

// jumpcloudUsers: create, deactivate with one replace per attribute, and
// reactivate.
func jumpcloudUsers(t *testing.T, engine string) {
	f := newFixture(t, engine, scim.Config{})
	jc := jumpcloudClient(f)
	id := jc.do("POST", "/Users", jumpcloudUser(t, "alice@example.com", "Alice", "Archer")).want(t, 201).str("id")
	wantBody(t, jc.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "alice@example.com"`), "").want(t, 200), map[string]any{"Resources.0.id": id})

	sess := replaySession(t, f, f.member("alice@example.com").ID)
	wantNoContentOrOK(t, jc.do("PATCH", "/Users/"+id, replayBody(t, "jumpcloud/deactivate.json",
		"userName", "alice@example.com", "givenName", "Alice", "familyName", "Archer-Smith")))
	r := jc.do("GET", "/Users/"+id, "").want(t, 200)
	wantBody(t, r, map[string]any{"active": false, "name.familyName": "Archer-Smith", "displayName": "Alice Archer-Smith",
		"emails.0.value": "alice@example.com", "emails.0.type": "work"})
	m := f.member("alice@example.com")
	if m.Active || m.FamilyName != "Archer-Smith" || sessionExists(t, f, sess) {
		t.Errorf("after JumpCloud's deactivation: active %v family %q session kept %v", m.Active, m.FamilyName, sessionExists(t, f, sess))
	}
	wantNoContentOrOK(t, jc.do("PATCH", "/Users/"+id, replayBody(t, "jumpcloud/reactivate.json", "givenName", "Alice", "familyName", "Archer-Smith")))
	if m := f.member("alice@example.com"); !m.Active {
		t.Errorf("inactive after JumpCloud's reactivation")
	}
}

// jumpcloudGroupRoles: an existing group with the same name is found and
// taken over, a duplicate create is refused, and roles follow the groups
// an admin mapped to roles.
func jumpcloudGroupRoles(t *testing.T, engine string) {
	f := newFixture(t, engine, scim.Config{})
	jc := jumpcloudClient(f)
	ctx := context.Background()
	alice := jc.do("POST", "/Users", jumpcloudUser(t, "alice@example.com", "Alice", "Archer")).want(t, 201).str("id")
	bob := jc.do("POST", "/Users", jumpcloudUser(t, "bob@example.com", "Bob", "Baker")).want(t, 201).str("id")
	role := func(userName string) directory.Role {
		t.Helper()
		return f.member(userName).Role
	}

	// "Engineering" exists in Rollcall already, mapped to admin by an admin.
	eng, err := f.srv.Dir.CreateGroup(ctx, f.ws, &directory.Group{DisplayName: "Engineering"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.Dir.SetGroupRole(ctx, f.ws, eng.ID, directory.RoleRef{Role: directory.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	// JumpCloud looks the name up and takes the group over.
	r := wantListTotal(t, jc.do("GET", "/Groups?filter="+url.QueryEscape(`displayName eq "Engineering"`), ""), 1)
	wantBody(t, r, map[string]any{"Resources.0.id": eng.ID})
	wantSCIMError(t, jc.do("POST", "/Groups", jumpcloudGroup(t, "Engineering", alice)), 409, "uniqueness")
	wantSCIMError(t, jc.do("POST", "/Groups", jumpcloudGroup(t, "engineering", alice)), 409, "uniqueness")
	wantNoContentOrOK(t, jc.do("PATCH", "/Groups/"+eng.ID, replayBody(t, "jumpcloud/group-add-member.json", "member", alice)))
	if got := role("alice@example.com"); got != directory.RoleAdmin {
		t.Errorf("alice in the admin-mapped group: %s, want admin", got)
	}
	wantBody(t, jc.do("GET", "/Users/"+alice, "").want(t, 200), map[string]any{schema.RollcallUserURN + ".role": "admin"})

	// A group JumpCloud creates, mapped afterwards to guest.
	guests := jc.do("POST", "/Groups", jumpcloudGroup(t, "Contractors", bob, alice)).want(t, 201).str("id")
	if got := role("bob@example.com"); got != directory.RoleMember {
		t.Errorf("bob in an unmapped group: %s, want member", got)
	}
	if _, err := f.srv.Dir.SetGroupRole(ctx, f.ws, guests, directory.RoleRef{Role: directory.RoleGuest}); err != nil {
		t.Fatal(err)
	}
	if got := role("bob@example.com"); got != directory.RoleGuest {
		t.Errorf("bob after Contractors was mapped to guest: %s", got)
	}
	if got := role("alice@example.com"); got != directory.RoleAdmin {
		t.Errorf("alice in admin and guest groups: %s, want admin (the most privileged)", got)
	}

	// Renames keep the mapping (it holds the group's id).
	wantNoContentOrOK(t, jc.do("PATCH", "/Groups/"+eng.ID, replayBody(t, "jumpcloud/group-rename.json", "displayName", "Platform Engineering")))
	wantNoContentOrOK(t, jc.do("PATCH", "/Groups/"+eng.ID, replayBody(t, "jumpcloud/group-add-member.json", "member", bob)))
	if got := role("bob@example.com"); got != directory.RoleAdmin {
		t.Errorf("bob added to the renamed admin group: %s, want admin", got)
	}

	// Removal, Entra-style: the role goes with the membership.
	wantNoContentOrOK(t, jc.do("PATCH", "/Groups/"+eng.ID, replayBody(t, "jumpcloud/group-remove-member.json", "member", alice)))
	if got := role("alice@example.com"); got != directory.RoleGuest {
		t.Errorf("alice removed from the admin group, still in Contractors: %s, want guest", got)
	}
	wantBody(t, jc.do("GET", "/Users/"+alice, "").want(t, 200), map[string]any{schema.RollcallUserURN + ".role": "guest"})
	wantNoContentOrOK(t, jc.do("PATCH", "/Groups/"+guests, replayBody(t, "jumpcloud/group-remove-member.json", "member", alice)))
	if got := role("alice@example.com"); got != directory.RoleMember {
		t.Errorf("alice in no mapped group: %s, want member", got)
	}

	// Deactivation keeps groups and the role they grant; reactivation
	// brings them back as they were.
	wantNoContentOrOK(t, jc.do("PATCH", "/Users/"+bob, replayBody(t, "jumpcloud/deactivate.json",
		"userName", "bob@example.com", "givenName", "Bob", "familyName", "Baker")))
	wantNoContentOrOK(t, jc.do("PATCH", "/Users/"+bob, replayBody(t, "jumpcloud/reactivate.json", "givenName", "Bob", "familyName", "Baker")))
	r = jc.do("GET", "/Users/"+bob, "").want(t, 200)
	if gs := userGroupIDs(r); !slices.Equal(sortedCopy(gs), sortedCopy([]string{eng.ID, guests})) {
		t.Errorf("bob's groups after deactivation and reactivation: %v", gs)
	}
	wantBody(t, r, map[string]any{"active": true, schema.RollcallUserURN + ".role": "admin"})

	// A managed group deleted in JumpCloud is deleted here: its role
	// effect goes, its members stay.
	jc.do("DELETE", "/Groups/"+eng.ID, "").want(t, 204)
	if m := f.member("bob@example.com"); m.Role != directory.RoleGuest || !m.Active {
		t.Errorf("bob after the admin group's deletion: %s active %v, want guest (Contractors) and active", m.Role, m.Active)
	}
	wantListTotal(t, jc.do("GET", "/Users", ""), 2)
}
