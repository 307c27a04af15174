//! The routes that belong to no service: `GET /` in hyper's root shape and `GET /healthz`.

use super::body::Body;
use super::response::{json, not_found};
use crate::ports::Services;
use http::{Method, Response, StatusCode};
use serde_json::json;

/// `GET /`: `{ name, version, services }`, the discovery document hyper-connect's `info.services()` reads.
pub fn root(method: &Method, services: &Services) -> Response<Body> {
    if method != Method::GET && method != Method::HEAD {
        return not_found();
    }
    json(
        StatusCode::OK,
        &json!({
            "name": "nano",
            "version": env!("CARGO_PKG_VERSION"),
            "services": services.names(),
        }),
    )
}

/// `GET /healthz`: the process is up and serving.
pub fn healthz() -> Response<Body> {
    json(StatusCode::OK, &json!({ "ok": true, "status": "serving" }))
}
