// Package postgres opens a Rollcall database on PostgreSQL, for running
// several replicas on one database, through github.com/jackc/pgx/v5.
//
// Row locks (SELECT … FOR UPDATE) serialise the changes that must see each
// other; transactions that hit a deadlock or serialisation failure are
// retried by the store. Migrations take an advisory lock, so replicas may
// start together.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" database/sql driver

	"rollcall/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect returns the PostgreSQL dialect.
func Dialect() store.Dialect {
	sub, _ := fs.Sub(migrations, "migrations") // the directory is embedded above
	code := func(err error) string {
		var e *pgconn.PgError
		if errors.As(err, &e) {
			return e.Code
		}
		return ""
	}
	return store.Dialect{
		Name:          "postgres",
		Migrations:    sub,
		ForUpdate:     " FOR UPDATE",
		Contains:      func(str, sub string) string { return "strpos(" + str + ", " + sub + ") > 0" },
		EndsWith:      func(str, suffix string) string { return "right(" + str + ", length(" + suffix + ")) = " + suffix },
		IsUnique:      func(err error) bool { return code(err) == "23505" },
		IsForeignKey:  func(err error) bool { return code(err) == "23503" },
		IsRetryable:   func(err error) bool { c := code(err); return c == "40001" || c == "40P01" },
		MigrationLock: "SELECT pg_advisory_xact_lock(727165)",
		WritableCTE:   true,
		Explain:       "EXPLAIN ",
		PreferIndexes: "SET LOCAL enable_seqscan TO off",
	}
}

// Open connects to the PostgreSQL database at url (postgres://…) and
// applies migrations.
func Open(ctx context.Context, url string) (*store.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	pool := stdlib.OpenDB(*cfg.Copy())
	pool.SetMaxOpenConns(32)
	pool.SetMaxIdleConns(32)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	db := store.New(pool, pool, Dialect())
	// The lazy writer (store.DB.SetLazyWriter): the same server and
	// settings, with commits that do not wait for the WAL flush. It is a
	// startup parameter, which a pooler may refuse (PgBouncer does unless
	// told to ignore it); then every write simply waits for the disk, and
	// the server says so at start (DB.Notices).
	cfg.RuntimeParams["synchronous_commit"] = "off"
	lazy := stdlib.OpenDB(*cfg)
	lazy.SetMaxOpenConns(8)
	lazy.SetMaxIdleConns(8)
	if err := lazy.PingContext(ctx); err != nil {
		_ = lazy.Close() // never connected: nothing to release
		db.NoLazyWriter(err)
	} else {
		db.SetLazyWriter(lazy)
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
