//! Dispatch: `/healthz`, `/`, then the services REST API for the tenant the request resolves to.
//! Every response gets hyper's CORS headers; every request gets one log line.

use super::admin::{unauthorized, Admin};
use super::auth::Keys;
use super::body::Body;
use super::request::Query;
use super::response::{not_found, ApiError};
use super::root;
use super::tenancy::TenantResolver;
use crate::core::trace::TraceContext;
use crate::core::TenantScope;
use crate::ports::Services;
use http::header::{HeaderValue, AUTHORIZATION, HOST};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use percent_encoding::percent_decode_str;
use std::sync::Arc;
use std::time::Instant;

/// Everything the HTTP adapter needs to answer requests.
pub struct HttpState {
    pub services: Services,
    pub tenants: TenantResolver,
    pub keys: Keys,
    pub admin: Admin,
    /// Whether services requests need a valid key of the addressed tenant.
    pub auth: bool,
    /// Hosted JS apps; a request whose Host maps to one goes to it before anything else.
    pub apps: Option<Arc<super::apps::AppRoutes>>,
    /// Hosts that map to no app and are not `services_hosts`, an IP address or `localhost`: 404 when set.
    pub unknown_host_404: bool,
    /// Hosts (exact or `*.` wildcard) that reach the services API even when unknown hosts get 404.
    pub services_hosts: crate::core::routing::HostnameTable<()>,
    /// Whether responses name the tenant that answered in `X-Tenant-Host`.
    pub tenant_header: bool,
    /// Per-tenant request-rate quotas.
    pub rates: super::quota::RateQuotas,
    /// Where the span of each services request goes, when spans are exported.
    pub telemetry: Option<Arc<dyn crate::ports::Telemetry>>,
}

/// A services request after tenant resolution: the scope, and the path below `/<service>`.
pub struct ServiceRequest {
    pub scope: TenantScope,
    pub method: Method,
    pub headers: HeaderMap,
    pub query: Query,
    /// Percent-decoded segments after `/<service>`: `["movies", "id-1"]` for `/data/movies/id-1`.
    /// A trailing slash is ignored, as Express ignores it.
    pub segments: Vec<String>,
    /// The percent-decoded path after `/<service>/<domain>/`, for storage's `*` wildcard: may be empty
    /// or start with `/` (`POST /storage/b//x.png` gives `/x.png`).
    pub rest: String,
    pub body: Incoming,
}

/// Answers one request. Never fails: errors become hyper-shaped JSON responses.
pub async fn handle(state: Arc<HttpState>, req: Request<Incoming>) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if req.headers().get_all(HOST).iter().nth(1).is_some() {
        let mut res =
            ApiError::bad_request("the request has more than one Host header").into_response();
        add_common_headers(res.headers_mut());
        tracing::info!(target: "nano::request", method = %method, path = %path, status = 400, "two Host headers");
        return res;
    }
    let host = request_host(&req);
    if let (Some(apps), Some(host)) = (&state.apps, host.as_deref()) {
        if let Some(app) = apps.lookup(host) {
            let mut res = match state.rates.admit(&app.tenant).await {
                Ok(()) => apps.serve(&app, host, req).await,
                Err(e) => e.into_response(),
            };
            if state.tenant_header {
                tenant_header(&mut res, &app.tenant);
            }
            tracing::info!(
                target: "nano::request",
                method = %method,
                path = %path,
                status = res.status().as_u16(),
                latency_us = started.elapsed().as_micros() as u64,
                tenant = app.tenant.as_str(),
                app = app.name.as_str(),
            );
            return res;
        }
    }
    if state.unknown_host_404 && !reaches_services(&state.services_hosts, host.as_deref()) {
        let res = super::response::json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({ "ok": false, "status": 404, "msg": "no app is hosted at this hostname" }),
        );
        tracing::info!(
            target: "nano::request",
            method = %method,
            path = %path,
            status = 404,
            latency_us = started.elapsed().as_micros() as u64,
            host = host.as_deref().unwrap_or("-"),
            "unknown host"
        );
        return res;
    }
    let traced = state.telemetry.as_ref().map(|telemetry| {
        let parent = req
            .headers()
            .get(crate::core::trace::TRACEPARENT)
            .and_then(|v| v.to_str().ok())
            .and_then(TraceContext::parse);
        (telemetry, parent, crate::core::clock::now_nanos())
    });
    let (mut res, tenant) = if method == Method::OPTIONS {
        (preflight(), None)
    } else {
        dispatch(&state, req).await
    };
    if let (Some((telemetry, parent, start_nanos)), Some(tenant)) = (traced, tenant.as_deref()) {
        telemetry.span(service_span(
            &method,
            &path,
            tenant,
            res.status(),
            parent,
            start_nanos,
        ));
    }
    add_common_headers(res.headers_mut());
    if is_admin_path(&path) {
        drop_cors(res.headers_mut());
    }
    if let (true, Some(t)) = (state.tenant_header, tenant.as_deref()) {
        tenant_header(&mut res, t);
    }
    tracing::info!(
        target: "nano::request",
        method = %method,
        path = %path,
        status = res.status().as_u16(),
        latency_us = started.elapsed().as_micros() as u64,
        tenant = tenant.as_deref().unwrap_or("-"),
    );
    res
}

async fn dispatch(state: &HttpState, req: Request<Incoming>) -> (Response<Body>, Option<String>) {
    let path = req.uri().path().to_string();
    let raw: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match raw.as_slice() {
        [""] => return (root::root(req.method(), &state.services), None),
        ["healthz"] => return (root::healthz(), None),
        _ => {}
    }
    if let ["admin", rest @ ..] = raw.as_slice() {
        let segments = decode_segments(rest);
        let res = state
            .admin
            .handle(&state.keys, &state.tenants, req, &segments)
            .await;
        return (res.unwrap_or_else(ApiError::into_response), None);
    }
    let host = request_host(&req);
    let named = state.tenants.resolve(host.as_deref(), &raw).await;
    let query = Query::parse(req.uri().query());
    let signed = named.as_ref().is_some_and(|n| {
        !n.from_default && is_signed_storage_url(&raw[n.prefix_segments..], req.method(), &query)
    });
    let resolved = if state.auth && !signed {
        let authorization = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let key = match state.keys.verify(authorization).await {
            Ok(key) => key,
            Err(why) => {
                tracing::debug!(reason = %why, "services request refused");
                return (unauthorized(), None);
            }
        };
        let resolved = match named {
            Some(r) if !r.from_default => r,
            _ => state.tenants.scope_of_key(&key.tenant),
        };
        if resolved.scope.tenant() != &key.tenant
            || !grant_allows(&key, &raw[resolved.prefix_segments..], req.method())
        {
            tracing::debug!(key = %key.id, "key does not grant this request");
            return (unauthorized(), Some(resolved.scope.as_str().to_string()));
        }
        resolved
    } else {
        let Some(resolved) = named else {
            return (not_found(), None);
        };
        resolved
    };
    let tenant = Some(resolved.scope.as_str().to_string());
    let raw = &raw[resolved.prefix_segments..];
    let Some((service, below)) = raw.split_first() else {
        return (not_found(), tenant);
    };
    let service = service.to_ascii_lowercase();
    let segments = decode_segments(below);
    let rest = rest_below_domain(below);
    if segments.iter().any(|s| crate::core::nul::has_nul(s)) {
        return (
            ApiError::bad_request(crate::core::nul::NUL_REFUSED).into_response(),
            tenant,
        );
    }
    let (parts, body) = req.into_parts();
    let service_req = ServiceRequest {
        scope: resolved.scope,
        method: parts.method,
        query,
        headers: parts.headers,
        segments,
        rest,
        body,
    };
    if let Err(e) = state.rates.admit(service_req.scope.as_str()).await {
        return (e.into_response(), tenant);
    }
    let result = route_service(&state.services, &service, service_req).await;
    (result.unwrap_or_else(ApiError::into_response), tenant)
}

/// `X-Tenant-Host: <tenant>`, except on refusals (which never confirm a tenant to a caller without access).
fn tenant_header(res: &mut Response<Body>, tenant: &str) {
    let status = res.status();
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return;
    }
    if let Ok(v) = http::HeaderValue::from_str(tenant) {
        res.headers_mut().insert("x-tenant-host", v);
    }
}

/// Whether a Host no app claims may reach the services API when unknown hosts get 404: no Host, an IP address,
/// `localhost` (and `*.localhost`), or one of `services_hosts`.
fn reaches_services(
    services_hosts: &crate::core::routing::HostnameTable<()>,
    host: Option<&str>,
) -> bool {
    let Some(host) = host else { return true };
    let name = crate::core::names::strip_port(host)
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    name.parse::<std::net::IpAddr>().is_ok()
        || name == "localhost"
        || name.ends_with(".localhost")
        || services_hosts.lookup(host).is_some()
}

fn request_host(req: &Request<Incoming>) -> Option<String> {
    req.headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .map(str::to_string)
}

/// The span of one services request of `tenant`, ended now, named after its method and service.
fn service_span(
    method: &Method,
    path: &str,
    tenant: &str,
    status: StatusCode,
    parent: Option<TraceContext>,
    start_nanos: u64,
) -> crate::core::trace::Span {
    use crate::core::trace::{AttrValue, Span, SpanKind};
    let service = path
        .split('/')
        .find(|s| matches!(*s, "data" | "cache" | "storage" | "search" | "queue"))
        .unwrap_or("services");
    Span {
        context: parent.map_or_else(TraceContext::root, |p| p.child()),
        parent_span_id: parent.map(|p| p.span_id),
        name: format!("{method} {service}"),
        kind: SpanKind::Server,
        start_nanos,
        end_nanos: crate::core::clock::now_nanos(),
        attributes: vec![
            ("nano.tenant", AttrValue::Str(tenant.to_string())),
            ("nano.service", AttrValue::Str(service.to_string())),
            ("url.path", AttrValue::Str(path.to_string())),
            (
                "http.response.status_code",
                AttrValue::Int(status.as_u16().into()),
            ),
        ],
        error: status.is_server_error(),
    }
}

/// Sends a services request to its service's routes; unknown or disabled services get hyper's 404.
async fn route_service(
    services: &Services,
    service: &str,
    req: ServiceRequest,
) -> Result<Response<Body>, ApiError> {
    match service {
        "cache" => match &services.cache {
            Some(cache) => super::cache::route(cache.as_ref(), req).await,
            None => Ok(not_found()),
        },
        "data" => match &services.data {
            Some(store) => super::data::route(store.as_ref(), req).await,
            None => Ok(not_found()),
        },
        "storage" => match &services.storage {
            Some(storage) => super::storage::route(storage.as_ref(), req).await,
            None => Ok(not_found()),
        },
        "search" => match &services.search {
            Some(search) => super::search::route(search.as_ref(), req).await,
            None => Ok(not_found()),
        },
        "queue" => match &services.queue {
            Some(queue) => super::queue::route(queue.as_ref(), req).await,
            None => Ok(not_found()),
        },
        _ => Ok(not_found()),
    }
}

/// Whether a key's grant covers this services path (`[service, domain, ...]`) and method.
fn grant_allows(key: &crate::ports::ApiKey, path: &[&str], method: &Method) -> bool {
    let service = path
        .first()
        .map(|s| s.to_ascii_lowercase())
        .unwrap_or_default();
    let domain = path.get(1).filter(|d| !d.is_empty()).map(|d| decode(d));
    let is_query = path.last().is_some_and(|last| *last == "_query");
    key.grant
        .allows(&service, domain.as_deref(), method.as_str(), is_query)
}

/// A storage object request carrying a signed URL's `signature`: the signature, which the storage routes verify
/// against the tenant the path or Host names, authorizes it instead of a bearer token. The storage routes send the
/// very same requests (`storage::is_signed_object`) to signature verification and nothing else, so a signature
/// never authorizes a bucket route, another method or another object.
fn is_signed_storage_url(below_tenant: &[&str], method: &Method, query: &Query) -> bool {
    match below_tenant.split_first() {
        Some((service, below)) if service.eq_ignore_ascii_case("storage") => {
            super::storage::is_signed_object(method, &rest_below_domain(below), query)
        }
        _ => false,
    }
}

/// The percent-decoded path after `<domain>/` of the raw segments below `/<service>`.
fn rest_below_domain(below: &[&str]) -> String {
    below
        .get(1..)
        .map(|r| decode(&r.join("/")))
        .unwrap_or_default()
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

fn decode_segments(raw: &[&str]) -> Vec<String> {
    let trimmed = match raw {
        [init @ .., ""] => init,
        all => all,
    };
    trimmed.iter().map(|s| decode(s)).collect()
}

fn preflight() -> Response<Body> {
    let mut res = Response::new(super::body::empty());
    *res.status_mut() = StatusCode::NO_CONTENT;
    res.headers_mut().insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET,HEAD,PUT,PATCH,POST,DELETE"),
    );
    res
}

/// The admin API and console: never shared with other origins, so they carry no CORS grant (a page elsewhere
/// cannot read an admin answer even with a token it got hold of); the services keep hyper's open CORS.
fn is_admin_path(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/")
}

fn drop_cors(headers: &mut HeaderMap) {
    headers.remove("access-control-allow-origin");
    headers.remove("access-control-allow-credentials");
    headers.remove("access-control-allow-methods");
}

fn add_common_headers(headers: &mut HeaderMap) {
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-allow-credentials",
        HeaderValue::from_static("true"),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
}

#[cfg(test)]
mod tests {
    use super::decode_segments;

    #[test]
    fn segments_drop_one_trailing_slash_and_decode() {
        assert_eq!(decode_segments(&["test", ""]), vec!["test"]);
        assert_eq!(decode_segments(&["test", "a%2Fb"]), vec!["test", "a/b"]);
        assert_eq!(decode_segments(&["test", "", "x"]), vec!["test", "", "x"]);
    }
}
