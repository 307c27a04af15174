//! Building responses: JSON with hyper's content type, hyper's error shape, and the headers every response carries.

use super::body::{full, Body};
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};
use serde_json::{json, Value};

pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// A JSON response. hyper-connect rejects responses without a JSON content type, so every route uses this.
pub fn json(status: StatusCode, value: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut res = Response::new(full(bytes));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
    res
}

/// `{ ok: true }` with the given status.
pub fn ok(status: StatusCode) -> Response<Body> {
    json(status, &json!({ "ok": true }))
}

/// hyper's fallback: `404 { ok: false, msg: "not found!" }` (no `status` field, as hyper sends it).
pub fn not_found() -> Response<Body> {
    json(
        StatusCode::NOT_FOUND,
        &json!({ "ok": false, "msg": "not found!" }),
    )
}

pub use crate::services::{ApiError, Reply};

impl ApiError {
    pub fn into_response(self) -> Response<Body> {
        json(self.status, &self.to_json())
    }
}

/// A service's reply as a JSON response.
pub fn reply(r: Reply) -> Response<Body> {
    json(r.status, &r.body)
}

/// What a route returns: a response, or an error to render in hyper's shape.
pub type RouteResult = Result<Response<Body>, ApiError>;
