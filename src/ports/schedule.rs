//! The run-claims port: the cron loop of every node claims a trigger's run before firing it, so one node of the
//! cluster runs it.

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

/// Claims of cron runs, shared by every node that fires the same apps' triggers. The first claim of a run wins, for
/// the whole cluster; every later one loses, whichever node makes it. Claims are kept for a day after their scheduled
/// time, then forgotten (the claiming nodes delete them).
#[async_trait]
pub trait RunClaims: Send + Sync {
    /// Claims `run` for `node` (its name, for operators). `Ok(true)`: this call won and the caller fires the run;
    /// `Ok(false)`: the run was claimed before (by any node) and must not be fired again.
    async fn claim(&self, run: &ScheduledRun, node: &str) -> Result<bool, BackendError>;
}
