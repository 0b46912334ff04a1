package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"rollcall/internal/credential"
	"rollcall/internal/server"
	"rollcall/internal/store"
)

// env is what a command sees of its environment.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

// common holds the flags every command shares.
type common struct {
	listen    string
	database  string
	baseURL   string
	secretKey string
	sealer    *credential.Sealer // from secretKey, nil without one
	json      bool
}

// defaultListen is the address served on without --listen.
const defaultListen = "127.0.0.1:8080"

// flags returns a flag set with the common flags, defaulted from the
// environment. Errors are reported once by the caller, not by the flag
// package.
func (e *env) flags(name string, c *common, withJSON bool) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	def := func(key, fallback string) string {
		if v := e.getenv(key); v != "" {
			return v
		}
		return fallback
	}
	fs.StringVar(&c.listen, "listen", def("ROLLCALL_LISTEN", defaultListen), "address to listen on")
	fs.StringVar(&c.database, "database", def("ROLLCALL_DATABASE", filepath.Join("rollcall-data", "rollcall.db")), "SQLite path or postgres:// URL")
	fs.StringVar(&c.baseURL, "base-url", e.getenv("ROLLCALL_BASE_URL"), "externally visible base URL")
	fs.StringVar(&c.secretKey, "secret-key", e.getenv("ROLLCALL_SECRET_KEY"), "base64 of 32 random bytes that seal SP private keys at rest; while rotating it, a comma-separated list whose first key seals (docs/saml.md)")
	if withJSON {
		fs.BoolVar(&c.json, "json", false, "print one JSON object")
	}
	return fs
}

// parse parses args and checks the common flags, turning every problem
// into one line that says what to do.
func (e *env) parse(fs *flag.FlagSet, c *common, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			// -h lists this command's flags with their defaults (the
			// environment variables of the common ones are in rollcall
			// help); rollcall help lists the commands.
			fmt.Fprintf(e.stderr, "usage of rollcall %s:\n", fs.Name())
			fs.SetOutput(e.stderr)
			fs.PrintDefaults()
			fs.SetOutput(io.Discard)
			return usagef("%s: the flags are above; rollcall help lists the commands", fs.Name())
		}
		return usagef("%s: %v (see rollcall help)", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q (see rollcall help)", fs.Name(), fs.Arg(0))
	}
	if _, _, err := net.SplitHostPort(c.listen); err != nil {
		return usagef("--listen %q: want host:port, for example 127.0.0.1:8080", c.listen)
	}
	if c.baseURL == "" {
		c.baseURL = "http://" + c.listen
	}
	u, err := url.Parse(c.baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return usagef("--base-url %q: want an absolute http:// or https:// URL such as https://sso.example.com", c.baseURL)
	}
	c.baseURL = strings.TrimRight(c.baseURL, "/")
	if strings.TrimSpace(c.database) == "" {
		return usagef("--database is empty: give an SQLite file path or a postgres:// URL")
	}
	if c.secretKey != "" {
		keys, err := credential.ParseSecretKeys(c.secretKey)
		if err != nil {
			return usagef("--secret-key (ROLLCALL_SECRET_KEY): %v", err)
		}
		if c.sealer, err = credential.NewSealer(keys...); err != nil {
			return usagef("--secret-key (ROLLCALL_SECRET_KEY): %v", err)
		}
	}
	return nil
}

// open opens the database, with an error that says what to check.
func (e *env) open(ctx context.Context, c *common) (*store.DB, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	db, err := server.OpenStore(ctx, c.database)
	if err != nil {
		return nil, dbError(c.database, err)
	}
	return db, nil
}

func dbError(database string, err error) error {
	what := "check --database or ROLLCALL_DATABASE"
	if server.IsPostgres(database) {
		what = "is PostgreSQL running and the URL right? check --database or ROLLCALL_DATABASE"
	}
	return fmt.Errorf("cannot open database %s: %s; %s", server.Redact(database), oneLine(err), what)
}

// oneLine flattens an error message to a single line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func listenError(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("cannot listen on %s: the address is already in use (is another rollcall running?); choose another with --listen or ROLLCALL_LISTEN", addr)
	}
	return fmt.Errorf("cannot listen on %s: %s; check --listen or ROLLCALL_LISTEN", addr, oneLine(err))
}

// printJSON writes v as one JSON object on a line.
func (e *env) printJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%s\n", b)
	return err
}

func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
