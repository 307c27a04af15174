//! `AppControl`: the driving port of the admin API's app routes, what an operator can do to the hosted apps.
//! The hosting side (`app::hosting::admin`) implements it; the HTTP adapter only translates requests into it.

use super::answer::ApiError;
use async_trait::async_trait;
use futures::stream::BoxStream;
use serde_json::Value;

/// An app's log lines as they are recorded, each with its sequence number (increasing, unique on this node).
pub type LogStream = BoxStream<'static, (u64, Value)>;

/// What the admin routes can do to the hosted apps.
#[async_trait]
pub trait AppControl: Send + Sync + 'static {
    /// Every app, served or failed to load.
    async fn list(&self) -> Vec<Value>;
    /// One app, with its load error if it failed; `None` when unknown.
    async fn get(&self, name: &str) -> Option<Value>;
    /// Creates (`replace` false) or replaces an app from an admin body; the app as `get` shows it.
    async fn put(&self, name: Option<&str>, body: Value, replace: bool) -> Result<Value, ApiError>;
    /// Changes an admin-created app's settings (any app config key but `name`, `tenant` and `entry`, each replaced
    /// whole), keeping its code; the app as `get` shows it.
    async fn edit(&self, name: &str, changes: Value) -> Result<Value, ApiError>;
    /// An admin-created app's versions, newest first: the one served (`current`), then those it replaced, each
    /// `{ version, current, updated_ms, hostnames, entry, files }`.
    async fn versions(&self, name: &str) -> Result<Vec<Value>, ApiError>;
    /// Serves an admin-created app's previous version again (the one replaced becomes a past version, so a second
    /// rollback undoes the first); the app as `get` shows it.
    async fn rollback(&self, name: &str) -> Result<Value, ApiError>;
    /// Removes an app once it has drained.
    async fn delete(&self, name: &str) -> Result<(), ApiError>;
    /// Reloads apps and the config file now: `{ loaded, removed, failed }`.
    async fn reload(&self) -> Value;
    /// Recent log lines of an app; `None` when unknown.
    async fn logs(&self, name: &str) -> Option<Vec<Value>>;
    /// An app's log lines from now on, at `min_level` (`debug`, `info`, `warn`, `error`) and above, after its
    /// recent lines newer than `since_ms` when given. The stream ends only when nano stops, and never holds up the app: a reader
    /// that falls behind, or passes the rate of lines a stream gets, skips lines and then receives one `warn` line
    /// counting them. Not found when the app is unknown; a bad request for an unknown level.
    async fn follow_logs(
        &self,
        name: &str,
        since_ms: Option<i64>,
        min_level: Option<&str>,
    ) -> Result<LogStream, ApiError>;
    /// Metrics in Prometheus text format.
    async fn metrics(&self) -> String;
    /// Runs the app's `scheduled` handler now for `cron` (default: the app's first cron trigger):
    /// `{ app, cron, scheduledTime }` once the handler has settled.
    async fn scheduled(&self, name: &str, cron: Option<&str>) -> Result<Value, ApiError>;
}
