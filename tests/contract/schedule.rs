//! The run-claims port's contract, run against every adapter: each subject is two "nodes", two adapter instances
//! (each with its own pool) on one database.

use crate::support::fresh_name;
use nano::ports::{RunClaims, ScheduledRun};
use std::sync::Arc;

/// Two adapter instances on the same database, as two nodes of a cluster (or two processes on one data folder).
pub struct Nodes {
    a: Arc<dyn RunClaims>,
    b: Arc<dyn RunClaims>,
}

pub mod suite {
    use super::*;

    const MIN: i64 = 60_000;

    fn now_minute() -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        now / MIN * MIN
    }

    fn run(tenant: &str, app: &str, cron: &str, at: i64) -> ScheduledRun {
        ScheduledRun {
            tenant: tenant.into(),
            app: app.into(),
            cron: cron.into(),
            scheduled_ms: at,
        }
    }

    pub async fn the_first_claim_wins_and_later_ones_lose(n: &Nodes) {
        let r = run(&fresh_name("t"), "app", "* * * * *", now_minute());
        assert!(n.a.claim(&r, "node-a").await.unwrap());
        assert!(!n.a.claim(&r, "node-a").await.unwrap());
        assert!(!n.b.claim(&r, "node-b").await.unwrap());
    }

    pub async fn one_of_two_nodes_racing_wins(n: &Nodes) {
        for i in 0..20 {
            let r = run(&fresh_name("t"), "app", "* * * * *", now_minute() + i * MIN);
            let (a, b) = tokio::join!(n.a.claim(&r, "node-a"), n.b.claim(&r, "node-b"));
            assert!(a.unwrap() ^ b.unwrap(), "exactly one node wins run {i}");
        }
    }

    pub async fn runs_differing_in_any_part_are_claimed_apart(n: &Nodes) {
        let (t1, t2) = (fresh_name("t"), fresh_name("t"));
        let at = now_minute();
        let base = run(&t1, "app", "* * * * *", at);
        assert!(n.a.claim(&base, "node-a").await.unwrap());
        // Another tenant's app of the same name, another app, another cron, another minute: each its own run.
        for other in [
            run(&t2, "app", "* * * * *", at),
            run(&t1, "other", "* * * * *", at),
            run(&t1, "app", "*/5 * * * *", at),
            run(&t1, "app", "* * * * *", at + MIN),
        ] {
            assert!(n.b.claim(&other, "node-b").await.unwrap(), "{other:?}");
            assert!(!n.a.claim(&other, "node-a").await.unwrap(), "{other:?}");
        }
        assert!(!n.b.claim(&base, "node-b").await.unwrap());
    }

    pub async fn claims_older_than_a_day_are_forgotten(n: &Nodes) {
        let tenant = fresh_name("t");
        let old = run(
            &tenant,
            "app",
            "0 0 * * *",
            now_minute() - 2 * 24 * 60 * MIN,
        );
        assert!(n.a.claim(&old, "node-a").await.unwrap());
        // A later claim (by any node) deletes claims scheduled over a day ago, so the old run reads as unclaimed.
        let fresh = run(&tenant, "app", "0 0 * * *", now_minute());
        assert!(n.b.claim(&fresh, "node-b").await.unwrap());
        assert!(n.b.claim(&old, "node-b").await.unwrap());
        // A claim within the day is kept.
        let recent = run(&tenant, "app", "0 * * * *", now_minute() - 60 * MIN);
        assert!(n.a.claim(&recent, "node-a").await.unwrap());
        assert!(n
            .a
            .claim(&run(&tenant, "x", "0 * * * *", now_minute()), "node-a")
            .await
            .unwrap());
        assert!(!n.b.claim(&recent, "node-b").await.unwrap());
    }
}

async fn sqlite() -> (Nodes, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schedule.db");
    let open = || async {
        let pool = nano::adapters::sqlite::schedule_pool(&path).await.unwrap();
        Arc::new(nano::adapters::sql::SqlRunClaims::new(pool)) as Arc<dyn RunClaims>
    };
    let (a, b) = (open().await, open().await);
    (Nodes { a, b }, dir)
}

async fn postgres() -> (Nodes, ()) {
    let target = crate::support::pg_target();
    // Two targets on one schema: two pools, as two nodes have.
    let other = nano::adapters::postgres::PgTarget::new(target.url.clone(), target.schema.clone());
    let open = |t: nano::adapters::postgres::PgTarget| async move {
        let pool = nano::adapters::postgres::schedule_pool(&t).await.unwrap();
        Arc::new(nano::adapters::sql::SqlRunClaims::new(pool)) as Arc<dyn RunClaims>
    };
    let (a, b) = (open(target).await, open(other).await);
    (Nodes { a, b }, ())
}

crate::contract_suite!(
    super::suite,
    [sqlite => super::sqlite, postgres => super::postgres],
    [
        the_first_claim_wins_and_later_ones_lose,
        one_of_two_nodes_racing_wins,
        runs_differing_in_any_part_are_claimed_apart,
        claims_older_than_a_day_are_forgotten,
    ]
);
