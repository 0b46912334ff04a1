package scim_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"rollcall/internal/directory"
	"rollcall/internal/scim"
	"rollcall/internal/scim/schema"
	"rollcall/internal/testenv/dbtest"
)

const patchOp = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[%s]}`

func role(r response) (string, string) {
	ext, _ := r.Body[schema.RollcallUserURN].(map[string]any)
	base, _ := ext["role"].(string)
	custom, _ := ext["customRoleName"].(string)
	return base, custom
}

func TestRolesFromGroups(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, engine, scim.Config{})
			ctx := context.Background()
			uid := f.do("POST", "/Users", user("gus@x.test", "")).want(t, 201).str("id")
			gid := f.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Admins"}`).want(t, 201).str("id")
			editor, err := f.srv.Dir.CreateCustomRole(ctx, f.ws, "Editor", directory.RoleMember, "")
			if err != nil {
				t.Fatal(err)
			}
			eid := f.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Editors","members":[{"value":"`+uid+`"}]}`).want(t, 201).str("id")
			if _, err := f.srv.Dir.SetGroupRole(ctx, f.ws, gid, directory.RoleRef{Role: directory.RoleAdmin}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.srv.Dir.SetGroupRole(ctx, f.ws, eid, directory.RoleRef{CustomRoleID: editor.ID}); err != nil {
				t.Fatal(err)
			}
			if b, c := role(f.do("GET", "/Users/"+uid, "").want(t, 200)); b != "member" || c != "Editor" {
				t.Fatalf("role from Editors: %s/%s", b, c)
			}
			f.do("PATCH", "/Groups/"+gid, fmt.Sprintf(patchOp, `{"op":"add","path":"members","value":[{"value":"`+uid+`"}]}`)).want(t, 204)
			u := f.do("GET", "/Users/"+uid, "").want(t, 200)
			if b, c := role(u); b != "admin" || c != "" {
				t.Fatalf("role after joining Admins: %s/%s", b, c)
			}
			if !strings.Contains(u.Raw, `"display":"Admins"`) || !strings.Contains(u.Raw, `"type":"direct"`) {
				t.Fatalf("groups attribute: %s", u.Raw)
			}
			// Okta reads the user and writes it back whole: the group-granted
			// role must not become an explicit one.
			var body strings.Builder
			body.WriteString(u.Raw)
			f.do("PUT", "/Users/"+uid, body.String()).want(t, 200)
			f.do("PATCH", "/Groups/"+gid, fmt.Sprintf(patchOp, `{"op":"remove","path":"members[value eq \"`+uid+`\"]"}`)).want(t, 204)
			if b, c := role(f.do("GET", "/Users/"+uid, "").want(t, 200)); b != "member" || c != "Editor" {
				t.Fatalf("role after leaving Admins (the PUT must not have frozen admin): %s/%s", b, c)
			}
			// An explicit role from the IdP wins over groups, and removing it
			// hands the decision back to them.
			f.do("PATCH", "/Users/"+uid, fmt.Sprintf(patchOp, `{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:rollcall:2.0:User:role","value":"guest"}`)).want(t, 204)
			if b, _ := role(f.do("GET", "/Users/"+uid, "").want(t, 200)); b != "guest" {
				t.Fatalf("explicit guest: %s", b)
			}
			f.do("PATCH", "/Users/"+uid, fmt.Sprintf(patchOp, `{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:rollcall:2.0:User"}`)).want(t, 204)
			if b, c := role(f.do("GET", "/Users/"+uid, "").want(t, 200)); b != "member" || c != "Editor" {
				t.Fatalf("after removing the explicit role: %s/%s", b, c)
			}
			// Deleting the group removes its role effect, never its members.
			f.do("DELETE", "/Groups/"+eid, "").want(t, 204)
			if b, c := role(f.do("GET", "/Users/"+uid, "").want(t, 200)); b != "member" || c != "" {
				t.Fatalf("after deleting Editors: %s/%s", b, c)
			}
			f.do("GET", "/Users/"+uid, "").want(t, 200)
			// Every change is audited with its cause.
			entries, _ := f.srv.DB.Audit(ctx, f.ws, directory.AuditQuery{TargetID: f.member("gus@x.test").ID, Limit: 100})
			var causes []string
			for _, e := range entries {
				if e.Action == "member.role_changed" {
					causes = append(causes, string(e.Detail))
				}
			}
			if len(causes) < 5 || !strings.Contains(strings.Join(causes, ""), gid) {
				t.Fatalf("role changes in the audit log: %v", causes)
			}
		})
	}
}

func TestGroupProtocol(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite", scim.Config{})
	var ids []string
	for i := range 3 {
		ids = append(ids, f.do("POST", "/Users", user(fmt.Sprintf("g%d@x.test", i), "")).want(t, 201).str("id"))
	}
	g := f.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Team","externalId":"okta-g1","members":[{"value":"`+ids[0]+`","display":"G Zero"}]}`).want(t, 201)
	gid := g.str("id")
	f.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"TEAM"}`).want(t, 409)
	f.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"members":[]}`).want(t, 400)
	for q, want := range map[string]int{
		`displayName eq "team"`:                               1,
		`externalId eq "okta-g1"`:                             1,
		`id eq "` + gid + `" and members eq "` + ids[0] + `"`: 1,
		`id eq "` + gid + `" and members eq "` + ids[1] + `"`: 0,
		`members[value eq "` + ids[0] + `"]`:                  1,
		`displayName co "ea"`:                                 1,
		`members.display eq "G Zero"`:                         1,
	} {
		r := f.do("GET", "/Groups?filter="+url.QueryEscape(q), "").want(t, 200)
		if r.total() != want {
			t.Errorf("%s: %d, want %d", q, r.total(), want)
		}
	}
	// A filter evaluated in memory that does not test members: the page's
	// groups still come with their members.
	r := f.do("GET", "/Groups?filter="+url.QueryEscape(`meta.resourceType eq "Group" and externalId pr`), "").want(t, 200)
	if r.total() != 1 || !strings.Contains(r.Raw, ids[0]) {
		t.Fatalf("in-memory filter: %s", r.Raw)
	}
	// The same for Users: a page filtered in memory still shows each
	// member's groups.
	r = f.do("GET", "/Users?filter="+url.QueryEscape(`meta.resourceType eq "User" and userName pr`), "").want(t, 200)
	if r.total() != 3 || !strings.Contains(r.Raw, gid) {
		t.Fatalf("in-memory Users filter does not show the member's group: %s", r.Raw)
	}
	r = f.do("GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "Team"`), "").want(t, 200)
	if strings.Contains(r.Raw, `"members"`) {
		t.Fatalf("excludedAttributes=members: %s", r.Raw)
	}
	// Okta: remove one and add one in a single PATCH; then the path-less rename.
	f.do("PATCH", "/Groups/"+gid, fmt.Sprintf(patchOp, `{"op":"remove","path":"members[value eq \"`+ids[0]+`\"]"},{"op":"add","path":"members","value":[{"value":"`+ids[1]+`","display":"g1"}]}`)).want(t, 204)
	f.do("PATCH", "/Groups/"+gid, fmt.Sprintf(patchOp, `{"op":"replace","value":{"id":"`+gid+`","displayName":"Team 2"}}`)).want(t, 204)
	got := f.do("GET", "/Groups/"+gid, "").want(t, 200)
	if got.str("displayName") != "Team 2" || len(asList(got.get("members"))) != 1 || got.str("members.0.value") != ids[1] {
		t.Fatalf("after Okta PATCHes: %s", got.Raw)
	}
	// Entra: Remove with a value list; adding a member twice and removing a
	// non-member are no-ops; unknown users fail the whole request.
	f.do("PATCH", "/Groups/"+gid, fmt.Sprintf(patchOp, `{"op":"Add","path":"members","value":[{"$ref":null,"value":"`+ids[2]+`"},{"value":"`+ids[1]+`"}]}`)).want(t, 204)
	f.do("PATCH", "/Groups/"+gid, fmt.Sprintf(patchOp, `{"op":"Remove","path":"members","value":[{"value":"`+ids[0]+`"}]}`)).want(t, 204)
	bad := f.do("PATCH", "/Groups/"+gid, fmt.Sprintf(patchOp, `{"op":"remove","path":"members","value":[{"value":"`+ids[1]+`"}]},{"op":"add","path":"members","value":[{"value":"ghost-1"}]}`)).want(t, 400)
	if !strings.Contains(bad.str("detail"), "ghost-1") {
		t.Fatalf("unknown member detail: %s", bad.Raw)
	}
	if n := len(asList(f.do("GET", "/Groups/"+gid, "").want(t, 200).get("members"))); n != 2 {
		t.Fatalf("a failed PATCH changed membership: %d members", n)
	}
	f.do("PATCH", "/Groups/"+gid, fmt.Sprintf(patchOp, `{"op":"replace","path":"members","value":[]}`)).want(t, 204)
	if strings.Contains(f.do("GET", "/Groups/"+gid, "").want(t, 200).Raw, `"members"`) {
		t.Fatal("replace with [] left members")
	}
	f.do("PATCH", "/Groups/"+gid, fmt.Sprintf(patchOp, `{"op":"add","path":"members","value":"`+ids[0]+`"}`)).want(t, 204)
	f.do("PATCH", "/Groups/"+gid, fmt.Sprintf(patchOp, `{"op":"remove","path":"members"}`)).want(t, 204)
	if strings.Contains(f.do("GET", "/Groups/"+gid, "").want(t, 200).Raw, `"members"`) {
		t.Fatal("remove members left members")
	}
	f.do("DELETE", "/Groups/"+gid, "").want(t, 204)
	f.do("GET", "/Groups/"+gid, "").want(t, 404)
	if f.do("GET", "/Users", "").total() != 3 {
		t.Fatal("deleting a group removed users")
	}
}

// TestLargeGroup adds a thousand members in one PATCH to a group that
// already has five thousand.
func TestLargeGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 6,000-member group")
	}
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, engine, scim.Config{})
			ctx := context.Background()
			var refs []directory.MemberRef
			var more []string
			for i := range 6000 {
				m, err := f.srv.Dir.CreateMember(ctx, f.ws, &directory.Member{UserName: fmt.Sprintf("big%05d@x.test", i), Active: true})
				if err != nil {
					t.Fatal(err)
				}
				if i < 5000 {
					refs = append(refs, directory.MemberRef{ID: m.SCIMID})
				} else {
					more = append(more, `{"value":"`+m.SCIMID+`"}`)
				}
			}
			g, err := f.srv.Dir.CreateGroup(ctx, f.ws, &directory.Group{DisplayName: "Everyone"}, refs)
			if err != nil {
				t.Fatal(err)
			}
			f.do("PATCH", "/Groups/"+g.ID, fmt.Sprintf(patchOp, `{"op":"add","path":"members","value":[`+strings.Join(more, ",")+`]}`)).want(t, 204)
			r := f.do("GET", "/Groups/"+g.ID+"?excludedAttributes=members", "").want(t, 200)
			if strings.Contains(r.Raw, `"members"`) {
				t.Fatal("members returned though excluded")
			}
			if n := len(asList(f.do("GET", "/Groups/"+g.ID, "").want(t, 200).get("members"))); n != 6000 {
				t.Fatalf("%d members, want 6000", n)
			}
		})
	}
}
