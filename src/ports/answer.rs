//! What a driving port answers (a service call, an admin action): `Reply` (a status and hyper's result body) or
//! `ApiError` (hyper's `{ ok: false, status, msg }`). Port errors become `ApiError` through their `ErrorKind`,
//! in one place.

use crate::core::HasKind;
use http::StatusCode;
use serde_json::{json, Value};

/// A successful call: the status REST answers with and hyper's result body (bindings return the body).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    pub fn new(status: StatusCode, body: Value) -> Self {
        Self { status, body }
    }

    /// `{ ok: true }` with the given status.
    pub fn ok(status: StatusCode) -> Self {
        Self::new(status, json!({ "ok": true }))
    }
}

/// What a service call returns.
pub type Answer = Result<Reply, ApiError>;

/// A failed call in hyper's shape: `{ ok: false, status, msg }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub msg: String,
}

impl ApiError {
    pub fn new(status: StatusCode, msg: impl Into<String>) -> Self {
        Self {
            status,
            msg: msg.into(),
        }
    }

    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, msg)
    }

    pub fn unprocessable(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, msg)
    }

    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, msg)
    }

    pub fn conflict(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, msg)
    }

    pub fn internal(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, msg)
    }

    /// hyper's error body.
    pub fn to_json(&self) -> Value {
        json!({ "ok": false, "status": self.status.as_u16(), "msg": self.msg })
    }
}

/// Every port and domain error maps by its kind; a backend failure is logged where it is turned into a 500.
impl<E: HasKind> From<E> for ApiError {
    fn from(e: E) -> Self {
        let kind = e.kind();
        if kind == crate::core::ErrorKind::Backend {
            tracing::error!(error = %e, "service backend failed");
        }
        let status =
            StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError::new(status, e.to_string())
    }
}
