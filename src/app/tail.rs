//! `nano tail`: prints an app's live log lines as a node streams them (`GET /admin/apps/{name}/logs?follow=1`), one
//! line per record (time, level, message, request id), and reconnects when the stream drops, asking for the lines
//! recorded since the last one printed.

use futures::StreamExt;
use serde_json::Value;
use std::io::Write;
use std::time::Duration;

/// How long `nano tail` waits before connecting again.
const RETRY: Duration = Duration::from_secs(1);

/// What to follow, and where.
pub struct TailOptions {
    /// The node's base URL, e.g. `http://127.0.0.1:6363`.
    pub url: String,
    /// The admin token, when the node has one.
    pub token: Option<String>,
    pub app: String,
    /// Refuse to follow the app unless it is this tenant's.
    pub tenant: Option<String>,
    /// The lowest level printed.
    pub level: Option<String>,
}

/// Why `nano tail` stopped.
#[derive(Debug, thiserror::Error)]
pub enum TailError {
    #[error("{0}")]
    Refused(String),
    #[error("cannot make an HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// The base URL of the node a config serves: its `listen` address, on loopback when it listens on every address.
pub fn local_url(listen: std::net::SocketAddr) -> String {
    let ip = match listen.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_string(),
        ip if ip.is_unspecified() => "[::1]".to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("http://{ip}:{}", listen.port())
}

/// Follows the app until the process is stopped; returns only when the node refuses (unknown app, bad token or
/// level, another tenant's app).
pub async fn run(opts: &TailOptions) -> Result<(), TailError> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let base = opts.url.trim_end_matches('/');
    let get = |url: String| {
        let req = client.get(url);
        match &opts.token {
            Some(token) => req.bearer_auth(token),
            None => req,
        }
    };
    let mut since: Option<i64> = None;
    let mut told_unreachable = false;
    loop {
        if let Some(tenant) = &opts.tenant {
            if let Ok(res) = get(format!("{base}/admin/apps/{}", opts.app)).send().await {
                let body = json_of(refused(res).await?).await;
                if body["app"]["tenant"] != tenant.as_str() {
                    return Err(TailError::Refused(format!(
                        "app {} is not tenant {tenant}'s",
                        opts.app
                    )));
                }
            }
        }
        let mut url = format!("{base}/admin/apps/{}/logs?follow=1", opts.app);
        if let Some(level) = &opts.level {
            url.push_str(&format!("&level={level}"));
        }
        if let Some(ts) = since {
            url.push_str(&format!("&since={ts}"));
        }
        match get(url).send().await {
            Err(e) => {
                if !told_unreachable {
                    eprintln!("nano tail: cannot reach {base} ({e}); retrying");
                    told_unreachable = true;
                }
            }
            Ok(res) => {
                let res = refused(res).await?;
                told_unreachable = false;
                let node = res
                    .headers()
                    .get("x-nano-node")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("?")
                    .to_string();
                eprintln!("nano tail: following {} on node {node}", opts.app);
                print_events(res, &mut since).await;
                eprintln!("nano tail: the stream from {base} ended; reconnecting");
                // Nothing printed yet: ask for the lines recorded from now on.
                since.get_or_insert(crate::core::clock::now_ms());
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// The response, or the node's refusal as an error.
async fn refused(res: reqwest::Response) -> Result<reqwest::Response, TailError> {
    if res.status().is_success() {
        return Ok(res);
    }
    let status = res.status();
    let body = json_of(res).await;
    let msg = body["msg"].as_str().unwrap_or("");
    Err(TailError::Refused(format!(
        "the node answered {status}: {msg}"
    )))
}

/// A response's JSON body (`null` when it has none).
async fn json_of(res: reqwest::Response) -> Value {
    let bytes = res.bytes().await.unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or_default()
}

/// Prints each event of the stream until it ends, keeping the time of the last line printed in `since`.
async fn print_events(res: reqwest::Response, since: &mut Option<i64>) {
    let mut body = res.bytes_stream();
    let mut text = String::new();
    while let Some(Ok(chunk)) = body.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            for data in event.lines().filter_map(|l| l.strip_prefix("data: ")) {
                if let Ok(line) = serde_json::from_str::<Value>(data) {
                    if let Some(ts) = line["ts_ms"].as_i64() {
                        *since = Some(ts);
                    }
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{}", format_line(&line));
                    let _ = out.flush();
                }
            }
        }
    }
}

/// One record as `nano tail` prints it: `HH:MM:SS.mmm LEVEL message (request <id>)`, the time in UTC.
pub fn format_line(line: &Value) -> String {
    let ms = line["ts_ms"].as_i64().unwrap_or(0).rem_euclid(86_400_000);
    let time = format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    );
    let level = line["level"]
        .as_str()
        .unwrap_or("info")
        .to_ascii_uppercase();
    let msg = line["msg"].as_str().unwrap_or("");
    match line["request_id"].as_str().filter(|r| *r != "-") {
        Some(id) => format!("{time} {level:<5} {msg} (request {id})"),
        None => format!("{time} {level:<5} {msg}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_record_prints_as_one_line() {
        let line = json!({ "ts_ms": 1_765_080_000_123i64 + 3_723_000, "level": "warn", "msg": "slow", "request_id": "ab-3" });
        assert_eq!(format_line(&line), "05:02:03.123 WARN  slow (request ab-3)");
        let line = json!({ "ts_ms": 0, "level": "info", "msg": "up", "request_id": "-" });
        assert_eq!(format_line(&line), "00:00:00.000 INFO  up");
        assert_eq!(
            local_url("0.0.0.0:6363".parse().unwrap()),
            "http://127.0.0.1:6363"
        );
    }
}
