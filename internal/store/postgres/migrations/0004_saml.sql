-- SAML single sign-on: one IdP connection per workspace, the workspace's SP
-- key pairs, SP-initiated requests awaiting their response, the replay
-- cache of accepted assertions, validated sign-ins awaiting completion in
-- the browser, and member passwords (for the SSO-optional policy and the
-- owners' break-glass). Everything replicas must share lives here.

CREATE TABLE saml_connections (
    workspace_id          TEXT PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    idp_entity_id         TEXT NOT NULL DEFAULT '',
    idp_sso_url           TEXT NOT NULL DEFAULT '',
    idp_certs             TEXT NOT NULL DEFAULT '[]',
    metadata_url          TEXT NOT NULL DEFAULT '',
    metadata_xml          TEXT NOT NULL DEFAULT '',
    metadata_fetched      BIGINT NOT NULL DEFAULT 0,
    metadata_next_fetch   BIGINT NOT NULL DEFAULT 0,
    metadata_error        TEXT NOT NULL DEFAULT '',
    allow_idp_initiated   BOOLEAN NOT NULL DEFAULT FALSE,
    allow_sha1            BOOLEAN NOT NULL DEFAULT FALSE,
    jit                   BOOLEAN NOT NULL DEFAULT FALSE,
    clock_skew_ms         BIGINT NOT NULL DEFAULT 180000,
    preset                TEXT NOT NULL DEFAULT '',
    attribute_map         TEXT NOT NULL DEFAULT '{}',
    cert_warnings         TEXT NOT NULL DEFAULT '{}',
    last_login            TEXT NOT NULL DEFAULT '',
    created               BIGINT NOT NULL,
    modified              BIGINT NOT NULL
);
CREATE INDEX saml_connections_fetch ON saml_connections (metadata_next_fetch) WHERE metadata_url <> '';

CREATE TABLE saml_sp_keys (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    status       TEXT NOT NULL, -- current, next, previous
    key_pem      TEXT NOT NULL,
    cert_pem     TEXT NOT NULL,
    created      BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE saml_requests (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    browser_hash BYTEA NOT NULL,
    return_to    TEXT NOT NULL DEFAULT '',
    expires      BIGINT NOT NULL
);
CREATE INDEX saml_requests_expires ON saml_requests (expires);

CREATE TABLE saml_replay (
    workspace_id TEXT NOT NULL,
    assertion_id TEXT NOT NULL,
    expires      BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, assertion_id)
);
CREATE INDEX saml_replay_expires ON saml_replay (expires);

CREATE TABLE saml_logins (
    code_hash    BYTEA PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    browser_hash BYTEA,
    return_to    TEXT NOT NULL DEFAULT '',
    expires      BIGINT NOT NULL
);
CREATE INDEX saml_logins_expires ON saml_logins (expires);

CREATE TABLE member_passwords (
    workspace_id TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    modified     BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, member_id),
    FOREIGN KEY (workspace_id, member_id) REFERENCES members (workspace_id, id) ON DELETE CASCADE
);

CREATE TABLE password_resets (
    token_hash   BYTEA PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    expires      BIGINT NOT NULL
);
CREATE INDEX password_resets_expires ON password_resets (expires);
