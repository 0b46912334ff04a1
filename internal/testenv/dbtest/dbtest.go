// Package dbtest gives tests a fresh Rollcall database on each engine.
//
// SQLite databases are files in t.TempDir(). PostgreSQL databases are
// schemas, one per test, in the server named by ROLLCALL_TEST_POSTGRES (a
// postgres:// URL; the project's `make test` starts a throwaway cluster and
// sets it). When the variable is unset PostgreSQL tests are skipped with a
// message — unless ROLLCALL_TEST_STRICT=1, which `make test` and CI set,
// where a missing engine fails the test instead.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create schemas

	"rollcall/internal/store"
	"rollcall/internal/store/postgres"
	"rollcall/internal/store/sqlite"
)

// Engines lists the engine names tests run on.
func Engines() []string { return []string{"sqlite", "postgres"} }

// Strict reports whether missing test dependencies must fail tests.
func Strict() bool { return os.Getenv("ROLLCALL_TEST_STRICT") == "1" }

// Open returns a new, migrated, empty database on the named engine, closed
// when the test ends.
func Open(tb testing.TB, engine string) *store.DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var db *store.DB
	var err error
	switch engine {
	case "sqlite":
		db, err = sqlite.Open(ctx, filepath.Join(tb.TempDir(), "rollcall.db"))
	case "postgres":
		db, err = postgres.Open(ctx, Schema(tb))
	default:
		tb.Fatalf("unknown engine %q", engine)
	}
	if err != nil {
		tb.Fatalf("open %s: %v", engine, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// PostgresURL returns ROLLCALL_TEST_POSTGRES, skipping (or, when strict,
// failing) the test when it is unset.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("ROLLCALL_TEST_POSTGRES")
	if u == "" {
		msg := "ROLLCALL_TEST_POSTGRES is not set: PostgreSQL tests need a server (run `make test`, which starts one)"
		if Strict() {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return u
}

// Schema creates a fresh schema in the test PostgreSQL server, dropped when
// the test ends, and returns a URL whose connections use it.
func Schema(tb testing.TB) string {
	tb.Helper()
	base := PostgresURL(tb)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + name); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.Exec("DROP SCHEMA " + name + " CASCADE") // best effort; the cluster is thrown away anyway
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}
