// Command rollcall-bench is the load tool behind BENCHMARKS.md. It builds
// and starts a real "rollcall serve" as a child process on a free loopback
// port, seeds a fresh database (an SQLite file in a temporary directory, or
// a fresh schema in a PostgreSQL server), drives real HTTP at it with a
// bounded number of requests, and prints one Markdown table row per
// scenario with the command line that made it.
//
//	go run ./cmd/rollcall-bench [flags] SCENARIO...
//	go run ./cmd/rollcall-bench -engine sqlite,postgres -postgres URL -c 1,8 all
//
// Scenarios (see -h for the flags that size them):
//
//	scim-create   POST /Users with Okta's create body
//	scim-lookup   GET /Users?filter=userName eq "…" of a random existing user
//	scim-get      GET /Users/{id} of a random existing user
//	scim-patch    PATCH /Users/{id} path-less {"active":false}, then true
//	scim-page     GET /Users?startIndex=K&count=100, K random over the workspace
//	scim-walk     the same pages in sequence, as an import reads them: each
//	              client walks on from a random K, one page after another
//	group-patch   PATCH /Groups/{id} adding K members, then removing them,
//	              on a group of S members (each PATCH is one request)
//	group-list    GET /Groups?excludedAttributes=members&count=100 (random page)
//	saml-acs      a completed IdP-initiated sign-in: POST /saml/{ws}/acs
//	              (303) then GET /complete (303 and a session cookie)
//	saml-sp       an SP-initiated sign-in, as two rows: GET /login (302 to
//	              the IdP with a signed AuthnRequest and a browser cookie),
//	              then, with responses to those requests, the ACS POST and
//	              the completion with that cookie
//	bare-insert   baseline: one small INSERT and COMMIT through the store's
//	              driver and pool, in-process
//	rsa-verify    baseline: one RSA-2048 PKCS#1 v1.5 SHA-256 verification
//
// The server runs with --scim-rate -1, so the figures measure the server
// and not its rate limiter. It is restarted for each scenario, and its
// peak resident set (VmHWM) is reset before and read after each row.
// Bulk data is written with multi-row INSERTs straight into the tables,
// modelled on a member and a group created through the SCIM door itself,
// and checked against them.
//
// Any unexpected status aborts the run with the body of the first failure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rollcall-bench: "+err.Error())
		var u usageError
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is an error in how the command was invoked (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// helpRequest is -h: the usage goes to stdout and the exit status is 0.
type helpRequest struct{ text string }

func (h helpRequest) Error() string { return h.text }

// Scenario names, in the order they run.
const (
	scimCreate = "scim-create"
	scimLookup = "scim-lookup"
	scimGet    = "scim-get"
	scimPatch  = "scim-patch"
	scimPage   = "scim-page"
	scimWalk   = "scim-walk"
	groupPatch = "group-patch"
	groupList  = "group-list"
	samlACS    = "saml-acs"
	samlSP     = "saml-sp"
	bareInsert = "bare-insert"
	rsaVerify  = "rsa-verify"
)

// scenarioOrder lists every scenario; "all" selects them all.
var scenarioOrder = []string{scimCreate, scimLookup, scimGet, scimPatch, scimPage, scimWalk, groupPatch, groupList, samlACS, samlSP, bareInsert, rsaVerify}

// config is a parsed command line.
type config struct {
	engines    []string // "sqlite", "postgres"
	postgres   string   // server URL for the postgres engine
	serverBin  string   // prebuilt rollcall binary; empty: build one
	n          int      // requests per row
	conc       []int    // concurrent clients, one row each
	members    int      // members of the SCIM Users workspace
	groupSizes []int    // S: members of the groups PATCHed
	groupK     []int    // K: members added then removed per PATCH pair
	groups     int      // groups in the group-list workspace
	samlUsers  int      // members who sign in by SAML
	scenarios  []string // in scenarioOrder
	seed       uint64   // for every random choice
	keep       bool     // keep databases and logs for inspection
	args       []string // as given, for the printed command line
}

// parseFlags parses the command line.
func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("rollcall-bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	engines := fs.String("engine", "sqlite", "database engines, comma-separated: sqlite, postgres")
	pg := fs.String("postgres", "", "PostgreSQL server URL (postgres://…); each run creates and drops its own schema")
	bin := fs.String("server-bin", "", "rollcall binary to run (default: go build ./cmd/rollcall into a temporary directory)")
	n := fs.Int("n", 2000, "requests per row (bounded; never time-based)")
	conc := fs.String("c", "1", "concurrent clients, comma-separated; one row per value (e.g. 1,8)")
	members := fs.Int("members", 10000, "members seeded in the SCIM Users workspace (1000000 for the million-member figures)")
	sizes := fs.String("group-sizes", "1000,100000", "group-patch: group sizes S, comma-separated")
	ks := fs.String("group-k", "1,100,1000", "group-patch: members K added and removed per PATCH, comma-separated")
	groups := fs.Int("groups", 10000, "group-list: groups in the workspace")
	samlUsers := fs.Int("saml-members", 1000, "saml-acs, saml-sp: members who sign in (round robin)")
	scen := fs.String("scenarios", "", "scenarios, comma-separated, or all (also given as arguments)")
	quick := fs.Bool("quick", false, "small sizes for a smoke test: n=20, 300 members, S=100,1000, K=1,10,100, 250 groups")
	seed := fs.Uint64("seed", 1, "seed of every random choice (users, pages, members)")
	keep := fs.Bool("keep", false, "keep the databases (SQLite file, PostgreSQL schema) and server logs, to inspect a failure")
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, helpRequest{usage(fs)}
		}
		return nil, usagef("%v (see rollcall-bench -h)", err)
	}
	if *quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		def := func(name string, apply func()) {
			if !set[name] {
				apply()
			}
		}
		def("n", func() { *n = 20 })
		def("members", func() { *members = 300 })
		def("group-sizes", func() { *sizes = "100,1000" })
		def("group-k", func() { *ks = "1,10,100" })
		def("groups", func() { *groups = 250 })
		def("saml-members", func() { *samlUsers = 50 })
	}
	cfg := &config{postgres: *pg, serverBin: *bin, n: *n, members: *members, groups: *groups, samlUsers: *samlUsers, seed: *seed, keep: *keep, args: args}
	var err error
	if cfg.conc, err = intList("c", *conc); err != nil {
		return nil, err
	}
	if cfg.groupSizes, err = intList("group-sizes", *sizes); err != nil {
		return nil, err
	}
	if cfg.groupK, err = intList("group-k", *ks); err != nil {
		return nil, err
	}
	for _, e := range strings.Split(*engines, ",") {
		e = strings.TrimSpace(e)
		if e != "sqlite" && e != "postgres" {
			return nil, usagef("-engine %q: want sqlite, postgres or both (sqlite,postgres)", e)
		}
		if !slices.Contains(cfg.engines, e) {
			cfg.engines = append(cfg.engines, e)
		}
	}
	if slices.Contains(cfg.engines, "postgres") && !strings.HasPrefix(cfg.postgres, "postgres://") && !strings.HasPrefix(cfg.postgres, "postgresql://") {
		return nil, usagef("-engine postgres needs -postgres postgres://user@host:port/db (the tool creates and drops its own schema there)")
	}
	names := fs.Args()
	if *scen != "" {
		names = append(names, strings.Split(*scen, ",")...)
	}
	want := map[string]bool{}
	for _, s := range names {
		s = strings.TrimSpace(s)
		switch {
		case s == "all":
			for _, x := range scenarioOrder {
				want[x] = true
			}
		case slices.Contains(scenarioOrder, s):
			want[s] = true
		case strings.HasPrefix(s, "-"):
			return nil, usagef("flag %s after a scenario name: put flags first", s)
		default:
			return nil, usagef("unknown scenario %q; scenarios are %s, or all", s, strings.Join(scenarioOrder, ", "))
		}
	}
	for _, s := range scenarioOrder {
		if want[s] {
			cfg.scenarios = append(cfg.scenarios, s)
		}
	}
	if len(cfg.scenarios) == 0 {
		return nil, usagef("name at least one scenario (%s) or all", strings.Join(scenarioOrder, ", "))
	}
	switch {
	case cfg.n < 1:
		return nil, usagef("-n must be at least 1")
	case cfg.members < 100:
		return nil, usagef("-members must be at least 100 (scim-page reads pages of 100)")
	case cfg.groups < 1 || cfg.samlUsers < 1:
		return nil, usagef("-groups and -saml-members must be positive")
	}
	return cfg, nil
}

func intList(name, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, usagef("-%s %q: want positive integers separated by commas", name, s)
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

func usage(fs *flag.FlagSet) string {
	var b strings.Builder
	b.WriteString("usage: go run ./cmd/rollcall-bench [flags] SCENARIO... (or all)\n\nscenarios: " +
		strings.Join(scenarioOrder, ", ") + "\n\nflags:\n")
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(&b, "  -%s (default %q)\n    \t%s\n", f.Name, f.DefValue, f.Usage)
	})
	return b.String()
}

// run is the whole program, with its environment passed in (for tests).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args)
	var help helpRequest
	if errors.As(err, &help) {
		_, err := io.WriteString(stdout, help.text)
		return err
	}
	if err != nil {
		return err
	}
	rep, err := bench(ctx, cfg, stderr)
	if rep != nil && len(rep.rows) > 0 {
		if werr := rep.write(stdout); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}
