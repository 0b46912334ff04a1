package scim_test

// Replays of OneLogin's "SCIM Provisioner with SAML" connector
// (../shared/research/scim.md §1.4). The admin pastes a SCIM JSON template
// that defines the user body; testdata/replay/onelogin holds the documented
// template (SCIM 1.0 schema URN, name.formatted) with its parameters
// filled in, a variant carrying a role parameter, and one with the
// enterprise parameters (department, title, external manager id) and
// active. OneLogin's update and deprovisioning wire forms are not
// documented, so both a PUT of the template and a PATCH are replayed.

import (
	"context"
	"net/url"
	"testing"

	"rollcall/internal/directory"
	"rollcall/internal/scim"
	"rollcall/internal/scim/schema"
	"rollcall/internal/testenv/dbtest"
)

func TestReplayOneLogin(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, engine, scim.Config{})
			ol := replayClient{f: f}
			ctx := context.Background()
			user := func(firstname, lastname string) string {
				return replayBody(t, "onelogin/user.json", "userName", "ola@example.com",
					"firstname", firstname, "lastname", lastname, "display_name", firstname+" "+lastname)
			}

			// Create from the template.
			wantListTotal(t, ol.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "ola@example.com"`), ""), 0)
			r := ol.do("POST", "/Users", user("Ola", "Nordmann")).want(t, 201)
			id := r.str("id")
			wantBody(t, r, map[string]any{"userName": "ola@example.com", "name.givenName": "Ola", "name.familyName": "Nordmann",
				"name.formatted": "Ola Nordmann", "active": true, schema.RollcallUserURN + ".role": "member"})
			if m := f.member("ola@example.com"); m.SCIMID != id || m.GivenName != "Ola" || m.FamilyName != "Nordmann" || !m.Active {
				t.Errorf("member after OneLogin's create: %+v", m)
			}

			// Update: the template again with new values.
			r = ol.do("PUT", "/Users/"+id, user("Ola", "Hansen")).want(t, 200)
			wantBody(t, r, map[string]any{"name.familyName": "Hansen", "name.formatted": "Ola Hansen", "active": true})
			if m := f.member("ola@example.com"); m.FamilyName != "Hansen" {
				t.Errorf("family name after the update: %q", m.FamilyName)
			}

			// A role parameter in the template (core namespace), then the
			// template without it: unchanged.
			r = ol.do("PUT", "/Users/"+id, replayBody(t, "onelogin/user-role.json", "userName", "ola@example.com",
				"firstname", "Ola", "lastname", "Hansen", "display_name", "Ola Hansen", "role", "admin")).want(t, 200)
			wantBody(t, r, map[string]any{schema.RollcallUserURN + ".role": "admin"})
			ol.do("PUT", "/Users/"+id, user("Ola", "Hansen")).want(t, 200)
			if m := f.member("ola@example.com"); m.Role != directory.RoleAdmin {
				t.Errorf("role after a template without it: %s, want admin", m.Role)
			}

			// The enterprise parameters, and deprovisioning by PUT …
			mgr := ol.do("POST", "/Users", replayBody(t, "onelogin/user.json", "userName", "kari@example.com",
				"firstname", "Kari", "lastname", "Nordmann", "display_name", "Kari Nordmann")).want(t, 201).str("id")
			enterprise := func(active string) string {
				return replayBody(t, "onelogin/user-enterprise.json", "userName", "ola@example.com", "firstname", "Ola", "lastname", "Hansen",
					"display_name", "Ola Hansen", "title", "Engineer", "department", "R&D", "external_manager_id", mgr, "active", active)
			}
			sess := replaySession(t, f, f.member("ola@example.com").ID)
			r = ol.do("PUT", "/Users/"+id, enterprise("false")).want(t, 200)
			wantBody(t, r, map[string]any{"active": false, "title": "Engineer", schema.EnterpriseUserURN + ".department": "R&D",
				schema.EnterpriseUserURN + ".manager.value": mgr, schema.RollcallUserURN + ".role": "admin"})
			if m := f.member("ola@example.com"); m.Active || sessionExists(t, f, sess) {
				t.Errorf("after OneLogin's deprovisioning PUT: active %v, session kept %v", m.Active, sessionExists(t, f, sess))
			}
			ol.do("PUT", "/Users/"+id, enterprise("true")).want(t, 200)

			// … and by PATCH.
			sess = replaySession(t, f, f.member("ola@example.com").ID)
			wantNoContentOrOK(t, ol.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`))
			if m := f.member("ola@example.com"); m.Active || sessionExists(t, f, sess) {
				t.Errorf("after a deprovisioning PATCH: active %v, session kept %v", m.Active, sessionExists(t, f, sess))
			}
			wantBody(t, ol.do("GET", "/Users/"+id, "").want(t, 200), map[string]any{"active": false, "title": "Engineer", schema.RollcallUserURN + ".role": "admin"})

			// "Refresh Entitlements" lists the app's groups.
			if _, err := f.srv.Dir.CreateGroup(ctx, f.ws, &directory.Group{DisplayName: "Sales"}, nil); err != nil {
				t.Fatal(err)
			}
			wantBody(t, wantListTotal(t, ol.do("GET", "/Groups", ""), 1), map[string]any{"Resources.0.displayName": "Sales"})
		})
	}
}
