//! The application: its composition root and the application services the root wires. The only module that
//! names concrete adapters.
//!
//! Composition root: `config.rs` (configuration and profiles), `build.rs` (a profile's adapters behind the ports),
//! `engines.rs` (one runtime per JS engine), `bootstrap.rs` (hyper-nano's start-up flags), `run.rs` (serve until
//! stopped), `logging.rs`, `repl.rs` and `new.rs` (`nano new`, app folders from templates).
//!
//! Application services: `hosting/` (the hosted apps' lifecycle, admin view, events and logs), `queue_delivery.rs`
//! (jobs to their targets), `quota/` (per-tenant quotas as decorators of the service ports) and `deleted_tenants.rs`
//! (storage writes undone when they land after their tenant's deletion).

mod bootstrap;
mod build;
pub mod config;
pub mod engines;
mod logging;
pub mod new;
pub mod repl;
mod run;
pub mod tail;

pub mod deleted_tenants;
pub mod hosting;
pub mod queue_delivery;
pub mod quota;

pub use build::App;
pub use config::{AppConfig, Config, ConfigError, Profile};
pub use logging::init_logging;
pub use run::{run, start, Running};
