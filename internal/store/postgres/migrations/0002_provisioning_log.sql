-- provisioning_log records every SCIM request: who sent it, what it asked,
-- what it changed and how it ended. Bounded by age and count per workspace
-- (see store.DB.TrimProvisioningLog).
CREATE TABLE provisioning_log (
    id               BIGSERIAL PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    time             BIGINT NOT NULL,
    request_id       TEXT NOT NULL DEFAULT '',
    credential_id    TEXT NOT NULL DEFAULT '',
    credential_label TEXT NOT NULL DEFAULT '',
    user_agent       TEXT NOT NULL DEFAULT '',
    method           TEXT NOT NULL,
    path             TEXT NOT NULL,
    status           INTEGER NOT NULL,
    scim_type        TEXT NOT NULL DEFAULT '',
    resource_type    TEXT NOT NULL DEFAULT '',
    resource_id      TEXT NOT NULL DEFAULT '',
    member_id        TEXT NOT NULL DEFAULT '',
    summary          TEXT NOT NULL DEFAULT '',
    duration_us      BIGINT NOT NULL
);
CREATE INDEX provisioning_log_workspace ON provisioning_log (workspace_id, id);
CREATE INDEX provisioning_log_time ON provisioning_log (time);
