-- Apps created through the admin API. `spec_json` is the app's whole definition (its config as serialized, so keys
-- added later flow through, plus its source and assets); `bundle_json` holds uploaded module files, if any.
-- App names are unique across tenants: the runtime and the admin API name an app alone.
CREATE TABLE apps (
    host TEXT NOT NULL REFERENCES tenants(host) ON DELETE CASCADE,
    name TEXT NOT NULL UNIQUE,
    hostnames_json TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    bundle_json TEXT NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (host, name)
);
