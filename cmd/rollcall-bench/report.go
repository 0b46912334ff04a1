package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"rollcall/internal/server"
)

// report is the results of a run, printed as Markdown for BENCHMARKS.md.
type report struct {
	cfg      *config
	started  time.Time
	rows     []row
	versions []string // database versions
	seeded   []string // what each engine's database held
}

func (r row) line() string {
	return fmt.Sprintf("%s  %s  c=%d  n=%d  %s/s  p50 %s  p99 %s  RSS %s", r.scenario, r.engine, r.c, r.m.n,
		rate(r.m.rate()), ms(r.m.p50), ms(r.m.p99), mb(r.rss))
}

func rate(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f ms", v)
	case v < 100:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

func mb(b int64) string {
	if b < 0 {
		return "–"
	}
	return fmt.Sprintf("%d MB", (b+(1<<19))>>20)
}

// addVersion records the version of an engine's server.
func (rep *report) addVersion(ctx context.Context, engine string, db *sql.DB) {
	q, name := "SELECT sqlite_version()", "SQLite"
	if engine == "postgres" {
		q, name = "SHOW server_version", "PostgreSQL"
	}
	var v string
	if err := db.QueryRowContext(ctx, q).Scan(&v); err == nil {
		rep.versions = append(rep.versions, name+" "+strings.Fields(v)[0])
	}
}

// noteSeed records what an engine's database was seeded with.
func (rep *report) noteSeed(e *engineRun) {
	var parts []string
	if e.users != nil {
		parts = append(parts, fmt.Sprintf("SCIM workspace of %d members", len(e.users.ids)))
	}
	if e.groups != nil {
		var sizes []string
		for _, s := range e.cfg.groupSizes {
			sizes = append(sizes, fmt.Sprint(s))
		}
		parts = append(parts, fmt.Sprintf("group-PATCH workspace of %d members with groups of %s", len(e.groups.ids), strings.Join(sizes, " and ")))
	}
	if e.lists != nil {
		parts = append(parts, fmt.Sprintf("group-list workspace of %d groups of %d members each (from %d members)", e.cfg.groups, groupListMembers, len(e.lists.ids)))
	}
	if e.saml != nil {
		parts = append(parts, fmt.Sprintf("SAML workspace of %d members", len(e.saml.ids)))
	}
	if len(parts) > 0 {
		rep.seeded = append(rep.seeded, e.engine+": "+strings.Join(parts, "; "))
	}
}

// command returns the command line as it can be run again, with any
// database password hidden.
func (rep *report) command() string {
	parts := []string{"go", "run", "./cmd/rollcall-bench"}
	for _, a := range rep.cfg.args {
		if strings.Contains(a, "://") {
			if i := strings.Index(a, "="); i > 0 && strings.HasPrefix(a, "-") {
				a = a[:i+1] + server.Redact(a[i+1:])
			} else {
				a = server.Redact(a)
			}
		}
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=,./:@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// machine describes where the run happened.
func machine() string {
	cpu := ""
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = " (" + strings.TrimSpace(v) + ")"
				break
			}
		}
	}
	return fmt.Sprintf("%d CPUs%s, %s/%s, %s", runtime.NumCPU(), cpu, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// commit describes the source tree the server was built from.
func commit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown commit"
	}
	c := "commit " + strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		c += " with uncommitted changes"
	}
	return c
}

// write prints the report as Markdown.
func (rep *report) write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\n### rollcall-bench, %s\n\n", rep.started.UTC().Format("2006-01-02 15:04 UTC"))
	env := machine() + "; " + commit()
	if len(rep.versions) > 0 {
		env += "; " + strings.Join(rep.versions, ", ")
	}
	fmt.Fprintf(&b, "%s.\n\n", env)
	b.WriteString("| scenario | engine | c | n | req/s | p50 | p99 | server RSS |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.rows {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %s | %s | %s |\n", r.scenario, r.engine, r.c, r.m.n,
			rate(r.m.rate()), ms(r.m.p50), ms(r.m.p99), mb(r.rss))
	}
	fmt.Fprintf(&b, "\nCommand: `%s`\n\n", rep.command())
	b.WriteString("- Real HTTP on loopback to `rollcall serve --scim-rate -1` (no rate limit), a child process restarted for each scenario; " +
		"every request's status and answer were checked, and any unexpected one aborts the run. Requests are bounded (n per row), never timed.\n")
	b.WriteString("- req/s is completed units over wall time with c clients: a saml-acs unit is one completed sign-in " +
		"(POST /acs → 303, GET /complete → 303 with a session cookie; responses minted and signed before timing); " +
		"saml-sp is an SP-initiated sign-in in two rows, GET /login (302 to the IdP) and then the same two steps with that browser's cookie " +
		"(responses to those requests minted between the rows): a whole sign-in takes the two rows' times added; " +
		"a group-patch unit is one PATCH (adds and removes alternate); bare-insert and rsa-verify run in-process.\n")
	b.WriteString("- server RSS is the server's peak resident set (VmHWM) during the row.\n")
	if len(rep.seeded) > 0 {
		b.WriteString("- Seeded with bulk SQL (multi-row INSERTs in transactions of 50,000 rows, each workspace's first member and group created through SCIM " +
			"and the rest written as the store writes them; then VACUUM ANALYZE on PostgreSQL, a WAL checkpoint on SQLite), not through the API: " +
			strings.Join(rep.seeded, "; ") + ".\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
