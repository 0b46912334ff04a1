-- At most one SP key per state (current, next, previous) per workspace.
-- Two replicas making a workspace's first key at the same moment could
-- each store a "current" one; the server used the newest, so the older
-- duplicates are dropped before the rule is enforced.
DELETE FROM saml_sp_keys WHERE EXISTS (
    SELECT 1 FROM saml_sp_keys n
    WHERE n.workspace_id = saml_sp_keys.workspace_id AND n.status = saml_sp_keys.status
      AND (n.created > saml_sp_keys.created OR (n.created = saml_sp_keys.created AND n.id > saml_sp_keys.id)));
CREATE UNIQUE INDEX saml_sp_keys_state ON saml_sp_keys (workspace_id, status);
