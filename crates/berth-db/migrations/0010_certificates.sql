-- Sites' TLS certificates: one per site. The key stays on the site's node;
-- the panel keeps the chain and what it says.
CREATE TABLE certificates (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    site_id TEXT NOT NULL UNIQUE REFERENCES sites (id) ON DELETE CASCADE,
    names TEXT NOT NULL,
    source TEXT NOT NULL,
    challenge TEXT NULL,
    key_type TEXT NOT NULL,
    status TEXT NOT NULL,
    issuer TEXT NULL,
    serial TEXT NULL,
    not_before BIGINT NULL,
    not_after BIGINT NULL,
    chain_pem TEXT NULL,
    last_attempt_at BIGINT NULL,
    last_error TEXT NULL,
    failures BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NULL,
    alerted_at BIGINT NULL,
    last_job_id TEXT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX certificates_tenant ON certificates (tenant_id);
CREATE INDEX certificates_due ON certificates (next_attempt_at);

-- The ACME account of this install at each ACME server (its key included:
-- whoever reads the panel's database can order certificates).
CREATE TABLE acme_accounts (
    directory_url TEXT PRIMARY KEY,
    credentials TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
