//! Queue delivery: the worker that takes due jobs from the queue store and POSTs them through the webhook sender,
//! signed, with retries (exponential backoff with jitter), bounded concurrency per queue, and at-least-once results.
//!
//! The store and the sender are ports; this module is where they meet. `start` wraps the store so that enqueues and
//! retries wake the worker at once; a timer covers retries that come due and a slow sweep covers everything else.
//!
//! A queue whose target is `app://<name>` is consumed by that hosted app instead: the jobs claimed together (up to
//! the queue's concurrency) go to its `queue` handler as one batch through an `AppConsumer`; acknowledged jobs are
//! removed, retried ones (and every unacknowledged one when the handler throws or breaks a limit) follow the
//! queue's retry rules like a failed POST.
//!
//! The worker wakes on enqueues and retries (through the wrapped store), on finished deliveries, when the earliest
//! retry comes due, and on a sweep every `SWEEP_EVERY` (1 s) of the tenants with pending jobs. At start, and again
//! every `RESCAN_EVERY` (2 s), it asks the store which tenants have due jobs nobody holds (`QueueScan`, one query
//! across tenants), so jobs left by an earlier process, enqueued through another node, or left by a node that died
//! or froze (once the store voids its claims) are delivered. Per queue it claims due jobs for its free slots and as
//! many again (nodes skip each other's claims): each job with a slot is delivered in its own task, and the others wait
//! in the worker, claimed, for the next slot to free, so a busy queue goes to the store once per `concurrency`
//! deliveries. A delivered job frees its slot at once and is then removed (it stays claimed until it is); a failed
//! one is retried after exponential backoff with jitter, or set to `ERROR` after `maxAttempts`.
//!
//! The wrapped store refuses (422) a queue whose target the outbound policy refuses; a delivery to a target refused
//! since then fails. The `app://` consumer (`hosting/events.rs`) checks that the app belongs to the queue's tenant.
//!
//! Invariants: the worker never awaits a delivery itself, so a slow target only occupies its own queue's slots. A job
//! leaves the store only after a 2xx or an acknowledgement.

use crate::core::clock::now_ms;
use crate::core::outbound::Outbound;
use crate::core::{DomainName, TenantScope};
use crate::ports::{
    Claimed, Failure, Job, JobCounts, JobStatus, MessageOutcome, PendingQueue, QueueBatch,
    QueueConfig, QueueError, QueueMessage, QueueOutcome, QueueScan, QueueStore, WebhookRequest,
    WebhookSender,
};
use async_trait::async_trait;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The longest wait between two attempts of one job.
const MAX_BACKOFF_MS: u64 = 60 * 60 * 1000;
/// The longest `retry({ delaySeconds })` an app may ask for (Workers' limit, 12 hours); longer asks are capped.
const MAX_RETRY_DELAY_S: u64 = 12 * 60 * 60;
/// How often every tenant with pending jobs is looked at even when nothing woke the worker.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// How often the store is asked which tenants have due jobs: jobs this node was not told of (enqueued through
/// another node, or left by a node that died) are found within this time of being due and free.
const RESCAN_EVERY: Duration = Duration::from_secs(2);

type QueueKey = (TenantScope, DomainName);

enum Event {
    /// Jobs may be due now in this queue (enqueued, retried).
    Work(QueueKey),
    /// A delivery of this queue finished: delivered, or failed and due again at the given time (ms), if ever.
    Done(QueueKey, Option<i64>),
}

/// Runs batches in hosted apps: the consumer of `app://<name>` queues.
#[async_trait]
pub trait AppConsumer: Send + Sync + 'static {
    /// Runs app `app`'s `queue` handler on `batch`, for the queue's tenant `scope`; an app of another tenant (or
    /// none) is an error naming the app.
    async fn consume(
        &self,
        scope: &TenantScope,
        app: &str,
        batch: QueueBatch,
    ) -> Result<QueueOutcome, String>;
}

/// Where the consumer is set once the hosted apps exist (they are built after the queue store).
pub type AppConsumerSlot = Arc<std::sync::OnceLock<Arc<dyn AppConsumer>>>;

/// Starts the delivery worker on the current tokio runtime and returns the store the services should use: `store`
/// itself, wrapped so that enqueues and retries wake the worker. `scan` names the tenants with due jobs at start and
/// every `RESCAN_EVERY`, so jobs left `READY` by an earlier process or another node are delivered.
pub fn start(
    store: Arc<dyn QueueStore>,
    sender: Arc<dyn WebhookSender>,
    scan: Arc<dyn QueueScan>,
    apps: AppConsumerSlot,
    outbound: Outbound,
) -> Arc<dyn QueueStore> {
    let (tx, rx) = mpsc::unbounded_channel();
    let outbound = Arc::new(outbound);
    let worker = Worker {
        store: store.clone(),
        sender,
        outbound: outbound.clone(),
        apps,
        tx: tx.clone(),
        active: HashSet::new(),
        dirty: HashSet::new(),
        drained: HashSet::new(),
        inflight: HashMap::new(),
        ready: HashMap::new(),
        concurrency: HashMap::new(),
        retry_due: None,
    };
    tokio::spawn(worker.run(scan, rx));
    Arc::new(Waking {
        inner: store,
        tx,
        outbound,
    })
}

/// Why the outbound policy refuses a queue's `target` for the scope's tenant, if it does (`app://` targets are
/// never fetched).
fn refused_target(outbound: &Outbound, scope: &TenantScope, target: &str) -> Option<String> {
    if crate::ports::queue::app_target(target).is_some() {
        return None;
    }
    let url = url::Url::parse(target).ok()?;
    outbound.policy(scope.as_str(), None).refuses_url(&url)
}

/// `X-HYPER-SIGNATURE` for a job: `t=<t>,sig=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature(secret: &str, t_ms: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(t_ms.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t_ms},sig={}", hex::encode(mac.finalize().into_bytes()))
}

/// The wait before attempt `failed + 1`, after `failed` failed attempts: `base * 2^(failed-1)`, capped, with
/// "equal jitter" (a random point in the upper half), so that retries of many jobs spread out.
pub fn backoff_ms(base_ms: u64, failed: u32) -> u64 {
    let exp = base_ms
        .saturating_mul(1u64 << failed.saturating_sub(1).min(30))
        .min(MAX_BACKOFF_MS);
    let half = exp / 2;
    half + rand::thread_rng().gen_range(0..=exp - half)
}

struct Worker {
    store: Arc<dyn QueueStore>,
    sender: Arc<dyn WebhookSender>,
    outbound: Arc<Outbound>,
    apps: AppConsumerSlot,
    tx: mpsc::UnboundedSender<Event>,
    /// Tenants that may have pending jobs: swept on every timer.
    active: HashSet<TenantScope>,
    /// Queues that may have due jobs: claimed from before the worker sleeps.
    dirty: HashSet<QueueKey>,
    /// Queues whose last claim found nothing more due, and that nothing woke since: a delivery finishing there
    /// does not make them dirty (nothing new can be due but through an event, a retry's timer or the sweep).
    drained: HashSet<QueueKey>,
    inflight: HashMap<QueueKey, u32>,
    /// Jobs claimed and waiting for a free slot of their queue, in claim order.
    ready: HashMap<QueueKey, VecDeque<Claimed>>,
    /// Each queue's `concurrency`, as last seen.
    concurrency: HashMap<QueueKey, u32>,
    /// The earliest retry scheduled since the last sweep (ms).
    retry_due: Option<i64>,
}

impl Worker {
    /// Makes every tenant with due jobs that no live claim holds active (the next sweep claims them).
    async fn rescan(&mut self, scan: &dyn QueueScan) {
        match scan.due_tenants(now_ms()).await {
            Ok(tenants) => {
                for t in tenants {
                    self.active.insert(TenantScope::resolved(t));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "queue delivery: cannot find tenants with due jobs")
            }
        }
    }

    async fn run(mut self, scan: Arc<dyn QueueScan>, mut rx: mpsc::UnboundedReceiver<Event>) {
        self.rescan(scan.as_ref()).await;
        let mut rescan_at = Instant::now() + RESCAN_EVERY;
        let mut wake_at = Instant::now();
        loop {
            tokio::select! {
                event = rx.recv() => match event {
                    Some(event) => self.on(event),
                    None => return,
                },
                () = tokio::time::sleep_until(wake_at) => {
                    if Instant::now() >= rescan_at {
                        self.rescan(scan.as_ref()).await;
                        rescan_at = Instant::now() + RESCAN_EVERY;
                    }
                    self.retry_due = None;
                    let next_due = self.sweep().await;
                    let sweep = Instant::now() + SWEEP_EVERY;
                    wake_at = next_due.map_or(sweep, |due| due.min(sweep));
                }
            }
            while let Ok(event) = rx.try_recv() {
                self.on(event);
            }
            self.claim_dirty().await;
            if let Some(due) = self.retry_due.take() {
                let wait = Duration::from_millis((due - now_ms()).max(0) as u64);
                wake_at = wake_at.min(Instant::now() + wait);
            }
        }
    }

    fn on(&mut self, event: Event) {
        match event {
            Event::Work(key) => {
                self.active.insert(key.0.clone());
                self.drained.remove(&key);
                self.dirty.insert(key);
            }
            Event::Done(key, retry_at) => {
                if let Some(at) = retry_at {
                    self.retry_due = Some(self.retry_due.map_or(at, |d| d.min(at)));
                }
                if let Some(n) = self.inflight.get_mut(&key) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        self.inflight.remove(&key);
                    }
                }
                if !self.drained.contains(&key) || self.ready.contains_key(&key) {
                    self.dirty.insert(key);
                }
            }
        }
    }

    /// Looks at every active tenant: due queues become dirty, idle tenants are dropped. Returns when the earliest
    /// job that is not due yet will be.
    async fn sweep(&mut self) -> Option<Instant> {
        let now = now_ms();
        let mut earliest: Option<i64> = None;
        for scope in self.active.clone() {
            let pending: Vec<PendingQueue> = match self.store.pending_queues(&scope).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(tenant = scope.as_str(), error = %e, "queue delivery: cannot list pending queues");
                    continue;
                }
            };
            let busy = self.inflight.keys().any(|(s, _)| s == &scope);
            if pending.is_empty() && !busy {
                self.active.remove(&scope);
                self.drained.retain(|(s, _)| s != &scope);
                continue;
            }
            for p in pending {
                let key = (scope.clone(), p.name);
                self.concurrency.insert(key.clone(), p.concurrency);
                if p.next_due_ms <= now {
                    self.drained.remove(&key);
                    self.dirty.insert(key);
                } else {
                    earliest = Some(earliest.map_or(p.next_due_ms, |e| e.min(p.next_due_ms)));
                }
            }
        }
        self.claim_dirty().await;
        earliest.map(|due| Instant::now() + Duration::from_millis((due - now).max(0) as u64))
    }

    /// Starts what each dirty queue has room for: claimed jobs waiting for a slot first, then new claims. A claim
    /// takes the free slots' jobs and as many again to wait for a slot (`ready`), so a queue kept busy claims once
    /// per `concurrency` deliveries instead of once per delivery.
    async fn claim_dirty(&mut self) {
        let now = now_ms();
        for key in std::mem::take(&mut self.dirty) {
            loop {
                self.start_ready(&key);
                let cap = self.cap(&key);
                let running = self.inflight.get(&key).copied().unwrap_or(0);
                if running >= cap || self.drained.contains(&key) {
                    break; // a Done event, or an event that may bring due jobs, makes the queue dirty again
                }
                let wanted = 2 * cap - running;
                let claimed = match self.store.claim(&key.0, &key.1, now, wanted).await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(tenant = key.0.as_str(), queue = %key.1, error = %e, "queue delivery: claim failed");
                        break;
                    }
                };
                let got = claimed.len() as u32;
                if let Some(job) = claimed.first() {
                    self.concurrency
                        .insert(key.clone(), job.config.concurrency.max(1));
                }
                self.ready.entry(key.clone()).or_default().extend(claimed);
                if got < wanted {
                    self.drained.insert(key.clone()); // nothing more is due: the next turn starts these and stops
                } else {
                    self.drained.remove(&key);
                }
            }
        }
    }

    /// The queue's `concurrency`, as last seen.
    fn cap(&self, key: &QueueKey) -> u32 {
        self.concurrency.get(key).copied().unwrap_or(1).max(1)
    }

    /// Starts the queue's claimed jobs that have a free slot: each job for a URL in a task of its own, the jobs for
    /// an `app://` consumer together in one batch.
    fn start_ready(&mut self, key: &QueueKey) {
        let free = self
            .cap(key)
            .saturating_sub(self.inflight.get(key).copied().unwrap_or(0));
        let Some(ready) = self.ready.get_mut(key) else {
            return;
        };
        let jobs: Vec<Claimed> = ready.drain(..ready.len().min(free as usize)).collect();
        if ready.is_empty() {
            self.ready.remove(key);
        }
        if jobs.is_empty() {
            return;
        }
        *self.inflight.entry(key.clone()).or_insert(0) += jobs.len() as u32;
        let (batch, posts): (Vec<Claimed>, Vec<Claimed>) = jobs
            .into_iter()
            .partition(|job| crate::ports::queue::app_target(&job.config.target).is_some());
        for job in posts {
            tokio::spawn(deliver(
                self.store.clone(),
                self.sender.clone(),
                self.outbound.clone(),
                key.clone(),
                job,
                self.tx.clone(),
            ));
        }
        if !batch.is_empty() {
            tokio::spawn(deliver_batch(
                self.store.clone(),
                self.apps.clone(),
                key.clone(),
                batch,
                self.tx.clone(),
            ));
        }
    }
}

/// One delivery attempt, then its outcome recorded: delivered (removed), or failed (retry later or ERROR).
async fn deliver(
    store: Arc<dyn QueueStore>,
    sender: Arc<dyn WebhookSender>,
    outbound: Arc<Outbound>,
    key: QueueKey,
    claimed: Claimed,
    tx: mpsc::UnboundedSender<Event>,
) {
    let scope = &key.0;
    let Claimed { job, config } = claimed;
    let mut headers = Vec::new();
    if let Some(secret) = config.secret.as_deref().filter(|s| !s.is_empty()) {
        headers.push((
            "X-HYPER-SIGNATURE".to_string(),
            signature(secret, job.enqueued_ms, &job.body),
        ));
    }
    let request = WebhookRequest {
        url: config.target.clone(),
        headers,
        body: job.body.clone(),
    };
    let refused = refused_target(&outbound, scope, &config.target);
    let outcome = match refused {
        // The rules changed since the queue was made: the job fails as a refused connection would.
        Some(why) => Some((None, why)),
        None => match sender.post(scope, &request).await {
            Ok(res) if (200..300).contains(&res.status) => None,
            Ok(res) => Some((
                Some(res.status),
                if res.body_excerpt.is_empty() {
                    format!("target answered {}", res.status)
                } else {
                    format!("target answered {}: {}", res.status, res.body_excerpt)
                },
            )),
            Err(e) => Some((None, e.to_string())),
        },
    };
    if outcome.is_none() {
        // Delivered: the slot is free at once. The job stays claimed until its removal commits.
        let _ = tx.send(Event::Done(key.clone(), None));
        record(&store, &key, &job, &config, None, None).await;
        return;
    }
    let retry_due = record(&store, &key, &job, &config, outcome, None).await;
    let _ = tx.send(Event::Done(key, retry_due));
}

/// Records one attempt's outcome: `None` delivered (removed), else failed with status and error: retried after
/// `delay_ms` (or the queue's backoff), or moved to `ERROR` after the last attempt. Returns when the retry is due.
async fn record(
    store: &Arc<dyn QueueStore>,
    key: &QueueKey,
    job: &Job,
    config: &QueueConfig,
    outcome: Option<(Option<u16>, String)>,
    delay_ms: Option<u64>,
) -> Option<i64> {
    let (scope, name) = (&key.0, &key.1);
    let mut retry_due = None;
    let recorded = match outcome {
        None => store.delivered(scope, name, job.id).await,
        Some((status, error)) => {
            let failed = job.attempts + 1;
            let retry_at_ms = (failed < config.max_attempts).then(|| {
                now_ms() + delay_ms.unwrap_or_else(|| backoff_ms(config.backoff_ms, failed)) as i64
            });
            retry_due = retry_at_ms;
            tracing::info!(
                tenant = scope.as_str(), queue = %name, job = job.id, attempt = failed,
                gave_up = retry_at_ms.is_none(), error = %error, "queue delivery failed"
            );
            store
                .failed(
                    scope,
                    name,
                    job.id,
                    &Failure {
                        status,
                        error,
                        retry_at_ms,
                    },
                )
                .await
        }
    };
    if let Err(e) = recorded {
        tracing::warn!(tenant = scope.as_str(), queue = %name, job = job.id, error = %e, "queue delivery: cannot record the outcome");
    }
    retry_due
}

/// Jobs of an `app://<name>` queue handed to that app's `queue` handler as one batch, then each job's outcome
/// recorded: acknowledged (removed), or retried (after the delay the app asked for, or the queue's backoff).
async fn deliver_batch(
    store: Arc<dyn QueueStore>,
    apps: AppConsumerSlot,
    key: QueueKey,
    jobs: Vec<Claimed>,
    tx: mpsc::UnboundedSender<Event>,
) {
    let app = crate::ports::queue::app_target(&jobs[0].config.target)
        .unwrap_or_default()
        .to_string();
    let batch = QueueBatch {
        queue: key.1.to_string(),
        messages: jobs
            .iter()
            .map(|c| QueueMessage {
                id: c.job.id.to_string(),
                timestamp_ms: c.job.enqueued_ms,
                body: serde_json::from_slice(&c.job.body)
                    .map(crate::services::queue::message_body)
                    .unwrap_or_else(|_| {
                        serde_json::Value::String(String::from_utf8_lossy(&c.job.body).into_owned())
                    }),
                attempts: c.job.attempts + 1,
            })
            .collect(),
    };
    let result = match apps.get() {
        Some(consumer) => consumer.consume(&key.0, &app, batch).await,
        None => Err(format!("app {app} is not hosted")),
    };
    for (i, Claimed { job, config }) in jobs.iter().enumerate() {
        let (outcome, delay_ms) = match &result {
            Ok(QueueOutcome { messages, error }) => match messages.get(i) {
                Some(MessageOutcome::Ack) => (None, None),
                Some(MessageOutcome::Retry { delay_seconds }) => (
                    Some((
                        None,
                        error
                            .clone()
                            .unwrap_or_else(|| format!("app {app} retried the message")),
                    )),
                    delay_seconds.map(|s| s.min(MAX_RETRY_DELAY_S) * 1000),
                ),
                None => (Some((None, format!("app {app} reported no outcome"))), None),
            },
            Err(e) => (Some((None, e.clone())), None),
        };
        let retry_due = record(&store, &key, job, config, outcome, delay_ms).await;
        let _ = tx.send(Event::Done(key.clone(), retry_due));
    }
}

/// The store as the services see it: every call goes to the real store; enqueues and retries also wake the worker.
struct Waking {
    inner: Arc<dyn QueueStore>,
    tx: mpsc::UnboundedSender<Event>,
    /// Queues whose target the outbound policy refuses are not created.
    outbound: Arc<Outbound>,
}

impl Waking {
    fn wake(&self, scope: &TenantScope, name: &DomainName) {
        let _ = self.tx.send(Event::Work((scope.clone(), name.clone())));
    }
}

#[async_trait]
impl QueueStore for Waking {
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), QueueError> {
        self.inner.purge_tenant(scope).await
    }

    async fn usage(&self, scope: &TenantScope) -> Result<u64, QueueError> {
        self.inner.usage(scope).await
    }

    async fn queue_config(
        &self,
        scope: &TenantScope,
        name: &DomainName,
    ) -> Result<QueueConfig, QueueError> {
        self.inner.queue_config(scope, name).await
    }

    async fn list_queues(&self, scope: &TenantScope) -> Result<Vec<String>, QueueError> {
        self.inner.list_queues(scope).await
    }

    async fn create_queue(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        config: &QueueConfig,
    ) -> Result<(), QueueError> {
        if let Some(why) = refused_target(&self.outbound, scope, &config.target) {
            return Err(QueueError::Invalid(format!("target: {why}")));
        }
        self.inner.create_queue(scope, name, config).await
    }

    async fn delete_queue(&self, scope: &TenantScope, name: &DomainName) -> Result<(), QueueError> {
        self.inner.delete_queue(scope, name).await
    }

    async fn enqueue(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        body: Bytes,
        now_ms: i64,
    ) -> Result<i64, QueueError> {
        let id = self.inner.enqueue(scope, name, body, now_ms).await?;
        self.wake(scope, name);
        Ok(id)
    }

    async fn restore_job(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        job: &Job,
    ) -> Result<i64, QueueError> {
        let id = self.inner.restore_job(scope, name, job).await?;
        self.wake(scope, name);
        Ok(id)
    }

    async fn list_jobs(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        status: JobStatus,
    ) -> Result<Vec<Job>, QueueError> {
        self.inner.list_jobs(scope, name, status).await
    }

    async fn get_job(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<Job, QueueError> {
        self.inner.get_job(scope, name, id).await
    }

    async fn job_counts(
        &self,
        scope: &TenantScope,
        name: &DomainName,
    ) -> Result<JobCounts, QueueError> {
        self.inner.job_counts(scope, name).await
    }

    async fn cancel(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError> {
        self.inner.cancel(scope, name, id).await
    }

    async fn retry(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError> {
        self.inner.retry(scope, name, id).await?;
        self.wake(scope, name);
        Ok(())
    }

    async fn pending_queues(&self, scope: &TenantScope) -> Result<Vec<PendingQueue>, QueueError> {
        self.inner.pending_queues(scope).await
    }

    async fn claim(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<Claimed>, QueueError> {
        self.inner.claim(scope, name, now_ms, limit).await
    }

    async fn delivered(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError> {
        self.inner.delivered(scope, name, id).await
    }

    async fn failed(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
        failure: &Failure,
    ) -> Result<(), QueueError> {
        self.inner.failed(scope, name, id, failure).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_of_t_dot_body() {
        // echo -n '1700000000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        let sig = signature("secret", 1_700_000_000_000, br#"{"a":1}"#);
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(br#"1700000000000.{"a":1}"#);
        let want = hex::encode(mac.finalize().into_bytes());
        assert_eq!(sig, format!("t=1700000000000,sig={want}"));
        assert_eq!(want.len(), 64);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        for failed in 1..=5u32 {
            let full = 100u64 << (failed - 1);
            for _ in 0..50 {
                let b = backoff_ms(100, failed);
                assert!(b >= full / 2 && b <= full, "{failed}: {b}");
            }
        }
        assert!(backoff_ms(1_000, 200) <= MAX_BACKOFF_MS);
    }
}
