-- API keys of tenants. The secret is derived from the master key, the id and the salt; it is not stored.
CREATE TABLE keys (
    host TEXT NOT NULL REFERENCES tenants(host) ON DELETE CASCADE,
    id TEXT NOT NULL UNIQUE,
    salt TEXT NOT NULL,
    grant_json TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (host, id)
);
