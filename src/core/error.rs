//! Errors of the domain: `CoreError` for input that breaks a rule, and `ErrorKind`, the one classification every
//! service and port error carries, with the one table from kind to HTTP status.

use thiserror::Error;

/// A rule of the domain that some input broke. The message names the input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CoreError {
    #[error("{kind} name is not valid: {reason}")]
    InvalidName { kind: &'static str, reason: String },
    #[error("ttl is not valid: {0}")]
    InvalidTtl(String),
}

/// What kind of failure an error is. Every port error says its kind (`HasKind`); the status a client sees, over
/// REST or through an app binding, comes from `status` and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Input that cannot be read at all: a bad name, a malformed document or query (400).
    Malformed,
    /// Well-formed input that breaks one of the service's rules, in hyper's zod wording (422).
    Invalid,
    /// A signature or credential that does not hold (403).
    Forbidden,
    /// The named thing does not exist for this tenant (404).
    NotFound,
    /// The named thing exists already, or clashes with what is stored (409).
    Conflict,
    /// A byte range outside the object (416).
    RangeNotSatisfiable,
    /// A write that would take the tenant over one of its quotas (429).
    Quota,
    /// The engine behind the port failed (500).
    Backend,
    /// The engine behind the port did not answer in time, even after retries (503).
    Unavailable,
}

impl ErrorKind {
    /// The HTTP status of this kind of failure: hyper's codes.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::Malformed => 400,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::RangeNotSatisfiable => 416,
            ErrorKind::Invalid => 422,
            ErrorKind::Quota => 429,
            ErrorKind::Backend => 500,
            ErrorKind::Unavailable => 503,
        }
    }
}

/// An error that knows its kind.
pub trait HasKind: std::error::Error {
    fn kind(&self) -> ErrorKind;
}

impl HasKind for CoreError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Malformed
    }
}
