-- The data service: databases, their documents (JSON text) and their named Mango indexes, all keyed by tenant first.
CREATE TABLE data_databases (
    host TEXT NOT NULL,
    db TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (host, db)
);

CREATE TABLE data_docs (
    host TEXT NOT NULL,
    db TEXT NOT NULL,
    id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (host, db, id),
    FOREIGN KEY (host, db) REFERENCES data_databases (host, db) ON DELETE CASCADE
);

-- A named index of one database. `physical` is the SQLite expression index on
-- data_docs(host, db, json_extract(doc, <field>)...) that serves it; databases with the same fields share it.
CREATE TABLE data_indexes (
    host TEXT NOT NULL,
    db TEXT NOT NULL,
    name TEXT NOT NULL,
    fields TEXT NOT NULL,
    physical TEXT NOT NULL,
    PRIMARY KEY (host, db, name),
    FOREIGN KEY (host, db) REFERENCES data_databases (host, db) ON DELETE CASCADE
);
CREATE INDEX data_indexes_physical ON data_indexes (physical);
