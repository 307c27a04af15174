//! The run-claims port: the cron loop of every node claims a trigger's run before firing it, so one node of the
//! cluster runs it, and takes over a claim whose node never started the run.

use crate::ports::BackendError;
use async_trait::async_trait;

/// One run of a cron trigger: the app's tenant and name, the cron expression as written, and the run's scheduled
/// time (ms since the Unix epoch, on the cron's minute grid).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScheduledRun {
    pub tenant: String,
    pub app: String,
    pub cron: String,
    pub scheduled_ms: i64,
}

/// What `RunClaims::claim` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This call claimed the run: the caller `start`s it, then runs it.
    Won,
    /// Another claim holds the run and has not started it: it may be taken over from `retry_at_ms` (ms since the
    /// Unix epoch, on the claiming node's clock), if still not started then.
    Held { retry_at_ms: i64 },
    /// The run was started (by any node): it never runs again.
    Started,
}

/// Claims of cron runs, shared by every node that fires the same apps' triggers; each adapter instance is one node.
/// The first claim of a run wins, for the whole cluster. A claim is started (`start`) just before the run fires;
/// one that is not started within the takeover time after it was made (its node stopped in between) is won by the
/// next node that claims the run, and the first claimant's `start` then fails. So each run starts at most once, and
/// a run whose node stopped before starting it still starts. A run whose node stops while it runs is not run again.
/// Claims are kept for a day after their scheduled time, then forgotten (the claiming nodes delete them).
#[async_trait]
pub trait RunClaims: Send + Sync {
    /// Claims `run` for this node, `node` being its name (for operators).
    async fn claim(&self, run: &ScheduledRun, node: &str) -> Result<Claim, BackendError>;
    /// Marks `run` started, if this node's claim still holds it: `Ok(true)`, the caller fires it; `Ok(false)`,
    /// another node took the claim over and the caller must not fire it.
    async fn start(&self, run: &ScheduledRun) -> Result<bool, BackendError>;
}
