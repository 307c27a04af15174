//! The queue port: per-tenant named queues of JSON jobs, stored durably until a delivery succeeds.

use super::BackendError;
use crate::core::{DomainName, TenantScope};
use crate::core::{ErrorKind, HasKind};
use async_trait::async_trait;
use bytes::Bytes;
use thiserror::Error;

/// How a queue delivers: where to, how to sign, how often to try and how many deliveries may run at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// An absolute `http` or `https` URL the jobs are POSTed to, or `app://<app name>`: a hosted app of the same
    /// tenant whose `queue` handler gets the jobs in batches (see `app_target`).
    pub target: String,
    /// Key of the `X-HYPER-SIGNATURE` HMAC; no signature header without it.
    pub secret: Option<String>,
    /// Delivery attempts before a job moves to `ERROR` (at least 1).
    pub max_attempts: u32,
    /// Delay before the first retry, in milliseconds; it doubles on each further retry (with jitter).
    pub backoff_ms: u64,
    /// Deliveries of this queue that may be in flight at once (at least 1).
    pub concurrency: u32,
}

impl QueueConfig {
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
    pub const DEFAULT_BACKOFF_MS: u64 = 1_000;
    pub const DEFAULT_CONCURRENCY: u32 = 8;

    /// A queue delivering to `target` with the default attempts, backoff and concurrency.
    pub fn new(target: impl Into<String>, secret: Option<String>) -> Self {
        Self {
            target: target.into(),
            secret,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            backoff_ms: Self::DEFAULT_BACKOFF_MS,
            concurrency: Self::DEFAULT_CONCURRENCY,
        }
    }
}

/// The app named by an `app://<app name>` target, if `target` is one.
pub fn app_target(target: &str) -> Option<&str> {
    target.strip_prefix("app://")
}

/// Where a job stands: waiting for (another) delivery, or given up on after its last attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Ready,
    Error,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Ready => "READY",
            JobStatus::Error => "ERROR",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "READY" => Some(JobStatus::Ready),
            "ERROR" => Some(JobStatus::Error),
            _ => None,
        }
    }
}

/// One job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Positive, unique per tenant, never reused.
    pub id: i64,
    pub queue: String,
    /// The job's JSON object, exactly the bytes that are delivered and signed.
    pub body: Bytes,
    pub status: JobStatus,
    /// When the job was enqueued (ms since the Unix epoch): the `t` of its signature.
    pub enqueued_ms: i64,
    /// Failed delivery attempts so far.
    pub attempts: u32,
    /// When the next attempt is due (ms since the Unix epoch), for `READY` jobs.
    pub next_attempt_ms: i64,
    /// HTTP status of the last failed attempt, when the target answered.
    pub last_status: Option<u16>,
    /// What went wrong on the last failed attempt.
    pub last_error: Option<String>,
}

/// A queue of the tenant that has `READY` jobs nobody is delivering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingQueue {
    pub name: DomainName,
    /// The earliest `next_attempt_ms` among those jobs.
    pub next_due_ms: i64,
    /// The queue's `concurrency` setting.
    pub concurrency: u32,
}

/// A job taken for delivery, with the settings of its queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub job: Job,
    pub config: QueueConfig,
}

/// How many jobs of a queue are in each status, counted at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub ready: u64,
    pub error: u64,
}

/// Why a delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: Option<u16>,
    pub error: String,
    /// When to try again; `None` moves the job to `ERROR`.
    pub retry_at_ms: Option<i64>,
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum QueueError {
    #[error("queue already exists")]
    QueueExists,
    #[error("queue not found")]
    QueueNotFound,
    #[error("job not found")]
    JobNotFound,
    /// A write refused because it would take the tenant over one of its quotas; the message names the tenant, the
    /// quota and its limit.
    #[error("{0}")]
    Quota(String),
    /// A queue definition nano refuses (a target the outbound policy refuses); the message names why (422).
    #[error("{0}")]
    Invalid(String),
    #[error("queue backend failed: {0}")]
    Backend(#[source] BackendError),
}

impl HasKind for QueueError {
    fn kind(&self) -> ErrorKind {
        match self {
            QueueError::QueueExists => ErrorKind::Conflict,
            QueueError::QueueNotFound | QueueError::JobNotFound => ErrorKind::NotFound,
            QueueError::Quota(_) => ErrorKind::Quota,
            QueueError::Invalid(_) => ErrorKind::Invalid,
            QueueError::Backend(e) => e.kind(),
        }
    }
}

/// Contract (every method is scoped to `scope`'s tenant; two tenants never see each other's queues or jobs):
/// - `create_queue` fails with `QueueExists` when the tenant has the queue; `delete_queue` fails with
///   `QueueNotFound` when it has not, and deletes the queue's jobs. `list_queues` is ordered by name.
/// - Job operations on a queue the tenant does not have fail with `QueueNotFound`; on a job id the queue does not
///   hold, with `JobNotFound`.
/// - `enqueue` stores `body` (a JSON object's bytes, kept verbatim) as `READY`, due now, stamped with `now_ms`,
///   durably before returning, and returns a new id.
/// - Delivery is at least once: a job leaves the store only through `delivered`, `cancel` or `delete_queue`.
///   `claim` hands out due `READY` jobs of one queue (oldest first) and hides them from further claims until
///   `delivered` or `failed` is called for them. Claims do not outlive the process: after a restart every `READY`
///   job can be claimed again. Where several nodes share the store, a node's claims also end when it stops (its
///   connection closes) or stops renewing them for the store's takeover time (a frozen or cut-off node): the other
///   nodes then claim those jobs again.
/// - `failed` counts the attempt, keeps the status and error, and either schedules the job at `retry_at_ms` or
///   moves it to `ERROR`. `retry` makes a job `READY` and due now with its attempts reset.
/// - `delivered` and `failed` on a job that was cancelled meanwhile do nothing.
#[async_trait]
pub trait QueueStore: Send + Sync + 'static {
    /// Removes everything the scope's tenant owns in this service (tenant deletion); other tenants are untouched.
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), QueueError>;
    /// How many jobs (`READY` and `ERROR`) the scope's tenant has, over all its queues (the `queue_jobs` quota).
    async fn usage(&self, scope: &TenantScope) -> Result<u64, QueueError>;

    async fn list_queues(&self, scope: &TenantScope) -> Result<Vec<String>, QueueError>;
    async fn create_queue(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        config: &QueueConfig,
    ) -> Result<(), QueueError>;
    async fn delete_queue(&self, scope: &TenantScope, name: &DomainName) -> Result<(), QueueError>;
    /// The queue's delivery settings (tenant export).
    async fn queue_config(
        &self,
        scope: &TenantScope,
        name: &DomainName,
    ) -> Result<QueueConfig, QueueError>;
    async fn enqueue(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        body: Bytes,
        now_ms: i64,
    ) -> Result<i64, QueueError>;
    /// Stores `job` (its body, status, stamps, attempts and last failure; not its id or queue name) in the queue
    /// under a new id, durably before returning (tenant import).
    async fn restore_job(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        job: &Job,
    ) -> Result<i64, QueueError>;
    async fn list_jobs(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        status: JobStatus,
    ) -> Result<Vec<Job>, QueueError>;
    async fn get_job(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<Job, QueueError>;
    /// The queue's `READY` and `ERROR` jobs counted in one read, so that a job moving between the two while they
    /// are counted is counted once.
    async fn job_counts(
        &self,
        scope: &TenantScope,
        name: &DomainName,
    ) -> Result<JobCounts, QueueError>;
    async fn cancel(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError>;
    async fn retry(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError>;

    /// Queues of the tenant with unclaimed `READY` jobs.
    async fn pending_queues(&self, scope: &TenantScope) -> Result<Vec<PendingQueue>, QueueError>;
    /// Claims up to `limit` `READY` jobs of `name` due at `now_ms`.
    async fn claim(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<Claimed>, QueueError>;
    async fn delivered(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError>;
    async fn failed(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
        failure: &Failure,
    ) -> Result<(), QueueError>;
}
