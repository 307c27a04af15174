//! Running nano: bind, serve, and stop gracefully on SIGTERM or SIGINT (or when a test asks).
//!
//! `start` binds the plain listener and, with `tls_listen`, an HTTPS listener beside it; both stop on the same signal.
//! `run` logs the start-up banner (apps and their URLs), and the apps are re-read every `WATCH_EVERY` (500 ms), and at
//! once on a registry notice; when the registry moved, cached tenant and key look-ups are dropped too. On
//! stop, the listeners drain first, then the hosted apps (`waitUntil` work), within the drain timeout.

use super::build::{App, BuildError};
use super::config::Config;
use crate::adapters::http::serve;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A nano serving in the background of this process.
pub struct Running {
    pub addr: SocketAddr,
    /// The HTTPS listener's address, when `tls_listen` is set.
    pub tls_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    done: Vec<tokio::task::JoinHandle<()>>,
    hosting: Arc<super::hosting::Hosting>,
    watcher: tokio::task::JoinHandle<()>,
    /// Fires the apps' cron triggers.
    crons: tokio::task::JoinHandle<()>,
    drain: Duration,
}

impl Running {
    /// Stops accepting, drains in-flight requests, and returns once the server is down.
    pub async fn stop(self) {
        self.watcher.abort();
        self.crons.abort();
        self.hosting.end_log_streams();
        let _ = self.stop.send(true);
        for done in self.done {
            let _ = done.await;
        }
        // Connections are closed; let `waitUntil` work and isolates wind down, within the drain timeout.
        let _ = tokio::time::timeout(self.drain, self.hosting.drain_all()).await;
    }

    /// The hosted apps (for the start-up banner and tests).
    pub fn hosting(&self) -> &Arc<super::hosting::Hosting> {
        &self.hosting
    }
}

/// How often the config file and app folders are checked for changes.
const WATCH_EVERY: Duration = Duration::from_millis(500);

/// Builds nano from `config`, binds its listener, and serves in the background.
pub async fn start(config: Config) -> Result<Running, BuildError> {
    let listen = config.listen;
    let drain = Duration::from_secs_f64(config.drain_timeout_secs);
    let limits = config.conn_limits();
    let tls = match (&config.tls_listen, &config.tls_cert, &config.tls_key) {
        (None, _, _) => None,
        (Some(addr), Some(cert), Some(key)) => Some((
            *addr,
            crate::adapters::http::tls::acceptor(cert, key).map_err(BuildError)?,
        )),
        (Some(_), _, _) => {
            return Err(BuildError(
                "tls_listen needs tls_cert and tls_key (PEM files)".into(),
            ))
        }
    };
    let app = App::build(config).await?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| BuildError(format!("cannot listen on {listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| BuildError(format!("listener address: {e}")))?;
    let state = Arc::new(app.http_state());
    let hosting = app.hosting.clone();
    // A tenant or key written through another node is looked up again as soon as this node sees the registry move.
    let cached = Arc::downgrade(&state);
    hosting.on_registry_change(move || {
        if let Some(state) = cached.upgrade() {
            state.tenants.forget_all();
            state.keys.forget_all();
        }
    });
    let watcher = hosting.watch(WATCH_EVERY);
    let crons =
        super::hosting::events::spawn_crons(hosting.clone(), app.claims.clone(), app.config.node());
    let (stop, stopped) = watch::channel(false);
    let until_stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let mut done = vec![tokio::spawn(serve(
        listener,
        None,
        state.clone(),
        limits,
        drain,
        until_stopped(stopped.clone()),
    ))];
    let mut tls_addr = None;
    if let Some((at, acceptor)) = tls {
        let listener = TcpListener::bind(at)
            .await
            .map_err(|e| BuildError(format!("cannot listen on {at}: {e}")))?;
        tls_addr = Some(
            listener
                .local_addr()
                .map_err(|e| BuildError(format!("listener address: {e}")))?,
        );
        done.push(tokio::spawn(serve(
            listener,
            Some(acceptor),
            state,
            limits,
            drain,
            until_stopped(stopped),
        )));
    }
    Ok(Running {
        addr,
        tls_addr,
        stop,
        done,
        hosting,
        watcher,
        crons,
        drain,
    })
}

/// Runs nano until SIGTERM or SIGINT, then drains and returns.
pub async fn run(config: Config) -> Result<(), BuildError> {
    let profile = config.profile;
    let data_dir = config.data_dir.clone();
    let running = start(config).await?;
    tracing::info!("nano listening on http://{}", running.addr);
    tracing::info!(
        profile = profile.as_str(),
        data_dir = %data_dir.display(),
        "profile {} with data in {}",
        profile.as_str(),
        data_dir.display()
    );
    if let Some(addr) = running.tls_addr {
        tracing::info!("nano listening on https://{addr}");
    }
    banner(&running).await;
    shutdown_signal().await;
    running.stop().await;
    tracing::info!("stopped");
    Ok(())
}

/// Logs the apps served, their URLs, and where the services API answers.
async fn banner(running: &Running) {
    let port = running.addr.port();
    let (apps, failed) = running.hosting.apps().await;
    for app in &apps {
        let urls: Vec<String> = app
            .config
            .hostnames
            .iter()
            .map(|h| format!("http://{h}:{port}/"))
            .collect();
        tracing::info!(
            app = app.config.name.as_str(),
            tenant = app.config.tenant.as_str(),
            "app {} at {}",
            app.config.name,
            urls.join(" ")
        );
    }
    for (name, e) in &failed {
        tracing::warn!(app = name.as_str(), "app {name} not loaded: {e}");
    }
    tracing::info!(
        apps = apps.len(),
        "services API at http://{}/ (admin API at /admin)",
        running.addr
    );
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
}
