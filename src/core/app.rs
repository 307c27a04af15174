//! The engine-neutral description of one app: who owns it, where it answers, its code entry, env and limits.

use crate::core::{AppName, DomainName, Hostname, Limits, TenantId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// One env var's value: a plain string, or a JSON value the app receives parsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EnvValue {
    Text(String),
    Json(serde_json::Value),
}

impl EnvValue {
    /// The value as the app sees it, as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            EnvValue::Text(s) => serde_json::Value::String(s.clone()),
            EnvValue::Json(v) => v.clone(),
        }
    }

    /// Size counted against the per-var limit: the string's bytes, or the JSON text's.
    pub fn size(&self) -> usize {
        match self {
            EnvValue::Text(s) => s.len(),
            EnvValue::Json(v) => v.to_string().len(),
        }
    }
}

/// An app as configured: name, owning tenant, hostnames, entry module path, env vars and limits.
#[derive(Debug, Clone, PartialEq)]
pub struct AppSpec {
    pub name: AppName,
    pub tenant: TenantId,
    pub hostnames: Vec<Hostname>,
    /// Path of the entry module, relative to the app's folder (e.g. `index.js`).
    pub entry: String,
    pub env: BTreeMap<String, EnvValue>,
    pub limits: Limits,
    /// The JS engine that runs the app (`v8` or `quickjs`); None takes the host's default engine.
    pub engine: Option<String>,
    /// The services the app reaches in process, by the `env` name it sees them under.
    pub bindings: BTreeMap<String, BindingSpec>,
    /// The app's own outbound host rules, on top of its tenant's and the node's.
    pub outbound: crate::core::outbound::HostRules,
}

/// What an app can be bound to: one of hyper's services through hyper-connect's API (`cache` .. `queue`), one of
/// them through Cloudflare's API (`kv` on the cache, `r2` on storage, `queues` on the queue), or another app of
/// the same tenant (`app`, a service binding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    Cache,
    Data,
    Storage,
    Search,
    Queue,
    Kv,
    R2,
    Queues,
    App,
}

impl ServiceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Cache => "cache",
            ServiceKind::Data => "data",
            ServiceKind::Storage => "storage",
            ServiceKind::Search => "search",
            ServiceKind::Queue => "queue",
            ServiceKind::Kv => "kv",
            ServiceKind::R2 => "r2",
            ServiceKind::Queues => "queues",
            ServiceKind::App => "app",
        }
    }

    /// The hyper service whose store a binding of this kind reaches (`kv` the cache, `r2` storage, `queues` the
    /// queue); None for an app.
    pub fn port(self) -> Option<ServiceKind> {
        match self {
            ServiceKind::Kv => Some(ServiceKind::Cache),
            ServiceKind::R2 => Some(ServiceKind::Storage),
            ServiceKind::Queues => Some(ServiceKind::Queue),
            ServiceKind::App => None,
            other => Some(other),
        }
    }
}

/// One binding: the service and the single domain (db, cache store, bucket, index, queue) it is granted; for an
/// `app` binding, the domain is the bound app's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingSpec {
    pub service: ServiceKind,
    pub domain: DomainName,
}

/// An env var set that breaks the app's limits; the message names the app and the var.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EnvError {
    #[error("app {app}: {count} env vars exceed the limit of {limit}")]
    TooMany {
        app: String,
        count: usize,
        limit: u32,
    },
    #[error("app {app}: env var {var} is {size} bytes, over the limit of {limit}")]
    TooLarge {
        app: String,
        var: String,
        size: usize,
        limit: u32,
    },
    #[error("app {app}: env var name '{var}' is not a valid identifier")]
    BadName { app: String, var: String },
}

/// Checks env vars against the count and size limits, naming the app and the offending var.
pub fn check_env(
    app: &str,
    env: &BTreeMap<String, EnvValue>,
    limits: &Limits,
) -> Result<(), EnvError> {
    if env.len() > limits.env_vars as usize {
        return Err(EnvError::TooMany {
            app: app.to_string(),
            count: env.len(),
            limit: limits.env_vars,
        });
    }
    for (var, value) in env {
        let ok = !var.is_empty()
            && !var.starts_with(|c: char| c.is_ascii_digit())
            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(EnvError::BadName {
                app: app.to_string(),
                var: var.clone(),
            });
        }
        if value.size() > limits.env_var_bytes as usize {
            return Err(EnvError::TooLarge {
                app: app.to_string(),
                var: var.clone(),
                size: value.size(),
                limit: limits.env_var_bytes,
            });
        }
    }
    Ok(())
}
