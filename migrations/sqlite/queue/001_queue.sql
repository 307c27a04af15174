-- Queues, their jobs, and each tenant's job id sequence. `host` is the tenant id and leads every primary key.
CREATE TABLE queues (
    host TEXT NOT NULL,
    name TEXT NOT NULL,
    target TEXT NOT NULL,
    secret TEXT,
    max_attempts INTEGER NOT NULL,
    backoff_ms INTEGER NOT NULL,
    concurrency INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (host, name)
) WITHOUT ROWID;

-- The last job id handed out per tenant, so ids are never reused, even after jobs are delivered.
CREATE TABLE queue_ids (
    host TEXT NOT NULL PRIMARY KEY,
    last_id INTEGER NOT NULL
) WITHOUT ROWID;

-- `body` is the job's JSON exactly as delivered and signed; `enqueued_ms` is the signature's `t`.
-- `claimed` marks a job being delivered by this process; it is cleared when the database is opened.
CREATE TABLE queue_jobs (
    host TEXT NOT NULL,
    id INTEGER NOT NULL,
    queue TEXT NOT NULL,
    body BLOB NOT NULL,
    status TEXT NOT NULL,
    enqueued_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_ms INTEGER NOT NULL,
    claimed INTEGER NOT NULL DEFAULT 0,
    last_status INTEGER,
    last_error TEXT,
    PRIMARY KEY (host, id)
);

CREATE INDEX queue_jobs_due ON queue_jobs (host, queue, status, next_ms);
