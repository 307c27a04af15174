-- The data service: databases, their documents (JSONB) and their named Mango indexes, keyed by tenant first.
-- Every table has row-level security forced: a row is visible only while `nano.host` names its tenant.
CREATE TABLE data_databases (
    host TEXT NOT NULL,
    db TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (host, db)
);

CREATE TABLE data_docs (
    host TEXT NOT NULL,
    db TEXT NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    doc JSONB NOT NULL,
    PRIMARY KEY (host, db, id),
    FOREIGN KEY (host, db) REFERENCES data_databases (host, db) ON DELETE CASCADE
);

-- `physical` is the expression index on data_docs (host, db, (doc #> path)...) serving it, shared by field list.
CREATE TABLE data_indexes (
    host TEXT NOT NULL,
    db TEXT NOT NULL,
    name TEXT NOT NULL,
    fields TEXT NOT NULL,
    physical TEXT NOT NULL,
    PRIMARY KEY (host, db, name),
    FOREIGN KEY (host, db) REFERENCES data_databases (host, db) ON DELETE CASCADE
);

ALTER TABLE data_databases ENABLE ROW LEVEL SECURITY;
ALTER TABLE data_databases FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON data_databases
    USING (host = current_setting('nano.host', true)) WITH CHECK (host = current_setting('nano.host', true));
ALTER TABLE data_docs ENABLE ROW LEVEL SECURITY;
ALTER TABLE data_docs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON data_docs
    USING (host = current_setting('nano.host', true)) WITH CHECK (host = current_setting('nano.host', true));
ALTER TABLE data_indexes ENABLE ROW LEVEL SECURITY;
ALTER TABLE data_indexes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON data_indexes
    USING (host = current_setting('nano.host', true)) WITH CHECK (host = current_setting('nano.host', true));

DO $$
BEGIN
    GRANT SELECT, INSERT, UPDATE, DELETE ON data_databases, data_docs, data_indexes TO nano_tenant;
EXCEPTION WHEN undefined_object OR insufficient_privilege THEN NULL;
END $$;
