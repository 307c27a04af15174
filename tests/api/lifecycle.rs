//! The process: config errors exit 2 naming the key or file, `nano config` redacts secrets, SIGTERM drains.

use crate::support::nano_bin;
use futures::StreamExt;
use std::process::Command;

fn nano(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(nano_bin())
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .expect("nano runs")
}

#[test]
fn unknown_config_key_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nano.toml"),
        "listen = \"127.0.0.1:0\"\nlisten_port = 1\n",
    )
    .unwrap();
    let out = nano(&["run", "--profile", "dev"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("listen_port"), "{stderr}");
}

#[test]
fn unreadable_config_file_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = nano(&["config", "--config", "missing.toml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

#[test]
fn config_prints_effective_values_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nano.toml"),
        "[prod]\nadmin_token = \"s3cret-token\"\npostgres_url = \"postgres://u:pw123@db:5432/x\"\n",
    )
    .unwrap();
    let out = nano(
        &["config", "--profile", "prod", "--listen", "127.0.0.1:7000"],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("listen = \"127.0.0.1:7000\""), "{text}");
    assert!(text.contains("profile = \"prod\""), "{text}");
    assert!(text.contains("postgres://u:***@db:5432/x"), "{text}");
    assert!(
        !text.contains("s3cret-token") && !text.contains("pw123"),
        "{text}"
    );
}

/// `nano config` takes `nano run`'s flags, bootstrap flags included, and shows what they would set.
#[test]
fn config_takes_the_run_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = nano(
        &["config", "--domain", "films", "--data", "--cache"],
        dir.path(),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("domain = \"films\""), "{text}");
    assert!(
        text.contains("\"data\",") && text.contains("\"cache\","),
        "{text}"
    );
}

#[test]
fn version_flag_prints_version() {
    let dir = tempfile::tempdir().unwrap();
    let out = nano(&["--version"], dir.path());
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[tokio::test]
async fn sigterm_exits_0_and_refuses_new_connections() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = tokio::process::Command::new(nano_bin())
        .args([
            "run",
            "--profile",
            "dev",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .current_dir(dir.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/healthz");
    wait_until_up(&url).await;
    let pid = child.id().unwrap() as i32;
    assert_eq!(send_signal(pid, "TERM"), 0);
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait())
        .await
        .expect("nano exits after SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(reqwest::get(&url).await.is_err(), "no longer accepting");
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn wait_until_up(url: &str) {
    for _ in 0..200 {
        if reqwest::get(url).await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{url} never came up");
}

/// Sends a signal with the `kill` command (no libc binding needed).
pub fn send_signal(pid: i32, signal: &str) -> i32 {
    Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .map_or(-1, |s| s.code().unwrap_or(-1))
}

#[test]
fn prod_with_unreachable_database_names_the_host_not_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(nano_bin())
        .args(["run", "--profile", "prod", "--listen", "127.0.0.1:0"])
        .env(
            "NANO_POSTGRES_URL",
            "postgres://nano:sekrit-pw@127.0.0.1:1/nanodb",
        )
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("127.0.0.1:1/nanodb"), "{stderr}");
    assert!(!stderr.contains("sekrit-pw"), "{stderr}");
}

/// Prod takes its keys from configuration: a node that would make up its own storage signing key (on files) or
/// master key, which other nodes do not share, refuses to start with exit 2, naming the key.
#[test]
fn prod_without_shared_keys_exits_2_naming_them() {
    let schema = crate::support::fresh_name("nt").replace('-', "_");
    let redis = std::env::var("NANO_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string());
    for (given, missing) in [
        (None, "storage_signing_key"),
        (
            Some(("NANO_STORAGE_SIGNING_KEY", "shared-signing-key")),
            "master_key",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(nano_bin());
        cmd.args(["run", "--profile", "prod", "--listen", "127.0.0.1:0"])
            .env("NANO_POSTGRES_URL", crate::support::pg_url())
            .env("NANO_POSTGRES_SCHEMA", &schema)
            .env("NANO_REDIS_URL", &redis)
            .current_dir(dir.path());
        if let Some((k, v)) = given {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(missing), "{stderr}");
        assert!(
            !dir.path().join(".nano/master.key").exists(),
            "no key was made up"
        );
    }
}

/// A log that is not a terminal (a file, a pipe) has no colour codes in it.
#[tokio::test]
async fn a_redirected_log_is_plain_text() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(nano_bin())
        .args(["run", "--profile", "dev", "--listen", "127.0.0.1:0"])
        .env("NANO_DATA_DIR", dir.path())
        .current_dir(dir.path())
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("listening on") {
                return line;
            }
        }
        panic!("nano exited before listening");
    })
    .await
    .expect("nano logs its address within 60 s");
    assert!(!line.contains('\u{1b}'), "{line:?}");
}

#[test]
fn bad_bootstrap_flags_exit_2_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["run", "--queue"], "--queue-target"),
        (&["run", "--queue", "--queue-target", "ftp://x"], "ftp://x"),
        (&["run", "--cache", "--purge=data"], "'data'"),
        (&["run", "--data", "--domain", "bad/name"], "bad/name"),
    ];
    for (args, needle) in cases {
        let out = nano(args, dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn sigterm_lets_a_slow_in_flight_request_finish() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = tokio::process::Command::new(nano_bin())
        .args([
            "run",
            "--profile",
            "dev",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .current_dir(dir.path())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_until_up(&format!("{base}/healthz")).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let res = http.put(format!("{base}/data/slow")).send().await.unwrap();
    assert_eq!(res.status(), 201);
    // A JSON document sent in six chunks over about 1.5 s.
    let chunks = [
        "{\"_id\":\"slow-1\",",
        "\"a\":1,",
        "\"b\":2,",
        "\"c\":3,",
        "\"d\":4,",
        "\"done\":true}",
    ];
    let stream =
        futures::stream::iter(chunks.into_iter().enumerate()).then(|(i, chunk)| async move {
            if i > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
            Ok::<_, std::io::Error>(bytes::Bytes::from_static(chunk.as_bytes()))
        });
    let request = tokio::spawn(
        http.post(format!("{base}/data/slow"))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(stream))
            .send(),
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(!request.is_finished(), "the request is still in flight");
    let pid = child.id().unwrap() as i32;
    assert_eq!(send_signal(pid, "TERM"), 0);
    let res = request
        .await
        .unwrap()
        .expect("the in-flight request completes");
    assert_eq!(res.status(), 201);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"ok": true, "id": "slow-1"}));
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait())
        .await
        .expect("nano exits after SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    // The acknowledged document was committed: a restarted nano serves it.
    let mut again = tokio::process::Command::new(nano_bin())
        .args([
            "run",
            "--profile",
            "dev",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .current_dir(dir.path())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_until_up(&format!("{base}/healthz")).await;
    let doc: serde_json::Value = http
        .get(format!("{base}/data/slow/slow-1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["done"], true, "{doc}");
    send_signal(again.id().unwrap() as i32, "TERM");
    let _ = again.wait().await;
}
