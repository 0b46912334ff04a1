package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"rollcall/internal/api"
	"rollcall/internal/credential"
	"rollcall/internal/directory"
	"rollcall/internal/scim"
	"rollcall/internal/scim/filter"
	"rollcall/internal/server"
	"rollcall/internal/web"
)

// cliContext marks changes made from the command line in the audit trail.
func cliContext(ctx context.Context) context.Context {
	return directory.WithActor(ctx, directory.Actor{Kind: "cli", Label: "rollcall CLI"})
}

func cmdServe(ctx context.Context, e *env, args []string) error {
	var c common
	fs := e.flags("serve", &c, false)
	allowPrivate, err := allowPrivateFlag(e, fs)
	if err != nil {
		return err
	}
	logFormat := fs.String("log-format", envOr(e, "ROLLCALL_LOG_FORMAT", "text"), "log format: text or json")
	smtpAddr := fs.String("smtp-addr", e.getenv("ROLLCALL_SMTP_ADDR"), "SMTP server host:port for password reset emails")
	smtpFrom := fs.String("smtp-from", e.getenv("ROLLCALL_SMTP_FROM"), "sender address of emails")
	smtpUser := fs.String("smtp-username", e.getenv("ROLLCALL_SMTP_USERNAME"), "SMTP username (the password comes from ROLLCALL_SMTP_PASSWORD)")
	sessionIdle := fs.Duration("session-idle", 12*time.Hour, "end sessions idle this long")
	sessionMax := fs.Duration("session-max", 7*24*time.Hour, "end sessions this old")
	scimRate := fs.Float64("scim-rate", 500, "SCIM requests per second per token (negative: no limit)")
	scimBurst := fs.Int("scim-burst", 5000, "SCIM request burst per token")
	scimMaxBody := fs.Int64("scim-max-body", 16<<20, "largest SCIM request body in bytes")
	logDays := fs.Int("provisioning-log-days", 30, "keep provisioning log entries this many days")
	filterLen := fs.Int("scim-filter-max-length", 16<<10, "longest SCIM filter in bytes")
	filterTerms := fs.Int("scim-filter-max-terms", 200, "most comparisons in one SCIM filter")
	// The environment is read through the flags' own parsers, so a bad
	// value is an error, as it would be on the command line, not a
	// silently kept default; flags given on the command line still win.
	if err := envFlags(e, fs, map[string]string{
		"session-idle": "ROLLCALL_SESSION_IDLE", "session-max": "ROLLCALL_SESSION_MAX",
		"scim-rate": "ROLLCALL_SCIM_RATE", "scim-burst": "ROLLCALL_SCIM_BURST", "scim-max-body": "ROLLCALL_SCIM_MAX_BODY",
		"provisioning-log-days":  "ROLLCALL_PROVISIONING_LOG_DAYS",
		"scim-filter-max-length": "ROLLCALL_SCIM_FILTER_MAX_LENGTH", "scim-filter-max-terms": "ROLLCALL_SCIM_FILTER_MAX_TERMS",
	}); err != nil {
		return err
	}
	if err := e.parse(fs, &c, args); err != nil {
		return err
	}
	if *logFormat != "text" && *logFormat != "json" {
		return usagef("--log-format %q: want text or json", *logFormat)
	}
	if *sessionIdle <= 0 || *sessionMax <= 0 || *scimBurst <= 0 || *scimMaxBody < 1024 || *logDays <= 0 || *filterLen <= 0 || *filterTerms <= 0 {
		return usagef("--session-idle, --session-max, --scim-burst, --scim-max-body, --scim-filter-max-* and --provisioning-log-days must be positive")
	}
	var mail *web.SMTP
	if *smtpAddr != "" {
		if _, _, err := net.SplitHostPort(*smtpAddr); err != nil || !strings.Contains(*smtpFrom, "@") {
			return usagef("--smtp-addr must be host:port and --smtp-from an email address")
		}
		mail = &web.SMTP{Addr: *smtpAddr, From: *smtpFrom, Username: *smtpUser, Password: e.getenv("ROLLCALL_SMTP_PASSWORD")}
	}
	log := newLogger(e.stderr, *logFormat)
	// What packages log without a logger of their own (the SQLite
	// checkpointer) comes out in the same format.
	slog.SetDefault(log)
	// Listen first: a port in use is reported before anything is created.
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return listenError(c.listen, err)
	}
	defer ln.Close()
	srv, err := server.New(ctx, server.Config{Database: c.database, BaseURL: c.baseURL, AllowPrivateAddresses: *allowPrivate, Sealer: c.sealer, Log: log,
		SCIM: scim.Config{RatePerSecond: *scimRate, Burst: *scimBurst, MaxBody: *scimMaxBody,
			Filter: filter.Limits{MaxLength: *filterLen, MaxTerms: *filterTerms}},
		SessionIdle: *sessionIdle, SessionMax: *sessionMax, SMTP: mail, ProvisioningLogDays: *logDays})
	if err != nil {
		return dbError(c.database, err)
	}
	defer srv.Close()
	if err := firstStart(ctx, e, srv, c); err != nil {
		return err
	}
	if mail == nil {
		log.Info("no SMTP server configured (--smtp-addr): password reset emails are off; owners can issue links with rollcall member reset-link")
	}
	srv.Start()
	return srv.Serve(ctx, ln)
}

// firstStart creates the first workspace on an empty database and tells
// the new user what to do next; later starts print one line.
func firstStart(ctx context.Context, e *env, srv *server.Server, c common) error {
	listening := func() error {
		_, err := fmt.Fprintf(e.stdout, "rollcall listening on %s (database %s)\n", c.baseURL, server.Redact(c.database))
		return err
	}
	list, err := srv.DB.Workspaces(ctx)
	if err != nil {
		return err
	}
	if len(list) > 0 {
		return listening()
	}
	w, err := srv.Dir.CreateFirstWorkspace(cliContext(ctx), "My Workspace")
	if err != nil {
		return err
	}
	if w == nil { // another server starting on the same database made it
		return listening()
	}
	// The commands below run in another terminal with the same
	// environment: they need as flags what this server got as flags.
	flags := ""
	if e.getenv("ROLLCALL_DATABASE") == "" && c.database != "rollcall-data/rollcall.db" {
		flags = " --database " + c.database
	}
	if c.baseURL != cmp.Or(strings.TrimRight(e.getenv("ROLLCALL_BASE_URL"), "/"), "http://"+cmp.Or(e.getenv("ROLLCALL_LISTEN"), defaultListen)) {
		flags += " --base-url " + c.baseURL // the links reset-link prints
	}
	fmt.Fprintf(e.stdout, `rollcall listening on %[1]s (database %[2]s)

This is a new database, so Rollcall created your first workspace:
  name:           My Workspace
  id:             %[3]s
  SCIM base URL:  %[4]s

Next, make yourself its owner (in another terminal):
  rollcall member add%[5]s --workspace %[3]s --email you@example.com --role owner
set your password from the link this prints, to sign in at %[6]s:
  rollcall member reset-link%[5]s --workspace %[3]s --email you@example.com
then create an API key for your application:
  rollcall api-key create%[5]s --workspace %[3]s
`, c.baseURL, server.Redact(c.database), w.ID, api.SCIMBaseURL(c.baseURL, w.ID), flags, web.SignInURL(c.baseURL, w.ID))
	return nil
}

// envFlags sets each named flag from its environment variable, when set,
// with the flag's own parser.
func envFlags(e *env, fs *flag.FlagSet, vars map[string]string) error {
	for name, key := range vars {
		v := e.getenv(key)
		if v == "" {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			return usagef("%s=%q: %v (as for --%s)", key, v, err, name)
		}
	}
	return nil
}

func envOr(e *env, key, fallback string) string {
	if v := e.getenv(key); v != "" {
		return v
	}
	return fallback
}

func cmdMigrate(ctx context.Context, e *env, args []string) error {
	var c common
	if err := e.parse(e.flags("migrate", &c, false), &c, args); err != nil {
		return err
	}
	db, err := e.open(ctx, &c) // opening migrates
	if err != nil {
		return err
	}
	defer db.Close()
	names, err := db.Migrations(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "database %s is at migration %s\n", server.Redact(c.database), names[len(names)-1])
	return nil
}

// withDir opens the database and runs fn with a directory service.
func (e *env) withDir(ctx context.Context, c *common, fn func(*directory.Service, *credential.Service) error) error {
	db, err := e.open(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(directory.NewService(db), credential.NewService(db, nil))
}

func cmdWorkspaceCreate(ctx context.Context, e *env, args []string) error {
	var c common
	fs := e.flags("workspace create", &c, true)
	name := fs.String("name", "", "workspace name")
	if err := e.parse(fs, &c, args); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return usagef("workspace create: --name is required")
	}
	return e.withDir(ctx, &c, func(dir *directory.Service, _ *credential.Service) error {
		w, err := dir.CreateWorkspace(cliContext(ctx), *name)
		if err != nil {
			return err
		}
		v := api.WorkspaceView(w, c.baseURL)
		if c.json {
			return e.printJSON(v)
		}
		fmt.Fprintf(e.stdout, "created workspace %q\n  id:             %s\n  SCIM base URL:  %s\n", v.Name, v.ID, v.SCIMBaseURL)
		return nil
	})
}

func cmdWorkspaceList(ctx context.Context, e *env, args []string) error {
	var c common
	if err := e.parse(e.flags("workspace list", &c, true), &c, args); err != nil {
		return err
	}
	return e.withDir(ctx, &c, func(dir *directory.Service, _ *credential.Service) error {
		list, err := dir.Store().Workspaces(ctx)
		if err != nil {
			return err
		}
		views := []api.WorkspaceJSON{}
		for _, w := range list {
			views = append(views, api.WorkspaceView(w, c.baseURL))
		}
		if c.json {
			return e.printJSON(map[string]any{"workspaces": views})
		}
		for _, v := range views {
			fmt.Fprintf(e.stdout, "%s  %-24s  SSO %-8s  %s\n", v.ID, v.Name, v.SSOPolicy, v.SCIMBaseURL)
		}
		return nil
	})
}

func requireWorkspace(cmd, ws string) error {
	if ws == "" {
		return usagef("%s: --workspace is required (rollcall workspace list shows the IDs)", cmd)
	}
	return nil
}

func cmdRoleCreate(ctx context.Context, e *env, args []string) error {
	var c common
	fs := e.flags("role create", &c, true)
	ws := fs.String("workspace", "", "workspace ID")
	name := fs.String("name", "", "role name")
	base := fs.String("base-role", "member", "built-in role it inherits: member, guest or admin")
	desc := fs.String("description", "", "description")
	if err := e.parse(fs, &c, args); err != nil {
		return err
	}
	if err := requireWorkspace("role create", *ws); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return usagef("role create: --name is required")
	}
	return e.withDir(ctx, &c, func(dir *directory.Service, _ *credential.Service) error {
		r, err := dir.CreateCustomRole(cliContext(ctx), *ws, *name, directory.Role(*base), *desc)
		if err != nil {
			return err
		}
		if c.json {
			return e.printJSON(api.CustomRoleView(r))
		}
		fmt.Fprintf(e.stdout, "created role %q\n  id:         %s\n  base role:  %s\n", r.Name, r.ID, r.BaseRole)
		return nil
	})
}

func cmdRoleList(ctx context.Context, e *env, args []string) error {
	var c common
	fs := e.flags("role list", &c, true)
	ws := fs.String("workspace", "", "workspace ID")
	if err := e.parse(fs, &c, args); err != nil {
		return err
	}
	if err := requireWorkspace("role list", *ws); err != nil {
		return err
	}
	return e.withDir(ctx, &c, func(dir *directory.Service, _ *credential.Service) error {
		roles, err := dir.CustomRoles(ctx, *ws)
		if err != nil {
			return err
		}
		views := api.BuiltinRoleViews()
		for _, r := range roles {
			views = append(views, api.CustomRoleView(r))
		}
		if c.json {
			return e.printJSON(map[string]any{"roles": views})
		}
		for _, v := range views {
			kind := "custom"
			if v.Builtin {
				kind = "built-in"
			}
			fmt.Fprintf(e.stdout, "%-36s  %-20s  %-8s  base %s\n", v.ID, v.Name, kind, v.BaseRole)
		}
		return nil
	})
}

func cmdMemberAdd(ctx context.Context, e *env, args []string) error {
	var c common
	fs := e.flags("member add", &c, true)
	ws := fs.String("workspace", "", "workspace ID")
	email := fs.String("email", "", "email address (also the userName unless --user-name is given)")
	name := fs.String("name", "", `full name, "First Last"`)
	userName := fs.String("user-name", "", "userName (default: the email)")
	role := fs.String("role", "member", "owner, admin, member, guest, or a custom role name or ID")
	if err := e.parse(fs, &c, args); err != nil {
		return err
	}
	if err := requireWorkspace("member add", *ws); err != nil {
		return err
	}
	if !strings.Contains(*email, "@") {
		return usagef("member add: --email must be an email address")
	}
	return e.withDir(ctx, &c, func(dir *directory.Service, _ *credential.Service) error {
		ctx := cliContext(ctx)
		ref, err := dir.ResolveRole(ctx, *ws, *role)
		if err != nil {
			return err
		}
		m := &directory.Member{UserName: *userName, Active: true, Source: directory.SourceManual, Assigned: ref,
			Emails: []directory.Email{{Value: *email, Type: "work", Primary: true}}}
		if m.UserName == "" {
			m.UserName = *email
		}
		if *name != "" {
			m.DisplayName = *name
			m.GivenName, m.FamilyName, _ = strings.Cut(*name, " ")
		}
		m, err = dir.CreateMember(ctx, *ws, m)
		if err != nil {
			return err
		}
		v := api.MemberView(m, nil, nil)
		if c.json {
			return e.printJSON(v)
		}
		fmt.Fprintf(e.stdout, "added %s to workspace %s\n  id:    %s\n  role:  %s\n", m.UserName, *ws, m.ID, roleLabel(v))
		return nil
	})
}

func roleLabel(v api.MemberJSON) string {
	if v.CustomRoleID != "" {
		return v.CustomRoleID + " (base " + v.Role + ")"
	}
	return v.Role
}

func cmdAPIKeyCreate(ctx context.Context, e *env, args []string) error {
	var c common
	fs := e.flags("api-key create", &c, true)
	ws := fs.String("workspace", "", "workspace ID")
	label := fs.String("label", "", "what the key is for")
	if err := e.parse(fs, &c, args); err != nil {
		return err
	}
	if err := requireWorkspace("api-key create", *ws); err != nil {
		return err
	}
	return e.withDir(ctx, &c, func(dir *directory.Service, creds *credential.Service) error {
		if _, err := dir.Workspace(ctx, *ws); err != nil {
			return err
		}
		k, secret, err := creds.Create(cliContext(ctx), *ws, credential.KindAPIKey, *label)
		if err != nil {
			return err
		}
		if c.json {
			return e.printJSON(map[string]any{"id": k.ID, "name": k.Label, "label": k.Label, "workspace_id": k.WorkspaceID, "key": secret, "created": k.Created})
		}
		fmt.Fprintf(e.stdout, "created API key %s for workspace %s\n\n  %s\n\nThis is the only time the key is shown; store it now.\n", k.ID, *ws, secret)
		return nil
	})
}
