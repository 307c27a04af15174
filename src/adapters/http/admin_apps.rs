//! The admin API's app routes: list, get, create, replace and delete apps, reload, recent logs, running an app's
//! `scheduled` handler now, and metrics in Prometheus text. The hosting side implements the `AppControl` port; these
//! routes only speak HTTP.

use super::body::full;
use super::request::{read_json, Query};
use super::response::{json, not_found, ApiError, RouteResult};
use crate::ports::AppControl;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::json;

/// Uploaded bundles are JSON bodies of module sources; larger apps belong in a folder.
const APP_BODY_LIMIT: usize = 16 * 1024 * 1024;

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
