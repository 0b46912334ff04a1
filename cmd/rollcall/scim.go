package main

import (
	"context"
	"fmt"
	"strings"

	"rollcall/internal/api"
	"rollcall/internal/credential"
	"rollcall/internal/directory"
)

// cmdCredentialCreate issues a SCIM token or OAuth client and prints its
// secret once.
func cmdCredentialCreate(kind credential.Kind) func(context.Context, *env, []string) error {
	name := map[credential.Kind]string{credential.KindSCIMToken: "scim-token create", credential.KindSCIMClient: "scim-client create"}[kind]
	return func(ctx context.Context, e *env, args []string) error {
		var c common
		fs := e.flags(name, &c, true)
		ws := fs.String("workspace", "", "workspace ID")
		label := fs.String("label", "", "what it is for, e.g. the IdP (shown in the provisioning log)")
		if err := e.parse(fs, &c, args); err != nil {
			return err
		}
		if err := requireWorkspace(name, *ws); err != nil {
			return err
		}
		return e.withDir(ctx, &c, func(dir *directory.Service, creds *credential.Service) error {
			if _, err := dir.Workspace(ctx, *ws); err != nil {
				return err
			}
			cr, secret, err := creds.Create(cliContext(ctx), *ws, kind, *label)
			if err != nil {
				return err
			}
			v := api.CredentialView(cr, secret, c.baseURL)
			if c.json {
				return e.printJSON(v)
			}
			if kind == credential.KindSCIMToken {
				fmt.Fprintf(e.stdout, "created SCIM token %s for workspace %s\n\n  SCIM base URL:  %s\n  token:          %s\n\nThis is the only time the token is shown; paste it into the IdP now.\n",
					cr.ID, *ws, v.SCIMBaseURL, secret)
				return nil
			}
			fmt.Fprintf(e.stdout, "created OAuth client for workspace %s\n\n  SCIM base URL:  %s\n  token URL:      %s\n  client ID:      %s\n  client secret:  %s\n\nThis is the only time the secret is shown; paste it into the IdP now.\n",
				*ws, v.SCIMBaseURL, v.TokenURL, v.ClientID, secret)
			return nil
		})
	}
}

func cmdCredentialList(kind credential.Kind) func(context.Context, *env, []string) error {
	name := strings.ReplaceAll(string(kind), "_", "-") + " list"
	return func(ctx context.Context, e *env, args []string) error {
		var c common
		fs := e.flags(name, &c, true)
		ws := fs.String("workspace", "", "workspace ID")
		if err := e.parse(fs, &c, args); err != nil {
			return err
		}
		if err := requireWorkspace(name, *ws); err != nil {
			return err
		}
		return e.withDir(ctx, &c, func(_ *directory.Service, creds *credential.Service) error {
			list, err := creds.List(ctx, *ws, kind)
			if err != nil {
				return err
			}
			views := make([]api.CredentialJSON, len(list))
			for i, cr := range list {
				views[i] = api.CredentialView(cr, "", c.baseURL)
			}
			if c.json {
				return e.printJSON(map[string]any{"credentials": views})
			}
			for _, v := range views {
				state := "live"
				if v.Revoked != nil {
					state = "revoked " + v.Revoked.Format("2006-01-02")
				}
				used := "never used"
				if v.LastUsed != nil {
					used = "last used " + v.LastUsed.Format("2006-01-02 15:04")
				}
				id := v.ID
				if v.ClientID != "" {
					id = v.ClientID
				}
				fmt.Fprintf(e.stdout, "%s  %-24s  created %s  %s  %s\n", id, v.Label, v.Created.Format("2006-01-02"), used, state)
			}
			return nil
		})
	}
}

func cmdCredentialRevoke(kind credential.Kind) func(context.Context, *env, []string) error {
	name := strings.ReplaceAll(string(kind), "_", "-") + " revoke"
	return func(ctx context.Context, e *env, args []string) error {
		var c common
		fs := e.flags(name, &c, false)
		ws := fs.String("workspace", "", "workspace ID")
		id := fs.String("id", "", "the ID (or client ID) to revoke")
		if err := e.parse(fs, &c, args); err != nil {
			return err
		}
		if err := requireWorkspace(name, *ws); err != nil {
			return err
		}
		if *id == "" {
			return usagef("%s: --id is required", name)
		}
		return e.withDir(ctx, &c, func(_ *directory.Service, creds *credential.Service) error {
			if err := creds.Revoke(cliContext(ctx), *ws, kind, *id); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "revoked %s %s\n", kind.Label(), *id)
			return nil
		})
	}
}

// findGroup finds a group by ID or by display name.
func findGroup(ctx context.Context, dir *directory.Service, ws, g string) (*directory.Group, error) {
	if grp, err := dir.Group(ctx, ws, g); err == nil {
		return grp, nil
	} else if directory.ErrorCode(err) != directory.ENOTFOUND {
		return nil, err
	}
	page, err := dir.Store().Groups(ctx, ws, directory.GroupQuery{Limit: 2,
		Where: directory.Compare{Field: directory.FieldGroupDisplayName, Op: directory.OpEq, Value: g}})
	if err != nil {
		return nil, err
	}
	if len(page.Items) == 0 {
		return nil, directory.Errorf(directory.ENOTFOUND, "no group %q in workspace %s (rollcall group list shows them)", g, ws)
	}
	return page.Items[0], nil
}

func cmdGroupRole(clear bool) func(context.Context, *env, []string) error {
	name := "group-role set"
	if clear {
		name = "group-role clear"
	}
	return func(ctx context.Context, e *env, args []string) error {
		var c common
		fs := e.flags(name, &c, true)
		ws := fs.String("workspace", "", "workspace ID")
		group := fs.String("group", "", "group ID or display name")
		role := fs.String("role", "", "admin, member, guest, or a custom role name or ID")
		if err := e.parse(fs, &c, args); err != nil {
			return err
		}
		if err := requireWorkspace(name, *ws); err != nil {
			return err
		}
		if *group == "" {
			return usagef("%s: --group is required", name)
		}
		if !clear && *role == "" {
			return usagef("%s: --role is required", name)
		}
		return e.withDir(ctx, &c, func(dir *directory.Service, _ *credential.Service) error {
			ctx := cliContext(ctx)
			g, err := findGroup(ctx, dir, *ws, *group)
			if err != nil {
				return err
			}
			var ref directory.RoleRef
			if !clear {
				if ref, err = dir.ResolveRole(ctx, *ws, *role); err != nil {
					return err
				}
			}
			if g, err = dir.SetGroupRole(ctx, *ws, g.ID, ref); err != nil {
				return err
			}
			v := api.GroupView(g)
			if c.json {
				return e.printJSON(v)
			}
			if clear {
				fmt.Fprintf(e.stdout, "group %q (%s) no longer grants a role\n", g.DisplayName, g.ID)
			} else {
				fmt.Fprintf(e.stdout, "members of group %q (%s) now get role %s unless given one explicitly\n", g.DisplayName, g.ID, *role)
			}
			return nil
		})
	}
}

func cmdGroupList(ctx context.Context, e *env, args []string) error {
	var c common
	fs := e.flags("group list", &c, true)
	ws := fs.String("workspace", "", "workspace ID")
	if err := e.parse(fs, &c, args); err != nil {
		return err
	}
	if err := requireWorkspace("group list", *ws); err != nil {
		return err
	}
	return e.withDir(ctx, &c, func(dir *directory.Service, _ *credential.Service) error {
		if _, err := dir.Workspace(ctx, *ws); err != nil {
			return err
		}
		var views []api.GroupJSON
		for off := 0; ; off += 1000 {
			page, err := dir.Store().Groups(ctx, *ws, directory.GroupQuery{OrderByName: true, Limit: 1000, Offset: off})
			if err != nil {
				return err
			}
			for _, g := range page.Items {
				views = append(views, api.GroupView(g))
			}
			if len(page.Items) < 1000 {
				break
			}
		}
		if c.json {
			if views == nil {
				views = []api.GroupJSON{}
			}
			return e.printJSON(map[string]any{"groups": views})
		}
		for _, v := range views {
			role := "-"
			if v.CustomRoleID != "" {
				role = v.CustomRoleID
			} else if v.Role != "" {
				role = v.Role
			}
			fmt.Fprintf(e.stdout, "%s  %-30s  %6d members  role %s\n", v.ID, v.DisplayName, v.Members, role)
		}
		return nil
	})
}
