// Package sqlite opens a Rollcall database on SQLite, the embedded default,
// through the pure-Go modernc.org/sqlite driver (no cgo, one static binary).
//
// The database runs in WAL mode with foreign keys on and a busy timeout.
// Writes go through a pool of exactly one connection, whose transactions
// begin IMMEDIATE, so writers never deadlock on lock upgrades; reads use a
// separate read-only pool and never wait for writers. Other processes (the
// CLI while a server runs) share the file safely through SQLite's locks.
//
// Checkpoints (copying the WAL into the database file, and the only fsyncs
// with synchronous=NORMAL) run mostly on a connection of their own in the
// background, not inside whichever write request fills the WAL: with
// SQLite's default, one write in a hundred waited 10–15 ms for one. The
// writer still checkpoints once the WAL reaches writerCheckpointPages,
// because only a checkpoint that catches up with the writer lets the WAL
// start over; by then the background has copied most of it.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

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
		Explain:        "EXPLAIN QUERY PLAN ",
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
	// The writer checkpoints only at writerCheckpointPages (SQLite's
	// default is 1,000 pages).
	write, err := sql.Open("sqlite", dsn(fmt.Sprintf("wal_autocheckpoint(%d)", writerCheckpointPages))+"&_txlock=immediate")
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
	ck, err := sql.Open("sqlite", dsn())
	if err != nil {
		db.Close()
		return nil, err
	}
	db.OnClose(startCheckpointer(ck, checkpointEvery))
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

const (
	// checkpointEvery is how often the background checkpointer runs.
	checkpointEvery = 200 * time.Millisecond
	// writerCheckpointPages is the WAL size (16 MB of 4 KiB pages) at which
	// the writer checkpoints itself, so that the WAL starts over. Under
	// steady writes a background (PASSIVE) checkpoint never catches up with
	// the writer, and the WAL would otherwise grow without bound.
	writerCheckpointPages = 4000
)

// startCheckpointer runs PASSIVE checkpoints on ck, its own connection,
// every interval: they copy what no reader still needs from the WAL into
// the database file without blocking readers or the writer. A run with
// nothing new to copy does no I/O. It returns the function that stops it
// and closes ck.
func startCheckpointer(ck *sql.DB, interval time.Duration) func() error {
	ck.SetMaxOpenConns(1)
	ck.SetMaxIdleConns(1)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		lastErr := ""
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				// A checkpoint that cannot finish (readers, another one
				// under way) reports it in its result, not as an error,
				// and is retried at the next tick. An error is a real
				// failure (I/O, a closed file): say so once per kind,
				// not five times a second; the writer's threshold still
				// bounds the WAL.
				_, err := ck.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
				switch {
				case ctx.Err() != nil:
					return // stopped during the run
				case err != nil && err.Error() != lastErr:
					slog.Warn("sqlite background checkpoint failed", "err", err)
					lastErr = err.Error()
				case err == nil && lastErr != "":
					slog.Info("sqlite background checkpoint works again")
					lastErr = ""
				}
			}
		}
	}()
	return func() error {
		stop() // also interrupts a run under way
		<-done
		return ck.Close()
	}
}
