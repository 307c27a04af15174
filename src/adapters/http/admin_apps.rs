//! The admin API's app routes: list, get, create, replace and delete apps, reload, recent logs, running an app's
//! `scheduled` handler now, and metrics in Prometheus text. The hosting side implements `AppControl`; these routes
//! only speak HTTP.

use super::body::full;
use super::request::{read_json, Query};
use super::response::{json, not_found, ApiError, RouteResult};
use async_trait::async_trait;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{json, Value};

/// Uploaded bundles are JSON bodies of module sources; larger apps belong in a folder.
const APP_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// What the admin routes can do to the hosted apps.
#[async_trait]
pub trait AppControl: Send + Sync + 'static {
    /// Every app, served or failed to load.
    async fn list(&self) -> Vec<Value>;
    /// One app, with its load error if it failed; `None` when unknown.
    async fn get(&self, name: &str) -> Option<Value>;
    /// Creates (`replace` false) or replaces an app from an admin body; the app as `get` shows it.
    async fn put(&self, name: Option<&str>, body: Value, replace: bool) -> Result<Value, ApiError>;
    /// Removes an app once it has drained.
    async fn delete(&self, name: &str) -> Result<(), ApiError>;
    /// Reloads apps and the config file now: `{ loaded, removed, failed }`.
    async fn reload(&self) -> Value;
    /// Recent log lines of an app; `None` when unknown.
    async fn logs(&self, name: &str) -> Option<Vec<Value>>;
    /// Metrics in Prometheus text format.
    async fn metrics(&self) -> String;
    /// Runs the app's `scheduled` handler now for `cron` (default: the app's first cron trigger):
    /// `{ app, cron, scheduledTime }` once the handler has settled.
    async fn scheduled(&self, name: &str, cron: Option<&str>) -> Result<Value, ApiError>;
}

/// Answers `/admin/apps…`, `/admin/reload` and `/admin/metrics`; `None` for other admin paths.
pub async fn route(
    apps: Option<&dyn AppControl>,
    req: Request<Incoming>,
    segs: &[&str],
) -> Option<RouteResult> {
    if !matches!(segs.first(), Some(&"apps" | &"reload" | &"metrics")) {
        return None;
    }
    let Some(apps) = apps else {
        return Some(Ok(not_found()));
    };
    let method = req.method().clone();
    Some(match (&method, segs) {
        (&Method::GET, ["apps"]) => {
            let list = apps.list().await;
            Ok(json(StatusCode::OK, &json!({ "ok": true, "apps": list })))
        }
        (&Method::POST, ["apps"]) => match read_json(req.into_body(), APP_BODY_LIMIT).await {
            Ok(body) => apps
                .put(None, body, false)
                .await
                .map(|app| json(StatusCode::CREATED, &json!({ "ok": true, "app": app }))),
            Err(e) => Err(e),
        },
        (&Method::GET, ["apps", name]) => match apps.get(name).await {
            Some(app) => Ok(json(StatusCode::OK, &json!({ "ok": true, "app": app }))),
            None => Err(ApiError::not_found(format!("app {name} does not exist"))),
        },
        (&Method::PUT, ["apps", name]) => match read_json(req.into_body(), APP_BODY_LIMIT).await {
            Ok(body) => apps
                .put(Some(name), body, true)
                .await
                .map(|app| json(StatusCode::OK, &json!({ "ok": true, "app": app }))),
            Err(e) => Err(e),
        },
        (&Method::DELETE, ["apps", name]) => apps
            .delete(name)
            .await
            .map(|()| json(StatusCode::OK, &json!({ "ok": true }))),
        (&Method::GET, ["apps", name, "logs"]) => match apps.logs(name).await {
            Some(lines) => Ok(json(StatusCode::OK, &json!({ "ok": true, "logs": lines }))),
            None => Err(ApiError::not_found(format!("app {name} does not exist"))),
        },
        (&Method::POST, ["apps", name, "scheduled"]) => {
            let query = Query::parse(req.uri().query());
            match query.single("cron") {
                Ok(cron) => apps
                    .scheduled(name, cron)
                    .await
                    .map(|run| json(StatusCode::OK, &json!({ "ok": true, "scheduled": run }))),
                Err(e) => Err(e),
            }
        }
        (&Method::POST, ["reload"]) => {
            let report = apps.reload().await;
            Ok(json(
                StatusCode::OK,
                &json!({ "ok": true, "reload": report }),
            ))
        }
        (&Method::GET, ["metrics"]) => {
            let mut res = Response::new(full(apps.metrics().await));
            res.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            Ok(res)
        }
        _ => Ok(not_found()),
    })
}
