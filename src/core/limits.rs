//! Per-app resource limits and their defaults, as the runtime spec gives them.

use serde::{Deserialize, Serialize};

/// Limits of one app. Every field can be overridden per app; unset fields take the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// CPU time per request, in milliseconds.
    pub cpu_ms: u64,
    /// Wall time per request, in milliseconds.
    pub wall_ms: u64,
    /// Heap memory per isolate, in megabytes.
    pub memory_mb: u64,
    /// Outbound fetches per request.
    pub subrequests: u32,
    /// Request body size, in bytes.
    pub request_body_bytes: u64,
    /// Number of env vars.
    pub env_vars: u32,
    /// Size of one env var value, in bytes.
    pub env_var_bytes: u32,
    /// CPU time for module evaluation at start-up, in milliseconds.
    pub startup_cpu_ms: u64,
    /// How long `ctx.waitUntil` work may run after the response, in milliseconds.
    pub wait_until_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            cpu_ms: 50,
            wall_ms: 30_000,
            memory_mb: 128,
            subrequests: 50,
            request_body_bytes: 100 * 1024 * 1024,
            env_vars: 128,
            env_var_bytes: 5 * 1024,
            startup_cpu_ms: 1_000,
            wait_until_ms: 30_000,
        }
    }
}
