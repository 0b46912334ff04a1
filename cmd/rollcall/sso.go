package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"rollcall/internal/api"
	"rollcall/internal/directory"
	"rollcall/internal/saml"
	"rollcall/internal/store"
	"rollcall/internal/web"
)

// withSSO opens the database and runs fn with an SP server that works
// directly on it (no HTTP).
func (e *env) withSSO(ctx context.Context, c *common, allowPrivate bool, fn func(*directory.Service, *saml.Server, *store.DB) error) error {
	db, err := e.open(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	dir := directory.NewService(db)
	sp := saml.New(saml.Config{BaseURL: c.baseURL, Sealer: c.sealer}, dir, db, nil, nil, &saml.Fetcher{AllowPrivate: allowPrivate})
	return fn(dir, sp, db)
}

// allowPrivateFlag defines --allow-private-addresses, set from
// ROLLCALL_ALLOW_PRIVATE_ADDRESSES through the flag's own parser (1, t,
// true, …; anything else is a usage error, not a silent false).
func allowPrivateFlag(e *env, fs *flag.FlagSet) (*bool, error) {
	v := fs.Bool("allow-private-addresses", false,
		"let the metadata fetch reach loopback, link-local and private addresses (and plain http)")
	return v, envFlags(e, fs, map[string]string{"allow-private-addresses": "ROLLCALL_ALLOW_PRIVATE_ADDRESSES"})
}

func cmdSSOConfigure(ctx context.Context, e *env, args []string) error {
	var c common
	fs := e.flags("sso configure", &c, true)
	ws := fs.String("workspace", "", "workspace ID")
	md := fs.String("idp-metadata", "", "the IdP's metadata: a file, or an https:// URL (fetched now and refreshed on a schedule)")
	ssoURL := fs.String("idp-sso-url", "", "the IdP's SSO URL (manual setup)")
	entityID := fs.String("idp-entity-id", "", "the IdP's entity ID / issuer (manual setup)")
	var certs multiFlag
	fs.Var(&certs, "idp-cert", "a file with the IdP's signing certificate, PEM or base64 (manual setup; repeat for several)")
	idpInit := fs.Bool("allow-idp-initiated", false, "accept sign-ins started from the IdP's dashboard")
	sha1 := fs.Bool("allow-sha1", false, "accept SHA-1 signatures (only for IdPs that cannot do better)")
	jit := fs.Bool("jit", false, "create members on their first sign-in instead of refusing them")
	preset := fs.String("preset", "", "attribute preset: "+strings.Join(saml.Presets(), ", "))
	skew := fs.Duration("clock-skew", 0, "tolerated clock difference with the IdP (default 3m)")
	allowPrivate, err := allowPrivateFlag(e, fs)
	if err != nil {
		return err
	}
	if err := e.parse(fs, &c, args); err != nil {
		return err
	}
	if err := requireWorkspace("sso configure", *ws); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var in saml.Settings
	switch {
	case *md != "" && (*ssoURL != "" || *entityID != "" || len(certs) > 0):
		return usagef("sso configure: give --idp-metadata, or --idp-sso-url with --idp-entity-id and --idp-cert, not both")
	case strings.HasPrefix(*md, "https://") || strings.HasPrefix(*md, "http://"):
		in.MetadataURL = *md
	case *md != "":
		b, err := os.ReadFile(*md)
		if err != nil {
			return fmt.Errorf("--idp-metadata: %v", err)
		}
		in.MetadataXML = b
	case *ssoURL != "" || *entityID != "" || len(certs) > 0:
		in.SSOURL, in.EntityID = *ssoURL, *entityID
		for _, f := range certs {
			b, err := os.ReadFile(f)
			if err != nil {
				return fmt.Errorf("--idp-cert: %v", err)
			}
			in.Certificates = append(in.Certificates, string(b))
		}
	}
	if set["allow-idp-initiated"] {
		in.AllowIdPInitiated = idpInit
	}
	if set["allow-sha1"] {
		in.AllowSHA1 = sha1
	}
	if set["jit"] {
		in.JIT = jit
	}
	if set["preset"] {
		in.Preset = preset
	}
	if set["clock-skew"] {
		in.ClockSkew = skew
	}
	return e.withSSO(ctx, &c, *allowPrivate, func(_ *directory.Service, sp *saml.Server, _ *store.DB) error {
		if _, err := sp.Configure(cliContext(ctx), *ws, in); err != nil {
			return err
		}
		return e.showSSO(ctx, sp, *ws, c.json)
	})
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func (e *env) showSSO(ctx context.Context, sp *saml.Server, ws string, asJSON bool) error {
	info, err := sp.Show(ctx, ws)
	if err != nil {
		return err
	}
	if asJSON {
		return e.printJSON(info)
	}
	fmt.Fprintf(e.stdout, "Workspace %s (SSO %s)\n\nGive these to the IdP:\n  Entity ID / Audience:  %s\n  ACS URL:               %s\n  SP metadata:           %s\n\n",
		ws, info.SSOPolicy, info.EntityID, info.ACSURL, info.MetadataURL)
	if !info.Configured {
		fmt.Fprintf(e.stdout, "No IdP configured yet: rollcall sso configure --workspace %s --idp-metadata FILE|URL\n", ws)
		return nil
	}
	fmt.Fprintf(e.stdout, "IdP:\n  entity ID:  %s\n  SSO URL:    %s\n", info.IdPEntityID, info.IdPSSOURL)
	if info.IdPMetadataURL != "" {
		fmt.Fprintf(e.stdout, "  metadata:   %s", info.IdPMetadataURL)
		if info.IdPMetadataFetched != nil {
			fmt.Fprintf(e.stdout, " (fetched %s)", info.IdPMetadataFetched.Format(time.RFC3339))
		}
		fmt.Fprintln(e.stdout)
		if info.IdPMetadataError != "" {
			fmt.Fprintf(e.stdout, "  last refresh failed: %s\n", info.IdPMetadataError)
		}
	}
	for _, c := range info.IdPCertificates {
		warn := ""
		if c.DaysLeft < 60 {
			warn = "  <-- renew soon"
		}
		if c.DaysLeft < 0 {
			warn = "  <-- EXPIRED"
		}
		fmt.Fprintf(e.stdout, "  certificate %s…  expires %s (%d days)%s\n", c.Fingerprint[:16], c.NotAfter.Format("2006-01-02"), c.DaysLeft, warn)
	}
	fmt.Fprintf(e.stdout, "  IdP-initiated: %v  SHA-1: %v  just-in-time members: %v  attribute preset: %s\n",
		info.AllowIdPInitiated, info.AllowSHA1, info.JIT, info.Preset)
	return nil
}

func cmdSSOShow(ctx context.Context, e *env, args []string) error {
	var c common
	fs := e.flags("sso show", &c, true)
	ws := fs.String("workspace", "", "workspace ID")
	if err := e.parse(fs, &c, args); err != nil {
		return err
	}
	if err := requireWorkspace("sso show", *ws); err != nil {
		return err
	}
	return e.withSSO(ctx, &c, false, func(_ *directory.Service, sp *saml.Server, _ *store.DB) error {
		return e.showSSO(ctx, sp, *ws, c.json)
	})
}

func cmdSSORefresh(ctx context.Context, e *env, args []string) error {
	var c common
	fs := e.flags("sso refresh", &c, true)
	ws := fs.String("workspace", "", "workspace ID")
	allowPrivate, err := allowPrivateFlag(e, fs)
	if err != nil {
		return err
	}
	if err := e.parse(fs, &c, args); err != nil {
		return err
	}
	if err := requireWorkspace("sso refresh", *ws); err != nil {
		return err
	}
	return e.withSSO(ctx, &c, *allowPrivate, func(_ *directory.Service, sp *saml.Server, _ *store.DB) error {
		if _, err := sp.Refresh(cliContext(ctx), *ws); err != nil {
			return err
		}
		return e.showSSO(ctx, sp, *ws, c.json)
	})
}

func cmdSSOPolicy(ctx context.Context, e *env, args []string) error {
	var c common
	fs := e.flags("sso policy", &c, true)
	ws := fs.String("workspace", "", "workspace ID")
	// The policy is a positional argument after the flags.
	if err := fs.Parse(args); err != nil {
		return usagef("sso policy: %v (see rollcall help)", err)
	}
	rest := fs.Args()
	if len(rest) != 1 || (rest[0] != "required" && rest[0] != "optional") {
		return usagef("sso policy: give the policy, required or optional, after the flags")
	}
	if err := e.parse(fs, &c, nil); err != nil {
		return err
	}
	if err := requireWorkspace("sso policy", *ws); err != nil {
		return err
	}
	return e.withSSO(ctx, &c, false, func(_ *directory.Service, srv *saml.Server, _ *store.DB) error {
		w, err := srv.SetSSOPolicy(cliContext(ctx), *ws, directory.SSOPolicy(rest[0]))
		if err != nil {
			return err
		}
		if c.json {
			return e.printJSON(api.WorkspaceView(w, c.baseURL))
		}
		fmt.Fprintf(e.stdout, "workspace %s: SSO is now %s\n", w.ID, w.SSOPolicy)
		return nil
	})
}

func cmdSSOKey(stage string) func(context.Context, *env, []string) error {
	return func(ctx context.Context, e *env, args []string) error {
		var c common
		fs := e.flags("sso sp-key "+stage, &c, true)
		ws := fs.String("workspace", "", "workspace ID")
		if err := e.parse(fs, &c, args); err != nil {
			return err
		}
		if err := requireWorkspace("sso sp-key "+stage, *ws); err != nil {
			return err
		}
		return e.withSSO(ctx, &c, false, func(_ *directory.Service, sp *saml.Server, _ *store.DB) error {
			if err := sp.ChangeKeys(cliContext(ctx), *ws, stage); err != nil {
				return err
			}
			return e.showSSO(ctx, sp, *ws, c.json)
		})
	}
}

// cmdSSOKeySeal finishes a rotation of the secret key: it seals the SP
// private keys of every workspace with the current secret key (the first
// of --secret-key), plain ones and those an older key sealed, then checks
// that every key opens with it, so that the operator knows when the old
// key can go.
func cmdSSOKeySeal(ctx context.Context, e *env, args []string) error {
	var c common
	fs := e.flags("sso sp-key seal", &c, false)
	if err := e.parse(fs, &c, args); err != nil {
		return err
	}
	if c.sealer == nil {
		return usagef("sso sp-key seal: give the secret key to seal with (--secret-key or ROLLCALL_SECRET_KEY)")
	}
	return e.withSSO(ctx, &c, false, func(_ *directory.Service, sp *saml.Server, _ *store.DB) error {
		n, err := sp.ResealKeys(cliContext(ctx))
		fmt.Fprintf(e.stdout, "sealed %d SP private keys with the current secret key\n", n)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "every SP private key opens with the current secret key")
		return nil
	})
}

func cmdMemberResetLink(ctx context.Context, e *env, args []string) error {
	var c common
	fs := e.flags("member reset-link", &c, true)
	ws := fs.String("workspace", "", "workspace ID")
	email := fs.String("email", "", "the member's userName or primary email")
	if err := e.parse(fs, &c, args); err != nil {
		return err
	}
	if err := requireWorkspace("member reset-link", *ws); err != nil {
		return err
	}
	if *email == "" {
		return usagef("member reset-link: --email is required")
	}
	return e.withSSO(ctx, &c, false, func(dir *directory.Service, _ *saml.Server, db *store.DB) error {
		w, err := dir.Workspace(ctx, *ws)
		if err != nil {
			return err
		}
		pages, err := web.New(&web.Server{BaseURL: c.baseURL, Dir: dir, Store: db})
		if err != nil {
			return err
		}
		m, err := pages.FindMember(ctx, *ws, *email)
		if err != nil {
			return directory.Errorf(directory.ENOTFOUND, "no member %q in workspace %s", *email, *ws)
		}
		if !m.Active {
			return directory.Errorf(directory.EINVALID, "member %s is inactive; reactivate them first", m.UserName)
		}
		if w.SSOPolicy == directory.SSORequired && m.Role != directory.RoleOwner {
			return directory.Errorf(directory.EINVALID, "workspace %s requires SSO, so only owners may use a password; switch the policy with: rollcall sso policy --workspace %s optional", w.ID, w.ID)
		}
		link, err := pages.ResetLink(cliContext(ctx), *ws, m.ID)
		if err != nil {
			return err
		}
		if err := dir.Record(cliContext(ctx), *ws, "member.password_reset_link_issued", "member", m.ID, map[string]string{"user_name": m.UserName}); err != nil {
			return err
		}
		if c.json {
			return e.printJSON(map[string]any{"member_id": m.ID, "user_name": m.UserName, "link": link, "expires_in_seconds": int(web.ResetTTL.Seconds())})
		}
		fmt.Fprintf(e.stdout, "Password link for %s (works once, for an hour):\n\n  %s\n", m.UserName, link)
		return nil
	})
}
