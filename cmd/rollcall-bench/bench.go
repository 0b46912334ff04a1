package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"rollcall/internal/server"
	"rollcall/internal/testenv/samltest"
)

// row is one line of the results table.
type row struct {
	scenario string // with its sizes, e.g. "group-patch K=1000, group of 100k"
	engine   string // "sqlite", "postgres", or "-" when none is involved
	c        int
	m        measurement
	rss      int64 // server peak RSS in bytes; -1 when no server is involved
}

// engineRun is one engine's share of a run: a fresh database, its seeded
// workspaces, and the server binary.
type engineRun struct {
	cfg      *config
	engine   string
	dir      string // temporary; removed at the end
	database string // the --database value of the server
	bin      string
	setup    *server.Server // the project's services on the same database
	seed     *seeder
	rng      *mrand.Rand
	logf     func(format string, args ...any)
	serverNo int

	users, groups, lists, saml *workspace
	groupIDs                   map[int]string // S → group of S members
	idp                        *samltest.IdP
}

// bench runs every selected scenario on every selected engine.
func bench(ctx context.Context, cfg *config, logw io.Writer) (*report, error) {
	logf := func(format string, args ...any) { fmt.Fprintf(logw, "rollcall-bench: "+format+"\n", args...) }
	rep := &report{cfg: cfg, started: time.Now()}
	tmp, err := os.MkdirTemp("", "rollcall-bench-")
	if err != nil {
		return rep, err
	}
	if cfg.keep {
		logf("keeping %s (the databases and server logs)", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	bin := cfg.serverBin
	needServer := slices.ContainsFunc(cfg.scenarios, func(s string) bool { return s != bareInsert && s != rsaVerify })
	if bin == "" && needServer {
		logf("building ./cmd/rollcall")
		if bin, err = buildServer(ctx, tmp); err != nil {
			return rep, err
		}
	}
	for _, engine := range cfg.engines {
		if !slices.ContainsFunc(cfg.scenarios, func(s string) bool { return s != rsaVerify }) {
			break // nothing needs a database
		}
		// The same random choices on every engine, so their rows compare.
		rng := mrand.New(mrand.NewPCG(cfg.seed, 0x726f6c6c63616c6c))
		e := &engineRun{cfg: cfg, engine: engine, bin: bin, rng: rng, logf: logf}
		err := e.run(ctx, tmp, rep)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", engine, err)
		}
	}
	if slices.Contains(cfg.scenarios, rsaVerify) {
		if err := rsaVerifyRows(ctx, cfg, rep, logf); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// run seeds a fresh database and runs the scenarios on it, adding rows
// to rep. Everything it creates (server processes, the database, files)
// is gone when it returns.
func (e *engineRun) run(ctx context.Context, tmp string, rep *report) (err error) {
	e.dir = filepath.Join(tmp, e.engine)
	if err := os.Mkdir(e.dir, 0o700); err != nil {
		return err
	}
	if !e.cfg.keep {
		defer os.RemoveAll(e.dir) // last, after the database is closed
	}
	switch e.engine {
	case "sqlite":
		e.database = filepath.Join(e.dir, "rollcall.db")
	case "postgres":
		var drop func() error
		e.database, drop, err = newSchema(ctx, e.cfg.postgres)
		if err != nil {
			return err
		}
		if e.cfg.keep {
			e.logf("keeping the PostgreSQL database: %s", server.Redact(e.database))
		} else {
			defer func() {
				if derr := drop(); derr != nil && err == nil {
					err = derr
				}
			}()
		}
	}
	octx, cancel := context.WithTimeout(ctx, time.Minute)
	e.setup, err = server.New(octx, server.Config{Database: e.database, BaseURL: "http://127.0.0.1",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	cancel()
	if err != nil {
		return fmt.Errorf("open the database: %w", err)
	}
	defer e.setup.Close()
	if e.seed, err = openSeeder(ctx, e.database, e.setup, e.rng, e.logf); err != nil {
		return fmt.Errorf("open the database for seeding: %w", err)
	}
	defer e.seed.close()
	rep.addVersion(ctx, e.engine, e.seed.db)
	if err := e.prepare(ctx, rep); err != nil {
		return err
	}
	for _, s := range e.cfg.scenarios {
		if s == rsaVerify {
			continue
		}
		rows, err := e.scenario(ctx, s)
		rep.rows = append(rep.rows, rows...)
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// newSchema creates a schema for this run in the PostgreSQL server at
// base and returns a URL whose connections use it, and a function that
// drops it.
func newSchema(ctx context.Context, base string) (string, func() error, error) {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	name := "rollcall_bench_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		return "", nil, fmt.Errorf("create schema %s in %s: %w", name, server.Redact(base), err)
	}
	drop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // also after an interrupt
		defer cancel()
		a, err := sql.Open("pgx", base)
		if err != nil {
			return err
		}
		defer a.Close()
		if _, err := a.ExecContext(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			return fmt.Errorf("drop schema %s: %w", name, err)
		}
		return nil
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, errors.Join(err, drop())
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// needs reports whether any selected scenario is one of names.
func (e *engineRun) needs(names ...string) bool {
	return slices.ContainsFunc(e.cfg.scenarios, func(s string) bool { return slices.Contains(names, s) })
}

// prepare creates and seeds the workspaces the selected scenarios use.
func (e *engineRun) prepare(ctx context.Context, rep *report) error {
	cfg, s := e.cfg, e.seed
	var err error
	if e.needs(scimCreate, scimLookup, scimGet, scimPatch, scimPage, scimWalk) {
		if e.users, err = s.newWorkspace(ctx, "Bench SCIM users"); err != nil {
			return err
		}
		if err := s.seedMembers(ctx, e.users, cfg.members); err != nil {
			return err
		}
	}
	if e.needs(groupPatch) {
		maxS, maxK, maxC := slices.Max(cfg.groupSizes), slices.Max(cfg.groupK), slices.Max(cfg.conc)
		if e.groups, err = s.newWorkspace(ctx, "Bench group PATCH"); err != nil {
			return err
		}
		// Members [0, maxS) fill the groups; each client adds and removes
		// its own K members beyond them.
		if err := s.seedMembers(ctx, e.groups, maxS+maxC*maxK); err != nil {
			return err
		}
		e.groupIDs = map[int]string{}
		for _, size := range cfg.groupSizes {
			start := time.Now()
			id, err := s.createGroup(ctx, e.groups, fmt.Sprintf("Engineering %d", size))
			if err != nil {
				return err
			}
			if err := s.addMembers(ctx, e.groups, id, size); err != nil {
				return err
			}
			e.groupIDs[size] = id
			e.logf("seeded a group of %d members in %s (created through SCIM, members by bulk SQL)", size, time.Since(start).Round(time.Millisecond))
		}
	}
	if e.needs(groupList) {
		if e.lists, err = s.newWorkspace(ctx, "Bench group list"); err != nil {
			return err
		}
		if err := s.seedMembers(ctx, e.lists, listMembers); err != nil {
			return err
		}
		if err := s.seedGroups(ctx, e.lists, cfg.groups, groupListMembers); err != nil {
			return err
		}
	}
	if e.needs(samlACS, samlSP) {
		if e.saml, err = s.newWorkspace(ctx, "Bench SAML"); err != nil {
			return err
		}
		if err := s.seedMembers(ctx, e.saml, cfg.samlUsers); err != nil {
			return err
		}
		if err := e.configureSAML(ctx); err != nil {
			return err
		}
	}
	if err := s.settle(ctx); err != nil {
		return err
	}
	rep.noteSeed(e)
	return nil
}

// In the group-list workspace, each group has groupListMembers of its
// listMembers members: enough that a list which loaded members would
// show it.
const (
	groupListMembers = 10
	listMembers      = 1000
)

// startServer starts a fresh server for one scenario.
func (e *engineRun) startServer(ctx context.Context) (*child, error) {
	e.serverNo++
	return startServer(ctx, e.bin, e.database, filepath.Join(e.dir, fmt.Sprintf("server-%02d.log", e.serverNo)))
}

// measure runs one row against a server: it resets the server's peak RSS,
// runs the load, reads the peak, and checks the server is still up.
func (e *engineRun) measure(ctx context.Context, srv *child, label string, c int, clients [][]job) (row, error) {
	r := row{scenario: label, engine: e.engine, c: c, rss: -1}
	if err := resetPeakRSS(srv.pid()); err != nil {
		e.logf("cannot reset the server's peak RSS (%v): the RSS column is the peak since it started", err)
	}
	m, err := runLoad(ctx, clients)
	if rss, rerr := peakRSS(srv.pid()); rerr == nil {
		r.rss = rss
	}
	if aerr := srv.alive(); aerr != nil {
		return r, aerr
	}
	if err != nil {
		return r, fmt.Errorf("%w\nthe server's log ends:\n%s", err, srv.logTail(20))
	}
	r.m = m
	e.logf("%s", r.line())
	return r, nil
}
