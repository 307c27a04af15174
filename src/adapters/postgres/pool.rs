//! Connecting to PostgreSQL: one pool per target, shared by every store opened from it (and its clones), optionally
//! confined to one schema (tests run each in its own), with a connection error that names the URL's host and
//! database but never its password.

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// Where to connect: a URL and an optional schema (created if missing) that every connection uses. Stores opened
/// from one target, or from its clones, share one pool.
#[derive(Clone)]
pub struct PgTarget {
    pub url: String,
    pub schema: Option<String>,
    /// Connections the pool may open; idle ones close after a minute.
    pub max_connections: u32,
    pool: Arc<OnceCell<PgPool>>,
}

impl PgTarget {
    pub fn new(url: impl Into<String>, schema: Option<String>) -> Self {
        Self {
            url: url.into(),
            schema,
            max_connections: 20,
            pool: Arc::default(),
        }
    }
}

/// `host:port/database` of a URL, for messages (no user, no password).
fn describe(options: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("(default database)")
    )
}

/// The target's pool (opened on first use), with `migrations` applied under an advisory lock so concurrent nodes do
/// not race.
pub async fn connect(target: &PgTarget, migrations: &[(&str, &str)]) -> Result<PgPool, String> {
    let pool = target.pool.get_or_try_init(|| open(target)).await?;
    super::migrate::apply(pool, migrations).await.map_err(|e| {
        let place = PgConnectOptions::from_str(&target.url)
            .map(|o| describe(&o))
            .unwrap_or_default();
        format!(
            "PostgreSQL at {place}: {}",
            redact(&e.to_string(), &target.url)
        )
    })?;
    Ok(pool.clone())
}

/// Opens a pool, creating the schema when one is given.
async fn open(target: &PgTarget) -> Result<PgPool, String> {
    let options = PgConnectOptions::from_str(&target.url)
        .map_err(|_| "postgres_url is not a valid PostgreSQL URL".to_string())?;
    let place = describe(&options);
    let fail = |e: sqlx::Error| {
        format!(
            "PostgreSQL at {place}: {}",
            redact(&e.to_string(), &target.url)
        )
    };
    // One direct connection first: it fails fast with the server's own reason, where a pool would retry.
    let mut first = tokio::time::timeout(Duration::from_secs(10), options.connect())
        .await
        .map_err(|_| format!("PostgreSQL at {place}: no answer within 10 s"))?
        .map_err(fail)?;
    if let Some(schema) = &target.schema {
        sqlx::query(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{}\"",
            schema.replace('"', "")
        ))
        .execute(&mut first)
        .await
        .map_err(fail)?;
    }
    first.close().await.map_err(fail)?;
    let options = match &target.schema {
        Some(schema) => options.options([("search_path", schema.as_str())]),
        None => options,
    };
    PgPoolOptions::new()
        .max_connections(target.max_connections.max(2))
        .idle_timeout(Duration::from_secs(60))
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(fail)
}

/// Removes the URL's password from a message, should a driver error quote it.
fn redact(message: &str, url: &str) -> String {
    match url
        .split_once("://")
        .and_then(|(_, rest)| rest.rsplit_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
    {
        Some((_, password)) if !password.is_empty() => message.replace(password, "***"),
        _ => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact("bad pw hunter2 here", "postgres://u:hunter2@h/db"),
            "bad pw *** here"
        );
        assert_eq!(super::redact("msg", "postgres://h/db"), "msg");
    }
}
