-- Claims of cron runs: one row per (tenant, app, cron, scheduled time) a node fired, so no other node fires it too.
-- `node` is the claiming node's name and `claimed_ms` when it claimed; rows are deleted a day after their run.
CREATE TABLE run_claims (
    host TEXT NOT NULL,
    app TEXT NOT NULL,
    cron TEXT NOT NULL,
    scheduled_ms BIGINT NOT NULL,
    node TEXT NOT NULL,
    claimed_ms BIGINT NOT NULL,
    PRIMARY KEY (host, app, cron, scheduled_ms)
);

CREATE INDEX run_claims_by_time ON run_claims (scheduled_ms);
