-- DNSSEC per zone (PowerDNS signs; the DS records are kept for the registrar).
ALTER TABLE dns_zones ADD COLUMN dnssec BIGINT NOT NULL DEFAULT 0;
ALTER TABLE dns_zones ADD COLUMN ds TEXT NULL;
