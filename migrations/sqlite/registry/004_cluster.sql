-- The registry as the source of truth for apps (the same tables as on PostgreSQL, where several nodes share them).
--
-- `app_hostnames` holds each app's hostnames, one row each: its primary key makes a hostname belong to one app.
-- Existing apps' hostnames are copied in (a hostname two apps claimed stays with the first).
CREATE TABLE app_hostnames (
    hostname TEXT NOT NULL PRIMARY KEY,
    host TEXT NOT NULL,
    name TEXT NOT NULL,
    FOREIGN KEY (host, name) REFERENCES apps(host, name) ON DELETE CASCADE
);
CREATE INDEX app_hostnames_app ON app_hostnames (host, name);
INSERT OR IGNORE INTO app_hostnames (hostname, host, name)
    SELECT h.value, a.host, a.name FROM apps a, json_each(a.hostnames_json) h ORDER BY a.host, a.name;

-- `registry_version` is one number that every write of a tenant, key or app bumps in the writer's transaction.
CREATE TABLE registry_version (
    id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO registry_version (id, version) VALUES (1, 1);

CREATE TRIGGER tenants_inserted AFTER INSERT ON tenants
    BEGIN UPDATE registry_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tenants_updated AFTER UPDATE ON tenants
    BEGIN UPDATE registry_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tenants_deleted AFTER DELETE ON tenants
    BEGIN UPDATE registry_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER keys_inserted AFTER INSERT ON keys
    BEGIN UPDATE registry_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER keys_updated AFTER UPDATE ON keys
    BEGIN UPDATE registry_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER keys_deleted AFTER DELETE ON keys
    BEGIN UPDATE registry_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER apps_inserted AFTER INSERT ON apps
    BEGIN UPDATE registry_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER apps_updated AFTER UPDATE ON apps
    BEGIN UPDATE registry_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER apps_deleted AFTER DELETE ON apps
    BEGIN UPDATE registry_version SET version = version + 1 WHERE id = 1; END;
