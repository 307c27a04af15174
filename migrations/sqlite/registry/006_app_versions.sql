-- The versions an admin-created app had before its current one, newest `seq` last: each replacement of an app
-- keeps the row it replaces here, in the same transaction, so an operator can list them and roll back. Only the
-- latest few are kept; deleting the app or its tenant deletes them.
CREATE TABLE app_versions (
    host TEXT NOT NULL,
    name TEXT NOT NULL,
    seq BIGINT NOT NULL,
    hostnames_json TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    bundle_json TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (host, name, seq)
);
