-- Records Berth made for a site (its A/AAAA in the tenant's zone); they go
-- with the site.
ALTER TABLE dns_records ADD COLUMN site_id TEXT NULL;
