package scim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"rollcall/internal/credential"
	"rollcall/internal/directory"
	"rollcall/internal/scim"
	"rollcall/internal/scim/filter"
	"rollcall/internal/scim/schema"
	"rollcall/internal/store"
	"rollcall/internal/testenv/dbtest"
)

func user(name string, extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + name + `"` + extra + `}`
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite", scim.Config{})
	other := newFixture(t, "sqlite", scim.Config{})
	ctx := context.Background()
	cases := map[string]string{
		"none":            "",
		"garbage":         "nope",
		"other workspace": other.token,
		"api key":         "rcak_x_y",
	}
	for name, tok := range cases {
		saved := f.token
		f.token = tok
		r := f.do("GET", "/Users", "")
		f.token = saved
		if r.Status != 401 || r.str("status") != "401" || r.str("detail") == "" || r.get("schemas.0") != "urn:ietf:params:scim:api:messages:2.0:Error" {
			t.Errorf("%s: %d %s", name, r.Status, r.Raw)
		}
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate", name)
		}
	}
	// Revoked tokens stop working at once.
	c, tok, _ := f.srv.Creds.Create(ctx, f.ws, credential.KindSCIMToken, "old")
	f.token = tok
	f.do("GET", "/Users", "").want(t, 200)
	if err := f.srv.Creds.Revoke(ctx, f.ws, credential.KindSCIMToken, c.ID); err != nil {
		t.Fatal(err)
	}
	f.do("GET", "/Users", "").want(t, 401)

	// OAuth client credentials.
	client, secret, _ := f.srv.Creds.Create(ctx, f.ws, credential.KindSCIMClient, "JumpCloud")
	tokenURL := f.http.URL + "/oauth/token"
	post := func(form url.Values, basic bool) (int, map[string]any) {
		req, _ := http.NewRequest("POST", tokenURL, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.SetBasicAuth(client.ClientID(), secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code, body := post(url.Values{"grant_type": {"client_credentials"}}, true)
	if code != 200 || body["token_type"] != "Bearer" || body["expires_in"] != 3600.0 {
		t.Fatalf("token (basic): %d %v", code, body)
	}
	f.token = body["access_token"].(string)
	f.do("GET", "/Users", "").want(t, 200)
	code, body = post(url.Values{"grant_type": {"client_credentials"}, "client_id": {client.ClientID()}, "client_secret": {secret}}, false)
	if code != 200 {
		t.Fatalf("token (form): %d %v", code, body)
	}
	if code, body = post(url.Values{"grant_type": {"client_credentials"}, "client_id": {client.ClientID()}, "client_secret": {secret + "x"}}, false); code != 401 || body["error"] != "invalid_client" {
		t.Fatalf("bad secret: %d %v", code, body)
	}
	if code, body = post(url.Values{"grant_type": {"password"}}, true); code != 400 || body["error"] != "unsupported_grant_type" {
		t.Fatalf("bad grant: %d %v", code, body)
	}
	// The access token does not open another workspace.
	other.token = f.token
	other.do("GET", "/Users", "").want(t, 401)
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite", scim.Config{})
	for _, p := range []string{"/ServiceProviderConfig", "/serviceConfiguration", "/ServiceProviderConfig/"} {
		r := f.do("GET", p, "").want(t, 200)
		if r.get("patch.supported") != true || r.get("etag.supported") != true || r.get("filter.maxResults") != json.Number("1000") || r.get("bulk.supported") != false {
			t.Errorf("%s: %s", p, r.Raw)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/scim+json" {
			t.Errorf("%s: content type %q", p, ct)
		}
	}
	rt := f.do("GET", "/ResourceTypes", "").want(t, 200)
	if rt.total() != 2 || rt.str("Resources.0.endpoint") != "/Users" || rt.str("Resources.1.endpoint") != "/Groups" {
		t.Errorf("resource types: %s", rt.Raw)
	}
	f.do("GET", "/ResourceTypes/User", "").want(t, 200)
	f.do("GET", "/ResourceTypes/Nope", "").want(t, 404)
	sc := f.do("GET", "/Schemas", "").want(t, 200)
	if !strings.Contains(sc.Raw, "User Account") || sc.total() != 4 {
		t.Errorf("schemas: %d %.300s", sc.total(), sc.Raw)
	}
	one := f.do("GET", "/Schemas/"+schema.RollcallUserURN, "").want(t, 200)
	if !strings.Contains(one.Raw, "customRoleId") {
		t.Errorf("rollcall schema: %s", one.Raw)
	}
	if r := f.do("GET", "/Bogus", "").want(t, 404); r.str("status") != "404" {
		t.Errorf("unknown endpoint: %s", r.Raw)
	}
}

func TestCreateAndUniqueness(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, engine, scim.Config{})
			r := f.do("POST", "/Users", user("Ann@Acme.test", `"password":"hunter2hunter2","title":"CTO","emails":[{"value":"ann@acme.test","primary":"True"}]`)).want(t, 201)
			if loc := r.Header.Get("Location"); loc == "" || !strings.HasSuffix(loc, "/Users/"+r.str("id")) || r.Header.Get("ETag") != `W/"1"` {
				t.Errorf("location %q etag %q", loc, r.Header.Get("ETag"))
			}
			if strings.Contains(r.Raw, "hunter2") || strings.Contains(string(f.member("ann@acme.test").Attributes), "hunter2") {
				t.Fatal("password returned or stored")
			}
			if r.get("title") != "CTO" || r.get("emails.0.primary") != true {
				t.Errorf("attributes: %s", r.Raw)
			}
			d := f.do("POST", "/Users", user("ANN@acme.TEST", "")).want(t, 409)
			if d.str("scimType") != "uniqueness" || d.str("status") != "409" || !strings.Contains(d.str("detail"), "already exists") {
				t.Errorf("duplicate: %s", d.Raw)
			}
			f.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"active":true}`).want(t, 400)
			// Two concurrent creates of one userName: exactly one 201.
			var wg sync.WaitGroup
			codes := make([]int, 8)
			for i := range codes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					name := "race@acme.test"
					if i%2 == 0 {
						name = "RACE@acme.test"
					}
					codes[i] = f.do("POST", "/Users", user(name, "")).Status
				}()
			}
			wg.Wait()
			created := 0
			for _, c := range codes {
				switch c {
				case 201:
					created++
				case 409:
				default:
					t.Errorf("concurrent create answered %d", c)
				}
			}
			if created != 1 {
				t.Fatalf("concurrent creates: %v, want exactly one 201", codes)
			}
		})
	}
}

// TestFilterParity checks that every filter gives the same Users whether
// the database answers it (indexed attributes, translated to SQL) or it is
// evaluated in memory: the translation must never change a result.
func TestFilterParity(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, engine, scim.Config{})
			bodies := []string{
				user("alice@example.com", `"externalId":"ExtA","displayName":"Alice A","title":"Engineer","name":{"givenName":"Alice","familyName":"Zed"},"emails":[{"value":"alice@example.com","type":"work","primary":true},{"value":"alice@home.example","type":"home"}],"active":true`),
				user("bob@example.org", `"externalId":"extB","displayName":"Bob","emails":[{"value":"BOB@Example.org","type":"work"}],"active":false`),
				user("carol@example.com", `"title":"engineer","emails":[{"value":"carol@work.example.com","type":"work"}],"active":true`),
				user("dave@example.net", `"externalId":"","name":{"familyName":"Employee"},"active":true,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"42","department":"Sales"}`),
				user("Éva@example.com", `"emails":[],"active":true`),
			}
			for _, b := range bodies {
				f.do("POST", "/Users", b).want(t, 201)
				time.Sleep(3 * time.Millisecond) // distinct meta.created
			}
			all := f.do("GET", "/Users?count=1000", "").want(t, 200)
			docs := map[string]map[string]any{}
			rs := schema.User()
			for _, res := range all.get("Resources").([]any) {
				d, err := rs.Normalize(res.(map[string]any), schema.NormalizeOptions{KeepReadOnly: true})
				if err != nil {
					t.Fatal(err)
				}
				docs[d["userName"].(string)] = d
			}
			created := all.str("Resources.1.meta.created")
			filters := []string{
				`userName eq "ALICE@example.com"`, `userName ne "alice@example.com"`, `userName sw "b"`, `userName ew ".COM"`,
				`userName co "@example."`, `userName gt "bob"`, `userName le "carol@example.com"`, `userName pr`,
				`userName eq "éva@example.com"`,
				`externalId eq "ExtA"`, `externalId eq "exta"`, `externalId pr`, `externalId ne "ExtA"`, `externalId co "xt"`,
				`active eq true`, `active eq false`, `active ne true`, `not (active eq true)`,
				`emails co "example.org"`, `emails.value eq "bob@example.org"`, `emails[type eq "work" and value co "@work."]`,
				`emails[type eq "work"].value eq "alice@example.com"`, `emails.type eq "home"`, `emails pr`, `emails.primary eq true`,
				`emails.value ne "alice@example.com"`, `emails eq null`,
				`meta.created gt "` + created + `"`, `meta.created ge "` + created + `"`, `meta.lastModified lt "2999-01-01T00:00:00Z"`,
				`title eq "engineer"`, `title co "gin"`, `name.familyName eq Employee`, `displayName eq "bob"`,
				`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "42"`,
				`userName sw "a" or title pr`, `active eq true and (emails.value co "example.com" or emails.value co "example.org")`,
				`not (userName sw "a") and active eq true`, `userName eq "x" or externalId eq "extB"`,
				`id eq "nope"`,
			}
			for _, flt := range filters {
				e, err := filter.Parse(flt)
				if err != nil {
					t.Fatalf("%s: %v", flt, err)
				}
				m, err := filter.Compile(e, rs)
				if err != nil {
					t.Fatalf("%s: %v", flt, err)
				}
				var want []string
				for name, d := range docs {
					if m.Match(d) {
						want = append(want, name)
					}
				}
				slices.Sort(want)
				r := f.do("GET", "/Users?count=1000&filter="+url.QueryEscape(flt), "").want(t, 200)
				var got []string
				for _, res := range asList(r.get("Resources")) {
					got = append(got, res.(map[string]any)["userName"].(string))
				}
				slices.Sort(got)
				if !slices.Equal(got, want) || r.total() != len(want) {
					t.Errorf("%s: got %v (total %d), want %v", flt, got, r.total(), want)
				}
			}
		})
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func TestListing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite", scim.Config{})
	for i := range 12 {
		f.do("POST", "/Users", user(fmt.Sprintf("u%02d@x.test", i), `"displayName":"U `+fmt.Sprint(11-i)+`","emails":[{"value":"u@x.test","type":"work"}],"title":"T"`)).want(t, 201)
	}
	var ids []string
	for start := 1; start <= 12; start += 5 {
		r := f.do("GET", fmt.Sprintf("/Users?startIndex=%d&count=5", start), "").want(t, 200)
		if r.total() != 12 || r.get("startIndex") != json.Number(fmt.Sprint(start)) || r.get("itemsPerPage") != json.Number(fmt.Sprint(len(asList(r.get("Resources"))))) {
			t.Fatalf("page %d: %s", start, r.Raw)
		}
		for _, res := range asList(r.get("Resources")) {
			ids = append(ids, res.(map[string]any)["id"].(string))
		}
	}
	if len(ids) != 12 || len(slices.Compact(slices.Sorted(slices.Values(ids)))) != 12 {
		t.Fatalf("pages did not cover every user once: %v", ids)
	}
	for q, want := range map[string]int{"startIndex=0&count=2": 2, "startIndex=-5&count=2": 2, "count=0": 0, "count=-3": 0, "count=5000": 12, "startIndex=100": 0} {
		r := f.do("GET", "/Users?"+q, "").want(t, 200)
		if n := len(asList(r.get("Resources"))); n != want || r.total() != 12 {
			t.Errorf("%s: %d resources, total %d", q, n, r.total())
		}
	}
	f.do("GET", "/Users?startIndex=x", "").want(t, 400)
	r := f.do("GET", "/Users?sortBy=userName&sortOrder=descending&count=1", "").want(t, 200)
	if r.str("Resources.0.userName") != "u11@x.test" {
		t.Errorf("sort desc: %s", r.Raw)
	}
	r = f.do("GET", "/Users?sortBy=displayName&count=1", "").want(t, 200)
	if r.str("Resources.0.displayName") != "U 0" {
		t.Errorf("sort by displayName: %s", r.Raw)
	}
	f.do("GET", "/Users?sortBy=title", "").want(t, 400)
	// Projections, including Microsoft's attribute filter form.
	r = f.do("GET", "/Users?attributes=userName,emails&count=1", "").want(t, 200)
	res := asList(r.get("Resources"))[0].(map[string]any)
	if _, ok := res["title"]; ok || res["id"] == nil || res["emails"] == nil {
		t.Errorf("attributes: %v", res)
	}
	r = f.do("GET", "/Users?excludedAttributes=emails,urn:ietf:params:scim:schemas:extension:rollcall:2.0:User&count=1", "").want(t, 200)
	res = asList(r.get("Resources"))[0].(map[string]any)
	if _, ok := res["emails"]; ok || res["title"] == nil {
		t.Errorf("excludedAttributes: %v", res)
	}
	r = f.do("GET", `/Users?attributes=`+url.QueryEscape(`emails[type eq "work"]`)+`&count=1`, "").want(t, 200)
	if !strings.Contains(r.Raw, "u@x.test") {
		t.Errorf("attribute filter: %s", r.Raw)
	}
	// .search
	r = f.do("POST", "/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName sw \"u0\"","attributes":["userName"],"count":3,"startIndex":2}`).want(t, 200)
	if r.total() != 10 || len(asList(r.get("Resources"))) != 3 {
		t.Errorf(".search: %s", r.Raw)
	}
}

func TestETags(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite", scim.Config{})
	r := f.do("POST", "/Users", user("e@x.test", "")).want(t, 201)
	id, tag := r.str("id"), r.Header.Get("ETag")
	f.do("GET", "/Users/"+id, "", "If-None-Match", tag).want(t, 304)
	f.do("GET", "/Users/"+id, "", "If-None-Match", `W/"99"`).want(t, 200)
	patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"E"}]}`
	f.do("PATCH", "/Users/"+id, patch, "If-Match", `W/"99"`).want(t, 412)
	p := f.do("PATCH", "/Users/"+id, patch, "If-Match", tag).want(t, 204)
	if p.Header.Get("ETag") != `W/"2"` {
		t.Errorf("etag after patch: %q", p.Header.Get("ETag"))
	}
	f.do("PUT", "/Users/"+id, user("e@x.test", ""), "If-Match", tag).want(t, 412)
	if g := f.do("GET", "/Users/"+id, "").want(t, 200); g.str("meta.version") != `W/"2"` || g.str("displayName") != "E" {
		t.Errorf("after: %s", g.Raw)
	}
	// A list matches if any of its tags does (RFC 7232 §3.1).
	f.do("PATCH", "/Users/"+id, patch, "If-Match", `W/"7", W/"2"`).want(t, 204)
	f.do("PATCH", "/Users/"+id, patch, "If-Match", `W/"7", W/"8"`).want(t, 412)
	f.do("PATCH", "/Users/"+id, patch, "If-Match", `"x"`).want(t, 412)

	// DELETE honours If-Match too, for Users and Groups: a stale tag is
	// 412 and the resource stays.
	f.do("DELETE", "/Users/"+id, "", "If-Match", `W/"1"`).want(t, 412)
	f.do("GET", "/Users/"+id, "").want(t, 200)
	g := f.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Tagged"}`).want(t, 201)
	gid := g.str("id")
	f.do("DELETE", "/Groups/"+gid, "", "If-Match", `W/"9"`).want(t, 412)
	f.do("GET", "/Groups/"+gid, "").want(t, 200)
	f.do("DELETE", "/Groups/"+gid, "", "If-Match", g.Header.Get("ETag")).want(t, 204)
	cur := f.do("GET", "/Users/"+id, "").want(t, 200).Header.Get("ETag")
	f.do("DELETE", "/Users/"+id, "", "If-Match", cur).want(t, 204)
	f.do("GET", "/Users/"+id, "").want(t, 404)
}

func TestPatchAtomicAndBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite", scim.Config{MaxBody: 64 << 10})
	id := f.do("POST", "/Users", user("p@x.test", `"displayName":"P"`)).want(t, 201).str("id")
	r := f.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		{"op":"replace","path":"displayName","value":"Changed"},{"op":"replace","path":"id","value":"x"}]}`).want(t, 400)
	if r.str("scimType") != "mutability" {
		t.Errorf("readOnly path: %s", r.Raw)
	}
	if g := f.do("GET", "/Users/"+id, "").want(t, 200); g.str("displayName") != "P" || g.str("meta.version") != `W/"1"` {
		t.Fatalf("a failed PATCH changed the user: %s", g.Raw)
	}
	r = f.do("PATCH", "/Users/"+id+"?attributes=displayName", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"displayName","value":"Q"}]}`).want(t, 200)
	if r.str("displayName") != "Q" || r.get("userName") != nil {
		t.Errorf("PATCH with attributes answers the projected resource: %s", r.Raw)
	}
	bad := []struct {
		method, path, body, scimType string
		status                       int
	}{
		{"POST", "/Users", `{"userName":`, "invalidSyntax", 400},
		{"POST", "/Users", `[1,2]`, "invalidSyntax", 400},
		{"POST", "/Users", `null`, "invalidSyntax", 400},
		{"POST", "/Users", `{"userName":"a@x.test"} {}`, "invalidSyntax", 400},
		{"POST", "/Users", `{"userName":42}`, "invalidValue", 400},
		{"POST", "/Users", `{"userName":"d@x.test","active":"maybe"}`, "invalidValue", 400},
		{"POST", "/Users", `{"userName":"d@x.test","name":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40) + `}`, "invalidSyntax", 400},
		{"POST", "/Users", `{"userName":"` + strings.Repeat("x", 70<<10) + `"}`, "", 413},
		{"POST", "/Users", `{"userName":"big@x.test","urn:ietf:params:scim:schemas:extension:rollcall:2.0:User":{"role":"owner"}}`, "invalidValue", 400},
		{"POST", "/Users", `{"userName":"r@x.test","role":"wizard"}`, "invalidValue", 400},
		{"POST", "/Users", "{\"userName\":\"bad\xff@x.test\"}", "invalidSyntax", 400},
		{"PATCH", "/Users/" + id, "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{\"op\":\"replace\",\"path\":\"displayName\",\"value\":\"\xfe\"}]}", "invalidSyntax", 400},
		{"GET", "/Users?filter=" + url.QueryEscape(strings.Repeat(`userName eq "x" or `, 300)+`userName eq "y"`), "", "invalidFilter", 400},
		{"GET", "/Users?filter=" + url.QueryEscape(`userName eq`), "", "invalidFilter", 400},
		{"GET", "/Users?filter=" + url.QueryEscape(`nosuch eq "x"`), "", "invalidFilter", 400},
		{"GET", "/Users?filter=" + url.QueryEscape(`active gt true`), "", "invalidFilter", 400},
		{"PATCH", "/Users/" + id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"frobnicate","path":"x"}]}`, "invalidSyntax", 400},
		{"PATCH", "/Users/" + id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"emails[type eq","value":"x"}]}`, "invalidPath", 400},
		{"PATCH", "/Users/" + id, `{"Operations":[{"op":"add","path":"nickName","value":"x"}]}`, "invalidSyntax", 400},
		{"PATCH", "/Users/nope", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"nickName","value":"x"}]}`, "", 404},
		{"PUT", "/Users/" + id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"displayName":"no userName"}`, "invalidValue", 400},
		{"PUT", "/Users/nope", user("nope@x.test", ""), "", 404},
		{"DELETE", "/Users/nope", "", "", 404},
	}
	for _, b := range bad {
		r := f.do(b.method, b.path, b.body)
		if r.Status != b.status || r.str("scimType") != b.scimType || r.str("detail") == "" || r.str("status") != fmt.Sprint(b.status) {
			t.Errorf("%s %.60s %.60s: %d %s", b.method, b.path, b.body, r.Status, r.Raw)
		}
	}
	if g := f.do("GET", "/Users/"+id, "").want(t, 200); g.str("displayName") != "Q" {
		t.Fatalf("bad requests changed the user: %s", g.Raw)
	}
}

// TestStoredSizeBound checks that one request cannot store a user or group
// so large that a page of them weighs gigabytes: other attributes are
// bounded at 64 KiB of JSON, and a refused write changes nothing.
func TestStoredSizeBound(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite", scim.Config{})
	big := `"entitlements":[{"value":"` + strings.Repeat("e", 70<<10) + `"}]`
	fits := `"entitlements":[{"value":"` + strings.Repeat("e", 60<<10) + `"}]`
	wantSCIMError(t, f.do("POST", "/Users", user("fat@x.test", big)), 400, "invalidValue")
	wantListTotal(t, f.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "fat@x.test"`), ""), 0)
	id := f.do("POST", "/Users", user("fit@x.test", fits)).want(t, 201).str("id")
	wantSCIMError(t, f.do("PUT", "/Users/"+id, user("fit@x.test", big)), 400, "invalidValue")
	wantSCIMError(t, f.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"addresses","value":[{"streetAddress":"`+strings.Repeat("s", 10<<10)+`"}]}]}`), 400, "invalidValue")
	if g := f.do("GET", "/Users/"+id, "").want(t, 200); g.str("meta.version") != `W/"1"` || g.get("addresses") != nil {
		t.Fatalf("a refused write changed the user: version %s", g.str("meta.version"))
	}
	// SCIM keeps no group attributes beyond its columns today; the bound
	// holds for groups all the same.
	_, err := f.srv.Dir.CreateGroup(context.Background(), f.ws, &directory.Group{DisplayName: "G",
		Attributes: json.RawMessage(`{"description":"` + strings.Repeat("d", 70<<10) + `"}`)}, nil)
	if directory.ErrorCode(err) != directory.EINVALID {
		t.Errorf("a group with 70 KiB of attributes: %v, want %s", err, directory.EINVALID)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite", scim.Config{RatePerSecond: 0.5, Burst: 3})
	for range 3 {
		f.do("GET", "/Users", "").want(t, 200)
	}
	r := f.do("GET", "/Users", "").want(t, 429)
	if ra := r.Header.Get("Retry-After"); ra == "" || strings.ContainsAny(ra, " .:") || r.str("status") != "429" {
		t.Fatalf("429 without an integer Retry-After: %q %s", ra, r.Raw)
	}
	// The provisioning log says why.
	f.srv.SCIM.Flush()
	entries, err := f.srv.DB.ProvisioningLog(context.Background(), f.ws, store.ProvisioningQuery{Errors: true, Limit: 10})
	if err != nil || len(entries) != 1 || entries[0].Status != 429 || entries[0].ScimType != "rateLimited" {
		t.Fatalf("provisioning log of the refused request: %+v %v", entries, err)
	}
	// Another token has its own bucket.
	_, tok, _ := f.srv.Creds.Create(context.Background(), f.ws, credential.KindSCIMToken, "second")
	f.token = tok
	f.do("GET", "/Users", "").want(t, 200)
}

func TestLifecycleAndLog(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, engine, scim.Config{})
			ctx := context.Background()
			owner, err := f.srv.Dir.CreateMember(ctx, f.ws, &directory.Member{UserName: "owner@x.test", Active: true, Assigned: directory.RoleRef{Role: directory.RoleOwner}})
			if err != nil {
				t.Fatal(err)
			}
			// Every member is listed, whatever their source.
			if r := f.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "owner@x.test"`), "").want(t, 200); r.total() != 1 ||
				r.get("Resources.0").(map[string]any)[schema.RollcallUserURN].(map[string]any)["role"] != "owner" {
				t.Fatalf("manual member not listed: %s", r.Raw)
			}
			deact := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`
			if r := f.do("PATCH", "/Users/"+owner.SCIMID, deact).want(t, 409); !strings.Contains(r.str("detail"), "last active owner") {
				t.Fatalf("last owner: %s", r.Raw)
			}
			f.do("DELETE", "/Users/"+owner.SCIMID, "").want(t, 409)
			id := f.do("POST", "/Users", user("leo@x.test", `"externalId":"00uLeo","title":"Dev"`)).want(t, 201).str("id")
			f.do("PATCH", "/Users/"+id, deact).want(t, 204)
			if r := f.do("GET", "/Users?filter="+url.QueryEscape(`externalId eq "00uLeo"`), "").want(t, 200); r.get("Resources.0.active") != false {
				t.Fatalf("inactive user not returned by filter: %s", r.Raw)
			}
			f.do("DELETE", "/Users/"+id, "").want(t, 204)
			for _, m := range []string{"GET", "PATCH", "PUT", "DELETE"} {
				body := ""
				if m == "PATCH" {
					body = deact
				} else if m == "PUT" {
					body = user("leo@x.test", "")
				}
				f.do(m, "/Users/"+id, body).want(t, 404)
			}
			if r := f.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "leo@x.test"`), "").want(t, 200); r.total() != 0 {
				t.Fatalf("deleted user still listed: %s", r.Raw)
			}
			kept := f.member("leo@x.test")
			if kept.Active || !strings.Contains(string(kept.Attributes), "Dev") {
				t.Fatalf("deleted member not kept as inactive with data: %+v", kept)
			}
			again := f.do("POST", "/Users", user("leo@x.test", `"externalId":"00uLeo"`)).want(t, 201)
			if again.str("id") == id || f.member("leo@x.test").ID != kept.ID || !f.member("leo@x.test").Active {
				t.Fatalf("re-provisioning made a duplicate or reused the id")
			}
			// The provisioning log saw it all.
			f.srv.SCIM.Flush()
			entries, err := f.srv.DB.ProvisioningLog(ctx, f.ws, storeQuery(kept.ID))
			if err != nil {
				t.Fatal(err)
			}
			var summaries []string
			for _, e := range entries {
				if e.CredentialLabel != "test IdP" || e.Method == "" || e.Status == 0 {
					t.Errorf("entry %+v", e)
				}
				summaries = append(summaries, fmt.Sprintf("%s %d %s", e.Method, e.Status, e.Summary))
			}
			joined := strings.Join(summaries, " | ")
			for _, want := range []string{"POST 201 created member leo@x.test", "PATCH 204 deactivated", "DELETE 204 deleted User", "re-provisioned"} {
				if !strings.Contains(joined, want) {
					t.Errorf("provisioning log lacks %q: %s", want, joined)
				}
			}
		})
	}
}

// TestConcurrentGroupPatchesAcrossServers sends concurrent membership
// PATCHes to one group through two server processes' worth of wiring on
// one database: no change may be lost.
func TestConcurrentGroupPatchesAcrossServers(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			a := newFixture(t, engine, scim.Config{})
			b := a.twin(t)
			const n = 30
			var ids []string
			for i := range n {
				ids = append(ids, a.do("POST", "/Users", user(fmt.Sprintf("m%d@x.test", i), "")).want(t, 201).str("id"))
			}
			gid := a.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Busy","members":[]}`).want(t, 201).str("id")
			var wg sync.WaitGroup
			errs := make(chan string, n)
			for i, id := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					f := a
					if i%2 == 1 {
						f = b
					}
					r := f.do("PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"`+id+`"}]}]}`)
					if r.Status != 204 {
						errs <- r.Raw
					}
				}()
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
			r := a.do("GET", "/Groups/"+gid, "").want(t, 200)
			if got := len(asList(r.get("members"))); got != n {
				t.Fatalf("%d members after %d concurrent adds", got, n)
			}
		})
	}
}

func storeQuery(memberID string) store.ProvisioningQuery {
	return store.ProvisioningQuery{MemberID: memberID, Limit: 100}
}
