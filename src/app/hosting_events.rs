//! Hosted apps' handlers besides `fetch`: `queue` batches of `app://<name>` queues (the queue delivery's
//! `AppConsumer`) and `scheduled` runs, fired by the apps' cron triggers or by the admin API.

use super::hosting::Hosting;
use super::queue_delivery::AppConsumer;
use crate::core::{AppName, Cron, HostScope};
use crate::ports::{QueueBatch, QueueOutcome, RuntimeError, ScheduledEvent};
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
        scope: &HostScope,
        app: &str,
        batch: QueueBatch,
    ) -> Result<QueueOutcome, String> {
        let not_here = || format!("app {app} is not a hosted app of tenant {}", scope.host());
        match self.code_app(app).await {
            Some((tenant, _)) if tenant == scope.host() => {}
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

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Hosting {
    /// Runs app `name`'s `scheduled` handler now, for `cron` or else the app's first cron trigger (an app without
    /// triggers gets `""`, as Workers' dev `/__scheduled` does). Returns the cron and the scheduled time.
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
/// `scheduledTime`. A run that fails is logged; nano does not retry it (a cron fires again at its next time).
pub fn spawn_crons(hosting: Arc<Hosting>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut next: HashMap<(String, String), i64> = HashMap::new();
        let mut tick = tokio::time::interval(CRON_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = now_ms();
            let mut live = HashMap::new();
            for (app, crons) in hosting.crons().await {
                for expr in crons {
                    let Ok(cron) = Cron::parse(&expr) else {
                        continue;
                    };
                    let key = (app.clone(), expr);
                    let due = next
                        .get(&key)
                        .copied()
                        .unwrap_or_else(|| cron.next_after(now).unwrap_or(i64::MAX));
                    if due <= now {
                        tokio::spawn(fire(hosting.clone(), key.0.clone(), key.1.clone(), due));
                        live.insert(key, cron.next_after(now).unwrap_or(i64::MAX));
                    } else {
                        live.insert(key, due);
                    }
                }
            }
            next = live;
        }
    })
}

async fn fire(hosting: Arc<Hosting>, app: String, cron: String, due: i64) {
    let Ok(name) = AppName::parse(&app) else {
        return;
    };
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
