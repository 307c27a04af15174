//! The run-claims port's contract, run against every adapter: each subject is three "nodes", adapter instances (each
//! with its own pool) on one database: `a` and `b` take over unstarted claims after 15 s, `quick` at once.

use crate::support::fresh_name;
use nano::ports::{Claim, RunClaims, ScheduledRun};
use std::sync::Arc;
use std::time::Duration;

/// Two adapter instances on the same database, as two nodes of a cluster (or two processes on one data folder).
pub struct Nodes {
    a: Arc<dyn RunClaims>,
    b: Arc<dyn RunClaims>,
    /// Takes over any claim not started yet, however recent.
    quick: Arc<dyn RunClaims>,
}

/// Whether `claim` won the run.
async fn won(claims: &Arc<dyn RunClaims>, run: &ScheduledRun, node: &str) -> bool {
    claims.claim(run, node).await.unwrap() == Claim::Won
}

pub mod suite {
    use super::*;

    const MIN: i64 = 60_000;

    fn now_ms() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    }

    fn now_minute() -> i64 {
        now_ms() / MIN * MIN
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
        assert!(won(&n.a, &r, "node-a").await);
        assert!(!won(&n.a, &r, "node-a").await);
        assert!(!won(&n.b, &r, "node-b").await);
    }

    pub async fn one_of_two_nodes_racing_wins(n: &Nodes) {
        for i in 0..20 {
            let r = run(&fresh_name("t"), "app", "* * * * *", now_minute() + i * MIN);
            let (a, b) = tokio::join!(won(&n.a, &r, "node-a"), won(&n.b, &r, "node-b"));
            assert!(a ^ b, "exactly one node wins run {i}");
        }
    }

    pub async fn runs_differing_in_any_part_are_claimed_apart(n: &Nodes) {
        let (t1, t2) = (fresh_name("t"), fresh_name("t"));
        let at = now_minute();
        let base = run(&t1, "app", "* * * * *", at);
        assert!(won(&n.a, &base, "node-a").await);
        // Another tenant's app of the same name, another app, another cron, another minute: each its own run.
        for other in [
            run(&t2, "app", "* * * * *", at),
            run(&t1, "other", "* * * * *", at),
            run(&t1, "app", "*/5 * * * *", at),
            run(&t1, "app", "* * * * *", at + MIN),
        ] {
            assert!(won(&n.b, &other, "node-b").await, "{other:?}");
            assert!(!won(&n.a, &other, "node-a").await, "{other:?}");
        }
        assert!(!won(&n.b, &base, "node-b").await);
    }

    pub async fn claims_older_than_a_day_are_forgotten(n: &Nodes) {
        let tenant = fresh_name("t");
        let old = run(
            &tenant,
            "app",
            "0 0 * * *",
            now_minute() - 2 * 24 * 60 * MIN,
        );
        assert!(won(&n.a, &old, "node-a").await);
        // A later claim (by any node) deletes claims scheduled over a day ago, so the old run reads as unclaimed.
        let fresh = run(&tenant, "app", "0 0 * * *", now_minute());
        assert!(won(&n.b, &fresh, "node-b").await);
        assert!(won(&n.b, &old, "node-b").await);
        // A claim within the day is kept.
        let recent = run(&tenant, "app", "0 * * * *", now_minute() - 60 * MIN);
        assert!(won(&n.a, &recent, "node-a").await);
        assert!(
            won(
                &n.a,
                &run(&tenant, "x", "0 * * * *", now_minute()),
                "node-a"
            )
            .await
        );
        assert!(!won(&n.b, &recent, "node-b").await);
    }

    pub async fn a_claim_not_started_is_held_until_the_takeover_time(n: &Nodes) {
        let r = run(&fresh_name("t"), "app", "* * * * *", now_minute());
        assert_eq!(n.a.claim(&r, "node-a").await.unwrap(), Claim::Won);
        match n.b.claim(&r, "node-b").await.unwrap() {
            // b may take it over 15 s after a claimed it (both on this machine's clock), not before.
            Claim::Held { retry_at_ms } => {
                let now = now_ms();
                assert!(
                    retry_at_ms > now && retry_at_ms <= now + 15_000,
                    "{retry_at_ms} vs {now}"
                );
            }
            other => panic!("b should find the run held, got {other:?}"),
        }
        // The claimant starts it: nobody claims or starts it again.
        assert!(n.a.start(&r).await.unwrap());
        assert!(!n.a.start(&r).await.unwrap(), "a run starts once");
        for node in [&n.a, &n.b, &n.quick] {
            assert_eq!(node.claim(&r, "any").await.unwrap(), Claim::Started);
            assert!(!node.start(&r).await.unwrap());
        }
    }

    pub async fn an_unstarted_claim_is_taken_over_and_its_first_node_cannot_start(n: &Nodes) {
        let r = run(&fresh_name("t"), "app", "*/5 * * * *", now_minute());
        // a claims the run and stops (or stalls) before starting it; quick takes the claim over.
        assert_eq!(n.a.claim(&r, "node-a").await.unwrap(), Claim::Won);
        assert!(!n.b.start(&r).await.unwrap(), "only the claimant starts");
        assert_eq!(n.quick.claim(&r, "node-q").await.unwrap(), Claim::Won);
        assert!(!n.a.start(&r).await.unwrap(), "a's claim was taken over");
        assert!(n.quick.start(&r).await.unwrap());
        assert_eq!(n.a.claim(&r, "node-a").await.unwrap(), Claim::Started);
        assert_eq!(n.b.claim(&r, "node-b").await.unwrap(), Claim::Started);
    }

    pub async fn racing_takeovers_start_the_run_once(n: &Nodes) {
        for i in 0..10 {
            let r = run(&fresh_name("t"), "app", "* * * * *", now_minute() + i * MIN);
            assert_eq!(n.a.claim(&r, "node-a").await.unwrap(), Claim::Won);
            // Both a (to start its claim) and quick (taking it over) race: the run starts once.
            let (claimed, started_by_a) = tokio::join!(n.quick.claim(&r, "node-q"), n.a.start(&r));
            let started_by_quick = match claimed.unwrap() {
                Claim::Won => n.quick.start(&r).await.unwrap(),
                Claim::Started => false,
                Claim::Held { .. } => panic!("quick takes over at once"),
            };
            assert!(
                started_by_a.unwrap() ^ started_by_quick,
                "run {i} starts exactly once"
            );
        }
    }
}

const FIFTEEN_S: Duration = Duration::from_secs(15);

async fn sqlite() -> (Nodes, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schedule.db");
    let open = |takeover| {
        let path = path.clone();
        async move {
            let pool = nano::adapters::sqlite::schedule_pool(&path).await.unwrap();
            Arc::new(nano::adapters::sql::SqlRunClaims::new(pool, takeover)) as Arc<dyn RunClaims>
        }
    };
    let (a, b) = (open(FIFTEEN_S).await, open(FIFTEEN_S).await);
    let quick = open(Duration::ZERO).await;
    (Nodes { a, b, quick }, dir)
}

async fn postgres() -> (Nodes, ()) {
    let target = crate::support::pg_target();
    // Two targets on one schema: two pools, as two nodes have.
    let other = nano::adapters::postgres::PgTarget::new(target.url.clone(), target.schema.clone());
    let open = |t: nano::adapters::postgres::PgTarget, takeover| async move {
        let pool = nano::adapters::postgres::schedule_pool(&t).await.unwrap();
        Arc::new(nano::adapters::sql::SqlRunClaims::new(pool, takeover)) as Arc<dyn RunClaims>
    };
    let third = nano::adapters::postgres::PgTarget::new(target.url.clone(), target.schema.clone());
    let (a, b) = (open(target, FIFTEEN_S).await, open(other, FIFTEEN_S).await);
    let quick = open(third, Duration::ZERO).await;
    (Nodes { a, b, quick }, ())
}

crate::contract_suite!(
    super::suite,
    [sqlite => super::sqlite, postgres => super::postgres],
    [
        the_first_claim_wins_and_later_ones_lose,
        one_of_two_nodes_racing_wins,
        runs_differing_in_any_part_are_claimed_apart,
        claims_older_than_a_day_are_forgotten,
        a_claim_not_started_is_held_until_the_takeover_time,
        an_unstarted_claim_is_taken_over_and_its_first_node_cannot_start,
        racing_takeovers_start_the_run_once,
    ]
);
