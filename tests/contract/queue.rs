//! The queue port's contract, run against every queue adapter: queues, jobs, claims, outcomes, tenant isolation.

use crate::support::fresh_name;
use bytes::Bytes;
use nano::adapters::postgres::PgTarget;
use nano::adapters::sql::SqlQueue;
use nano::core::{DomainName, TenantId, TenantScope};
use nano::ports::{Failure, JobCounts, JobStatus, QueueConfig, QueueError, QueueScan, QueueStore};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub mod suite {
    use super::*;

    pub fn scope() -> TenantScope {
        TenantScope::resolved(TenantId::parse(&fresh_name("t")).unwrap())
    }

    pub fn queue() -> DomainName {
        DomainName::parse(&fresh_name("q")).unwrap()
    }

    pub fn config() -> QueueConfig {
        QueueConfig::new("http://127.0.0.1:9/hook", Some("s3cret".into()))
    }

    fn body(n: u32) -> Bytes {
        Bytes::from(format!(r#"{{"n":{n}}}"#))
    }

    async fn with_queue(q: &Arc<dyn QueueStore>) -> (TenantScope, DomainName) {
        let (s, name) = (scope(), queue());
        q.create_queue(&s, &name, &config()).await.unwrap();
        (s, name)
    }

    pub async fn creates_lists_and_deletes_queues(q: &Arc<dyn QueueStore>) {
        let s = scope();
        let (a, b) = (queue(), queue());
        q.create_queue(&s, &b, &config()).await.unwrap();
        q.create_queue(&s, &a, &config()).await.unwrap();
        assert_eq!(
            q.create_queue(&s, &a, &config()).await,
            Err(QueueError::QueueExists)
        );
        let mut want = vec![a.to_string(), b.to_string()];
        want.sort();
        assert_eq!(q.list_queues(&s).await.unwrap(), want);
        q.delete_queue(&s, &a).await.unwrap();
        assert_eq!(q.delete_queue(&s, &a).await, Err(QueueError::QueueNotFound));
        assert_eq!(q.list_queues(&s).await.unwrap(), vec![b.to_string()]);
    }

    pub async fn job_operations_need_the_queue_and_the_job(q: &Arc<dyn QueueStore>) {
        let (s, name) = (scope(), queue());
        assert_eq!(
            q.enqueue(&s, &name, body(1), 1).await,
            Err(QueueError::QueueNotFound)
        );
        assert_eq!(
            q.list_jobs(&s, &name, JobStatus::Ready).await,
            Err(QueueError::QueueNotFound)
        );
        assert_eq!(q.cancel(&s, &name, 1).await, Err(QueueError::QueueNotFound));
        assert_eq!(q.retry(&s, &name, 1).await, Err(QueueError::QueueNotFound));
        assert_eq!(
            q.get_job(&s, &name, 1).await,
            Err(QueueError::QueueNotFound)
        );
        q.create_queue(&s, &name, &config()).await.unwrap();
        assert_eq!(q.cancel(&s, &name, 1).await, Err(QueueError::JobNotFound));
        assert_eq!(q.retry(&s, &name, 1).await, Err(QueueError::JobNotFound));
        assert_eq!(q.get_job(&s, &name, 1).await, Err(QueueError::JobNotFound));
    }

    pub async fn enqueued_jobs_are_ready_with_new_ids(q: &Arc<dyn QueueStore>) {
        let (s, name) = with_queue(q).await;
        let a = q.enqueue(&s, &name, body(1), 1_000).await.unwrap();
        let b = q.enqueue(&s, &name, body(2), 2_000).await.unwrap();
        assert!(a > 0 && b > a, "{a} {b}");
        let jobs = q.list_jobs(&s, &name, JobStatus::Ready).await.unwrap();
        assert_eq!(jobs.iter().map(|j| j.id).collect::<Vec<_>>(), vec![a, b]);
        assert_eq!(jobs[0].body, body(1), "kept verbatim");
        assert_eq!(
            (jobs[0].enqueued_ms, jobs[0].attempts, jobs[0].status),
            (1_000, 0, JobStatus::Ready)
        );
        assert!(q
            .list_jobs(&s, &name, JobStatus::Error)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(q.get_job(&s, &name, b).await.unwrap(), jobs[1]);
        // Ids are not reused after a job leaves.
        q.delivered(&s, &name, b).await.unwrap();
        let c = q.enqueue(&s, &name, body(3), 3_000).await.unwrap();
        assert!(c > b, "{c} {b}");
    }

    pub async fn cancel_removes_the_job(q: &Arc<dyn QueueStore>) {
        let (s, name) = with_queue(q).await;
        let id = q.enqueue(&s, &name, body(1), 1).await.unwrap();
        q.cancel(&s, &name, id).await.unwrap();
        assert_eq!(q.get_job(&s, &name, id).await, Err(QueueError::JobNotFound));
        assert_eq!(q.cancel(&s, &name, id).await, Err(QueueError::JobNotFound));
        assert!(q.claim(&s, &name, i64::MAX, 10).await.unwrap().is_empty());
    }

    pub async fn claims_hide_jobs_until_an_outcome(q: &Arc<dyn QueueStore>) {
        let (s, name) = with_queue(q).await;
        let ids: Vec<i64> = {
            let mut ids = Vec::new();
            for n in 0..3 {
                ids.push(
                    q.enqueue(&s, &name, body(n), 100 + i64::from(n))
                        .await
                        .unwrap(),
                );
            }
            ids
        };
        assert!(
            q.claim(&s, &name, 99, 10).await.unwrap().is_empty(),
            "not due yet"
        );
        let pending = q.pending_queues(&s).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!((&pending[0].name, pending[0].next_due_ms), (&name, 100));
        assert_eq!(pending[0].concurrency, QueueConfig::DEFAULT_CONCURRENCY);
        let first = q.claim(&s, &name, 1_000, 2).await.unwrap();
        assert_eq!(
            first.iter().map(|c| c.job.id).collect::<Vec<_>>(),
            ids[..2].to_vec(),
            "oldest first"
        );
        assert_eq!(first[0].config, config());
        let second = q.claim(&s, &name, 1_000, 10).await.unwrap();
        assert_eq!(
            second.iter().map(|c| c.job.id).collect::<Vec<_>>(),
            vec![ids[2]]
        );
        assert!(
            q.claim(&s, &name, 1_000, 10).await.unwrap().is_empty(),
            "all claimed"
        );
        assert!(q.pending_queues(&s).await.unwrap().is_empty());
        // Claimed jobs are still listed as READY.
        assert_eq!(
            q.list_jobs(&s, &name, JobStatus::Ready)
                .await
                .unwrap()
                .len(),
            3
        );
        q.delivered(&s, &name, ids[0]).await.unwrap();
        assert_eq!(
            q.get_job(&s, &name, ids[0]).await,
            Err(QueueError::JobNotFound)
        );
    }

    /// Writes racing each other (enqueues, claims, removals; grouped into shared commits where the adapter groups
    /// them) are each answered once with their own outcome: distinct ids, every job claimed once, every removal done.
    pub async fn concurrent_writes_each_get_their_own_result(q: &Arc<dyn QueueStore>) {
        let (s, name) = with_queue(q).await;
        let enqueues =
            futures::future::join_all((0..100).map(|n| q.enqueue(&s, &name, body(n), 1)));
        let claims = futures::future::join_all((0..10).map(|_| q.claim(&s, &name, 1_000, 7)));
        let (ids, claimed) = futures::join!(enqueues, claims);
        let ids: Vec<i64> = ids.into_iter().map(Result::unwrap).collect();
        let distinct: std::collections::BTreeSet<i64> = ids.iter().copied().collect();
        assert_eq!(distinct.len(), 100, "every enqueue has an id of its own");
        let mut held: Vec<i64> = claimed
            .into_iter()
            .flat_map(Result::unwrap)
            .map(|c| c.job.id)
            .collect();
        held.extend(
            q.claim(&s, &name, 1_000, 200)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.job.id),
        );
        held.sort_unstable();
        assert_eq!(
            held,
            distinct.iter().copied().collect::<Vec<_>>(),
            "each job claimed once"
        );
        let removals = futures::future::join_all(held.iter().map(|&id| q.delivered(&s, &name, id)));
        let (removed, extra) = futures::join!(removals, q.enqueue(&s, &name, body(100), 1));
        assert!(removed.into_iter().all(|r| r.is_ok()));
        let extra = extra.unwrap();
        let left: Vec<i64> = q
            .list_jobs(&s, &name, JobStatus::Ready)
            .await
            .unwrap()
            .into_iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(
            left,
            vec![extra],
            "only the job enqueued alongside the removals is left"
        );
    }

    pub async fn failures_retry_then_move_to_error(q: &Arc<dyn QueueStore>) {
        let (s, name) = with_queue(q).await;
        let id = q.enqueue(&s, &name, body(1), 10).await.unwrap();
        q.claim(&s, &name, 10, 1).await.unwrap();
        let retry = Failure {
            status: Some(503),
            error: "busy".into(),
            retry_at_ms: Some(5_000),
        };
        q.failed(&s, &name, id, &retry).await.unwrap();
        let job = q.get_job(&s, &name, id).await.unwrap();
        assert_eq!(
            (job.status, job.attempts, job.next_attempt_ms),
            (JobStatus::Ready, 1, 5_000)
        );
        assert_eq!(
            (job.last_status, job.last_error.as_deref()),
            (Some(503), Some("busy"))
        );
        assert!(
            q.claim(&s, &name, 4_999, 1).await.unwrap().is_empty(),
            "backing off"
        );
        let again = q.claim(&s, &name, 5_000, 1).await.unwrap();
        assert_eq!(again[0].job.attempts, 1);
        let give_up = Failure {
            status: None,
            error: "connection refused".into(),
            retry_at_ms: None,
        };
        q.failed(&s, &name, id, &give_up).await.unwrap();
        let job = q.get_job(&s, &name, id).await.unwrap();
        assert_eq!(
            (job.status, job.attempts, job.last_status),
            (JobStatus::Error, 2, None)
        );
        assert_eq!(job.last_error.as_deref(), Some("connection refused"));
        assert_eq!(
            q.list_jobs(&s, &name, JobStatus::Error).await.unwrap(),
            vec![job]
        );
        assert!(
            q.claim(&s, &name, i64::MAX, 1).await.unwrap().is_empty(),
            "ERROR jobs are not claimed"
        );
        q.retry(&s, &name, id).await.unwrap();
        let job = q.get_job(&s, &name, id).await.unwrap();
        assert_eq!((job.status, job.attempts), (JobStatus::Ready, 0));
        assert_eq!(q.claim(&s, &name, i64::MAX, 1).await.unwrap().len(), 1);
    }

    /// `job_counts` counts each status of one queue; claimed jobs are still `READY`.
    pub async fn jobs_are_counted_by_status(q: &Arc<dyn QueueStore>) {
        let (s, name) = with_queue(q).await;
        assert_eq!(
            q.job_counts(&s, &queue()).await,
            Err(QueueError::QueueNotFound)
        );
        assert_eq!(q.job_counts(&s, &name).await.unwrap(), JobCounts::default());
        let mut ids = Vec::new();
        for n in 0..3 {
            ids.push(q.enqueue(&s, &name, body(n), 1).await.unwrap());
        }
        q.claim(&s, &name, 1, 2).await.unwrap();
        let give_up = Failure {
            status: None,
            error: "connection refused".into(),
            retry_at_ms: None,
        };
        q.failed(&s, &name, ids[0], &give_up).await.unwrap();
        assert_eq!(
            q.job_counts(&s, &name).await.unwrap(),
            JobCounts { ready: 2, error: 1 }
        );
        let (other, _) = with_queue(q).await;
        assert_eq!(
            q.job_counts(&other, &name).await,
            Err(QueueError::QueueNotFound),
            "another tenant's queue of the same name is not this one"
        );
    }

    pub async fn outcomes_of_cancelled_jobs_do_nothing(q: &Arc<dyn QueueStore>) {
        let (s, name) = with_queue(q).await;
        let id = q.enqueue(&s, &name, body(1), 1).await.unwrap();
        q.claim(&s, &name, 1, 1).await.unwrap();
        q.cancel(&s, &name, id).await.unwrap();
        let f = Failure {
            status: Some(500),
            error: "x".into(),
            retry_at_ms: Some(2),
        };
        q.failed(&s, &name, id, &f).await.unwrap();
        q.delivered(&s, &name, id).await.unwrap();
        assert_eq!(q.get_job(&s, &name, id).await, Err(QueueError::JobNotFound));
    }

    pub async fn deleting_a_queue_deletes_its_jobs(q: &Arc<dyn QueueStore>) {
        let (s, name) = with_queue(q).await;
        let id = q.enqueue(&s, &name, body(1), 1).await.unwrap();
        q.delete_queue(&s, &name).await.unwrap();
        q.create_queue(&s, &name, &config()).await.unwrap();
        assert_eq!(q.get_job(&s, &name, id).await, Err(QueueError::JobNotFound));
        assert!(q
            .list_jobs(&s, &name, JobStatus::Ready)
            .await
            .unwrap()
            .is_empty());
    }

    pub async fn tenants_are_isolated(q: &Arc<dyn QueueStore>) {
        let (a, b) = (scope(), scope());
        let name = queue();
        q.create_queue(&a, &name, &config()).await.unwrap();
        assert_eq!(
            q.enqueue(&b, &name, body(1), 1).await,
            Err(QueueError::QueueNotFound)
        );
        assert!(q.list_queues(&b).await.unwrap().is_empty());
        q.create_queue(&b, &name, &config()).await.unwrap();
        let id = q.enqueue(&a, &name, body(1), 1).await.unwrap();
        // Same queue name and job id under B: nothing to see, claim, cancel or retry.
        assert_eq!(q.get_job(&b, &name, id).await, Err(QueueError::JobNotFound));
        assert!(q
            .list_jobs(&b, &name, JobStatus::Ready)
            .await
            .unwrap()
            .is_empty());
        assert!(q.pending_queues(&b).await.unwrap().is_empty());
        assert!(q.claim(&b, &name, i64::MAX, 10).await.unwrap().is_empty());
        assert_eq!(q.cancel(&b, &name, id).await, Err(QueueError::JobNotFound));
        assert_eq!(q.retry(&b, &name, id).await, Err(QueueError::JobNotFound));
        q.delivered(&b, &name, id).await.unwrap();
        let f = Failure {
            status: None,
            error: "x".into(),
            retry_at_ms: None,
        };
        q.failed(&b, &name, id, &f).await.unwrap();
        let b_id = q.enqueue(&b, &name, body(2), 1).await.unwrap();
        q.delete_queue(&b, &name).await.unwrap();
        let job = q.get_job(&a, &name, id).await.unwrap();
        assert_eq!(
            (job.status, job.attempts),
            (JobStatus::Ready, 0),
            "untouched by B"
        );
        assert_eq!(q.list_queues(&a).await.unwrap(), vec![name.to_string()]);
        let _ = b_id;
        assert_eq!(q.claim(&a, &name, i64::MAX, 10).await.unwrap().len(), 1);
    }
}

/// The SQL queue on the SQLite database file at `path`, as the dev profile opens it.
async fn sqlite_at(path: &Path) -> impl QueueStore {
    let db = nano::adapters::sqlite::queue_database(path).await.unwrap();
    SqlQueue::sqlite(db).await.unwrap()
}

/// The SQL queue on PostgreSQL at `target`, as the prod profile opens it.
pub(crate) async fn postgres_at(target: &PgTarget) -> impl QueueStore {
    let (pool, confine) = nano::adapters::postgres::queue_tables(target)
        .await
        .expect("PostgreSQL at 127.0.0.1:5432 (scripts/ci-services.sh starts it)");
    SqlQueue::postgres(pool, confine, Duration::from_secs(15))
        .await
        .unwrap()
}

pub(crate) async fn sqlite() -> (Arc<dyn QueueStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let queue = sqlite_at(&dir.path().join("queue.db")).await;
    (Arc::new(queue), dir)
}

/// PostgreSQL: each test in its own fresh schema.
pub(crate) async fn postgres() -> (Arc<dyn QueueStore>, ()) {
    let queue = postgres_at(&crate::support::pg_target()).await;
    (Arc::new(queue), ())
}

/// PostgreSQL only: two nodes on one schema never claim the same job, and a node's claims end with the node.
#[tokio::test]
async fn postgres_nodes_share_jobs_without_double_claims_and_claims_end_with_the_node() {
    let target = crate::support::pg_target();
    let a = postgres_at(&target).await;
    let b = postgres_at(&target).await;
    let (s, name) = (suite::scope(), suite::queue());
    a.create_queue(&s, &name, &suite::config()).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(
            a.enqueue(&s, &name, Bytes::from_static(b"{}"), 1)
                .await
                .unwrap(),
        );
        ids.push(
            b.enqueue(&s, &name, Bytes::from_static(b"{}"), 1)
                .await
                .unwrap(),
        );
    }
    let (x, y) = tokio::join!(a.claim(&s, &name, 1, 15), b.claim(&s, &name, 1, 15));
    let mut claimed: Vec<i64> = x
        .unwrap()
        .into_iter()
        .chain(y.unwrap())
        .map(|c| c.job.id)
        .collect();
    claimed.sort();
    ids.sort();
    assert_eq!(claimed, ids, "each job claimed exactly once");
    assert!(b.claim(&s, &name, 1, 20).await.unwrap().is_empty());
    drop(a);
    let mut again = Vec::new();
    for _ in 0..200 {
        again = b.claim(&s, &name, 1, 20).await.unwrap();
        if !again.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        !again.is_empty(),
        "the closed node's claims were never released"
    );
}

/// SQLite only: claims do not outlive the process, so jobs being delivered at a crash are delivered again.
#[tokio::test]
async fn sqlite_releases_claims_when_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.db");
    let (s, name) = (suite::scope(), suite::queue());
    let id = {
        let q = sqlite_at(&path).await;
        q.create_queue(&s, &name, &suite::config()).await.unwrap();
        let id = q
            .enqueue(&s, &name, Bytes::from_static(b"{}"), 1)
            .await
            .unwrap();
        assert_eq!(q.claim(&s, &name, 1, 1).await.unwrap().len(), 1);
        assert!(q.claim(&s, &name, 1, 1).await.unwrap().is_empty());
        id
    };
    let q = sqlite_at(&path).await;
    let claimed = q.claim(&s, &name, 1, 1).await.unwrap();
    assert_eq!(
        claimed.iter().map(|c| c.job.id).collect::<Vec<_>>(),
        vec![id]
    );
}

/// The quota decorator over SQLite, with limits no behaviour reaches.
pub(crate) async fn quota() -> (Arc<dyn QueueStore>, tempfile::TempDir) {
    let (inner, guard) = sqlite().await;
    let limits = crate::generous_quotas();
    (
        Arc::new(nano::app::quota::QuotaQueue::new(inner, &limits)),
        guard,
    )
}

crate::contract_suite!(
    super::suite,
    [sqlite => super::sqlite, postgres => super::postgres, quota => super::quota],
    [
        creates_lists_and_deletes_queues,
        job_operations_need_the_queue_and_the_job,
        enqueued_jobs_are_ready_with_new_ids,
        cancel_removes_the_job,
        claims_hide_jobs_until_an_outcome,
        concurrent_writes_each_get_their_own_result,
        failures_retry_then_move_to_error,
        jobs_are_counted_by_status,
        outcomes_of_cancelled_jobs_do_nothing,
        deleting_a_queue_deletes_its_jobs,
        tenants_are_isolated,
    ]
);

/// `QueueScan::due_tenants` on a fresh store: exactly the tenants with a due job nobody holds, across tenants.
async fn due_tenants_are_those_with_due_free_jobs<Q: QueueStore + QueueScan>(q: &Q) {
    let (due, idle, later, held) = (
        suite::scope(),
        suite::scope(),
        suite::scope(),
        suite::scope(),
    );
    let name = suite::queue();
    for s in [&due, &idle, &later, &held] {
        q.create_queue(s, &name, &suite::config()).await.unwrap();
    }
    q.enqueue(&due, &name, Bytes::from_static(b"{}"), 1_000)
        .await
        .unwrap();
    q.enqueue(&later, &name, Bytes::from_static(b"{}"), 5_000)
        .await
        .unwrap();
    q.enqueue(&held, &name, Bytes::from_static(b"{}"), 1_000)
        .await
        .unwrap();
    let sorted = |mut v: Vec<TenantId>| {
        v.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        v
    };
    let names =
        |scopes: &[&TenantScope]| sorted(scopes.iter().map(|s| s.tenant().clone()).collect());
    assert_eq!(
        sorted(q.due_tenants(2_000).await.unwrap()),
        names(&[&due, &held])
    );
    assert_eq!(q.claim(&held, &name, 2_000, 10).await.unwrap().len(), 1);
    assert_eq!(
        sorted(q.due_tenants(2_000).await.unwrap()),
        names(&[&due]),
        "a held job is not due"
    );
    assert_eq!(
        sorted(q.due_tenants(6_000).await.unwrap()),
        names(&[&due, &later])
    );
    // An ERROR job is not due.
    let claimed = q.claim(&due, &name, 2_000, 10).await.unwrap();
    q.failed(
        &due,
        &name,
        claimed[0].job.id,
        &Failure {
            status: Some(500),
            error: "boom".into(),
            retry_at_ms: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        sorted(q.due_tenants(6_000).await.unwrap()),
        names(&[&later])
    );
}

#[tokio::test]
async fn sqlite_due_tenants_are_those_with_due_free_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let db = nano::adapters::sqlite::queue_database(&dir.path().join("queue.db"))
        .await
        .unwrap();
    let q = SqlQueue::sqlite(db).await.unwrap();
    due_tenants_are_those_with_due_free_jobs(&q).await;
}

/// The SQL queue on PostgreSQL at `target` as one node, taking over claims whose lease is `takeover` old.
async fn postgres_node(target: &PgTarget, takeover: Duration) -> SqlQueue<sqlx::Postgres> {
    let (pool, confine) = nano::adapters::postgres::queue_tables(target)
        .await
        .unwrap();
    SqlQueue::postgres(pool, confine, takeover).await.unwrap()
}

#[tokio::test]
async fn postgres_due_tenants_are_those_with_due_free_jobs() {
    let q = postgres_node(&crate::support::pg_target(), Duration::from_secs(15)).await;
    due_tenants_are_those_with_due_free_jobs(&q).await;
}

/// PostgreSQL only: a node that froze (it still holds its lock, its connection open) but stopped renewing its lease
/// loses its claims once the lease is older than the takeover time; a fresh lease keeps them. The frozen node is
/// played by a connection of the test holding a node lock, with its lease row written by hand.
#[tokio::test]
async fn postgres_claims_of_a_frozen_node_are_taken_over_after_the_takeover_time() {
    let target = crate::support::pg_target();
    let b = postgres_node(&target, Duration::from_secs(15)).await;
    let (s, name) = (suite::scope(), suite::queue());
    b.create_queue(&s, &name, &suite::config()).await.unwrap();
    let id = b
        .enqueue(&s, &name, Bytes::from_static(b"{}"), 1)
        .await
        .unwrap();
    let (pool, _) = nano::adapters::postgres::queue_tables(&target)
        .await
        .unwrap();
    let frozen: i32 = 4242;
    let mut lock = pool.acquire().await.unwrap();
    let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock(1851879023, $1)")
        .bind(frozen)
        .fetch_one(&mut *lock)
        .await
        .unwrap();
    assert!(got);
    let now = "(extract(epoch from clock_timestamp()) * 1000)::bigint";
    sqlx::query(&format!(
        "INSERT INTO queue_nodes (node, alive_ms) VALUES ($1, {now})"
    ))
    .bind(frozen)
    .execute(&mut *lock)
    .await
    .unwrap();
    // The test connects as a superuser, which row-level security does not confine.
    sqlx::query("UPDATE queue_jobs SET claimed_by = $1 WHERE host = $2 AND id = $3")
        .bind(frozen)
        .bind(s.as_str())
        .bind(id)
        .execute(&mut *lock)
        .await
        .unwrap();
    // Locked and renewed: the claim holds.
    assert!(b.claim(&s, &name, 10, 10).await.unwrap().is_empty());
    assert!(!b.due_tenants(10).await.unwrap().contains(s.tenant()));
    // Still locked, but the lease is 16 s old: the claim is void, the job is due and claimed by b.
    sqlx::query(&format!(
        "UPDATE queue_nodes SET alive_ms = {now} - 16000 WHERE node = $1"
    ))
    .bind(frozen)
    .execute(&mut *lock)
    .await
    .unwrap();
    assert!(b.due_tenants(10).await.unwrap().contains(s.tenant()));
    let taken = b.claim(&s, &name, 10, 10).await.unwrap();
    assert_eq!(taken.iter().map(|c| c.job.id).collect::<Vec<_>>(), [id]);
}
