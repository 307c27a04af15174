//! The pure domain: validated names, the host scope, limits, TTL parsing and core errors. No I/O.

pub mod app;
pub mod error;
pub mod limits;
pub mod names;
pub mod scope;
pub mod ttl;

pub use app::{check_env, AppSpec, EnvError, EnvValue};
pub use error::CoreError;
pub use limits::Limits;
pub use names::{AppName, DomainName, Hostname, TenantId};
pub use scope::HostScope;
