// Command rollcall is the Rollcall server and its administration tool.
//
//	rollcall [serve]                 run the server (SQLite in ./rollcall-data by default)
//	rollcall workspace create|list   manage workspaces
//	rollcall role create|list        manage custom roles
//	rollcall member add|reset-link   add a member (how the first owner is made); a password reset link
//	rollcall api-key ...             create, list, revoke REST API keys
//	rollcall scim-token ...          create, list, revoke SCIM tokens for an IdP
//	rollcall scim-client ...         create, list, revoke OAuth client credentials for an IdP
//	rollcall group list              list the workspace's groups
//	rollcall group-role set|clear    map a group to a role
//	rollcall sso ...                 configure, show, refresh SAML; the SSO policy; SP key rollover and reset
//	rollcall migrate                 apply database migrations
//	rollcall version                 print the version
//
// Every command reads --database, --base-url, --listen and --secret-key, or the
// ROLLCALL_DATABASE, ROLLCALL_BASE_URL, ROLLCALL_LISTEN and ROLLCALL_SECRET_KEY environment
// variables, and works directly on the database, also while a server runs
// on it. Run "rollcall help" for the full list.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"rollcall/internal/credential"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rollcall: "+err.Error())
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

// run is the whole program, with its environment passed in (for tests).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		return cmdServe(ctx, e, nil)
	}
	name, rest := args[0], args[1:]
	if len(name) > 0 && name[0] == '-' {
		if name == "-h" || name == "--help" || name == "-help" {
			return help(stdout)
		}
		// Flags without a command: serve.
		return cmdServe(ctx, e, args)
	}
	sub := func(m map[string]func(context.Context, *env, []string) error) error {
		if len(rest) == 0 {
			return usagef("%s needs a subcommand (see rollcall help)", name)
		}
		f, ok := m[rest[0]]
		if !ok {
			return usagef("unknown command %q %q (see rollcall help)", name, rest[0])
		}
		return f(ctx, e, rest[1:])
	}
	switch name {
	case "serve":
		return cmdServe(ctx, e, rest)
	case "migrate":
		return cmdMigrate(ctx, e, rest)
	case "version":
		fmt.Fprintln(stdout, "rollcall", version())
		return nil
	case "help":
		return help(stdout)
	case "workspace":
		return sub(map[string]func(context.Context, *env, []string) error{"create": cmdWorkspaceCreate, "list": cmdWorkspaceList})
	case "role":
		return sub(map[string]func(context.Context, *env, []string) error{"create": cmdRoleCreate, "list": cmdRoleList})
	case "member":
		return sub(map[string]func(context.Context, *env, []string) error{"add": cmdMemberAdd, "reset-link": cmdMemberResetLink})
	case "sso":
		if len(rest) > 0 && rest[0] == "sp-key" {
			name, rest = "sso sp-key", rest[1:]
			return sub(map[string]func(context.Context, *env, []string) error{"begin-rollover": cmdSSOKey("begin-rollover"), "complete-rollover": cmdSSOKey("complete-rollover"), "reset": cmdSSOKey("reset"), "seal": cmdSSOKeySeal})
		}
		return sub(map[string]func(context.Context, *env, []string) error{"configure": cmdSSOConfigure, "show": cmdSSOShow,
			"refresh": cmdSSORefresh, "policy": cmdSSOPolicy})
	case "api-key":
		return sub(map[string]func(context.Context, *env, []string) error{"create": cmdAPIKeyCreate,
			"list": cmdCredentialList(credential.KindAPIKey), "revoke": cmdCredentialRevoke(credential.KindAPIKey)})
	case "scim-token":
		return sub(map[string]func(context.Context, *env, []string) error{"create": cmdCredentialCreate(credential.KindSCIMToken),
			"list": cmdCredentialList(credential.KindSCIMToken), "revoke": cmdCredentialRevoke(credential.KindSCIMToken)})
	case "scim-client":
		return sub(map[string]func(context.Context, *env, []string) error{"create": cmdCredentialCreate(credential.KindSCIMClient),
			"list": cmdCredentialList(credential.KindSCIMClient), "revoke": cmdCredentialRevoke(credential.KindSCIMClient)})
	case "group":
		return sub(map[string]func(context.Context, *env, []string) error{"list": cmdGroupList})
	case "group-role":
		return sub(map[string]func(context.Context, *env, []string) error{"set": cmdGroupRole(false), "clear": cmdGroupRole(true)})
	}
	return usagef("unknown command %q (see rollcall help)", name)
}

func help(w io.Writer) error {
	_, err := fmt.Fprint(w, `Rollcall: SAML single sign-on and SCIM provisioning for multi-tenant workspaces.

Usage:
  rollcall [serve] [--listen ADDR] [--database DB] [--base-url URL] [--allow-private-addresses]
  rollcall workspace create --name NAME [--json]
  rollcall workspace list [--json]
  rollcall role create --workspace ID --name NAME [--base-role member|guest|admin] [--description D] [--json]
  rollcall role list --workspace ID [--json]
  rollcall member add --workspace ID --email E [--name "First Last"] [--user-name U] [--role ROLE] [--json]
  rollcall api-key create|list|revoke --workspace ID [--label L] [--id ID] [--json]
  rollcall scim-token create|list|revoke --workspace ID [--label L] [--id ID] [--json]
  rollcall scim-client create|list|revoke --workspace ID [--label L] [--id CLIENT_ID] [--json]
  rollcall group list --workspace ID [--json]
  rollcall group-role set --workspace ID --group GROUP --role ROLE [--json]
  rollcall group-role clear --workspace ID --group GROUP [--json]
  rollcall member reset-link --workspace ID --email E [--json]
  rollcall sso configure --workspace ID (--idp-metadata FILE|URL | --idp-sso-url URL --idp-entity-id ID --idp-cert FILE)
               [--allow-idp-initiated] [--allow-sha1] [--jit] [--preset P] [--clock-skew D] [--json]
  rollcall sso show|refresh --workspace ID [--json]
  rollcall sso policy --workspace ID required|optional
  rollcall sso sp-key begin-rollover|complete-rollover|reset --workspace ID
  rollcall sso sp-key seal
  rollcall migrate
  rollcall version

Every command takes these flags, or reads the environment variables named:
  --database DB     ROLLCALL_DATABASE  SQLite file (default rollcall-data/rollcall.db) or postgres://… URL
  --base-url URL    ROLLCALL_BASE_URL  externally visible URL (default http:// + listen address)
  --listen ADDR     ROLLCALL_LISTEN    address to serve on (default 127.0.0.1:8080)
  --secret-key K    ROLLCALL_SECRET_KEY  seals SP private keys at rest: base64 of 32 random
                    bytes (openssl rand -base64 32); every replica and command needs the same;
                    to rotate it, a list (the first seals, each opens): OLD,NEW, then NEW,OLD
                    and sso sp-key seal, then NEW (docs/saml.md)
`)
	return err
}
