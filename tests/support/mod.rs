//! Test support shared by the test binaries: a real nano on a loopback port in a temp dir, and fresh names.
#![allow(dead_code)]

use nano::app::{self, Config, Profile, Running};
use std::net::SocketAddr;
use tempfile::TempDir;

/// A nano serving on 127.0.0.1:<random port> with its data in a temp dir that lives as long as this value.
pub struct TestNano {
    pub addr: SocketAddr,
    pub dir: TempDir,
    running: Option<Running>,
}

impl TestNano {
    /// Starts the dev profile with its defaults; `adjust` may change the config first.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::defaults(Profile::Dev);
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.data_dir = dir.path().to_path_buf();
        config.drain_timeout_secs = 5.0;
        adjust(&mut config);
        let running = app::start(config).await.expect("nano starts");
        Self {
            addr: running.addr,
            dir,
            running: Some(running),
        }
    }

    /// Starts the prod profile on the test PostgreSQL (a fresh schema) and Redis (a fresh key prefix); `adjust` may
    /// change the config first.
    pub async fn start_prod(adjust: impl FnOnce(&mut Config)) -> Self {
        let schema = fresh_name("nt").replace('-', "_");
        let prefix = fresh_name("np");
        Self::start_prod_on(&schema, &prefix, adjust).await
    }

    /// Starts the prod profile on the test PostgreSQL in `schema` and Redis under `prefix`: nodes started with the
    /// same two share their state, each with its own data folder.
    pub async fn start_prod_on(
        schema: &str,
        prefix: &str,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let (schema, prefix) = (schema.to_string(), prefix.to_string());
        Self::start_with(move |c| {
            *c = Config {
                listen: c.listen,
                data_dir: c.data_dir.clone(),
                drain_timeout_secs: c.drain_timeout_secs,
                ..Config::defaults(Profile::Prod)
            };
            c.postgres_url = Some(nano::app::config::Secret::new(pg_url()));
            c.postgres_schema = Some(schema);
            c.redis_url = Some(nano::app::config::Secret::new(
                std::env::var("NANO_TEST_REDIS_URL")
                    .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string()),
            ));
            c.redis_prefix = prefix;
            // Prod takes both keys from configuration, the same on every node.
            c.master_key = Some(nano::app::config::Secret::new("test-master-key"));
            c.storage_signing_key =
                Some(nano::app::config::Secret::new("test-storage-signing-key"));
            adjust(c);
        })
        .await
    }

    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// `http://127.0.0.1:<port>` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }
}

/// A lower-case name no other test uses, e.g. `t-3f9a0c1d2e`.
pub fn fresh_name(prefix: &str) -> String {
    format!("{prefix}-{:010x}", rand::random::<u64>() & 0xff_ffff_ffff)
}

/// An HTTP client for tests (no proxy, no pooling surprises).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client")
}

/// The `nano` binary cargo built for this test run.
pub fn nano_bin() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_nano"))
}

/// Starts the nano binary on a port the OS picks, returning the child and its base URL (read from its log line,
/// so the test never talks to another test's server).
pub async fn spawn_nano(data: &std::path::Path) -> (tokio::process::Child, String) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(nano_bin())
        .args([
            "run",
            "--profile",
            "dev",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data)
        .env("NANO_LOG_FORMAT", "json")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let found = regex::Regex::new(r"listening on (http://127\.0\.0\.1:\d+)").unwrap();
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(m) = found.captures(&line) {
            let base = m[1].to_string();
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return (child, base);
        }
    }
    panic!("nano exited without listening");
}

/// The test PostgreSQL (`NANO_TEST_POSTGRES_URL`, default the local server's `test` database) in a fresh schema
/// named `nt_<random>`, so tests run in parallel without seeing each other's tables.
pub fn pg_target() -> nano::adapters::postgres::PgTarget {
    nano::adapters::postgres::PgTarget::new(pg_url(), Some(fresh_name("nt").replace('-', "_")))
}

pub fn pg_url() -> String {
    std::env::var("NANO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Configures `storage = "s3"` on the test S3 server, under `target`'s key prefix.
pub fn use_s3(c: &mut Config, target: &nano::adapters::s3::S3Target) {
    c.storage = nano::app::config::StorageBackend::S3;
    c.s3.endpoint = target.endpoint.clone();
    c.s3.bucket = Some(target.bucket.clone());
    c.s3.access_key = Some(target.access_key.clone());
    c.s3.secret_key = Some(nano::app::config::Secret::new(target.secret_key.clone()));
    c.s3.path_style = target.path_style;
    c.s3.prefix = target.prefix.clone();
    c.s3.presign = target.presign;
}

/// The test S3 server (`NANO_TEST_S3_ENDPOINT`, default the SeaweedFS `scripts/s3-server.sh` starts) with its
/// bucket `nano-test`, under a fresh key prefix so tests run in parallel without seeing each other's objects.
pub fn s3_target() -> nano::adapters::s3::S3Target {
    nano::adapters::s3::S3Target {
        endpoint: Some(
            std::env::var("NANO_TEST_S3_ENDPOINT")
                .unwrap_or_else(|_| "http://127.0.0.1:8333".to_string()),
        ),
        region: "us-east-1".into(),
        bucket: "nano-test".into(),
        access_key: "nano-test".into(),
        secret_key: "nano-test-secret".into(),
        path_style: true,
        prefix: fresh_name("nanotest"),
        presign: true,
    }
}
