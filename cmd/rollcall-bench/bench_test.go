package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"rollcall/internal/server"
)

var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// serverBin builds ./cmd/rollcall once for all tests, with the tool's own
// build step.
func serverBin(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		if build.dir, build.err = os.MkdirTemp("", "rollcall-bench-test-"); build.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		build.bin, build.err = buildServer(ctx, build.dir)
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

// postgresURL returns the test PostgreSQL server, skipping the test when
// there is none (failing it under ROLLCALL_TEST_STRICT=1).
func postgresURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("ROLLCALL_TEST_POSTGRES")
	if u == "" {
		msg := "ROLLCALL_TEST_POSTGRES is not set: the PostgreSQL runs need a server (run `make test`, which starts one)"
		if os.Getenv("ROLLCALL_TEST_STRICT") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return u
}

// TestEveryScenario runs every scenario with tiny sizes, at one and two
// clients, on each engine, and checks each row is sane and that nothing is
// left behind: no server process, no temporary file, no schema.
func TestEveryScenario(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			args := []string{"-quick", "-c", "1,2", "-engine", engine, "-server-bin", serverBin(t)}
			var pg string
			if engine == "postgres" {
				pg = postgresURL(t)
				args = append(args, "-postgres", pg)
			}
			args = append(args, "all")
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp) // where the tool makes its temporary directory
			schemasBefore := benchSchemas(t, pg)
			cfg, err := parseFlags(args)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var log bytes.Buffer
			start := time.Now()
			rep, err := bench(ctx, cfg, &log)
			if err != nil {
				t.Fatalf("bench: %v\nlog:\n%s", err, log.String())
			}
			t.Logf("%s: %d rows in %s", engine, len(rep.rows), time.Since(start).Round(time.Millisecond))

			// 6 SCIM scenarios, 2 group sizes × 3 K, group-list, saml-acs,
			// saml-sp (two rows), bare-insert and rsa-verify, each at c=1
			// and c=2.
			if want := 2 * (6 + 2*3 + 6); len(rep.rows) != want {
				t.Errorf("%d rows, want %d", len(rep.rows), want)
			}
			for _, r := range rep.rows {
				inProcess := strings.HasPrefix(r.scenario, bareInsert) || strings.HasPrefix(r.scenario, rsaVerify)
				switch {
				case r.m.n != 20:
					t.Errorf("%s c=%d: n = %d, want 20", r.scenario, r.c, r.m.n)
				case r.m.rate() <= 0 || r.m.wall <= 0:
					t.Errorf("%s c=%d: rate %v over %v", r.scenario, r.c, r.m.rate(), r.m.wall)
				case r.m.p50 <= 0 || r.m.p99 < r.m.p50 || r.m.p99 > r.m.wall:
					t.Errorf("%s c=%d: p50 %v, p99 %v over %v", r.scenario, r.c, r.m.p50, r.m.p99, r.m.wall)
				case !inProcess && (r.rss < 5<<20 || r.rss > 2<<30):
					t.Errorf("%s c=%d: server RSS %d bytes", r.scenario, r.c, r.rss)
				case inProcess && r.rss != -1:
					t.Errorf("%s c=%d: an in-process row has a server RSS", r.scenario, r.c)
				case r.engine != engine && !(r.engine == "-" && strings.HasPrefix(r.scenario, rsaVerify)):
					t.Errorf("%s c=%d: engine %q", r.scenario, r.c, r.engine)
				}
			}
			var out bytes.Buffer
			if err := rep.write(&out); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"| scenario | engine | c | n | req/s | p50 | p99 | server RSS |",
				"| group-patch K=100, group of 1k | " + engine + " | 2 | 20 | ",
				"Command: `go run ./cmd/rollcall-bench -quick -c 1,2 -engine " + engine,
				"Seeded with bulk SQL"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("the report lacks %q:\n%s", want, out.String())
				}
			}
			if engine == "postgres" && strings.Contains(out.String(), "password") {
				t.Errorf("the report shows a password")
			}

			if left, _ := os.ReadDir(tmp); len(left) > 0 {
				t.Errorf("left behind in the temporary directory: %v", left)
			}
			if pids := running(t, serverBin(t)); len(pids) > 0 {
				t.Errorf("server processes still running: %v", pids)
			}
			if after := benchSchemas(t, pg); after != schemasBefore {
				t.Errorf("%d rollcall_bench schemas before the run, %d after", schemasBefore, after)
			}
		})
	}
}

// running lists the processes executing bin.
func running(t *testing.T, bin string) []string {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/exe")
	if err != nil || len(procs) == 0 {
		t.Log("no /proc: not checking for left-over processes")
		return nil
	}
	var out []string
	for _, p := range procs {
		if exe, err := os.Readlink(p); err == nil && exe == bin {
			out = append(out, filepath.Base(filepath.Dir(p)))
		}
	}
	return out
}

// benchSchemas counts the tool's schemas in the PostgreSQL server.
func benchSchemas(t *testing.T, pg string) int {
	t.Helper()
	if pg == "" {
		return 0
	}
	db, err := sql.Open("pgx", pg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM pg_namespace WHERE nspname LIKE 'rollcall_bench_%'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSeededRowsMatchSCIM checks that a bulk row is the row the server
// writes when an IdP creates the same person through SCIM, for people
// other than the template, and that the seeder's check queries see what
// they look for.
func TestSeededRowsMatchSCIM(t *testing.T) {
	ctx := context.Background()
	database := filepath.Join(t.TempDir(), "rollcall.db")
	srv, err := server.New(ctx, server.Config{Database: database, BaseURL: "http://127.0.0.1", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	s, err := openSeeder(ctx, database, srv, mrand.New(mrand.NewPCG(1, 2)), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	w, err := s.newWorkspace(ctx, "Seed check")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.seedMembers(ctx, w, 5); err != nil {
		t.Fatal(err)
	}
	tmpl := memberTemplate{}
	if tmpl.from, err = s.scimMember(ctx, w, 3000); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{7, 33, 1057, 123456} {
		got, err := s.scimMember(ctx, w, i)
		if err != nil {
			t.Fatal(err)
		}
		if want := tmpl.row(i, got.ID, got.Created); !reflect.DeepEqual(got, want) {
			t.Errorf("person %d: SCIM wrote\n  %+v\nthe seeder writes\n  %+v", i, got, want)
		}
		emails, err := s.emailRows(ctx, w.id, got.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := tmpl.emails(i); !reflect.DeepEqual(emails, want) {
			t.Errorf("person %d: SCIM indexed emails %+v, the seeder writes %+v", i, emails, want)
		}
	}
	// A bulk-seeded member is found the way the scenarios look for one.
	doc, err := s.scimInProcess(ctx, w, http.MethodGet, "/Users?filter="+scimQuery(`userName eq "`+personAt(4).userName+`"`), nil, http.StatusOK)
	if err != nil {
		t.Fatal(err)
	}
	if doc["totalResults"] != 1.0 {
		t.Errorf("userName lookup of a seeded member: %v", doc)
	}
	// The scim-patch check counts inactive members.
	if _, err := s.scimInProcess(ctx, w, http.MethodPatch, "/Users/"+w.memberID(2), patchActive(false), http.StatusNoContent); err != nil {
		t.Fatal(err)
	}
	if n, err := s.count(ctx, "SELECT COUNT(*) FROM members WHERE workspace_id = $1 AND active = $2", w.id, false); err != nil || n != 1 {
		t.Errorf("inactive members = %d, %v; want 1", n, err)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		samples  []time.Duration
		p        int
		want     time.Duration
		describe string
	}{
		{ms(5), 50, 5 * time.Millisecond, "one sample"},
		{ms(5), 99, 5 * time.Millisecond, "one sample"},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond, "even count"},
		{ms(hundred...), 50, 50 * time.Millisecond, "1..100"},
		{ms(hundred...), 99, 99 * time.Millisecond, "1..100"},
	} {
		if got := percentile(tc.samples, tc.p); got != tc.want {
			t.Errorf("percentile(%s, %d) = %v, want %v", tc.describe, tc.p, got, tc.want)
		}
	}
}

func TestJSONInt(t *testing.T) {
	for _, tc := range []struct {
		body string
		key  string
		want int
		ok   bool
	}{
		{`{"Resources":[{"totalResults":7}],"itemsPerPage":100,"totalResults":1000000}`, "totalResults", 1000000, true},
		{`{"totalResults": 3}`, "totalResults", 3, true},
		{`{"itemsPerPage":0}`, "itemsPerPage", 0, true},
		{`{"totalResults":"3"}`, "totalResults", 0, false},
		{`{}`, "totalResults", 0, false},
	} {
		got, ok := jsonInt([]byte(tc.body), tc.key)
		if got != tc.want || ok != tc.ok {
			t.Errorf("jsonInt(%s, %q) = %d, %v; want %d, %v", tc.body, tc.key, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		bad  string // part of the error; "" when the args are good
	}{
		{[]string{"all"}, ""},
		{[]string{"-scenarios", "scim-create,saml-acs"}, ""},
		{[]string{"-engine", "sqlite,postgres", "-postgres", "postgres://u@h/db", "scim-get"}, ""},
		{nil, "name at least one scenario"},
		{[]string{"scim-nope"}, `unknown scenario "scim-nope"`},
		{[]string{"scim-get", "-n", "5"}, "put flags first"},
		{[]string{"-engine", "mysql", "all"}, `-engine "mysql"`},
		{[]string{"-engine", "postgres", "all"}, "-engine postgres needs -postgres"},
		{[]string{"-c", "1,0", "all"}, "-c"},
		{[]string{"-group-k", "x", "all"}, "-group-k"},
		{[]string{"-members", "50", "all"}, "-members must be at least 100"},
		{[]string{"-n", "0", "all"}, "-n must be at least 1"},
	} {
		_, err := parseFlags(tc.args)
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("parseFlags(%q): %v", tc.args, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("parseFlags(%q) = %v, want an error containing %q", tc.args, err, tc.bad)
		}
	}
	cfg, err := parseFlags([]string{"-quick", "-n", "7", "scim-page", "all", "scim-page"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.n != 7 || cfg.members != 300 || len(cfg.scenarios) != len(scenarioOrder) {
		t.Errorf("-quick -n 7: n=%d members=%d scenarios=%v", cfg.n, cfg.members, cfg.scenarios)
	}
	if got := fmt.Sprint(cfg.groupSizes, cfg.groupK); got != "[100 1000] [1 10 100]" {
		t.Errorf("-quick sizes: %s", got)
	}
}
