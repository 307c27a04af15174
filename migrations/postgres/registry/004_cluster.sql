-- The registry as a cluster's source of truth.
--
-- `app_hostnames` holds each app's hostnames, one row each: its primary key makes a hostname belong to one app of
-- the whole cluster, decided here rather than by any node. Existing apps' hostnames are copied in (a hostname two
-- apps claimed stays with the first).
CREATE TABLE app_hostnames (
    hostname TEXT NOT NULL PRIMARY KEY,
    host TEXT NOT NULL,
    name TEXT NOT NULL,
    FOREIGN KEY (host, name) REFERENCES apps(host, name) ON DELETE CASCADE
);
CREATE INDEX app_hostnames_app ON app_hostnames (host, name);
INSERT INTO app_hostnames (hostname, host, name)
    SELECT h.value, a.host, a.name FROM apps a, json_array_elements_text(a.hostnames_json::json) AS h(value)
    ORDER BY a.host, a.name
    ON CONFLICT DO NOTHING;

-- `registry_version` is one number that every write of a tenant, key or app bumps, in the writer's transaction, so
-- a node that read it knows the rows it saw. The same trigger notifies channel `nano_registry` with the schema's
-- name, which wakes every node listening on this schema at once; the number heals a missed notification.
CREATE TABLE registry_version (
    id INT NOT NULL PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO registry_version (id, version) VALUES (1, 1);

CREATE FUNCTION nano_registry_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE registry_version SET version = version + 1 WHERE id = 1;
    PERFORM pg_notify('nano_registry', current_schema());
    RETURN NULL;
END
$$;

CREATE TRIGGER tenants_changed AFTER INSERT OR UPDATE OR DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION nano_registry_changed();
CREATE TRIGGER keys_changed AFTER INSERT OR UPDATE OR DELETE ON keys
    FOR EACH ROW EXECUTE FUNCTION nano_registry_changed();
CREATE TRIGGER apps_changed AFTER INSERT OR UPDATE OR DELETE ON apps
    FOR EACH ROW EXECUTE FUNCTION nano_registry_changed();
