package scim_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"rollcall/internal/directory"
	"rollcall/internal/scim"
	"rollcall/internal/testenv/dbtest"
)

// The SCIM benchmarks drive real HTTP on loopback against the real server
// (cmd/rollcall-bench does the same at scale, with concurrency, and
// publishes the figures in BENCHMARKS.md).

func benchFixture(b *testing.B, engine string) *fixture {
	b.Helper()
	return newFixture(b, engine, scim.Config{RatePerSecond: -1})
}

func BenchmarkCreateUser(b *testing.B) {
	for _, engine := range dbtest.Engines() {
		b.Run(engine, func(b *testing.B) {
			f := benchFixture(b, engine)
			for i := 0; b.Loop(); i++ {
				f.do("POST", "/Users", user(fmt.Sprintf("bench%d@x.test", i),
					`"name":{"givenName":"Bench","familyName":"User"},"emails":[{"value":"b@x.test","type":"work","primary":true}],"externalId":"00u`+fmt.Sprint(i)+`","active":true`)).want(b, 201)
			}
		})
	}
}

// seedUsers creates n members directly and returns their SCIM ids.
func seedUsers(b *testing.B, f *fixture, n int) []string {
	b.Helper()
	ids := make([]string, n)
	for i := range n {
		m, err := f.srv.Dir.CreateMember(context.Background(), f.ws, &directory.Member{UserName: fmt.Sprintf("seed%d@x.test", i), Active: true,
			Emails: []directory.Email{{Value: fmt.Sprintf("seed%d@x.test", i), Primary: true}}})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = m.SCIMID
	}
	return ids
}

func BenchmarkLookupUserName(b *testing.B) {
	for _, engine := range dbtest.Engines() {
		b.Run(engine, func(b *testing.B) {
			f := benchFixture(b, engine)
			seedUsers(b, f, 200)
			for i := 0; b.Loop(); i++ {
				r := f.do("GET", "/Users?filter="+url.QueryEscape(fmt.Sprintf(`userName eq "SEED%d@x.test"`, i%200)), "").want(b, 200)
				if r.total() != 1 {
					b.Fatal(r.Raw)
				}
			}
		})
	}
}

func BenchmarkGetUser(b *testing.B) {
	for _, engine := range dbtest.Engines() {
		b.Run(engine, func(b *testing.B) {
			f := benchFixture(b, engine)
			ids := seedUsers(b, f, 50)
			for i := 0; b.Loop(); i++ {
				f.do("GET", "/Users/"+ids[i%len(ids)], "").want(b, 200)
			}
		})
	}
}

func BenchmarkPatchActive(b *testing.B) {
	for _, engine := range dbtest.Engines() {
		b.Run(engine, func(b *testing.B) {
			f := benchFixture(b, engine)
			ids := seedUsers(b, f, 50)
			for i := 0; b.Loop(); i++ {
				active := i%2 == 1
				f.do("PATCH", "/Users/"+ids[(i/2)%len(ids)], fmt.Sprintf(patchOp, fmt.Sprintf(`{"op":"replace","value":{"active":%v}}`, active))).want(b, 204)
			}
		})
	}
}

// BenchmarkGroupPatch adds then removes k members in one PATCH each, on a
// group of 1,000 members: the cost follows k, not the group.
func BenchmarkGroupPatch(b *testing.B) {
	for _, engine := range dbtest.Engines() {
		for _, k := range []int{1, 100, 1000} {
			b.Run(fmt.Sprintf("%s/k=%d", engine, k), func(b *testing.B) {
				f := benchFixture(b, engine)
				ids := seedUsers(b, f, 1000+k)
				g, err := f.srv.Dir.CreateGroup(context.Background(), f.ws, &directory.Group{DisplayName: "Bench"}, directory.Refs(ids[:1000]...))
				if err != nil {
					b.Fatal(err)
				}
				var add, remove []string
				for _, id := range ids[1000:] {
					add = append(add, `{"value":"`+id+`"}`)
					remove = append(remove, `{"value":"`+id+`"}`)
				}
				addBody := fmt.Sprintf(patchOp, `{"op":"add","path":"members","value":[`+strings.Join(add, ",")+`]}`)
				removeBody := fmt.Sprintf(patchOp, `{"op":"remove","path":"members","value":[`+strings.Join(remove, ",")+`]}`)
				for i := 0; b.Loop(); i++ {
					body := addBody
					if i%2 == 1 {
						body = removeBody
					}
					f.do("PATCH", "/Groups/"+g.ID, body).want(b, 204)
				}
			})
		}
	}
}

func BenchmarkListGroups(b *testing.B) {
	for _, engine := range dbtest.Engines() {
		b.Run(engine, func(b *testing.B) {
			f := benchFixture(b, engine)
			for i := range 300 {
				if _, err := f.srv.Dir.CreateGroup(context.Background(), f.ws, &directory.Group{DisplayName: fmt.Sprintf("Group %d", i)}, nil); err != nil {
					b.Fatal(err)
				}
			}
			for i := 0; b.Loop(); i++ {
				f.do("GET", fmt.Sprintf("/Groups?excludedAttributes=members&count=100&startIndex=%d", 1+(i*100)%300), "").want(b, 200)
			}
		})
	}
}
