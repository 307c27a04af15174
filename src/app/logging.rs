//! The process log: `tracing` with human-readable lines in dev and JSON lines in prod, plus each app's recent lines.

use super::config::{Config, LogFormat};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Installs the global subscriber for `config` (once; later calls keep the first). One global filter (`log_level`)
/// serves both layers: per-layer filters lost events here (a pending per-layer filter state left by a dependency's
/// `enabled` check silenced the next event on that thread), so each app's ring buffer keeps what the process log
/// keeps.
pub fn init_logging(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a terminal, and never with `NO_COLOR` set: a log in a file or a pipe stays plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let fmt = match config.log_format {
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
        LogFormat::Pretty => fmt.compact().boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(super::hosting::logs::AppLogLayer)
        .try_init();
}
