//! The admin API's view of a tenant's services: its databases, caches, buckets, indexes and queues (with their
//! `READY` and `ERROR` job counts), and a queue's jobs listed, retried and cancelled by the operator, through the same
//! `services` calls as the tenant's own REST routes.

use super::request::Query;
use super::response::{json, not_found, reply, ApiError, RouteResult};
use crate::core::{DomainName, TenantScope};
use crate::ports::Services;
use crate::services::queue as queue_service;
use http::{Method, StatusCode};
use serde_json::{json, Value};

/// Answers `GET tenants/:t/services`, `GET tenants/:t/queue/:name?status=`, `POST tenants/:t/queue/:name/:id/_retry`
/// and `POST …/_cancel` (`segs` after `admin`) for the tenant of `scope`, which the caller resolved from `:t`.
pub async fn route(
    services: &Services,
    scope: &TenantScope,
    method: &Method,
    query: Option<&str>,
    segs: &[&str],
) -> RouteResult {
    if let (&Method::GET, ["tenants", _, "services"]) = (method, segs) {
        return Ok(json(StatusCode::OK, &overview(services, scope).await?));
    }
    let Some(queue) = services.queue.as_deref() else {
        return Ok(not_found());
    };
    let answer = match (method, segs) {
        (&Method::GET, ["tenants", _, "queue", name]) => {
            let query = Query::parse(query);
            queue_service::jobs(queue, scope, name, query.single("status")?).await
        }
        (&Method::POST, ["tenants", _, "queue", name, id, "_retry"]) => {
            queue_service::retry(queue, scope, name, id).await
        }
        (&Method::POST, ["tenants", _, "queue", name, id, "_cancel"]) => {
            queue_service::cancel(queue, scope, name, id).await
        }
        _ => return Ok(not_found()),
    };
    answer.map(reply)
}

/// `{ ok, data, cache, storage, search, queue }`: each enabled service's domain names (`null` when the service is
/// off), queues as `{ name, ready, error }`.
async fn overview(services: &Services, scope: &TenantScope) -> Result<Value, ApiError> {
    fn failed(e: impl std::fmt::Display) -> ApiError {
        ApiError::internal(e.to_string())
    }
    let data = match &services.data {
        Some(s) => Some(s.list_dbs(scope).await.map_err(failed)?),
        None => None,
    };
    let cache = match &services.cache {
        Some(s) => Some(s.list_stores(scope).await.map_err(failed)?),
        None => None,
    };
    let storage = match &services.storage {
        Some(s) => Some(s.list_buckets(scope).await.map_err(failed)?),
        None => None,
    };
    let search = match &services.search {
        Some(s) => Some(s.list_indexes(scope).await.map_err(failed)?),
        None => None,
    };
    let queue = match &services.queue {
        Some(q) => {
            let mut out = Vec::new();
            for name in q.list_queues(scope).await.map_err(failed)? {
                let domain = DomainName::parse(&name).map_err(failed)?;
                let counts = q.job_counts(scope, &domain).await.map_err(failed)?;
                out.push(json!({ "name": name, "ready": counts.ready, "error": counts.error }));
            }
            Some(out)
        }
        None => None,
    };
    Ok(json!({
        "ok": true,
        "data": data,
        "cache": cache,
        "storage": storage,
        "search": search,
        "queue": queue,
    }))
}
