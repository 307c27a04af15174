//! Requests whose Host maps to an app: the Host -> app table (swapped atomically on reload), static assets before
//! code, and the bridge between hyper bodies and the runtime port.

use super::body::{Body, BoxError};
use crate::core::clock::now_nanos;
use crate::core::outbound;
use crate::core::routing::HostnameTable;
use crate::core::trace::{AttrValue, Served, Span, SpanKind, TraceContext, TRACEPARENT};
use crate::core::{AppName, Hostname};
use crate::ports::{AppAssets, AppRuntime, BodyError, RuntimeError, Telemetry};
use futures::{StreamExt, TryStreamExt};
use http::{Request, Response};
use http_body_util::{BodyExt, BodyStream, StreamBody};
use hyper::body::{Frame, Incoming};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Instant;

/// Upper bounds (seconds) of the request latency histogram's buckets.
pub const LATENCY_BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// One app's request latencies: counts per bucket (not cumulative), total count and sum in seconds, and how many
/// of those requests got a 5xx answer.
#[derive(Debug, Clone, Default)]
pub struct Latency {
    pub buckets: [u64; LATENCY_BUCKETS.len()],
    pub count: u64,
    pub sum_secs: f64,
    pub server_errors: u64,
}

/// One Host route: a hostname (exact or `*.` wildcard), the app it reaches, and the app's tenant.
pub type AppRoute = (Hostname, AppName, String);

/// What a Host routes to: an app, its tenant, whether it has code, and its static assets.
#[derive(Clone)]
pub struct HostedApp {
    pub name: AppName,
    pub tenant: String,
    /// False for an app made only of static assets: requests no asset answers get 404.
    pub code: bool,
    /// Files served for GET and HEAD before the app's code runs.
    pub assets: Option<Arc<dyn AppAssets>>,
    /// Why the app failed to load, when no version of it serves: its hostnames answer 503 with this.
    pub load_error: Option<String>,
}

impl std::fmt::Debug for HostedApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostedApp")
            .field("name", &self.name)
            .field("tenant", &self.tenant)
            .field("code", &self.code)
            .field("assets", &self.assets.is_some())
            .finish()
    }
}

/// The routing table requests read: replaced whole (never edited in place) so a reload is one pointer swap.
pub type RouteTable = HostnameTable<Arc<HostedApp>>;

/// The apps nano hosts, by hostname, and the runtime that runs them.
pub struct AppRoutes {
    runtime: Arc<dyn AppRuntime>,
    /// Whether an app's uncaught exception is shown to the client (dev) or only logged, the client getting a
    /// generic 500 with a request id (prod: an app's error text may hold secrets or internals).
    expose_errors: bool,
    table: RwLock<Arc<RouteTable>>,
    latency: Mutex<HashMap<String, Latency>>,
    /// Where each request's span goes, when spans are exported (set once at start).
    telemetry: OnceLock<Arc<dyn Telemetry>>,
}

impl AppRoutes {
    /// `routes` gives each hostname (exact or `*.` wildcard) its app and the app's tenant.
    pub fn new(runtime: Arc<dyn AppRuntime>, routes: Vec<AppRoute>, expose_errors: bool) -> Self {
        let hosts = Self {
            runtime,
            expose_errors,
            table: RwLock::new(Arc::new(HostnameTable::new())),
            latency: Mutex::new(HashMap::new()),
            telemetry: OnceLock::new(),
        };
        let mut table = HostnameTable::new();
        for (host, name, tenant) in routes {
            let app = Arc::new(HostedApp {
                name,
                tenant,
                code: true,
                assets: None,
                load_error: None,
            });
            table.insert(&host, app);
        }
        hosts.swap(table);
        hosts
    }

    /// Exports a span of every request from now on, a child of the request's `traceparent` when it has one; the
    /// app's fetches and console records belong to that span.
    pub fn set_telemetry(&self, telemetry: Arc<dyn Telemetry>) {
        let _ = self.telemetry.set(telemetry);
    }

    pub fn runtime(&self) -> &Arc<dyn AppRuntime> {
        &self.runtime
    }

    /// Replaces the routing table: requests that already looked up their app keep it.
    pub fn swap(&self, table: RouteTable) {
        let table = Arc::new(table);
        match self.table.write() {
            Ok(mut t) => *t = table,
            Err(poisoned) => *poisoned.into_inner() = table,
        }
    }

    /// The current routing table.
    pub fn table(&self) -> Arc<RouteTable> {
        match self.table.read() {
            Ok(t) => t.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The app a Host header maps to: exact names first, then the most specific wildcard; the port is ignored.
    pub fn lookup(&self, host: &str) -> Option<Arc<HostedApp>> {
        self.table().lookup(host).cloned()
    }

    /// Answers a request for `app`: a static asset when one matches a GET or HEAD, else the app's code.
    pub async fn serve(
        &self,
        app: &HostedApp,
        host: &str,
        mut req: Request<Incoming>,
    ) -> Response<Body> {
        let started = Instant::now();
        let traced = self.telemetry.get().map(|telemetry| {
            let parent = req
                .headers()
                .get(TRACEPARENT)
                .and_then(|v| v.to_str().ok())
                .and_then(TraceContext::parse);
            let context = parent.map_or_else(TraceContext::root, |p| p.child());
            req.extensions_mut().insert(context);
            let name = format!("{} {}", req.method(), app.name);
            (telemetry, context, parent, name, now_nanos())
        });
        let res = self.serve_timed(app, host, req).await;
        if let Some((telemetry, context, parent, name, start_nanos)) = traced {
            telemetry.span(request_span(app, &res, context, parent, name, start_nanos));
        }
        let secs = started.elapsed().as_secs_f64();
        let mut latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let l = match latency.get_mut(app.name.as_str()) {
            Some(l) => l,
            None => latency.entry(app.name.as_str().to_string()).or_default(),
        };
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| secs <= *b) {
            l.buckets[i] += 1;
        }
        l.count += 1;
        l.sum_secs += secs;
        if res.status().is_server_error() {
            l.server_errors += 1;
        }
        res
    }

    /// Request latencies per app name since start.
    pub fn latencies(&self) -> HashMap<String, Latency> {
        self.latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    async fn serve_timed(
        &self,
        app: &HostedApp,
        host: &str,
        req: Request<Incoming>,
    ) -> Response<Body> {
        let hops = outbound::hops(
            req.headers()
                .get(outbound::HOPS_HEADER)
                .and_then(|v| v.to_str().ok()),
        );
        if hops >= outbound::MAX_HOPS {
            return super::response::ApiError::new(
                http::StatusCode::LOOP_DETECTED,
                format!(
                    "the request chain is {hops} hops deep (apps calling apps); at most {} are allowed",
                    outbound::MAX_HOPS
                ),
            )
            .into_response();
        }
        if let Some(error) = &app.load_error {
            let head = format!("app {} failed to load", app.name);
            let reason = error
                .strip_prefix(&format!("{head}: "))
                .unwrap_or(error)
                .trim_end();
            let msg = match self.expose_errors {
                true => format!("{head}: {reason}"),
                false => head,
            };
            return super::response::ApiError::new(http::StatusCode::SERVICE_UNAVAILABLE, msg)
                .into_response();
        }
        if let Some(assets) = &app.assets {
            if let Some(res) = super::assets::serve(assets.as_ref(), host, &req).await {
                return res;
            }
        }
        if !app.code {
            return super::response::not_found();
        }
        self.run(&app.name, host, req).await
    }

    /// Runs the request on the app; limit and load errors become `{ ok:false, status, msg, limit }` JSON.
    async fn run(&self, app: &AppName, host: &str, mut req: Request<Incoming>) -> Response<Body> {
        let upgrade = super::websocket::take_upgrade(&mut req);
        let (mut parts, body) = req.into_parts();
        // The app sees the whole URL: its path and query as received, on `http://` and the Host it was reached by (the
        // URI stays as received where the Host is no URL authority).
        if let Ok(authority) = http::uri::Authority::try_from(host) {
            let mut uri = parts.uri.clone().into_parts();
            uri.scheme = Some(http::uri::Scheme::HTTP);
            uri.authority = Some(authority);
            if uri.path_and_query.is_none() {
                uri.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
            }
            if let Ok(whole) = http::Uri::from_parts(uri) {
                parts.uri = whole;
            }
        }
        let body = BodyStream::new(body)
            .try_filter_map(|frame| async move { Ok(frame.into_data().ok()) })
            .map_err(|e| BodyError(e.to_string()));
        let req = Request::from_parts(parts, crate::ports::Body::from_stream(body));
        let res = match self.runtime.dispatch(app, req).await {
            Ok(res) => res,
            Err(e @ RuntimeError::Exception(_)) if !self.expose_errors => hidden_exception(app, &e),
            Err(e) => {
                let mut res = e.to_response();
                if let Some(limit) = e.limit() {
                    res.extensions_mut().insert(limit);
                }
                res
            }
        };
        to_hyper(super::websocket::finish(upgrade, res)).await
    }
}

/// The span of one request to `app`, ended now: its tenant, app, version, status, CPU time and the limit it hit.
fn request_span(
    app: &HostedApp,
    res: &Response<Body>,
    context: TraceContext,
    parent: Option<TraceContext>,
    name: String,
    start_nanos: u64,
) -> Span {
    let status = res.status().as_u16();
    let mut attributes = vec![
        ("nano.tenant", AttrValue::Str(app.tenant.clone())),
        ("nano.app", AttrValue::Str(app.name.as_str().to_string())),
        ("http.response.status_code", AttrValue::Int(status.into())),
    ];
    if let Some(served) = res.extensions().get::<Served>() {
        attributes.push((
            "nano.version",
            AttrValue::Str(format!("{:x}", served.version)),
        ));
        attributes.push((
            "nano.cpu_ms",
            AttrValue::Float(served.cpu_micros as f64 / 1000.0),
        ));
    }
    if let Some(limit) = res.extensions().get::<crate::ports::Limit>() {
        attributes.push(("nano.limit", AttrValue::Str(limit.as_str().to_string())));
    }
    Span {
        context,
        parent_span_id: parent.map(|p| p.span_id),
        name,
        kind: SpanKind::Server,
        start_nanos,
        end_nanos: now_nanos(),
        attributes,
        error: status >= 500,
    }
}

/// The client's answer to an app's uncaught exception when errors are not exposed: a generic 500 naming a request
/// id, the id also in `X-Request-Id`; the exception goes to the log under the same id.
fn hidden_exception(app: &AppName, e: &RuntimeError) -> Response<crate::ports::Body> {
    let id = hex::encode(rand::random::<[u8; 8]>());
    tracing::error!(target: "nano::app", app = app.as_str(), request_id = %id, error = %e, "uncaught exception");
    let body = serde_json::json!({
        "ok": false,
        "status": 500,
        "msg": format!("the app failed to answer (request id {id})"),
        "requestId": id,
    });
    let mut res = Response::new(crate::ports::Body::from_bytes(body.to_string()));
    *res.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    let h = res.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = http::HeaderValue::from_str(&id) {
        h.insert("x-request-id", v);
    }
    res
}

/// A response of a port (runtime, assets) as hyper sends it: in-memory bodies whole, streams as they come.
pub async fn to_hyper(res: Response<crate::ports::Body>) -> Response<Body> {
    let (parts, body) = res.into_parts();
    if body.known_len().is_some() {
        // In memory already: send it whole, so hyper can give it a Content-Length.
        let bytes = body.collect().await.unwrap_or_default();
        return Response::from_parts(parts, super::body::full(bytes));
    }
    // The body first yields once, so hyper sends the head before it polls the stream: a stream that fails at once
    // (its isolate stopped by a limit after handing the response over) still gives the client a status line, not a
    // connection closed with nothing on it.
    let head_first =
        futures::stream::once(tokio::task::yield_now()).filter_map(|()| async { None });
    let stream = head_first.chain(
        body.into_stream()
            .map_ok(Frame::data)
            .map_err(|e| Box::new(e) as BoxError),
    );
    Response::from_parts(parts, StreamBody::new(stream.boxed()).boxed_unsync())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A streamed response whose body fails before its first chunk (its isolate was stopped in between) still gives
    /// the client its status line before the connection closes.
    #[tokio::test]
    async fn a_stream_failing_at_once_still_sends_the_head() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let service = hyper::service::service_fn(|_req| async {
                let failed = futures::stream::iter([Err(BodyError("the isolate stopped".into()))]);
                let res = Response::new(crate::ports::Body::from_stream(failed));
                Ok::<_, std::convert::Infallible>(to_hyper(res).await)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
            .await
            .unwrap();
        let mut got = Vec::new();
        let _ = client.read_to_end(&mut got).await;
        assert!(
            got.starts_with(b"HTTP/1.1 200"),
            "the client got {:?}",
            String::from_utf8_lossy(&got)
        );
    }
}
