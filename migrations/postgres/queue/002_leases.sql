-- Nodes' leases: each node renews its row while it runs; a claim (`queue_jobs.claimed_by`) counts only while its
-- node holds its advisory lock and its lease is younger than the takeover time, so a frozen node's jobs go to the
-- others too. Not tenant data: no `host`, no row-level security.
CREATE TABLE queue_nodes (
    node INTEGER PRIMARY KEY,
    alive_ms BIGINT NOT NULL
);

-- The one read across tenants (`QueueScan::due_tenants`): which tenants have due jobs. `due_scan` shows every row
-- only to a transaction that set `nano.scan` to `due`, which nano does for that one query alone.
CREATE INDEX queue_jobs_ready ON queue_jobs (next_ms) WHERE status = 'READY';
CREATE POLICY due_scan ON queue_jobs FOR SELECT USING (current_setting('nano.scan', true) = 'due');

DO $$
BEGIN
    GRANT SELECT ON queue_nodes TO nano_tenant;
EXCEPTION WHEN undefined_object OR insufficient_privilege THEN NULL;
END $$;
