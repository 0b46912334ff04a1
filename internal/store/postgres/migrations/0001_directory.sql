-- The workspace directory: workspaces, custom roles, members, groups, the
-- audit trail, and credentials (API keys, SCIM tokens, OAuth clients).
-- Times are microseconds since the Unix epoch (BIGINT) in both engines, so
-- queries and comparisons are written once. Case-insensitive uniqueness is
-- enforced by unique indexes on lower-cased columns computed by the
-- application (full Unicode lower-casing, identical on both engines).

CREATE TABLE workspaces (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    sso_policy TEXT NOT NULL DEFAULT 'optional',
    created    BIGINT NOT NULL
);

CREATE TABLE custom_roles (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    name_lower   TEXT NOT NULL,
    base_role    TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    created      BIGINT NOT NULL,
    modified     BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX custom_roles_name ON custom_roles (workspace_id, name_lower);

CREATE TABLE members (
    workspace_id            TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id                      TEXT NOT NULL,
    scim_id                 TEXT COLLATE "C",
    user_name               TEXT NOT NULL,
    user_name_lower         TEXT COLLATE "C" NOT NULL,
    external_id             TEXT COLLATE "C" NOT NULL DEFAULT '',
    given_name              TEXT NOT NULL DEFAULT '',
    family_name             TEXT NOT NULL DEFAULT '',
    display_name            TEXT NOT NULL DEFAULT '',
    display_name_lower      TEXT COLLATE "C" NOT NULL DEFAULT '',
    emails                  TEXT NOT NULL DEFAULT '[]',
    active                  BOOLEAN NOT NULL,
    status_changed          BIGINT NOT NULL,
    role                    TEXT NOT NULL,
    custom_role_id          TEXT,
    assigned_role           TEXT NOT NULL DEFAULT '',
    assigned_custom_role_id TEXT,
    source                  TEXT NOT NULL,
    attributes              TEXT NOT NULL DEFAULT '{}',
    created                 BIGINT NOT NULL,
    modified                BIGINT NOT NULL,
    version                 BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, custom_role_id) REFERENCES custom_roles (workspace_id, id),
    FOREIGN KEY (workspace_id, assigned_custom_role_id) REFERENCES custom_roles (workspace_id, id)
);
CREATE UNIQUE INDEX members_user_name ON members (workspace_id, user_name_lower);
CREATE UNIQUE INDEX members_scim_id ON members (workspace_id, scim_id);
CREATE INDEX members_external_id ON members (workspace_id, external_id);
CREATE INDEX members_created ON members (workspace_id, created);
CREATE INDEX members_modified ON members (workspace_id, modified);
CREATE INDEX members_owners ON members (workspace_id, role, active);

-- member_emails indexes the emails held in members.emails, for filters.
CREATE TABLE member_emails (
    workspace_id TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    position     INTEGER NOT NULL,
    value_lower  TEXT COLLATE "C" NOT NULL,
    type_lower   TEXT COLLATE "C" NOT NULL,
    is_primary   BOOLEAN NOT NULL,
    PRIMARY KEY (workspace_id, member_id, position),
    FOREIGN KEY (workspace_id, member_id) REFERENCES members (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX member_emails_value ON member_emails (workspace_id, value_lower);

CREATE TABLE groups (
    workspace_id       TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id                 TEXT COLLATE "C" NOT NULL,
    display_name       TEXT NOT NULL,
    display_name_lower TEXT COLLATE "C" NOT NULL,
    external_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    attributes         TEXT NOT NULL DEFAULT '{}',
    role               TEXT NOT NULL DEFAULT '',
    custom_role_id     TEXT,
    member_count       BIGINT NOT NULL DEFAULT 0,
    created            BIGINT NOT NULL,
    modified           BIGINT NOT NULL,
    version            BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, custom_role_id) REFERENCES custom_roles (workspace_id, id)
);
CREATE UNIQUE INDEX groups_display_name ON groups (workspace_id, display_name_lower);
CREATE INDEX groups_external_id ON groups (workspace_id, external_id);

CREATE TABLE group_members (
    workspace_id TEXT NOT NULL,
    group_id     TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    PRIMARY KEY (workspace_id, group_id, member_id),
    FOREIGN KEY (workspace_id, group_id) REFERENCES groups (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, member_id) REFERENCES members (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX group_members_member ON group_members (workspace_id, member_id);

CREATE TABLE audit_log (
    id           BIGSERIAL PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    time         BIGINT NOT NULL,
    actor_kind   TEXT NOT NULL,
    actor_id     TEXT NOT NULL DEFAULT '',
    actor_label  TEXT NOT NULL DEFAULT '',
    request_id   TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL,
    target_type  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    detail       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_workspace ON audit_log (workspace_id, id);
CREATE INDEX audit_log_target ON audit_log (workspace_id, target_id, id);

-- credentials holds API keys, SCIM tokens, OAuth clients and the access
-- tokens issued to them. Only a SHA-256 hash of each secret is kept.
CREATE TABLE credentials (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    label        TEXT NOT NULL DEFAULT '',
    secret_hash  BYTEA NOT NULL,
    parent_id    TEXT NOT NULL DEFAULT '',
    created      BIGINT NOT NULL,
    last_used    BIGINT NOT NULL DEFAULT 0,
    expires      BIGINT NOT NULL DEFAULT 0,
    revoked      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX credentials_workspace ON credentials (workspace_id, kind, created);
CREATE INDEX credentials_parent ON credentials (parent_id) WHERE parent_id <> '';

-- sessions are browser sign-ins, shared by every replica. The cookie holds
-- the id and a secret; only the secret's hash is stored.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    secret_hash  BYTEA NOT NULL,
    auth_method  TEXT NOT NULL,
    created      BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL,
    expires      BIGINT NOT NULL,
    FOREIGN KEY (workspace_id, member_id) REFERENCES members (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_member ON sessions (workspace_id, member_id);
CREATE INDEX sessions_expires ON sessions (expires);
