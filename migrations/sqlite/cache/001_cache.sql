-- Cache stores and their entries. `host` is the tenant id and leads every primary key.
CREATE TABLE cache_stores (
    host TEXT NOT NULL,
    name TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (host, name)
) WITHOUT ROWID;

-- `value` is the JSON object as text; `expires_ms` is NULL for keys that never expire.
CREATE TABLE cache_entries (
    host TEXT NOT NULL,
    store TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    expires_ms INTEGER,
    PRIMARY KEY (host, store, key)
) WITHOUT ROWID;

-- For the background purge of expired keys.
CREATE INDEX cache_entries_expiry ON cache_entries (expires_ms) WHERE expires_ms IS NOT NULL;
