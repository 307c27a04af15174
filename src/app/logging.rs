//! The process log: `tracing` with human-readable lines in dev and JSON lines in prod.

use super::config::{Config, LogFormat};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber for `config` (once; later calls keep the first).
pub fn init_logging(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}
