package store_test

import (
	"context"
	"fmt"
	"testing"

	"rollcall/internal/directory"
	"rollcall/internal/testenv/dbtest"
)

// BenchmarkBareInsert is the floor for every write: one INSERT of a small
// row and its commit, through the same driver and pool as the store.
func BenchmarkBareInsert(b *testing.B) {
	for _, engine := range dbtest.Engines() {
		b.Run(engine, func(b *testing.B) {
			db := dbtest.Open(b, engine)
			ctx := context.Background()
			if err := db.ExecBenchmarkDDL(ctx, "CREATE TABLE bare_insert (id TEXT PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := db.ExecBenchmarkInsert(ctx, "INSERT INTO bare_insert (id, v) VALUES ($1, $2)", fmt.Sprint(i), "value"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCreateMember is a member create through the directory service:
// rules, the member row, its email index, the audit entry, one commit.
func BenchmarkCreateMember(b *testing.B) {
	for _, engine := range dbtest.Engines() {
		b.Run(engine, func(b *testing.B) {
			db := dbtest.Open(b, engine)
			svc := directory.NewService(db)
			ctx := context.Background()
			w, err := svc.CreateWorkspace(ctx, "Bench")
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				u := fmt.Sprintf("user%d@bench.test", i)
				if _, err := svc.CreateMember(ctx, w.ID, &directory.Member{UserName: u, Active: true,
					Emails: []directory.Email{{Value: u, Primary: true}}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUserNameLookup is the Okta pre-check: userName eq, an index lookup.
func BenchmarkUserNameLookup(b *testing.B) {
	for _, engine := range dbtest.Engines() {
		b.Run(engine, func(b *testing.B) {
			db := dbtest.Open(b, engine)
			svc := directory.NewService(db)
			ctx := context.Background()
			w, _ := svc.CreateWorkspace(ctx, "Bench")
			for i := range 1000 {
				u := fmt.Sprintf("user%d@bench.test", i)
				if _, err := svc.CreateMember(ctx, w.ID, &directory.Member{UserName: u, Active: true}); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				p, err := db.Members(ctx, w.ID, directory.MemberQuery{Limit: 100, SCIMOnly: true,
					Where: directory.Compare{Field: directory.FieldUserName, Op: directory.OpEq, Value: fmt.Sprintf("USER%d@bench.test", i%1000)}})
				if err != nil || p.Total != 1 {
					b.Fatal(err, p.Total)
				}
			}
		})
	}
}
