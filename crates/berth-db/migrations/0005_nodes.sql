-- Nodes enrolled to the panel over mutual TLS, the install's CA, and where
-- each site lives (NULL: the panel's local node).

CREATE TABLE pki (
    id BIGINT PRIMARY KEY,
    ca_cert_pem TEXT NOT NULL,
    ca_key_pem TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL,
    roles TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'trusted', 'revoked')),
    join_token_hash TEXT NULL,
    join_expires_at BIGINT NULL,
    cert_sha256 TEXT NULL,
    cert_serial TEXT NULL,
    cert_not_after BIGINT NULL,
    next_cert_sha256 TEXT NULL,
    capabilities TEXT NULL,
    metrics TEXT NULL,
    last_seen_at BIGINT NULL,
    last_error TEXT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

ALTER TABLE sites ADD COLUMN node_id TEXT NULL;
CREATE INDEX sites_node ON sites (node_id);
