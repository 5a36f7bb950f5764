-- Berth schema v1. Portable SQL: the same file runs on SQLite and PostgreSQL
-- (see ARCHITECTURE.md, "One schema for two databases"). Ids are TEXT UUIDs,
-- times are BIGINT Unix milliseconds, booleans are BIGINT 0/1, JSON is TEXT.
-- Append-only: never edit a migration that has shipped; add a new one.

CREATE TABLE packages (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    owner_id TEXT NULL,
    limits TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX packages_owner_name ON packages ((COALESCE(owner_id, '')), name);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('superadmin', 'admin', 'reseller', 'client')),
    tenant_id TEXT NULL,
    allocation_package_id TEXT NULL REFERENCES packages (id),
    password_hash TEXT NOT NULL,
    totp_secret TEXT NULL,
    totp_pending_secret TEXT NULL,
    totp_enabled BIGINT NOT NULL DEFAULT 0,
    totp_last_step BIGINT NULL,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_login_at BIGINT NULL
);
CREATE INDEX users_tenant ON users (tenant_id);

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users (id),
    package_id TEXT NULL REFERENCES packages (id),
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    suspended_reason TEXT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX tenants_owner ON tenants (owner_id);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    ip TEXT NULL,
    user_agent TEXT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    access TEXT NOT NULL CHECK (access IN ('read', 'full')),
    expires_at BIGINT NULL,
    ip_allowlist TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NULL
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE recovery_codes (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT NULL
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT NULL
);

-- Failed-login counters per account and per IP; survive restarts.
CREATE TABLE login_throttle (
    throttle_key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);

CREATE TABLE settings (
    setting_key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NULL
);

-- One row: the head of the audit hash chain. Updating it first in every
-- audit transaction serialises writers on PostgreSQL (row lock) and SQLite.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_id TEXT NULL,
    actor_role TEXT NULL,
    tenant_id TEXT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NULL,
    request_id TEXT NULL,
    ip TEXT NULL,
    summary TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_tenant ON audit_log (tenant_id, seq);
CREATE INDEX audit_actor ON audit_log (actor_id, seq);
CREATE INDEX audit_at ON audit_log (at);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    priority BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'dead', 'cancelled')),
    attempts BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    run_at BIGINT NOT NULL,
    idempotency_key TEXT NULL UNIQUE,
    tenant_id TEXT NULL,
    created_by TEXT NULL,
    locked_by TEXT NULL,
    locked_until BIGINT NULL,
    last_error TEXT NULL,
    cancel_requested BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    started_at BIGINT NULL,
    finished_at BIGINT NULL
);
CREATE INDEX jobs_ready ON jobs (state, run_at, priority);
CREATE INDEX jobs_tenant ON jobs (tenant_id, created_at);

CREATE TABLE job_steps (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    idx BIGINT NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed')),
    started_at BIGINT NULL,
    finished_at BIGINT NULL,
    artifact TEXT NULL,
    error TEXT NULL,
    PRIMARY KEY (job_id, idx)
);

CREATE TABLE job_logs (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    step BIGINT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);

CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    cron TEXT NOT NULL,
    kind TEXT NOT NULL,
    queue TEXT NOT NULL,
    payload TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    next_run_at BIGINT NULL,
    last_run_at BIGINT NULL,
    created_at BIGINT NOT NULL
);
