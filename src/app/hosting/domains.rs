//! What Cloudflare's bindings of an app need before it loads, made if missing as `wrangler dev` does: the cache
//! store of each KV namespace, the bucket of each R2 binding, and each consumed queue, with the app as its target
//! (`app://<name>`). They are made through the same `services` calls REST makes, for the app's tenant; one that
//! exists is left as it is (a consumed queue with another target keeps it, with a warning).

use crate::app::config::{AppConfig, QueueConsumerConfig};
use crate::core::{ServiceKind, TenantId, TenantScope};
use crate::ports::Services;
use crate::services::ApiError;
use serde_json::json;

/// Queues' defaults: messages per batch, retries after the first delivery, seconds before a retry.
const BATCH_SIZE: u32 = 10;
const RETRIES: u32 = 3;
const RETRY_DELAY_SECS: u64 = 1;

/// Makes what the app's KV, R2 and queue-consumer bindings need; the error names the binding or queue.
pub async fn ensure(cfg: &AppConfig, services: &Services) -> Result<(), String> {
    let tenant = TenantId::parse(&cfg.tenant).map_err(|e| e.to_string())?;
    let scope = TenantScope::resolved(tenant);
    let made = |r: Result<_, ApiError>| match r {
        Ok(_) => Ok(()),
        Err(e) if e.status == http::StatusCode::CONFLICT => Ok(()),
        Err(e) => Err(e.msg),
    };
    for (name, b) in &cfg.bindings {
        let done = match (b.service, &services.cache, &services.storage) {
            (ServiceKind::Kv, Some(cache), _) => {
                made(crate::services::cache::create_store(cache.as_ref(), &scope, &b.domain).await)
            }
            (ServiceKind::R2, _, Some(storage)) => made(
                crate::services::storage::create_bucket(storage.as_ref(), &scope, &b.domain).await,
            ),
            _ => Ok(()),
        };
        done.map_err(|e| format!("binding {name}: {} {}: {e}", b.service.as_str(), b.domain))?;
    }
    if let Some(queue) = &services.queue {
        for consumer in &cfg.triggers.queues {
            consume(queue.as_ref(), &scope, &cfg.name, consumer)
                .await
                .map_err(|e| format!("queue consumer {}: {e}", consumer.queue))?;
        }
    }
    Ok(())
}

async fn consume(
    queue: &dyn crate::ports::QueueStore,
    scope: &TenantScope,
    app: &str,
    c: &QueueConsumerConfig,
) -> Result<(), String> {
    let target = format!("app://{app}");
    let body = json!({
        "target": target,
        "maxAttempts": c.max_retries.unwrap_or(RETRIES) + 1,
        "backoffMs": c.retry_delay.unwrap_or(RETRY_DELAY_SECS) * 1000,
        "concurrency": c.max_batch_size.unwrap_or(BATCH_SIZE),
    });
    match crate::services::queue::create(queue, scope, &c.queue, body).await {
        Ok(_) => Ok(()),
        Err(e) if e.status == http::StatusCode::CONFLICT => {
            if let Ok(name) = crate::core::DomainName::parse(&c.queue.to_lowercase()) {
                if let Ok(config) = queue.queue_config(scope, &name).await {
                    if config.target != target {
                        tracing::warn!(
                            app,
                            queue = c.queue.as_str(),
                            target = config.target.as_str(),
                            "the queue exists with another target, which keeps its messages"
                        );
                    }
                }
            }
            Ok(())
        }
        Err(e) => Err(e.msg),
    }
}
