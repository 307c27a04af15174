-- Tenants: the root of every scope. `host` is the tenant id, as in every other table.
CREATE TABLE tenants (
    host TEXT NOT NULL PRIMARY KEY,
    created_ms BIGINT NOT NULL
);
