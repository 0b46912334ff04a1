package saml

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"rollcall/internal/directory"
)

// RefreshDue fetches the metadata of every connection whose refresh is
// due, one at a time, until none is. Each replica may call it: a claim in
// the database makes sure one connection is fetched by one replica. New
// signing certificates in the metadata are trusted at once, so an IdP key
// rotation needs no human; a failed fetch keeps the certificates it had and
// records the error for the admin.
func (s *Server) RefreshDue(ctx context.Context) error {
	for range 100 {
		now := s.now().UTC()
		c, err := s.store.ClaimMetadataRefresh(ctx, now, now.Add(15*time.Minute))
		if errors.Is(err, directory.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		s.refresh(ctx, c)
	}
	return nil
}

// Refresh fetches one workspace's metadata URL now (sso refresh).
func (s *Server) Refresh(ctx context.Context, ws string) (*Connection, error) {
	c, err := s.store.Connection(ctx, ws)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, directory.Errorf(directory.ENOTFOUND, "workspace %s has no SSO configuration", ws)
	} else if err != nil {
		return nil, err
	}
	if c.MetadataURL == "" {
		return nil, directory.Errorf(directory.EINVALID, "workspace %s was configured without a metadata URL; there is nothing to refresh", ws)
	}
	if err := s.refresh(ctx, c); err != nil {
		return nil, directory.Wrap(directory.EINVALID, err, err.Error())
	}
	return c, nil
}

func (s *Server) refresh(ctx context.Context, c *Connection) error {
	ctx = directory.WithActor(ctx, directory.Actor{Kind: "system", Label: "metadata refresh"})
	now := s.now().UTC()
	before := slices.Clone(c.IdPCerts)
	body, err := s.fetcher.Fetch(ctx, c.MetadataURL)
	if err == nil {
		next := *c
		if err = applyMetadata(&next, body, c.MetadataURL); err == nil {
			*c = next
		}
	}
	c.MetadataFetched = now
	if err != nil {
		c.MetadataError = err.Error()
		c.MetadataNext = now.Add(15 * time.Minute)
		s.cfg.Log.Warn("idp metadata refresh failed", "workspace", c.WorkspaceID, "url", c.MetadataURL, "err", err)
		s.audit(ctx, c.WorkspaceID, "sso.metadata_refresh_failed", map[string]any{"url": c.MetadataURL, "error": err.Error()})
	} else {
		c.MetadataError = ""
		c.MetadataNext = now.Add(s.cfg.RefreshEvery)
		if !slices.Equal(before, c.IdPCerts) {
			s.cfg.Log.Info("idp certificates changed", "workspace", c.WorkspaceID, "certificates", certSummaries(c.IdPCerts))
			s.audit(ctx, c.WorkspaceID, "sso.idp_certificates_changed", map[string]any{
				"from": certSummaries(before), "to": certSummaries(c.IdPCerts), "source": c.MetadataURL})
		}
	}
	if uerr := s.store.UpdateMetadata(ctx, c.WorkspaceID, c); uerr != nil {
		return uerr
	}
	return err
}

// warnDays are the expiry warnings given for an IdP certificate, as Entra
// sends its own notifications.
var warnDays = []int{60, 30, 7, 0}

// CheckCertificates warns, in the log and the audit log, once per
// threshold, about IdP signing certificates that expire within 60, 30 and 7
// days, and about expired ones.
func (s *Server) CheckCertificates(ctx context.Context) error {
	ctx = directory.WithActor(ctx, directory.Actor{Kind: "system", Label: "certificate check"})
	conns, err := s.store.Connections(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	for _, c := range conns {
		certs, err := parseCerts(c.IdPCerts)
		if err != nil {
			continue
		}
		warned := map[string]int{}
		changed := false
		var entries []*directory.AuditEntry
		var msgs []string // for the log, beside each entry
		for _, cert := range certs {
			fp := Fingerprint(cert)
			left := cert.NotAfter.Sub(now)
			days := int(left.Hours() / 24)
			threshold := -1
			for _, d := range warnDays {
				if left <= time.Duration(d)*24*time.Hour {
					threshold = d
				}
			}
			prev, had := c.CertWarnings[fp]
			if had {
				warned[fp] = prev
			}
			if threshold < 0 || (had && prev <= threshold) {
				continue
			}
			warned[fp] = threshold
			changed = true
			action, msg := "sso.certificate_expiring", fmt.Sprintf("expires in %d days, on %s", days, cert.NotAfter.Format("2006-01-02"))
			if threshold == 0 {
				action, msg = "sso.certificate_expired", "expired on "+cert.NotAfter.Format("2006-01-02")
			}
			msgs = append(msgs, msg)
			entries = append(entries, s.auditEntry(ctx, c.WorkspaceID, action, "", map[string]any{"fingerprint": fp, "subject": cert.Subject.String(),
				"not_after": cert.NotAfter, "days_left": days, "threshold_days": threshold,
				"advice": "add the IdP's new signing certificate (or use a metadata URL, which picks it up automatically)"}))
		}
		if changed || len(warned) != len(c.CertWarnings) {
			// Every replica runs this check; the record is compared and
			// set with the audit entries, so a warning is given once.
			recorded, err := s.store.RecordCertWarnings(ctx, c.WorkspaceID, c.CertWarnings, warned, entries)
			if err != nil {
				return err
			}
			if recorded {
				for i, e := range entries {
					s.cfg.Log.Warn("idp signing certificate "+msgs[i], "workspace", e.WorkspaceID, "detail", string(e.Detail))
				}
			}
		}
	}
	return nil
}
