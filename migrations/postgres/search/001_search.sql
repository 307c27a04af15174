-- The search service: indexes (their mapping) and documents, keyed by tenant first, under row-level security.
-- `terms` are a document's folded terms (every mapped field); `keys` add each term's one-deletion variants, so a
-- query term with one typo finds its documents through the GIN index (symmetric-delete candidates, checked exactly
-- in nano); `tsv` serves prefix matching (`term:*`).
CREATE TABLE search_indexes (
    host TEXT NOT NULL,
    name TEXT NOT NULL,
    mapping JSONB NOT NULL,
    PRIMARY KEY (host, name)
);

CREATE TABLE search_docs (
    host TEXT NOT NULL,
    idx TEXT NOT NULL,
    id TEXT NOT NULL,
    doc JSONB NOT NULL,
    terms TEXT[] NOT NULL,
    keys TEXT[] NOT NULL,
    tsv TSVECTOR GENERATED ALWAYS AS (array_to_tsvector(terms)) STORED,
    PRIMARY KEY (host, idx, id),
    FOREIGN KEY (host, idx) REFERENCES search_indexes (host, name) ON DELETE CASCADE
);
CREATE INDEX search_docs_tsv ON search_docs USING GIN (tsv);
CREATE INDEX search_docs_keys ON search_docs USING GIN (keys);

ALTER TABLE search_indexes ENABLE ROW LEVEL SECURITY;
ALTER TABLE search_indexes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON search_indexes
    USING (host = current_setting('nano.host', true)) WITH CHECK (host = current_setting('nano.host', true));
ALTER TABLE search_docs ENABLE ROW LEVEL SECURITY;
ALTER TABLE search_docs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON search_docs
    USING (host = current_setting('nano.host', true)) WITH CHECK (host = current_setting('nano.host', true));

DO $$
BEGIN
    GRANT SELECT, INSERT, UPDATE, DELETE ON search_indexes, search_docs TO nano_tenant;
EXCEPTION WHEN undefined_object OR insufficient_privilege THEN NULL;
END $$;
