package credential_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"rollcall/internal/credential"
	"rollcall/internal/directory"
	"rollcall/internal/store"
	"rollcall/internal/testenv/dbtest"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setup(t *testing.T, engine string) (*credential.Service, *store.DB, *clock, string, string) {
	db := dbtest.Open(t, engine)
	svc := directory.NewService(db)
	ctx := context.Background()
	a, err := svc.CreateWorkspace(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.CreateWorkspace(ctx, "B")
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	return credential.NewService(db, c.now), db, c, a.ID, b.ID
}

func TestTokens(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			creds, db, clk, a, b := setup(t, engine)
			ctx := context.Background()
			c, tok, err := creds.Create(ctx, a, credential.KindSCIMToken, "Okta")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(tok, "rcst_"+c.ID+"_") || len(tok) < 50 {
				t.Fatalf("token %q lacks its recognisable prefix and ID", tok)
			}
			// Only the hash is stored.
			_, hash, err := db.Credential(ctx, c.ID)
			if err != nil || strings.Contains(string(hash), tok[len(tok)-20:]) || len(hash) != 32 {
				t.Fatalf("stored hash %x, err %v", hash, err)
			}
			got, err := creds.Authenticate(ctx, a, tok, credential.KindSCIMToken)
			if err != nil || got.ID != c.ID || got.LastUsed.IsZero() {
				t.Fatalf("authenticate: %+v %v", got, err)
			}
			// Change the last character to one it is not, so the wrong secret
			// is always wrong (replacing it with a fixed letter is a no-op one
			// time in 64).
			last := "a"
			if strings.HasSuffix(tok, "a") {
				last = "b"
			}
			bad := []struct{ name, ws, tok string }{
				{"other workspace", b, tok},
				{"wrong secret", a, tok[:len(tok)-1] + last},
				{"truncated", a, tok[:20]},
				{"api key prefix", a, "rcak_" + strings.TrimPrefix(tok, "rcst_")},
				{"empty", a, ""},
				{"unknown id", a, "rcst_zzzzzzzzzzzzzzzz_" + strings.Repeat("a", 40)},
				{"huge", a, "rcst_" + strings.Repeat("a", 5000) + "_b"},
			}
			for _, tc := range bad {
				if _, err := creds.Authenticate(ctx, tc.ws, tc.tok, credential.KindSCIMToken); !errors.Is(err, credential.ErrUnauthorized) {
					t.Errorf("%s: err = %v, want ErrUnauthorized", tc.name, err)
				}
			}
			// Several live tokens: rotate without downtime, then revoke the old one.
			clk.t = clk.t.Add(time.Minute)
			_, tok2, err := creds.Create(ctx, a, credential.KindSCIMToken, "Okta (new)")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := creds.Authenticate(ctx, a, tok2, credential.KindSCIMToken); err != nil {
				t.Fatal(err)
			}
			if _, err := creds.Authenticate(ctx, a, tok, credential.KindSCIMToken); err != nil {
				t.Fatal("old token stopped working before revocation")
			}
			if err := creds.Revoke(ctx, b, credential.KindSCIMToken, c.ID); directory.ErrorCode(err) != directory.ENOTFOUND {
				t.Fatalf("revoke from other workspace: %v", err)
			}
			if err := creds.Revoke(ctx, a, credential.KindAPIKey, c.ID); directory.ErrorCode(err) != directory.ENOTFOUND {
				t.Fatalf("revoke as another kind of credential: %v", err)
			}
			if _, err := creds.Authenticate(ctx, a, tok, credential.KindSCIMToken); err != nil {
				t.Fatal("revoking as another kind revoked the token")
			}
			if err := creds.Revoke(ctx, a, credential.KindSCIMToken, c.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := creds.Authenticate(ctx, a, tok, credential.KindSCIMToken); !errors.Is(err, credential.ErrUnauthorized) {
				t.Fatal("revoked token still authenticates")
			}
			list, err := creds.List(ctx, a, credential.KindSCIMToken)
			if err != nil || len(list) != 2 || list[1].ID != c.ID || list[1].Revoked.IsZero() || !list[0].Revoked.IsZero() {
				t.Fatalf("list = %+v %v", list, err)
			}
			entries, _ := db.Audit(ctx, a, directory.AuditQuery{Limit: 10})
			if entries[0].Action != "scim_token.revoked" {
				t.Fatalf("audit = %+v", entries[0])
			}
		})
	}
}

func TestClientCredentials(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			creds, _, clk, a, _ := setup(t, engine)
			ctx := context.Background()
			client, secret, err := creds.Create(ctx, a, credential.KindSCIMClient, "JumpCloud")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(client.ClientID(), "rcci_") || !strings.HasPrefix(secret, "rccs_") {
				t.Fatalf("client id %q secret %q", client.ClientID(), secret)
			}
			if _, _, err := creds.IssueAccessToken(ctx, client.ClientID(), secret+"x"); !errors.Is(err, credential.ErrUnauthorized) {
				t.Fatalf("wrong secret: %v", err)
			}
			tok, at, err := creds.IssueAccessToken(ctx, client.ClientID(), secret)
			if err != nil {
				t.Fatal(err)
			}
			if at.WorkspaceID != a || !strings.HasPrefix(tok, "rcat_") {
				t.Fatalf("access token %q %+v", tok, at)
			}
			// The client secret itself is not a bearer token for SCIM.
			if _, err := creds.Authenticate(ctx, a, secret, credential.KindSCIMToken, credential.KindAccessToken); err == nil {
				t.Fatal("client secret accepted as bearer token")
			}
			if _, err := creds.Authenticate(ctx, a, tok, credential.KindSCIMToken, credential.KindAccessToken); err != nil {
				t.Fatal(err)
			}
			clk.t = clk.t.Add(credential.AccessTokenTTL)
			if _, err := creds.Authenticate(ctx, a, tok, credential.KindAccessToken); !errors.Is(err, credential.ErrUnauthorized) {
				t.Fatal("expired access token accepted")
			}
			tok2, _, err := creds.IssueAccessToken(ctx, client.ClientID(), secret)
			if err != nil {
				t.Fatal(err)
			}
			if err := creds.Revoke(ctx, a, credential.KindSCIMClient, client.ClientID()); err != nil {
				t.Fatal(err)
			}
			if _, err := creds.Authenticate(ctx, a, tok2, credential.KindAccessToken); !errors.Is(err, credential.ErrUnauthorized) {
				t.Fatal("access token outlived its revoked client")
			}
			if _, _, err := creds.IssueAccessToken(ctx, client.ClientID(), secret); !errors.Is(err, credential.ErrUnauthorized) {
				t.Fatal("revoked client still gets tokens")
			}
		})
	}
}

func TestNewSecret(t *testing.T) {
	a, b := credential.NewSecret(32), credential.NewSecret(32)
	if len(a) != 43 || a == b || strings.ContainsAny(a, "+/=") {
		t.Fatalf("NewSecret(32) = %q, %q: want two different 43-character URL-safe strings", a, b)
	}
	if h := credential.Hash(a); len(h) != 32 || string(h) == string(credential.Hash(b)) {
		t.Fatalf("Hash: %x", h)
	}
}
