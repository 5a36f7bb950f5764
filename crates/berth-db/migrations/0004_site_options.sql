-- Site options (www handling, path redirects, error pages, HTTPS switches) as
-- JSON. site_domains.is_primary 2 marks the www partner of the primary name,
-- reserved like any alias so no other site can take it.

ALTER TABLE sites ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
