//! The admin API's app routes: list, get, create, replace and delete apps, reload, recent logs and their live
//! stream (server-sent events), running an app's `scheduled` handler now, and metrics in Prometheus text. The
//! hosting side implements the `AppControl` port; these routes only speak HTTP.

use super::body::{full, BoxError};
use super::request::{read_json, Query};
use super::response::{json, not_found, ApiError, RouteResult};
use crate::ports::{AppControl, Telemetry};
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use serde_json::json;
use std::time::Duration;

/// Uploaded bundles are JSON bodies of module sources; larger apps belong in a folder.
const APP_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Answers `/admin/apps…`, `/admin/reload` and `/admin/metrics`; `None` for other admin paths.
pub async fn route(
    apps: Option<&dyn AppControl>,
    telemetry: Option<&dyn Telemetry>,
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
        (&Method::GET, ["apps", name, "logs"])
            if matches!(
                Query::parse(req.uri().query()).get("follow"),
                Some("1" | "true")
            ) =>
        {
            follow_logs(apps, name, &Query::parse(req.uri().query())).await
        }
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
            let mut text = apps.metrics().await;
            if let Some(telemetry) = telemetry {
                text.push_str(&format!(
                    "# HELP nano_otel_dropped_total Spans and log records dropped because the OpenTelemetry export queue was full.\n\
                     # TYPE nano_otel_dropped_total counter\nnano_otel_dropped_total {}\n",
                    telemetry.dropped()
                ));
            }
            let mut res = Response::new(full(text));
            res.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            Ok(res)
        }
        _ => Ok(not_found()),
    })
}

/// A comment line this often keeps proxies and clients from closing a quiet log stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `GET /admin/apps/{name}/logs?follow=1[&since=<ts_ms>][&level=<level>]`: the app's log lines as server-sent
/// events, each `id: <sequence number>` and `data: <the line as the JSON of GET …/logs>`, with a `: keep-alive`
/// comment every [`KEEP_ALIVE`].
async fn follow_logs(apps: &dyn AppControl, name: &str, query: &Query) -> RouteResult {
    let since =
        match query.single("since")? {
            None => None,
            Some(s) => Some(s.trim().parse::<i64>().map_err(|_| {
                ApiError::bad_request("since must be a time in epoch milliseconds")
            })?),
        };
    let lines = apps
        .follow_logs(name, since, query.single("level")?)
        .await?;
    // `None` marks the end of the lines: the keep-alive comments stop with them.
    let events = lines
        .map(|(seq, line)| Some(Bytes::from(format!("id: {seq}\ndata: {line}\n\n"))))
        .chain(futures::stream::once(async { None }));
    let start = tokio::time::Instant::now() + KEEP_ALIVE;
    let ticks = futures::stream::unfold(
        tokio::time::interval_at(start, KEEP_ALIVE),
        |mut every| async move {
            every.tick().await;
            Some((Some(Bytes::from_static(b": keep-alive\n\n")), every))
        },
    );
    let frames = futures::stream::select(events, ticks)
        .take_while(|frame| std::future::ready(frame.is_some()))
        .filter_map(|frame| std::future::ready(frame.map(|b| Ok::<_, BoxError>(Frame::data(b)))));
    let body = StreamBody::new(frames);
    let mut res = Response::new(body.boxed_unsync());
    let headers = res.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    Ok(res)
}
