// Package store is Rollcall's persistence: one SQL implementation of every
// store interface the domain packages define, shared by the two engines.
//
// The engines differ in a handful of places — placeholders, row locking,
// string functions, error codes, how connections are pooled — and those
// differences are a [Dialect] value supplied by internal/store/sqlite and
// internal/store/postgres. Everything else (the queries, the schema's
// meaning, the behaviour) is written once here and proven identical on both
// engines by internal/store/storetest.
//
// Every write runs in one transaction ([DB.Update]). Case-insensitive
// uniqueness (userName, role and group names) is enforced by unique indexes
// on lower-cased columns, so concurrent creates cannot both win.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"rollcall/internal/directory"
)

// ErrNotFound and ErrConflict are the directory's sentinel errors, returned
// for missing rows and for uniqueness or version conflicts.
var (
	ErrNotFound = directory.ErrNotFound
	ErrConflict = directory.ErrConflict
)

// Dialect holds what differs between SQL engines.
type Dialect struct {
	// Name is "sqlite" or "postgres".
	Name string
	// Migrations holds NNNN_name.sql files applied in order.
	Migrations fs.FS
	// NumberedParams rewrites $1-style parameters for the engine ("?1").
	NumberedParams bool
	// ForUpdate is appended to row lookups that lock ("" where the engine
	// serialises writers instead).
	ForUpdate string
	// Contains returns SQL testing whether str contains sub.
	Contains func(str, sub string) string
	// EndsWith returns SQL testing whether str ends with suffix.
	EndsWith func(str, suffix string) string
	// IsUnique reports whether err is a unique-constraint violation.
	IsUnique func(err error) bool
	// IsRetryable reports whether a transaction failed on a deadlock or a
	// serialisation conflict and may simply be run again.
	IsRetryable func(err error) bool
	// MigrationLock is a statement that serialises migrations across
	// processes inside a transaction ("" when transactions already do).
	MigrationLock string
	// CacheStatements prepares each write statement once per connection.
	CacheStatements bool
	// IsForeignKey reports whether err is a foreign key violation.
	IsForeignKey func(err error) bool
	// WritableCTE says statements may change tables in WITH clauses
	// (PostgreSQL), so that a transaction's several writes can be one
	// statement and one round trip.
	WritableCTE bool
	// Explain prefixes a query to get the engine's plan for it.
	Explain string
	// PreferIndexes is run first in a transaction whose plans should use
	// an index wherever one can answer ("" where the planner does without
	// table statistics anyway).
	PreferIndexes string
}

// DB is a Rollcall database on one engine. It is safe for concurrent use.
type DB struct {
	write *sql.DB // the writer pool (a single connection on SQLite)
	lazy  *sql.DB // writes whose commit need not wait for the disk (SetLazyWriter); nil: write
	read  *sql.DB // the reader pool (the same pool on PostgreSQL)
	d     Dialect
	now   func() time.Time

	mu        sync.Mutex
	cache     map[string]string    // rebound query text
	stmts     map[string]*sql.Stmt // prepared writer statements (CacheStatements)
	pending   map[string]bool      // statements to prepare once the writer is free
	readStmts map[string]*sql.Stmt // prepared reader statements (CacheStatements)

	totals  *recent[string, int]       // recent list counts, for later pages (total.go)
	cursors *recent[cursorKey, string] // where recent SCIM listing pages ended: the SCIM id after which the next page starts (cursor.go)

	closers []func() error // engine helpers to stop before the pools close
	notices []string       // for the operator (Notices)
}

// New returns a DB over the given pools. read may equal write.
func New(write, read *sql.DB, d Dialect) *DB {
	return &DB{write: write, read: read, d: d, now: time.Now, cache: map[string]string{}, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}, readStmts: map[string]*sql.Stmt{},
		totals: newRecent[string, int](totalTTL, totalEntries), cursors: newRecent[cursorKey, string](cursorTTL, cursorEntries)}
}

// SetLazyWriter gives the DB a second writer pool whose commits return
// before their WAL reaches the disk (PostgreSQL's synchronous_commit off
// on its connections). It is used only for writes whose loss in a
// database crash is harmless because nothing outside the database acts on
// them until a later, durable commit that depends on them: PostgreSQL
// writes its WAL in order, so that commit's flush carries them to the
// disk too, and a crash loses only work nobody used yet (a sign-in that
// had not completed; see ConsumeResponse), with what an admin may have
// seen of it meanwhile (its audit entry). Each such commit skips a wait
// of about half a millisecond on the machine of BENCHMARKS.md. Without a
// lazy writer those writes go to the writer. The DB closes the pool.
func (db *DB) SetLazyWriter(p *sql.DB) { db.lazy = p }

// NoLazyWriter records why the engine could not give the DB a lazy
// writer; Notices reports it.
func (db *DB) NoLazyWriter(err error) {
	db.notices = append(db.notices, "every write waits for the disk: the database refused a connection with synchronous_commit off (a pooler such as PgBouncer must list it in ignore_startup_parameters): "+err.Error())
}

// Notices lists what an operator should know about how the database was
// opened, for the server to log at start.
func (db *DB) Notices() []string { return db.notices }

// execLazy runs a write that may commit lazily (SetLazyWriter), on the
// writer when there is no lazy writer.
func (db *DB) execLazy(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if db.lazy == nil {
		return db.execWrite(ctx, query, args...)
	}
	return db.lazy.ExecContext(ctx, db.q(query), args...)
}

// queryRowLazy is execLazy for a statement that returns a row.
func (db *DB) queryRowLazy(ctx context.Context, query string, args ...any) *sql.Row {
	if db.lazy == nil {
		return db.queryRowWrite(ctx, query, args...)
	}
	return db.lazy.QueryRowContext(ctx, db.q(query), args...)
}

// SetClock replaces the clock used for transaction times (tests).
func (db *DB) SetClock(now func() time.Time) { db.now = now }

// Engine returns the dialect name.
func (db *DB) Engine() string { return db.d.Name }

// OnClose registers f to run when the DB closes, before its pools do (an
// engine's background work, such as SQLite's checkpointer).
func (db *DB) OnClose(f func() error) { db.closers = append(db.closers, f) }

// Close stops what OnClose registered, then closes both pools.
func (db *DB) Close() error {
	var errs []error
	for _, f := range db.closers {
		errs = append(errs, f())
	}
	db.closers = nil
	db.mu.Lock()
	for _, st := range db.stmts {
		st.Close()
	}
	for _, st := range db.readStmts {
		st.Close()
	}
	db.stmts, db.readStmts = map[string]*sql.Stmt{}, map[string]*sql.Stmt{}
	db.mu.Unlock()
	errs = append(errs, db.write.Close())
	if db.lazy != nil {
		errs = append(errs, db.lazy.Close())
	}
	if db.read != db.write {
		errs = append(errs, db.read.Close())
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Stats returns pool statistics for metrics: the writer pool, the reader
// pool when it is separate, and the lazy writer when there is one.
func (db *DB) Stats() map[string]sql.DBStats {
	var out map[string]sql.DBStats
	if db.read == db.write {
		out = map[string]sql.DBStats{"main": db.write.Stats()}
	} else {
		out = map[string]sql.DBStats{"write": db.write.Stats(), "read": db.read.Stats()}
	}
	if db.lazy != nil {
		out["lazy"] = db.lazy.Stats()
	}
	return out
}

var paramRE = regexp.MustCompile(`\$(\d+)`)

// q rewrites a query written with $n parameters for the engine.
func (db *DB) q(query string) string {
	if !db.d.NumberedParams {
		return query
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if s, ok := db.cache[query]; ok {
		return s
	}
	s := paramRE.ReplaceAllString(query, "?$1")
	if len(db.cache) < 4096 { // dynamic queries vary; keep the cache bounded
		db.cache[query] = s
	}
	return s
}

// Update runs fn in one write transaction and commits it. fn may be run
// again when the engine reports a deadlock or serialisation conflict, so it
// must not have effects outside the transaction.
func (db *DB) Update(ctx context.Context, fn func(directory.Tx) error) error {
	return db.updateTx(ctx, func(t *Tx) error { return fn(t) })
}

func (db *DB) updateTx(ctx context.Context, fn func(*Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := db.update(ctx, fn)
		if err == nil || attempt >= 5 || !db.d.IsRetryable(err) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
}

func (db *DB) update(ctx context.Context, fn func(*Tx) error) error {
	stx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{ctx: ctx, tx: stx, db: db, now: db.now().UTC().Truncate(time.Microsecond)}
	if err := fn(tx); err != nil {
		_ = stx.Rollback() // the error from fn is what matters
		db.preparePending(ctx)
		return err
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	db.preparePending(ctx)
	return nil
}

// Tx is one write transaction.
type Tx struct {
	ctx context.Context
	tx  *sql.Tx
	db  *DB
	now time.Time
	// emails holds the encoded emails of members read for update.
	emails map[string]string
}

// Now returns the transaction's clock reading.
func (t *Tx) Now() time.Time { return t.now }

func (t *Tx) exec(query string, args ...any) (sql.Result, error) {
	if st := t.db.cached(query); st != nil {
		return t.tx.StmtContext(t.ctx, st).ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, t.db.q(query), args...)
}

func (t *Tx) query(query string, args ...any) (*sql.Rows, error) {
	if st := t.db.cached(query); st != nil {
		return t.tx.StmtContext(t.ctx, st).QueryContext(t.ctx, args...)
	}
	return t.tx.QueryContext(t.ctx, t.db.q(query), args...)
}

func (t *Tx) queryRow(query string, args ...any) *sql.Row {
	if st := t.db.cached(query); st != nil {
		return t.tx.StmtContext(t.ctx, st).QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, t.db.q(query), args...)
}

// Prepared statements. With CacheStatements (SQLite, whose driver would
// otherwise parse every statement on every call; pgx caches on its own)
// each write statement is prepared once on the writer. The writer pool has
// a single connection, which a running transaction holds, so a statement
// first seen inside a transaction is prepared after it ends. The cache is
// bounded: queries built with variable-length IN lists stop being cached
// once it is full.

const maxStmts = 512

// cached returns the prepared statement for query, noting it for
// preparation if it has none yet.
func (db *DB) cached(query string) *sql.Stmt {
	if !db.d.CacheStatements {
		return nil
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if st, ok := db.stmts[query]; ok {
		return st
	}
	if len(db.stmts)+len(db.pending) < maxStmts {
		db.pending[query] = true
	}
	return nil
}

// preparePending prepares the statements noted since the last call. It
// must run with no transaction open on the writer.
func (db *DB) preparePending(ctx context.Context) {
	if !db.d.CacheStatements {
		return
	}
	db.mu.Lock()
	pending := db.pending
	db.pending = map[string]bool{}
	db.mu.Unlock()
	for q := range pending {
		st, err := db.write.PrepareContext(ctx, paramRE.ReplaceAllString(q, "?$1"))
		if err != nil {
			continue // the unprepared path reports the error
		}
		db.mu.Lock()
		if _, ok := db.stmts[q]; ok {
			st.Close()
		} else {
			db.stmts[q] = st
		}
		db.mu.Unlock()
	}
}

// readStmt returns the reader pool's prepared statement for query, making
// it on first use (the reader pool is never held by a transaction, so it
// can prepare at once), or nil when the dialect does not cache.
func (db *DB) readStmt(ctx context.Context, query string) *sql.Stmt {
	if !db.d.CacheStatements {
		return nil
	}
	db.mu.Lock()
	st, ok := db.readStmts[query]
	full := len(db.readStmts) >= maxStmts
	db.mu.Unlock()
	if ok || full {
		return st
	}
	st, err := db.read.PrepareContext(ctx, paramRE.ReplaceAllString(query, "?$1"))
	if err != nil {
		return nil // let the unprepared path report the error
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if old, ok := db.readStmts[query]; ok {
		st.Close()
		return old
	}
	db.readStmts[query] = st
	return st
}

func (db *DB) queryRead(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := db.readStmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return db.read.QueryContext(ctx, db.q(query), args...)
}

func (db *DB) queryRowRead(ctx context.Context, query string, args ...any) *sql.Row {
	if st := db.readStmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.read.QueryRowContext(ctx, db.q(query), args...)
}

// queryRowWrite runs one statement that returns a row (DELETE … RETURNING)
// as its own transaction on the writer.
func (db *DB) queryRowWrite(ctx context.Context, query string, args ...any) *sql.Row {
	if st := db.cached(query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	row := db.write.QueryRowContext(ctx, db.q(query), args...)
	return row
}

// execWrite runs one statement as its own transaction on the writer.
func (db *DB) execWrite(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := db.cached(query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	res, err := db.write.ExecContext(ctx, db.q(query), args...)
	db.preparePending(ctx)
	return res, err
}

// forUpdate appends the dialect's row-locking clause.
func (t *Tx) forUpdate(query string) string { return query + t.db.d.ForUpdate }

// translate maps driver errors onto the store's sentinel errors.
func (db *DB) translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case db.d.IsUnique(err):
		return fmt.Errorf("%w: %v", ErrConflict, err)
	case db.d.IsForeignKey != nil && db.d.IsForeignKey(err):
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return err
}

func micro(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicro(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// placeholders returns "$from, $from+1, …" n times.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + i))
	}
	return b.String()
}

// inChunks calls run for ids in chunks of 500 (bound parameters are
// limited), each with its IN list's placeholders, numbered after the
// leading arguments, and its arguments: lead, then the chunk's ids.
func inChunks(ids []string, lead []any, run func(in string, args []any) error) error {
	for len(ids) > 0 {
		c := ids[:min(len(ids), 500)]
		ids = ids[len(c):]
		args := make([]any, 0, len(lead)+len(c))
		args = append(args, lead...)
		for _, id := range c {
			args = append(args, id)
		}
		if err := run(placeholders(len(lead)+1, len(c)), args); err != nil {
			return err
		}
	}
	return nil
}

// eachRow calls scan for each row, then closes rows.
func eachRow(rows *sql.Rows, scan func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := scan(); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ---- Migrations ----

// Migrate applies every migration not yet recorded, in order, each in its
// own transaction together with the row that records it. Several processes
// may start at once: each migration runs under the dialect's lock and
// re-checks the record inside it.
func (db *DB) Migrate(ctx context.Context) error {
	names, err := fs.Glob(db.d.Migrations, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("migration %s: name must start with a number and an underscore", name)
		}
		body, err := fs.ReadFile(db.d.Migrations, name)
		if err != nil {
			return err
		}
		err = db.updateTx(ctx, func(tx *Tx) error {
			if db.d.MigrationLock != "" {
				if _, err := tx.exec(db.d.MigrationLock); err != nil {
					return fmt.Errorf("lock: %w", err)
				}
			}
			if _, err := tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
				version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL)`); err != nil {
				return err
			}
			var n int
			if err := tx.queryRow("SELECT COUNT(*) FROM schema_migrations WHERE version = $1", v).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.exec("INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, $3)", v, name, micro(tx.now))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

// Migrations lists applied migration names in order.
func (db *DB) Migrations(ctx context.Context) ([]string, error) {
	rows, err := db.queryRead(ctx, "SELECT name FROM schema_migrations ORDER BY version")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// ExecBenchmarkDDL runs a schema statement. It exists for the benchmarks
// that measure the engines' raw cost beside the store's, and for the store
// suite, which gathers table statistics (ANALYZE) before reading plans.
func (db *DB) ExecBenchmarkDDL(ctx context.Context, stmt string) error {
	_, err := db.write.ExecContext(ctx, stmt)
	return err
}

// ExecBenchmarkInsert runs one statement in its own transaction on the
// writer: the floor every store write stands on.
func (db *DB) ExecBenchmarkInsert(ctx context.Context, stmt string, args ...any) error {
	return db.updateTx(ctx, func(t *Tx) error {
		_, err := t.exec(stmt, args...)
		return err
	})
}
