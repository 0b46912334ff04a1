package scim_test

import (
	"context"
	"fmt"
	"testing"

	"rollcall/internal/scim"
	"rollcall/internal/testenv/dbtest"
)

// TestDamagedStoredAttributes: extra attributes that no longer decode (a
// damaged row) are left out when a member or group is read, but a PATCH,
// which would write the document back without them, fails and changes
// nothing.
func TestDamagedStoredAttributes(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, engine, scim.Config{})
			ctx := context.Background()
			u := f.do("POST", "/Users", user("dmg@x.test", `"title":"Boss"`)).want(t, 201)
			g := f.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Eng","externalId":"e1"}`).want(t, 201)
			uid, gid := u.str("id"), g.str("id")
			for _, table := range []string{"members", "groups"} {
				if err := f.srv.DB.ExecBenchmarkDDL(ctx, fmt.Sprintf("UPDATE %s SET attributes = '{\"title\":' WHERE workspace_id = '%s'", table, f.ws)); err != nil {
					t.Fatal(err)
				}
			}
			f.do("GET", "/Users/"+uid, "").want(t, 200)
			f.do("GET", "/Groups/"+gid, "").want(t, 200)
			f.do("PATCH", "/Users/"+uid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"X"}]}`).want(t, 500)
			f.do("PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"externalId","value":"e2"}]}`).want(t, 500)
			m, err := f.srv.Dir.Member(ctx, f.ws, uid) // a new member's SCIM id is its member id
			if err != nil {
				t.Fatal(err)
			}
			if string(m.Attributes) != `{"title":` {
				t.Fatalf("a failed PATCH rewrote the damaged attributes: %s", m.Attributes)
			}
		})
	}
}
