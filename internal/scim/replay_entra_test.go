package scim_test

// Replays of Microsoft Entra ID's provisioning traffic
// (../shared/research/scim.md §1.2): the request/response pairs of
// Microsoft's "Use SCIM to provision users and groups", in the default
// mode and in the SCIM-compliant mode of the aadOptscim062020 flag. The
// bodies are in testdata/replay/entra. Microsoft documents the headers as
// "Authorization: Bearer …" and "Content-type: application/scim+json" and
// no User-Agent, so none is invented here.

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"rollcall/internal/directory"
	"rollcall/internal/scim"
	"rollcall/internal/scim/schema"
	"rollcall/internal/testenv/dbtest"
)

func TestReplayEntra(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			t.Run("Users", func(t *testing.T) { t.Parallel(); entraUsers(t, engine) })
			t.Run("Delete", func(t *testing.T) { t.Parallel(); entraDelete(t, engine) })
			t.Run("Groups", func(t *testing.T) { t.Parallel(); entraGroups(t, engine) })
			t.Run("Validator", func(t *testing.T) { t.Parallel(); entraValidator(t, engine) })
		})
	}
}

func entraClient(f *fixture) replayClient {
	return replayClient{f: f, headers: []string{"Content-Type", replayMIME}}
}

// entraFilter is a filter as Entra encodes it in a query: '+' for spaces.
func entraFilter(expr string) string { return "filter=" + url.QueryEscape(expr) }

func entraUsers(t *testing.T, engine string) {
	f := newFixture(t, engine, scim.Config{})
	entra := entraClient(f)
	const docUser = "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"

	// Test Connection: a random GUID as the matching property → an empty list.
	wantListTotal(t, entra.do("GET", "/Users?"+entraFilter(`userName eq "3f0c1c47-9d1e-4b61-a1d8-6a0f5e2b7c90"`), ""), 0)

	// Matching before a create (userName, then externalId): nothing.
	wantListTotal(t, entra.do("GET", "/Users?"+entraFilter(`userName eq "`+docUser+`"`), ""), 0)
	wantListTotal(t, entra.do("GET", "/Users?"+entraFilter(`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`), ""), 0)

	// Create User, as documented: enterprise schema, client meta, roles: [].
	r := entra.do("POST", "/Users", replayBody(t, "entra/create-user.json")).want(t, 201)
	wantSCIMType(t, r)
	u1 := r.str("id")
	wantBody(t, r, map[string]any{
		"userName": docUser, "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", "active": true,
		"name.formatted": "givenName familyName", "name.givenName": "givenName", "name.familyName": "familyName",
		"emails.0.value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com", "emails.0.type": "work", "emails.0.primary": true,
		"meta.resourceType": "User", "meta.location": f.base + "/Users/" + u1, schema.RollcallUserURN + ".role": "member",
	})
	if r.str("meta.created") == "" {
		t.Errorf("meta.created missing: the client's meta replaced the server's? %s", r.Raw)
	}
	if m := f.member(docUser); m.SCIMID != u1 || m.ExternalID != "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef" || m.GivenName != "givenName" || m.Role != directory.RoleMember {
		t.Errorf("member after Entra's create: %+v", m)
	}
	wantBody(t, wantListTotal(t, entra.do("GET", "/Users?"+entraFilter(`userName eq "`+docUser+`"`), ""), 1), map[string]any{"Resources.0.id": u1})

	// The second documented create: explicit nulls and the misspelled
	// enterprise schema URI "…:enterprise:2.0User".
	r = entra.do("POST", "/Users", replayBody(t, "entra/create-user-nulls.json")).want(t, 201)
	u2 := r.str("id")
	wantBody(t, r, map[string]any{
		"userName": "jyoung@testuser.com", "externalId": "jyoung", "displayName": "Joy Young", "active": true,
		"name.givenName": "Joy", "name.familyName": "Young", "emails.0.value": "jyoung@Contoso.com",
	})
	for _, k := range []string{"addresses", "phoneNumbers", "preferredLanguage", "title", "department", "manager"} {
		if v := bodyAt(r, k); v != nil {
			t.Errorf("%s = %#v after a create that sent null", k, v)
		}
	}

	// Matching by externalId: the documented unquoted form, and quoted.
	for _, q := range []string{"filter=externalId%20eq%20jyoung", "filter=externalId+eq+jyoung", "filter=externalId+eq+%22jyoung%22"} {
		wantBody(t, wantListTotal(t, entra.do("GET", "/Users?"+q, ""), 1), map[string]any{"Resources.0.id": u2})
	}
	// …and by the work email, as Entra filters any matching attribute.
	wantBody(t, wantListTotal(t, entra.do("GET", "/Users?"+entraFilter(`emails[type eq "work"].value eq "jyoung@Contoso.com"`), ""), 1),
		map[string]any{"Resources.0.id": u2})

	// Update User [Multi-valued properties] on a user with a work email.
	wantNoContentOrOK(t, entra.do("PATCH", "/Users/"+u1, replayBody(t, "entra/update-multi.json")))
	r = entra.do("GET", "/Users/"+u1, "").want(t, 200)
	wantBody(t, r, map[string]any{"emails.0.value": "updatedEmail@microsoft.com", "emails.0.type": "work", "emails.0.primary": true,
		"name.familyName": "updatedFamilyName", "name.givenName": "givenName"})
	if n := len(listValues(r, "emails")); n != 1 {
		t.Errorf("%d emails after replacing the work email, want 1", n)
	}
	if m := f.member(docUser); m.FamilyName != "updatedFamilyName" || m.PrimaryEmail() != "updatedEmail@microsoft.com" {
		t.Errorf("member after the multi-valued update: %+v", m)
	}
	// …and on a user with no work email: Entra expects it added.
	r = entra.do("POST", "/Users", `{"schemas":["`+schema.UserURN+`"],"userName":"nowork@testuser.com","emails":[{"type":"home","value":"home@example.com"}],"name":{"givenName":"No","familyName":"Work"},"active":true}`).want(t, 201)
	u3 := r.str("id")
	wantNoContentOrOK(t, entra.do("PATCH", "/Users/"+u3, replayBody(t, "entra/update-multi.json")))
	r = entra.do("GET", "/Users/"+u3, "").want(t, 200)
	emails := map[string]string{}
	for _, e := range r.get("emails").([]any) {
		m := e.(map[string]any)
		emails[m["type"].(string)] = m["value"].(string)
	}
	if emails["work"] != "updatedEmail@microsoft.com" || emails["home"] != "home@example.com" || len(emails) != 2 {
		t.Errorf("emails after replacing a missing work email: %v", emails)
	}

	// Update User [Single-valued properties].
	wantNoContentOrOK(t, entra.do("PATCH", "/Users/"+u1, replayBody(t, "entra/update-username.json")))
	wantBody(t, entra.do("GET", "/Users/"+u1, "").want(t, 200), map[string]any{"userName": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"})
	newName := "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
	if m := f.member(newName); m.SCIMID != u1 {
		t.Errorf("member after the userName change: %+v", m)
	}

	// Default mode: "Replace" with "False" and "True".
	sess := replaySession(t, f, f.member(newName).ID)
	wantNoContentOrOK(t, entra.do("PATCH", "/Users/"+u1, replayBody(t, "entra/active-default.json", "value", "False")))
	if m := f.member(newName); m.Active || sessionExists(t, f, sess) {
		t.Errorf(`after "Replace" active "False": active %v, session kept %v`, m.Active, sessionExists(t, f, sess))
	}
	wantBody(t, entra.do("GET", "/Users/"+u1, "").want(t, 200), map[string]any{"active": false})
	wantBody(t, wantListTotal(t, entra.do("GET", "/Users?"+entraFilter(`userName eq "`+newName+`"`), ""), 1), map[string]any{"Resources.0.active": false})
	wantNoContentOrOK(t, entra.do("PATCH", "/Users/"+u1, replayBody(t, "entra/active-default.json", "value", "True")))
	if m := f.member(newName); !m.Active {
		t.Errorf(`after "Replace" active "True": inactive`)
	}
	// Disable User, as documented (a JSON boolean).
	wantNoContentOrOK(t, entra.do("PATCH", "/Users/"+u1, replayBody(t, "entra/disable-user.json")))
	wantBody(t, entra.do("GET", "/Users/"+u1, "").want(t, 200), map[string]any{"active": false})
	wantNoContentOrOK(t, entra.do("PATCH", "/Users/"+u1, replayBody(t, "entra/active-default.json", "value", "True")))

	// "Add" of a single value.
	wantNoContentOrOK(t, entra.do("PATCH", "/Users/"+u2, replayBody(t, "entra/add-nickname.json")))
	wantBody(t, entra.do("GET", "/Users/"+u2, "").want(t, 200), map[string]any{"nickName": "Babs"})

	// Several attributes: one "Replace" each (default mode), then path-less
	// with dotted and URN keys (flag mode).
	check := func(mode string) {
		t.Helper()
		r := entra.do("GET", "/Users/"+u2, "").want(t, 200)
		wantBody(t, r, map[string]any{"displayName": "Bjfe", "name.givenName": "Kkom", "name.familyName": "Unua", schema.EnterpriseUserURN + ".employeeNumber": "Aklq",
			"nickName": "Babs", "userName": "jyoung@testuser.com"})
		if !slices.Contains(jsonStrings(r.get("schemas")), schema.EnterpriseUserURN) {
			t.Errorf("%s: schemas %v lack the enterprise extension", mode, r.get("schemas"))
		}
		if m := f.member("jyoung@testuser.com"); m.GivenName != "Kkom" || m.FamilyName != "Unua" || m.DisplayName != "Bjfe" {
			t.Errorf("%s: member %+v", mode, m)
		}
	}
	wantNoContentOrOK(t, entra.do("PATCH", "/Users/"+u2, replayBody(t, "entra/replace-default.json")))
	check("separate Replace operations")
	entra.do("PUT", "/Users/"+u2, replayBody(t, "entra/create-user-nulls.json")).want(t, 200) // back to Joy Young
	wantBody(t, entra.do("GET", "/Users/"+u2, "").want(t, 200), map[string]any{"name.givenName": "Joy", schema.EnterpriseUserURN + ".employeeNumber": nil})
	entra.do("PATCH", "/Users/"+u2, replayBody(t, "entra/add-nickname.json")).want(t, 204)
	wantNoContentOrOK(t, entra.do("PATCH", "/Users/"+u2, replayBody(t, "entra/replace-flag.json")))
	check("path-less dotted and URN keys")

	// The manager: a bare string on the URN path (real traffic), returned
	// as {"value": id}; then the documented list of {"$ref", "value"} on
	// the path "manager".
	wantNoContentOrOK(t, entra.do("PATCH", "/Users/"+u2, replayBody(t, "entra/manager-string.json", "manager", u1)))
	r = entra.do("GET", "/Users/"+u2, "").want(t, 200)
	if mgr, ok := bodyAt(r, schema.EnterpriseUserURN+".manager").(map[string]any); !ok || mgr["value"] != u1 {
		t.Errorf("manager after a bare string: %#v, want {\"value\": %q}", bodyAt(r, schema.EnterpriseUserURN+".manager"), u1)
	}
	wantNoContentOrOK(t, entra.do("PATCH", "/Users/"+u2, replayBody(t, "entra/manager-doc.json", "base", f.base, "manager", u3)))
	r = entra.do("GET", "/Users/"+u2, "").want(t, 200)
	if mgr, ok := bodyAt(r, schema.EnterpriseUserURN+".manager").(map[string]any); !ok || mgr["value"] != u3 {
		t.Errorf("manager after the documented Add: %#v, want {\"value\": %q}", bodyAt(r, schema.EnterpriseUserURN+".manager"), u3)
	}
	// Example 4 of Microsoft's guide: before updating the manager, Entra
	// asks whether the user's manager already has the value, with the
	// filter id eq "…" and manager eq "…" (attribute paths "ID" and
	// "manager", requested attribute "ID"). The answer is a list: one
	// result when it does, none when it does not.
	for _, c := range []struct {
		manager string
		want    int
	}{{u3, 1}, {u1, 0}} {
		r := entra.do("GET", "/Users?attributes=id&"+entraFilter(`id eq "`+u2+`" and manager eq "`+c.manager+`"`), "")
		if r.Status != 200 || bodyInt(r, "totalResults") != c.want {
			t.Errorf("Example 4, manager check for %s: status %d, totalResults %v; want 200 and %d; body %s", c.manager, r.Status, r.get("totalResults"), c.want, r.Raw)
		}
	}
	// The same question with the sub-attribute spelled out.
	wantBody(t, wantListTotal(t, entra.do("GET", "/Users?"+entraFilter(`id eq "`+u2+`" and `+schema.EnterpriseUserURN+`:manager.value eq "`+u3+`"`), ""), 1),
		map[string]any{"Resources.0.id": u2})
	wantListTotal(t, entra.do("GET", "/Users?"+entraFilter(`id eq "`+u2+`" and `+schema.EnterpriseUserURN+`:manager.value eq "`+u1+`"`), ""), 0)
}

// entraValidator: what Microsoft's SCIM Validator sends beyond the guide's
// examples (research §1.2): primary as a string, a re-create of a userName
// it renamed earlier (no 409 expected), path-less dotted keys, and a GET
// and a filter on a disabled user that must carry "active".
func entraValidator(t *testing.T, engine string) {
	f := newFixture(t, engine, scim.Config{})
	entra := entraClient(f)
	body := `{"schemas":["` + schema.UserURN + `"],"userName":"oswaldo@testuser.com","active":true,` +
		`"emails":[{"type":"work","value":"oswaldo@testuser.com","primary":"True"}],"name":{"givenName":"Os","familyName":"Ry"}}`
	r := entra.do("POST", "/Users", body).want(t, 201)
	id := r.str("id")
	wantBody(t, r, map[string]any{"emails.0.primary": true})
	wantNoContentOrOK(t, entra.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"name.givenName":"Oswaldo","name.familyName":"Rylan"}}]}`))
	wantBody(t, entra.do("GET", "/Users/"+id, "").want(t, 200), map[string]any{"name.givenName": "Oswaldo", "name.familyName": "Rylan"})
	wantNoContentOrOK(t, entra.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"userName","value":"oswaldo.rylan@testuser.com"}]}`))
	again := entra.do("POST", "/Users", body).want(t, 201).str("id")
	if again == id {
		t.Errorf("the re-created user got the renamed user's id")
	}
	wantNoContentOrOK(t, entra.do("PATCH", "/Users/"+id, replayBody(t, "entra/disable-user.json")))
	wantBody(t, entra.do("GET", "/Users/"+id, "").want(t, 200), map[string]any{"active": false})
	wantBody(t, wantListTotal(t, entra.do("GET", "/Users?"+entraFilter(`userName eq "oswaldo.rylan@testuser.com"`), ""), 1),
		map[string]any{"Resources.0.id": id, "Resources.0.active": false})
}

// entraDelete: soft delete (PATCH active false), hard delete (DELETE),
// then the same person provisioned again.
func entraDelete(t *testing.T, engine string) {
	f := newFixture(t, engine, scim.Config{})
	entra := entraClient(f)
	ctx := context.Background()
	const docUser = "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"

	old := entra.do("POST", "/Users", replayBody(t, "entra/create-user.json")).want(t, 201).str("id")
	member := f.member(docUser)
	g := entra.do("POST", "/Groups", replayBody(t, "entra/group-create.json")).want(t, 201).str("id")
	entra.do("PATCH", "/Groups/"+g, replayBody(t, "entra/group-add-member.json", "member", old)).want(t, 204)

	// Soft delete.
	sess := replaySession(t, f, member.ID)
	wantNoContentOrOK(t, entra.do("PATCH", "/Users/"+old, replayBody(t, "entra/active-default.json", "value", "False")))
	if m := f.member(docUser); m.Active || sessionExists(t, f, sess) {
		t.Errorf("after the soft delete: active %v, session kept %v", m.Active, sessionExists(t, f, sess))
	}
	wantBody(t, entra.do("GET", "/Users/"+old, "").want(t, 200), map[string]any{"active": false})

	// Hard delete: 204, then 404 for every operation, absent from lists.
	entra.do("DELETE", "/Users/"+old, "").want(t, 204)
	wantSCIMError(t, entra.do("GET", "/Users/"+old, ""), 404, "")
	wantSCIMError(t, entra.do("PATCH", "/Users/"+old, replayBody(t, "entra/active-default.json", "value", "True")), 404, "")
	wantSCIMError(t, entra.do("PUT", "/Users/"+old, replayBody(t, "entra/create-user.json")), 404, "")
	wantSCIMError(t, entra.do("DELETE", "/Users/"+old, ""), 404, "")
	wantListTotal(t, entra.do("GET", "/Users?"+entraFilter(`userName eq "`+docUser+`"`), ""), 0)
	wantListTotal(t, entra.do("GET", "/Users?"+entraFilter(`id eq "`+old+`"`), ""), 0)
	wantListTotal(t, entra.do("GET", "/Users", ""), 0)
	if ms := memberValues(entra.do("GET", "/Groups/"+g, "").want(t, 200)); len(ms) != 0 {
		t.Errorf("the deleted user is still a group member: %v", ms)
	}
	if m := f.member(docUser); m.ID != member.ID || m.Active || m.SCIMID != "" || m.GivenName != "givenName" {
		t.Errorf("the workspace member after the hard delete: %+v (want the same member, inactive, data kept)", m)
	}

	// Provisioned again (same userName): a new SCIM id, the same member.
	r := entra.do("POST", "/Users", replayBody(t, "entra/create-user.json")).want(t, 201)
	fresh := r.str("id")
	if fresh == "" || fresh == old {
		t.Fatalf("re-provisioned user id %q, want a new id (old %q)", fresh, old)
	}
	wantBody(t, r, map[string]any{"active": true, "userName": docUser})
	if m := f.member(docUser); m.ID != member.ID || !m.Active || m.SCIMID != fresh || m.Created != member.Created {
		t.Errorf("re-provisioned member %+v, want member %s active with SCIM id %s", m, member.ID, fresh)
	}
	wantSCIMError(t, entra.do("GET", "/Users/"+old, ""), 404, "")
	wantBody(t, wantListTotal(t, entra.do("GET", "/Users", ""), 1), map[string]any{"Resources.0.id": fresh})
	audit, err := f.srv.DB.Audit(ctx, f.ws, directory.AuditQuery{TargetID: member.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range audit {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"member.created", "member.deactivated", "member.scim_deleted", "member.reprovisioned"} {
		if !slices.Contains(actions, want) {
			t.Errorf("the member's history lacks %q: %v", want, actions)
		}
	}

	// By externalId: Entra matched on externalId and the userName changed
	// in the meantime.
	u2 := entra.do("POST", "/Users", replayBody(t, "entra/create-user-nulls.json")).want(t, 201).str("id")
	joy := f.member("jyoung@testuser.com")
	entra.do("DELETE", "/Users/"+u2, "").want(t, 204)
	body := replayBody(t, "entra/create-user-nulls.json")
	r = entra.do("POST", "/Users", strings.ReplaceAll(body, `"userName":"jyoung@testuser.com"`, `"userName":"joy.young@testuser.com"`)).want(t, 201)
	if r.str("id") == u2 {
		t.Errorf("re-provisioning by externalId kept the old SCIM id")
	}
	if m := f.member("joy.young@testuser.com"); m.ID != joy.ID || !m.Active {
		t.Errorf("re-provisioned by externalId: member %s active %v, want member %s", m.ID, m.Active, joy.ID)
	}
}

func entraGroups(t *testing.T, engine string) {
	f := newFixture(t, engine, scim.Config{})
	entra := entraClient(f)
	var users []string
	for _, n := range []string{"ua", "ub", "uc"} {
		body := strings.ReplaceAll(replayBody(t, "entra/create-user.json"), "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee", n+"@testuser.com")
		body = strings.ReplaceAll(body, "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", "ext-"+n)
		users = append(users, entra.do("POST", "/Users", body).want(t, 201).str("id"))
	}
	ua, ub, uc := users[0], users[1], users[2]
	byName := "/Groups?excludedAttributes=members&" + entraFilter(`displayName eq "displayName"`)

	// Matching, then Create Group with the extra ADSCIM schema URI.
	wantListTotal(t, entra.do("GET", byName, ""), 0)
	r := entra.do("POST", "/Groups", replayBody(t, "entra/group-create.json")).want(t, 201)
	wantSCIMType(t, r)
	g := r.str("id")
	wantBody(t, r, map[string]any{"displayName": "displayName", "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "meta.resourceType": "Group"})
	if len(memberValues(r)) != 0 {
		t.Errorf("a group created without members has %v", memberValues(r))
	}

	// Add members with "$ref": null, one request each, then two in one.
	entra.do("PATCH", "/Groups/"+g, replayBody(t, "entra/group-add-member.json", "member", ua)).want(t, 204)
	entra.do("PATCH", "/Groups/"+g, replayBody(t, "entra/group-add-member.json", "member", ua)).want(t, 204) // already there: a no-op
	entra.do("PATCH", "/Groups/"+g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"`+ub+`"},{"$ref":null,"value":"`+uc+`"}]}]}`).want(t, 204)
	if ms := memberValues(entra.do("GET", "/Groups/"+g, "").want(t, 200)); !slices.Equal(sortedCopy(ms), sortedCopy(users)) {
		t.Errorf("members %v, want %v", ms, users)
	}

	// The lookups Entra makes, members excluded — now that there are some.
	r = wantListTotal(t, entra.do("GET", byName, ""), 1)
	wantBody(t, r, map[string]any{"Resources.0.id": g, "Resources.0.displayName": "displayName"})
	if bodyAt(r, "Resources.0.members") != nil {
		t.Errorf("excludedAttributes=members, but the list has members: %s", r.Raw)
	}
	r = entra.do("GET", "/Groups/"+g+"?excludedAttributes=members", "").want(t, 200)
	if _, ok := r.Body["members"]; ok || r.str("id") != g {
		t.Errorf("GET /Groups/{id}?excludedAttributes=members: %s", r.Raw)
	}
	// Membership checks: id eq "g" and members eq "u".
	for _, c := range []struct {
		user string
		want int
	}{{ua, 1}, {"00000000-0000-0000-0000-000000000000", 0}} {
		q := "/Groups?excludedAttributes=members&" + entraFilter(`id eq "`+g+`" and members eq "`+c.user+`"`)
		wantListTotal(t, entra.do("GET", q, ""), c.want)
	}

	// Remove with a value list and no filter (default mode).
	entra.do("PATCH", "/Groups/"+g, replayBody(t, "entra/group-remove-member.json", "member", ua)).want(t, 204)
	entra.do("PATCH", "/Groups/"+g, replayBody(t, "entra/group-remove-member.json", "member", ua)).want(t, 204) // not a member: a no-op
	if ms := memberValues(entra.do("GET", "/Groups/"+g, "").want(t, 200)); !slices.Equal(sortedCopy(ms), sortedCopy([]string{ub, uc})) {
		t.Errorf("members after removing %s: %v", ua, ms)
	}
	wantListTotal(t, entra.do("GET", "/Groups?"+entraFilter(`id eq "`+g+`" and members eq "`+ua+`"`), ""), 0)
	// …and with a filter (flag mode).
	entra.do("PATCH", "/Groups/"+g, replayBody(t, "entra/group-remove-member-flag.json", "member", ub)).want(t, 204)
	if ms := memberValues(entra.do("GET", "/Groups/"+g, "").want(t, 200)); !slices.Equal(ms, []string{uc}) {
		t.Errorf("members after removing %s by filter: %v", ub, ms)
	}

	// Update Group [Non-member attributes]: 204, members untouched.
	entra.do("PATCH", "/Groups/"+g, replayBody(t, "entra/group-rename.json")).want(t, 204)
	r = entra.do("GET", "/Groups/"+g, "").want(t, 200)
	wantBody(t, r, map[string]any{"id": g, "displayName": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"})
	if ms := memberValues(r); !slices.Equal(ms, []string{uc}) {
		t.Errorf("members after the rename: %v", ms)
	}

	// Delete Group: 204; the users stay.
	entra.do("DELETE", "/Groups/"+g, "").want(t, 204)
	wantSCIMError(t, entra.do("GET", "/Groups/"+g, ""), 404, "")
	wantListTotal(t, entra.do("GET", "/Users", ""), 3)
}
