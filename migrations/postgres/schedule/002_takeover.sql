-- Takeover of unstarted claims: `claimer` is the token of the node process that holds the claim, `started_ms` when
-- it started the run (NULL until then). A claim left unstarted past the takeover time goes to the next node that
-- claims the run. Claims made before this migration were fired when made: they count as started.
ALTER TABLE run_claims ADD COLUMN claimer TEXT;
ALTER TABLE run_claims ADD COLUMN started_ms BIGINT;
UPDATE run_claims SET started_ms = claimed_ms;
