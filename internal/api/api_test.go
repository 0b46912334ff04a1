package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"rollcall/internal/credential"
	"rollcall/internal/directory"
	"rollcall/internal/server"
	"rollcall/internal/testenv/dbtest"
	"rollcall/internal/testenv/samltest"
)

type fixture struct {
	srv    *httptest.Server
	ws     string
	key    string
	other  string
	svc    *directory.Service
	client *http.Client
}

func newFixture(t *testing.T, engine string) *fixture {
	t.Helper()
	database := dbtest.Schema
	var dsn string
	if engine == "postgres" {
		dsn = database(t)
	} else {
		dsn = t.TempDir() + "/rc.db"
	}
	s, err := server.New(context.Background(), server.Config{Database: dsn, BaseURL: "https://rc.example.com", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	ctx := context.Background()
	a, _ := s.Dir.CreateWorkspace(ctx, "A")
	b, _ := s.Dir.CreateWorkspace(ctx, "B")
	_, key, err := s.Creds.Create(ctx, a.ID, credential.KindAPIKey, "test")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: hs, ws: a.ID, key: key, other: b.ID, svc: s.Dir, client: hs.Client()}
}

func (f *fixture) do(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.key)
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: body %q is not JSON", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

func TestAPI(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, engine)
			base := "/api/v1/workspaces/" + f.ws
			code, body := f.do(t, "GET", base, "")
			if code != 200 || body["scim_base_url"] != "https://rc.example.com/scim/v2/"+f.ws {
				t.Fatalf("workspace: %d %v", code, body)
			}
			code, body = f.do(t, "POST", base+"/roles", `{"name":"Billing","base_role":"guest","description":"pays"}`)
			if code != 201 {
				t.Fatalf("create role: %d %v", code, body)
			}
			id := body["id"].(string)
			code, body = f.do(t, "GET", base+"/roles", "")
			roles := body["roles"].([]any)
			if code != 200 || len(roles) != 5 || roles[4].(map[string]any)["id"] != id || roles[0].(map[string]any)["id"] != "owner" {
				t.Fatalf("list roles: %d %v", code, body)
			}
			code, body = f.do(t, "POST", base+"/roles", `{"name":"billing"}`)
			if code != 409 || body["code"] != "conflict" || body["message"] == "" {
				t.Fatalf("duplicate role: %d %v", code, body)
			}
			code, body = f.do(t, "PATCH", base+"/roles/"+id, `{"name":"Finance"}`)
			if code != 200 || body["id"] != id || body["name"] != "Finance" {
				t.Fatalf("rename: %d %v", code, body)
			}
			for _, bad := range []string{`{"name":`, `{"nam":"x"}`, `{"name":"x"} {}`, `[]`} {
				if code, body = f.do(t, "POST", base+"/roles", bad); code != 400 || body["code"] != "invalid" {
					t.Errorf("body %q: %d %v", bad, code, body)
				}
			}
			if code, _ = f.do(t, "POST", base+"/roles", `{"name":"`+strings.Repeat("x", 2<<20)+`"}`); code != 413 {
				t.Errorf("huge body: %d", code)
			}
			// Members, paginated, with a status filter.
			ctx := context.Background()
			for i := range 5 {
				if _, err := f.svc.CreateMember(ctx, f.ws, &directory.Member{UserName: fmt.Sprintf("u%d@a.test", i), Active: i != 2}); err != nil {
					t.Fatal(err)
				}
			}
			code, body = f.do(t, "GET", base+"/members?limit=2", "")
			if code != 200 || body["total"] != 5.0 || len(body["members"].([]any)) != 2 || body["next_offset"] != 2.0 {
				t.Fatalf("members page: %d %v", code, body)
			}
			code, body = f.do(t, "GET", base+"/members?status=inactive", "")
			ms := body["members"].([]any)
			if code != 200 || len(ms) != 1 || ms[0].(map[string]any)["user_name"] != "u2@a.test" || ms[0].(map[string]any)["status"] != "inactive" {
				t.Fatalf("inactive members: %d %v", code, body)
			}
			mid := ms[0].(map[string]any)["id"].(string)
			if code, body = f.do(t, "GET", base+"/members/"+mid, ""); code != 200 || body["id"] != mid {
				t.Fatalf("get member: %d %v", code, body)
			}
			if code, _ = f.do(t, "GET", base+"/members?status=weird", ""); code != 400 {
				t.Errorf("bad status: %d", code)
			}
			if code, _ = f.do(t, "GET", base+"/members?limit=0", ""); code != 400 {
				t.Errorf("bad limit: %d", code)
			}
			if code, _ = f.do(t, "DELETE", base+"/roles/"+id, ""); code != 204 {
				t.Errorf("delete role: %d", code)
			}
			if code, body = f.do(t, "GET", base+"/audit?limit=3", ""); code != 200 || len(body["entries"].([]any)) != 3 || body["next_before"] == nil {
				t.Errorf("audit: %d %v", code, body)
			}
			// Another workspace's key: 404, as if it did not exist. A bad key: 401.
			if code, body = f.do(t, "GET", "/api/v1/workspaces/"+f.other+"/roles", ""); code != 404 || body["code"] != "not_found" {
				t.Errorf("other workspace: %d %v", code, body)
			}
			f.key = "rcak_nope_nope"
			if code, body = f.do(t, "GET", base+"/roles", ""); code != 401 || body["code"] != "unauthorized" {
				t.Errorf("bad key: %d %v", code, body)
			}
		})
	}
}

func TestAPICredentialsGroupsSSO(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, engine)
			base := "/api/v1/workspaces/" + f.ws
			code, body := f.do(t, "POST", base+"/scim-tokens", `{"label":"Okta"}`)
			tok, _ := body["token"].(string)
			if code != 201 || !strings.HasPrefix(tok, "rcst_") || body["scim_base_url"] != "https://rc.example.com/scim/v2/"+f.ws {
				t.Fatalf("create scim token: %d %v", code, body)
			}
			id := body["id"].(string)
			code, body = f.do(t, "GET", base+"/scim-tokens", "")
			list := body["credentials"].([]any)
			if code != 200 || len(list) != 1 || strings.Contains(fmt.Sprint(list), tok) {
				t.Fatalf("list scim tokens (must not show secrets): %d %v", code, body)
			}
			if code, _ = f.do(t, "DELETE", base+"/api-keys/"+id, ""); code != 404 { // a SCIM token is not an API key
				t.Fatalf("revoke a SCIM token as an API key: %d", code)
			}
			if code, _ = f.do(t, "DELETE", base+"/scim-tokens/"+id, ""); code != 204 {
				t.Fatalf("revoke: %d", code)
			}
			if code, _ = f.do(t, "DELETE", base+"/scim-tokens/nope", ""); code != 404 {
				t.Fatalf("revoke unknown: %d", code)
			}
			code, body = f.do(t, "POST", base+"/scim-clients", "")
			if code != 201 || !strings.HasPrefix(body["client_id"].(string), "rcci_") || !strings.HasPrefix(body["client_secret"].(string), "rccs_") ||
				body["token_url"] != "https://rc.example.com/oauth/token" {
				t.Fatalf("create client: %d %v", code, body)
			}
			// Groups and their role mapping.
			ctx := context.Background()
			m, _ := f.svc.CreateMember(ctx, f.ws, &directory.Member{UserName: "g@a.test", Active: true})
			g, err := f.svc.CreateGroup(ctx, f.ws, &directory.Group{DisplayName: "Admins"}, directory.Refs(m.SCIMID))
			if err != nil {
				t.Fatal(err)
			}
			code, body = f.do(t, "GET", base+"/groups", "")
			if code != 200 || body["total"] != 1.0 || body["groups"].([]any)[0].(map[string]any)["member_count"] != 1.0 {
				t.Fatalf("groups: %d %v", code, body)
			}
			if code, body = f.do(t, "PUT", base+"/groups/"+g.ID+"/role", `{"role":"admin"}`); code != 200 || body["role"] != "admin" {
				t.Fatalf("map group: %d %v", code, body)
			}
			if code, body = f.do(t, "GET", base+"/members/"+m.ID, ""); body["role"] != "admin" {
				t.Fatalf("member role after mapping: %d %v", code, body)
			}
			if code, body = f.do(t, "PUT", base+"/groups/"+g.ID+"/role", `{"role":"owner"}`); code != 400 {
				t.Fatalf("owner by group: %d %v", code, body)
			}
			if code, body = f.do(t, "GET", base+"/groups/"+g.ID+"/members", ""); code != 200 || body["total"] != 1.0 {
				t.Fatalf("group members: %d %v", code, body)
			}
			if code, _ = f.do(t, "DELETE", base+"/groups/"+g.ID+"/role", ""); code != 200 {
				t.Fatalf("unmap: %d", code)
			}
			if _, body = f.do(t, "GET", base+"/members/"+m.ID, ""); body["role"] != "member" {
				t.Fatalf("member role after unmapping: %v", body)
			}
			// SSO configuration and policy.
			code, body = f.do(t, "GET", base+"/sso", "")
			if code != 200 || body["configured"] != false || body["entity_id"] != "https://rc.example.com/saml/"+f.ws+"/metadata" {
				t.Fatalf("sso before configuration: %d %v", code, body)
			}
			if code, body = f.do(t, "PUT", base+"/sso", `{"sso_url":"https://idp.test/sso","entity_id":"idp","certificates":["nonsense"]}`); code != 400 || !strings.Contains(body["message"].(string), "certificate") {
				t.Fatalf("bad sso settings: %d %v", code, body)
			}
			// Requiring SSO without an IdP would lock every non-owner out: 409,
			// saying what to do first, and the policy is unchanged.
			code, body = f.do(t, "PUT", base+"/sso/policy", `{"policy":"required"}`)
			if msg, _ := body["message"].(string); code != 409 || body["code"] != "conflict" || !strings.Contains(msg, "no IdP configured") ||
				!strings.Contains(msg, "PUT /api/v1/workspaces/"+f.ws+"/sso") {
				t.Fatalf("required without an IdP: %d %v", code, body)
			}
			if _, body = f.do(t, "GET", base, ""); body["sso_policy"] != "optional" {
				t.Fatalf("policy after the refusal: %v", body)
			}
			if code, body = f.do(t, "PUT", base+"/sso/policy", `{"policy":"optional"}`); code != 200 || body["sso_policy"] != "optional" {
				t.Fatalf("optional without an IdP: %d %v", code, body)
			}
			settings, err := json.Marshal(map[string]any{"sso_url": "https://idp.test/sso", "entity_id": "https://idp.test",
				"certificates": []string{samltest.New(t, "https://idp.test", time.Time{}).CertPEM()}})
			if err != nil {
				t.Fatal(err)
			}
			if code, body = f.do(t, "PUT", base+"/sso", string(settings)); code != 200 || body["configured"] != true {
				t.Fatalf("configure sso: %d %v", code, body)
			}
			if code, body = f.do(t, "PUT", base+"/sso/policy", `{"policy":"required"}`); code != 200 || body["sso_policy"] != "required" {
				t.Fatalf("policy: %d %v", code, body)
			}
			// SP keys: a reset replaces the current key; an unknown stage is 404.
			_, before := f.do(t, "GET", base+"/sso", "")
			if code, body = f.do(t, "POST", base+"/sso/sp-key/reset", ""); code != 200 || fmt.Sprint(body["sp_certificates"]) == fmt.Sprint(before["sp_certificates"]) {
				t.Fatalf("sp-key reset: %d, certificates %v then %v", code, before["sp_certificates"], body["sp_certificates"])
			}
			if code, _ = f.do(t, "POST", base+"/sso/sp-key/shred", ""); code != 404 {
				t.Fatalf("unknown sp-key stage: %d", code)
			}
			if code, _ = f.do(t, "GET", base+"/provisioning-log", ""); code != 200 {
				t.Fatalf("provisioning log: %d", code)
			}
		})
	}
}
