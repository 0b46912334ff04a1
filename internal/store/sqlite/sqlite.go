// Package sqlite opens a Rollcall database on SQLite, the embedded default,
// through the pure-Go modernc.org/sqlite driver (no cgo, one static binary).
//
// The database runs in WAL mode with foreign keys on and a busy timeout.
// Writes go through a pool of exactly one connection, whose transactions
// begin IMMEDIATE, so writers never deadlock on lock upgrades; reads use a
// separate read-only pool and never wait for writers. Other processes (the
// CLI while a server runs) share the file safely through SQLite's locks.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"rollcall/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect returns the SQLite dialect.
func Dialect() store.Dialect {
	sub, _ := fs.Sub(migrations, "migrations") // the directory is embedded above
	return store.Dialect{
		Name:           "sqlite",
		Migrations:     sub,
		NumberedParams: true,
		Contains:       func(str, sub string) string { return "instr(" + str + ", " + sub + ") > 0" },
		EndsWith: func(str, suffix string) string {
			return "(length(" + suffix + ") = 0 OR substr(" + str + ", -length(" + suffix + ")) = " + suffix + ")"
		},
		IsUnique: func(err error) bool {
			var e *sqlite.Error
			if !errors.As(err, &e) {
				return false
			}
			return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
		},
		IsForeignKey: func(err error) bool {
			var e *sqlite.Error
			return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
		},
		IsRetryable:     func(error) bool { return false },
		CacheStatements: true,
	}
}

// Open opens (creating if needed) the SQLite database at path, creating
// its directory, and applies migrations.
func Open(ctx context.Context, path string) (*store.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
	}
	dsn := func(extra ...string) string {
		v := url.Values{}
		v.Add("_pragma", "journal_mode(WAL)")
		v.Add("_pragma", "foreign_keys(1)")
		v.Add("_pragma", "busy_timeout(10000)")
		v.Add("_pragma", "synchronous(NORMAL)")
		for _, e := range extra {
			v.Add("_pragma", e)
		}
		return "file:" + path + "?" + v.Encode()
	}
	write, err := sql.Open("sqlite", dsn()+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", dsn("query_only(1)"))
	if err != nil {
		write.Close()
		return nil, err
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	db := store.New(write, read, Dialect())
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
