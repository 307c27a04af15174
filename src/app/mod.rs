//! The composition root: configuration, profiles, building the adapters for a profile, and running until stopped.
//! The only module that names concrete adapters.

pub mod app_logs;
mod apps;
mod bootstrap;
mod build;
pub mod config;
pub mod discover;
pub mod engines;
pub mod hosting;
mod hosting_admin;
pub mod hosting_events;
mod logging;
pub mod queue_delivery;
pub mod quota;
pub mod repl;
mod run;

pub use build::App;
pub use config::{AppConfig, Config, ConfigError, Profile};
pub use logging::init_logging;
pub use run::{run, start, Running};
