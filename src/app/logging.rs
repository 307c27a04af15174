//! The process log: `tracing` with human-readable lines in dev and JSON lines in prod, plus each app's recent lines.

use super::config::{Config, LogFormat};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Installs the global subscriber for `config` (once; later calls keep the first).
pub fn init_logging(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match config.log_format {
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
        LogFormat::Pretty => fmt.compact().boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(
            super::app_logs::AppLogLayer.with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target("nano::app", tracing::Level::DEBUG),
            ),
        )
        .try_init();
}
