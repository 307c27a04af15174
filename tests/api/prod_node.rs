//! A real `nano run --profile prod` process on loopback, started on a shared PostgreSQL schema and Redis prefix: the
//! node of the multi-node tests.

use crate::support::{nano_bin, pg_url};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// A prod nano on an OS-chosen port; killed when dropped.
pub struct Node {
    pub base: String,
    _child: tokio::process::Child,
}

impl Node {
    /// Kills the process with SIGKILL and waits for it to go.
    pub async fn kill(&mut self) {
        self._child.start_kill().unwrap();
        self._child.wait().await.unwrap();
    }
}

/// Starts `nano run --profile prod --listen 127.0.0.1:0` and reads the bound port from its "listening on" line.
pub async fn start_node(shared: &Path, schema: &str, prefix: &str, tenant: &str) -> Node {
    start_node_with(shared, schema, prefix, tenant, &[]).await
}

/// `start_node` with more `NANO_*` environment variables.
pub async fn start_node_with(
    shared: &Path,
    schema: &str,
    prefix: &str,
    tenant: &str,
    env: &[(&str, &str)],
) -> Node {
    let mut child = tokio::process::Command::new(nano_bin())
        .args(["run", "--profile", "prod", "--listen", "127.0.0.1:0"])
        .env("NANO_POSTGRES_URL", pg_url())
        .env("NANO_POSTGRES_SCHEMA", schema)
        .env(
            "NANO_REDIS_URL",
            std::env::var("NANO_TEST_REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string()),
        )
        .env("NANO_REDIS_PREFIX", prefix)
        .env("NANO_DATA_DIR", shared)
        .env("NANO_MASTER_KEY", "multinode-test-master-key")
        .env("NANO_STORAGE_SIGNING_KEY", "multinode-test-signing-key")
        .env("NANO_AUTH", "false")
        // The queue's receiver listens on loopback, which prod's outbound policy refuses unless allowed.
        .env("NANO_OUTBOUND__PRIVATE_NETWORKS", "true")
        .env("NANO_DEFAULT_TENANT", tenant)
        .env("NANO_LOG_LEVEL", "info")
        .envs(env.iter().copied())
        .current_dir(shared)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                    .collect();
                return Some(addr);
            }
        }
        None
    })
    .await
    .expect("nano did not log its address within 60 s")
    .expect("nano exited before listening");
    // Keep draining its log so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Node {
        base: format!("http://{addr}"),
        _child: child,
    }
}
