//! The queue service's routes (`/queue`, `/queue/:name`, `/queue/:name/:id`, `_cancel`, `_retry`): paths and
//! bodies translated into `services::queue` calls.

use super::request::read_json;
use super::response::{not_found, reply, RouteResult};
use super::router::ServiceRequest;
use crate::ports::QueueStore;
use crate::services::queue as service;
use http::Method;

/// Request bodies larger than this are refused with 413 (hyper's `express.json` limit).
const BODY_LIMIT: usize = 10 * 1024 * 1024;

/// Answers a request below `/queue`.
pub async fn route(queue: &dyn QueueStore, req: ServiceRequest) -> RouteResult {
    let segments: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let scope = &req.scope;
    let answer = match (&req.method, segments.as_slice()) {
        (&Method::GET, []) => service::list(queue, scope).await,
        (&Method::PUT, [name]) => {
            let body = read_json(req.body, BODY_LIMIT).await?;
            service::create(queue, scope, name, body).await
        }
        (&Method::DELETE, [name]) => service::delete(queue, scope, name).await,
        (&Method::POST, [name]) => {
            let body = read_json(req.body, BODY_LIMIT).await?;
            service::enqueue(queue, scope, name, body).await
        }
        (&Method::GET, [name]) => {
            let status = req.query.single("status")?;
            service::jobs(queue, scope, name, status).await
        }
        (&Method::GET, [name, id]) => service::job(queue, scope, name, id).await,
        (&Method::POST, [name, id, "_cancel"]) => service::cancel(queue, scope, name, id).await,
        (&Method::POST, [name, id, "_retry"]) => service::retry(queue, scope, name, id).await,
        _ => return Ok(not_found()),
    };
    answer.map(reply)
}
