//! The pure domain: validated names, the tenant scope, limits, TTL parsing, cron expressions, the Mango query model,
//! document ids and core errors. No I/O.

pub mod app;
pub mod clock;
pub mod cron;
pub mod docid;
pub mod error;
pub mod http_cache;
pub mod js_json;
pub mod jwt;
pub mod keys;
pub mod limits;
pub mod load_hints;
pub mod mango;
pub mod names;
pub mod nul;
pub mod outbound;
pub mod routing;
pub mod scope;
pub mod search_text;
pub mod signing;
pub mod trace;
pub mod ttl;

pub use app::{check_env, AppSpec, BindingSpec, EnvError, EnvValue, ServiceKind};
pub use cron::{Cron, CronError};
pub use error::{CoreError, ErrorKind, HasKind};
pub use limits::Limits;
pub use names::{AppName, DomainName, Hostname, TenantId};
pub use scope::TenantScope;
