//! Dispatch: `/healthz`, `/`, then the services REST API for the tenant the request resolves to.
//! Every response gets hyper's CORS headers; every request gets one log line.

use super::body::Body;
use super::request::Query;
use super::response::{not_found, ApiError};
use super::root;
use super::tenancy::TenantResolver;
use crate::core::HostScope;
use crate::ports::Services;
use http::header::{HeaderValue, HOST};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use percent_encoding::percent_decode_str;
use std::sync::Arc;
use std::time::Instant;

/// Everything the HTTP adapter needs to answer requests.
pub struct HttpState {
    pub services: Services,
    pub tenants: TenantResolver,
}

/// A services request after tenant resolution: the scope, and the path below `/<service>`.
pub struct ServiceRequest {
    pub scope: HostScope,
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
    let (mut res, tenant) = if method == Method::OPTIONS {
        (preflight(), None)
    } else {
        dispatch(&state, req).await
    };
    add_common_headers(res.headers_mut());
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
    let host = req
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .map(str::to_string);
    let Some(resolved) = state.tenants.resolve(host.as_deref(), &raw).await else {
        return (not_found(), None);
    };
    let tenant = Some(resolved.scope.host().to_string());
    let raw = &raw[resolved.prefix_segments..];
    let Some((service, below)) = raw.split_first() else {
        return (not_found(), tenant);
    };
    let service = service.to_ascii_lowercase();
    let (parts, body) = req.into_parts();
    let service_req = ServiceRequest {
        scope: resolved.scope,
        method: parts.method,
        query: Query::parse(parts.uri.query()),
        headers: parts.headers,
        segments: decode_segments(below),
        rest: below
            .get(1..)
            .map(|r| decode(&r.join("/")))
            .unwrap_or_default(),
        body,
    };
    let result = route_service(&state.services, &service, service_req).await;
    (result.unwrap_or_else(ApiError::into_response), tenant)
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
        "queue" => match &services.queue {
            Some(queue) => super::queue::route(queue.as_ref(), req).await,
            None => Ok(not_found()),
        },
        _ => Ok(not_found()),
    }
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
