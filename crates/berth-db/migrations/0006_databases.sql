-- Tenants' databases and database users on MariaDB and PostgreSQL servers.
-- node_key is the node's id, or 'local' for the panel's own node, so the
-- name is unique per server (a NULL node would not take part in UNIQUE).

CREATE TABLE databases (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    engine TEXT NOT NULL CHECK (engine IN ('mariadb', 'postgres')),
    name TEXT NOT NULL,
    node_id TEXT NULL,
    node_key TEXT NOT NULL,
    size_bytes BIGINT NULL,
    size_at BIGINT NULL,
    last_job_id TEXT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (node_key, engine, name)
);
CREATE INDEX databases_tenant ON databases (tenant_id);

CREATE TABLE database_users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    engine TEXT NOT NULL CHECK (engine IN ('mariadb', 'postgres')),
    name TEXT NOT NULL,
    node_id TEXT NULL,
    node_key TEXT NOT NULL,
    -- The server's form of the password: MariaDB's native hash or
    -- PostgreSQL's SCRAM verifier. Never the password.
    secret TEXT NOT NULL,
    hosts TEXT NOT NULL,
    locked BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL,
    last_job_id TEXT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (node_key, engine, name)
);
CREATE INDEX database_users_tenant ON database_users (tenant_id);

CREATE TABLE database_grants (
    user_id TEXT NOT NULL REFERENCES database_users (id) ON DELETE CASCADE,
    database_id TEXT NOT NULL REFERENCES databases (id) ON DELETE CASCADE,
    access TEXT NOT NULL CHECK (access IN ('all', 'read_only')),
    PRIMARY KEY (user_id, database_id)
);
CREATE INDEX database_grants_database ON database_grants (database_id);
