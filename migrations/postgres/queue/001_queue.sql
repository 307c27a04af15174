-- Queues, their jobs, and each tenant's job id sequence, shared by every nano node. `host` leads every key and
-- row-level security confines every row to the transaction's `nano.host`.
CREATE TABLE queues (
    host TEXT NOT NULL,
    name TEXT NOT NULL,
    target TEXT NOT NULL,
    secret TEXT,
    max_attempts INTEGER NOT NULL,
    backoff_ms BIGINT NOT NULL,
    concurrency INTEGER NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (host, name)
);

CREATE TABLE queue_ids (
    host TEXT NOT NULL PRIMARY KEY,
    last_id BIGINT NOT NULL
);

-- `claimed_by` is the node key of the nano process delivering the job; the claim counts only while that process
-- holds its advisory lock (it ends with the process's connection), so claims never outlive a node.
CREATE TABLE queue_jobs (
    host TEXT NOT NULL,
    id BIGINT NOT NULL,
    queue TEXT NOT NULL,
    body BYTEA NOT NULL,
    status TEXT NOT NULL,
    enqueued_ms BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_ms BIGINT NOT NULL,
    claimed_by INTEGER,
    last_status INTEGER,
    last_error TEXT,
    PRIMARY KEY (host, id)
);

CREATE INDEX queue_jobs_due ON queue_jobs (host, queue, status, next_ms);

ALTER TABLE queues ENABLE ROW LEVEL SECURITY;
ALTER TABLE queues FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON queues
    USING (host = current_setting('nano.host', true)) WITH CHECK (host = current_setting('nano.host', true));
ALTER TABLE queue_ids ENABLE ROW LEVEL SECURITY;
ALTER TABLE queue_ids FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON queue_ids
    USING (host = current_setting('nano.host', true)) WITH CHECK (host = current_setting('nano.host', true));
ALTER TABLE queue_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE queue_jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON queue_jobs
    USING (host = current_setting('nano.host', true)) WITH CHECK (host = current_setting('nano.host', true));

DO $$
BEGIN
    GRANT SELECT, INSERT, UPDATE, DELETE ON queues, queue_ids, queue_jobs TO nano_tenant;
EXCEPTION WHEN undefined_object OR insufficient_privilege THEN NULL;
END $$;
