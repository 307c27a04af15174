//! Errors raised by the pure domain when input breaks one of its rules.

use thiserror::Error;

/// A rule of the domain that some input broke. The message names the input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CoreError {
    #[error("{kind} name is not valid: {reason}")]
    InvalidName { kind: &'static str, reason: String },
    #[error("ttl is not valid: {0}")]
    InvalidTtl(String),
}
