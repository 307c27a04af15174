//! `BackendError`: the cause of a port's `Backend` failure, kept as the engine's own error so `source()` reaches it.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// Why the engine behind a port failed. It displays as its cause does, and `source()` returns the cause, so a log
/// can walk down to the engine's own error. Cheap to clone (the cause is shared); two are equal when they display
/// the same text, which is all a client ever sees of them.
#[derive(Clone)]
pub struct BackendError {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    /// The engine's error, displayed as it is.
    Cause(Arc<dyn Error + Send + Sync + 'static>),
    /// The engine's error after a few words of context: `{context}: {cause}`.
    Context(Arc<str>, Arc<dyn Error + Send + Sync + 'static>),
    /// A failure with no error value behind it.
    Message(Arc<str>),
}

impl BackendError {
    /// The failure `cause`, displayed as it is.
    pub fn new<E: Error + Send + Sync + 'static>(cause: E) -> Self {
        Self {
            repr: Repr::Cause(Arc::new(cause)),
        }
    }

    /// The failure `cause` already boxed (as some engines hand their errors out), displayed as it is.
    pub fn boxed(cause: Box<dyn Error + Send + Sync + 'static>) -> Self {
        Self {
            repr: Repr::Cause(Arc::from(cause)),
        }
    }

    /// The failure `cause`, displayed after `context` as `{context}: {cause}`.
    pub fn context<E: Error + Send + Sync + 'static>(context: impl Into<String>, cause: E) -> Self {
        Self {
            repr: Repr::Context(Arc::from(context.into()), Arc::new(cause)),
        }
    }

    /// A failure with no error value behind it, only a message; `source()` is then `None`.
    pub fn msg(message: impl Into<String>) -> Self {
        Self {
            repr: Repr::Message(Arc::from(message.into())),
        }
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cause(cause) => fmt::Display::fmt(cause, f),
            Repr::Context(context, cause) => write!(f, "{context}: {cause}"),
            Repr::Message(message) => f.write_str(message),
        }
    }
}

/// Shows the displayed text, as the `String` this type replaced did.
impl fmt::Debug for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string(), f)
    }
}

impl Error for BackendError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.repr {
            Repr::Cause(cause) | Repr::Context(_, cause) => {
                Some(&**cause as &(dyn Error + 'static))
            }
            Repr::Message(_) => None,
        }
    }
}

/// A store refused a write because its tenant was deleted (marked deleted in the registry, then purged): the
/// `Backend` failure it causes is a 404, not a 500.
#[derive(Debug, Clone)]
pub struct TenantDeleted(pub String);

impl fmt::Display for TenantDeleted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tenant {} was deleted", self.0)
    }
}

impl Error for TenantDeleted {}

impl BackendError {
    /// The kind of answer this failure gives: `NotFound` when its cause is a `TenantDeleted`, else `Backend`.
    pub fn kind(&self) -> crate::core::ErrorKind {
        let mut next: Option<&(dyn Error + 'static)> = self.source();
        while let Some(e) = next {
            if e.downcast_ref::<TenantDeleted>().is_some() {
                return crate::core::ErrorKind::NotFound;
            }
            next = e.source();
        }
        crate::core::ErrorKind::Backend
    }
}

impl PartialEq for BackendError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for BackendError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::StorageError;

    #[test]
    fn the_source_chain_reaches_the_engine_error() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "disk says no");
        let err = StorageError::Backend(BackendError::new(io));
        assert_eq!(err.to_string(), "storage backend failed: disk says no");
        let mut chain: Vec<&(dyn Error + 'static)> = Vec::new();
        let mut next = err.source();
        while let Some(e) = next {
            chain.push(e);
            next = e.source();
        }
        let found = chain
            .iter()
            .find_map(|e| e.downcast_ref::<std::io::Error>())
            .expect("the io::Error is in the chain");
        assert_eq!(found.kind(), std::io::ErrorKind::PermissionDenied);
        assert_eq!(found.to_string(), "disk says no");
    }

    #[test]
    fn context_and_messages_display_as_before() {
        let io = std::io::Error::other("refused");
        let with = BackendError::context("Redis at host:6379", io);
        assert_eq!(with.to_string(), "Redis at host:6379: refused");
        assert!(with.source().is_some());
        let plain = BackendError::msg("task was dropped");
        assert_eq!(plain.to_string(), "task was dropped");
        assert!(plain.source().is_none());
        assert_eq!(format!("{plain:?}"), "\"task was dropped\"");
        assert_eq!(plain.clone(), BackendError::msg("task was dropped"));
    }
}
