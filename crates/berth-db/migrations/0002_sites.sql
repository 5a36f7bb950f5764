-- Websites. Every domain a site answers to (primary and aliases) has a row
-- in site_domains, whose primary key makes a domain belong to one site only,
-- across all tenants.

CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    domain TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    last_job_id TEXT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX sites_tenant ON sites (tenant_id);

CREATE TABLE site_domains (
    domain TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    is_primary BIGINT NOT NULL
);
CREATE INDEX site_domains_site ON site_domains (site_id);
