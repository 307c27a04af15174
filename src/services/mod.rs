//! hyper's service rules, one home per service: each module checks names, keys, TTLs and bodies, calls its port
//! for one tenant and shapes hyper's result or error. REST (`adapters::http`) and app bindings
//! (`adapters::js::bindings`) are thin translators into these calls, so both give the same answers.

pub mod cache;
pub mod data;
pub mod queue;
pub mod search;
pub mod storage;

pub use crate::ports::answer::{Answer, ApiError, Reply};

use serde_json::Value;

/// zod's name for a JSON value's type, for "Expected object, received <type>".
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// hyper's 422 for an argument zod refuses: `Invalid Arguments '<field>': <why>.`
pub fn invalid(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::unprocessable(format!("Invalid Arguments '{field}': {why}."))
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
