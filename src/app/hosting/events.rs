//! Hosted apps' handlers besides `fetch`: `queue` batches of `app://<name>` queues (the queue delivery's
//! `AppConsumer`) and `scheduled` runs, fired by the apps' cron triggers or by the admin API.
//!
//! Crons: a loop ticks every second, reads the served apps' `triggers.crons` and keeps each `(app, cron)`'s next time
//! (`Cron::next_after`). When it comes, the node claims the run (`RunClaims`, shared by the nodes of a cluster) and,
//! if it won the claim, marks it started and `dispatch_scheduled` runs in its own task: each trigger runs once per
//! scheduled time for the whole cluster. A node that lost the claim to one not started yet asks again once the
//! takeover time (`takeover_secs`) has passed, so a run whose node stopped between claiming and starting still runs,
//! on another node. A run whose node stops while it runs is not run again: at most once per scheduled time once
//! started (a handler may not be safe to repeat, and the trigger fires again at its next time).
//! `run_scheduled` serves the admin API's `POST /admin/apps/{name}/scheduled`: a direct run on the node that got the
//! request, with no claim, once.

use super::Hosting;
use crate::app::queue_delivery::AppConsumer;
use crate::core::clock::now_ms;
use crate::core::{AppName, Cron, TenantScope};
use crate::ports::{
    Claim, QueueBatch, QueueOutcome, RunClaims, RuntimeError, ScheduledEvent, ScheduledRun,
};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How often the cron loop looks at the served apps and the clock (a trigger fires within this of its minute).
const CRON_TICK: Duration = Duration::from_secs(1);

#[async_trait]
impl AppConsumer for Hosting {
    async fn consume(
        &self,
        scope: &TenantScope,
        app: &str,
        batch: QueueBatch,
    ) -> Result<QueueOutcome, String> {
        let not_here = || format!("app {app} is not a hosted app of tenant {}", scope.as_str());
        match self.code_app(app).await {
            Some((tenant, _)) if tenant == scope.as_str() => {}
            _ => return Err(not_here()),
        }
        let name = AppName::parse(app).map_err(|_| not_here())?;
        self.runtime()
            .dispatch_queue(&name, batch)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Why a manual `scheduled` run did not happen or failed.
#[derive(Debug)]
pub enum ScheduledError {
    NotFound,
    BadCron(String),
    Failed(RuntimeError),
}

impl Hosting {
    /// Runs app `name`'s `scheduled` handler now, for `cron` or else the app's first cron trigger (an app without
    /// triggers gets `""`, as Workers' dev `/__scheduled` does). Returns the cron and the scheduled time. A manual
    /// run is direct: it runs on this node, claims nothing and does not stop the trigger's own runs.
    pub async fn run_scheduled(
        &self,
        name: &str,
        cron: Option<&str>,
    ) -> Result<(String, i64), ScheduledError> {
        let (_, crons) = self.code_app(name).await.ok_or(ScheduledError::NotFound)?;
        let cron = match cron {
            Some(c) => Cron::parse(c)
                .map_err(|e| ScheduledError::BadCron(e.to_string()))?
                .as_str()
                .to_string(),
            None => crons.first().cloned().unwrap_or_default(),
        };
        let app = AppName::parse(name).map_err(|_| ScheduledError::NotFound)?;
        let at = now_ms();
        self.runtime()
            .dispatch_scheduled(
                &app,
                ScheduledEvent {
                    cron: cron.clone(),
                    scheduled_time_ms: at,
                },
            )
            .await
            .map_err(ScheduledError::Failed)?;
        Ok((cron, at))
    }
}

/// Starts the loop firing the served apps' cron triggers: each `(app, cron)` gets its next time when first seen
/// (after a reload too), and when it comes the app's `scheduled` handler runs in its own task with that time as
/// `scheduledTime`, once `claims` gave the run to this node (`node`, its name): a run another node claimed is skipped.
/// A run that fails is logged; nano does not retry it (a cron fires again at its next time).
pub fn spawn_crons(
    hosting: Arc<Hosting>,
    claims: Arc<dyn RunClaims>,
    node: String,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut clock = CronClock::default();
        let mut tick = tokio::time::interval(CRON_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            for (app, cron, due) in clock.due(hosting.crons().await, now_ms()) {
                tokio::spawn(fire(
                    hosting.clone(),
                    claims.clone(),
                    node.clone(),
                    app,
                    cron,
                    due,
                ));
            }
        }
    })
}

/// The cron loop's bookkeeping: each served `(app, cron)` trigger's next time (ms).
#[derive(Default)]
struct CronClock {
    next: HashMap<(String, String), i64>,
}

impl CronClock {
    /// Given the served apps' crons at `now`, returns the runs due (app, cron, scheduled time) and moves those
    /// triggers to their next time. A trigger seen for the first time starts at its next minute after `now`;
    /// triggers no longer served are forgotten. Runs missed while the loop was held up fire once.
    fn due(&mut self, apps: Vec<(String, Vec<String>)>, now: i64) -> Vec<(String, String, i64)> {
        let mut runs = Vec::new();
        let mut live = HashMap::new();
        for (app, crons) in apps {
            for expr in crons {
                let Ok(cron) = Cron::parse(&expr) else {
                    continue;
                };
                let key = (app.clone(), expr);
                let due = self
                    .next
                    .get(&key)
                    .copied()
                    .unwrap_or_else(|| cron.next_after(now).unwrap_or(i64::MAX));
                if due <= now {
                    runs.push((key.0.clone(), key.1.clone(), due));
                    live.insert(key, cron.next_after(now).unwrap_or(i64::MAX));
                } else {
                    live.insert(key, due);
                }
            }
        }
        self.next = live;
        runs
    }
}

/// Claims the run of `app`'s `cron` at `due` for `node` and, if this node starts it (`claim_to_start`), runs the
/// app's `scheduled` handler.
async fn fire(
    hosting: Arc<Hosting>,
    claims: Arc<dyn RunClaims>,
    node: String,
    app: String,
    cron: String,
    due: i64,
) {
    let Ok(name) = AppName::parse(&app) else {
        return;
    };
    let Some((tenant, _)) = hosting.code_app(&app).await else {
        return;
    };
    let run = ScheduledRun {
        tenant,
        app: app.clone(),
        cron: cron.clone(),
        scheduled_ms: due,
    };
    if !claim_to_start(claims.as_ref(), &run, &node).await {
        return;
    }
    let event = ScheduledEvent {
        cron: cron.clone(),
        scheduled_time_ms: due,
    };
    if let Err(e) = hosting.runtime().dispatch_scheduled(&name, event).await {
        tracing::warn!(
            app = app.as_str(),
            cron = cron.as_str(),
            "scheduled run failed: {e}"
        );
    }
}

/// How many times a node asks again for a run another node claimed and did not start.
const TAKEOVER_TRIES: u32 = 5;

/// Whether this node starts `run`: it won the claim (first, or by taking over one left unstarted past the takeover
/// time) and marked it started. A run claimed by another node is asked for again once it may be taken over. A claim
/// that fails (the store is down) skips the run: firing it anyway could run it on every node.
async fn claim_to_start(claims: &dyn RunClaims, run: &ScheduledRun, node: &str) -> bool {
    let (app, cron) = (run.app.as_str(), run.cron.as_str());
    for _ in 0..TAKEOVER_TRIES {
        match claims.claim(run, node).await {
            Ok(Claim::Won) => {
                return match claims.start(run).await {
                    Ok(true) => true,
                    Ok(false) => {
                        tracing::info!(app, cron, "scheduled run taken over by another node");
                        false
                    }
                    Err(e) => {
                        tracing::warn!(app, cron, "scheduled run skipped, its start failed: {e}");
                        false
                    }
                };
            }
            Ok(Claim::Started) => {
                tracing::debug!(app, cron, "scheduled run started by another node");
                return false;
            }
            Ok(Claim::Held { retry_at_ms }) => {
                // Ask again just after the claim may be taken over (a little later on each node, at random).
                let wait = (retry_at_ms - now_ms()).max(0) as u64 + rand::random::<u64>() % 500;
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            Err(e) => {
                tracing::warn!(app, cron, "scheduled run skipped, its claim failed: {e}");
                return false;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn apps(list: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        list.iter()
            .map(|(a, c)| (a.to_string(), c.iter().map(|c| c.to_string()).collect()))
            .collect()
    }

    #[test]
    fn triggers_fire_at_their_minutes_once_each() {
        let mut clock = CronClock::default();
        let t0 = 1_700_000_000_000 / MIN * MIN + 10_000; // 10 s into a minute
        let served = apps(&[("a", &["* * * * *", "*/5 * * * *"]), ("b", &["0 0 1 1 *"])]);
        // First sight: nothing is due yet, whatever the time.
        assert!(clock.due(served.clone(), t0).is_empty());
        assert!(clock.due(served.clone(), t0 + 40_000).is_empty());
        // The next minute starts: the every-minute trigger fires once, with that minute as its time.
        let next_minute = t0 - 10_000 + MIN;
        let runs = clock.due(served.clone(), next_minute + 500);
        assert_eq!(runs, [("a".into(), "* * * * *".into(), next_minute)]);
        assert!(clock.due(served.clone(), next_minute + 1_500).is_empty());
        // Held up for three minutes: one run, then back on the minute grid.
        // (The minute after `next_minute` is also a multiple of five: `*/5` fires with it.)
        assert_eq!((next_minute / MIN + 1) % 5, 0);
        let mut late = clock.due(served.clone(), next_minute + 3 * MIN + 2_000);
        late.sort();
        assert_eq!(
            late,
            [
                ("a".into(), "* * * * *".into(), next_minute + MIN),
                ("a".into(), "*/5 * * * *".into(), next_minute + MIN)
            ]
        );
        let runs = clock.due(served.clone(), next_minute + 4 * MIN);
        assert!(
            runs.iter()
                .all(|r| r.0 == "a" && r.2 == next_minute + 4 * MIN),
            "{runs:?}"
        );
    }

    #[test]
    fn removed_apps_are_forgotten_and_bad_crons_skipped() {
        let mut clock = CronClock::default();
        let t0 = 1_700_000_000_000 / MIN * MIN;
        clock.due(apps(&[("a", &["* * * * *"]), ("b", &["not a cron"])]), t0);
        assert_eq!(clock.next.len(), 1);
        // `a` goes away for a while: when it comes back it starts from its next minute, with no backlog.
        clock.due(apps(&[]), t0 + MIN);
        assert!(clock.next.is_empty());
        assert!(clock
            .due(apps(&[("a", &["* * * * *"])]), t0 + 5 * MIN)
            .is_empty());
        let runs = clock.due(apps(&[("a", &["* * * * *"])]), t0 + 6 * MIN);
        assert_eq!(runs, [("a".into(), "* * * * *".into(), t0 + 6 * MIN)]);
    }
}
