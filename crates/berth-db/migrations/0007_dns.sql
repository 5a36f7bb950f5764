-- Tenants' DNS zones and their records. A zone's name is unique across the
-- install: one tenant holds a domain's DNS.

CREATE TABLE dns_zones (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL UNIQUE,
    node_id TEXT NULL,
    serial BIGINT NULL,
    last_job_id TEXT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX dns_zones_tenant ON dns_zones (tenant_id);

CREATE TABLE dns_records (
    id TEXT PRIMARY KEY,
    zone_id TEXT NOT NULL REFERENCES dns_zones (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    rtype TEXT NOT NULL,
    ttl BIGINT NOT NULL,
    content TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX dns_records_zone ON dns_records (zone_id, name, rtype);
