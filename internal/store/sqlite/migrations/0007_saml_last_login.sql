-- The raw attributes of a workspace's last sign-in move out of the
-- connection row: every sign-in rewrote that row, and with it the IdP's
-- metadata document (tens of kilobytes for Entra ID) on SQLite, where an
-- updated row is written whole.
CREATE TABLE saml_last_logins (
    workspace_id TEXT PRIMARY KEY REFERENCES saml_connections (workspace_id) ON DELETE CASCADE,
    data         TEXT NOT NULL
);
INSERT INTO saml_last_logins (workspace_id, data)
    SELECT workspace_id, last_login FROM saml_connections WHERE last_login <> '';
-- saml_connections.last_login stays, unused, for this release: replicas
-- still running the previous one read it during a rolling upgrade. A later
-- migration drops it.
