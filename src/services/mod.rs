//! hyper's service rules, one home per service: each module checks names, keys, TTLs and bodies, calls its port
//! for one tenant and shapes hyper's result or error. REST (`adapters::http`) and app bindings
//! (`adapters::js::bindings`) are thin translators into these calls, so both give the same answers.

pub mod cache;
pub mod data;
pub mod kv;
pub mod queue;
pub mod r2;
pub mod response_cache;
pub mod search;
pub mod storage;

pub use crate::ports::answer::{Answer, ApiError, Reply};

pub use crate::core::mango::type_name;

/// hyper's 422 for an argument zod refuses: `Invalid Arguments '<field>': <why>.`
pub fn invalid(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::unprocessable(format!("Invalid Arguments '{field}': {why}."))
}
