//! The admin API's view of the hosted apps: app bodies in and out as JSON, reloads, logs and Prometheus metrics.

use super::{AppDef, Hosting, Origin, PutError};
use crate::adapters::http::apps::LATENCY_BUCKETS;
use crate::app::config::AppConfig;
use crate::core::{AppName, TenantId};
use crate::ports::AppControl;
use crate::ports::Limit;
use crate::services::ApiError;
use async_trait::async_trait;
use futures::StreamExt;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

fn put_error(e: PutError) -> ApiError {
    match e {
        PutError::Invalid(m) => ApiError::bad_request(m),
        PutError::Conflict(m) => ApiError::conflict(m),
        PutError::NotFound(m) => ApiError::not_found(m),
        PutError::Internal(m) => ApiError::internal(m),
    }
}

/// A served app as the admin API shows it: its config (every field, as serialized), origin, code, assets, and the
/// load error of its latest change if that failed.
fn app_json(def: &AppDef, error: Option<&String>) -> Value {
    let mut v = serde_json::to_value(&def.config).unwrap_or(Value::Null);
    v["origin"] = json!(def.origin);
    v["code"] = json!(def.code);
    v["assets"] = json!(def.assets.as_ref().map(|p| p.display().to_string()));
    v["source"] = match (&def.bundle, &def.root) {
        (Some(files), _) => json!({ "bundle": files.keys().collect::<Vec<_>>() }),
        (None, Some(root)) => json!({ "path": root.display().to_string() }),
        (None, None) => Value::Null,
    };
    // A served app whose latest change failed to load keeps serving its previous version: `serving`, with the error.
    v["status"] = json!("serving");
    v["error"] = json!(error);
    v
}

impl Hosting {
    /// Builds an app definition from an admin body: `name`, `tenant`, `hostnames`, `env`, `limits` (any app config
    /// key) plus either `path` (an app folder or entry module) or `files` (`{ "index.js": "..." }`) with `entry`.
    /// In prod a `path`'s module files are read now and kept as the app's files (`stores_path_apps`).
    fn def_from_body(&self, name: Option<&str>, body: Value) -> Result<AppDef, ApiError> {
        let Value::Object(mut body) = body else {
            return Err(ApiError::bad_request("body must be a JSON object"));
        };
        if let Some(name) = name {
            match body.get("name") {
                Some(Value::String(n)) if n != name => {
                    return Err(ApiError::bad_request(format!(
                        "body names app {n}, the path names {name}"
                    )))
                }
                _ => {
                    body.insert("name".into(), name.into());
                }
            }
        }
        let name = match body.get("name") {
            Some(Value::String(n)) => n.clone(),
            _ => return Err(ApiError::bad_request("body needs \"name\": \"<app>\"")),
        };
        AppName::parse(&name).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let path = body.remove("path");
        let files = body.remove("files");
        let entry = body.remove("entry");
        let assets = body.remove("assets");
        if !body.contains_key("tenant") {
            body.insert("tenant".into(), self.default_tenant().into());
        }
        let mut def = match (path, files) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_request("give either \"path\" or \"files\", not both"))
            }
            (None, None) => {
                return Err(ApiError::bad_request(
                    "body needs \"path\" (an app folder or entry module) or \"files\" ({\"index.js\": \"...\"})",
                ))
            }
            (Some(Value::String(path)), None) => self.def_from_path(&name, &path, &mut body)?,
            (Some(_), None) => return Err(ApiError::bad_request("\"path\" must be a string")),
            (None, Some(files)) => {
                let files: BTreeMap<String, String> = serde_json::from_value(files).map_err(|e| {
                    ApiError::bad_request(format!("\"files\" must map file names to sources: {e}"))
                })?;
                if files.is_empty() {
                    return Err(ApiError::bad_request("\"files\" is empty"));
                }
                let entry = match entry {
                    None => "index.js".to_string(),
                    Some(Value::String(e)) => e,
                    Some(_) => return Err(ApiError::bad_request("\"entry\" must be a string")),
                };
                if !files.contains_key(&entry) {
                    return Err(ApiError::bad_request(format!(
                        "entry {entry} is not one of the files"
                    )));
                }
                body.insert("entry".into(), entry.into());
                let config = config_from(body)?;
                AppDef {
                    config,
                    origin: Origin::Api,
                    assets: None,
                    code: true,
                    bundle: Some(files),
                    root: None,
                }
            }
        };
        if let Some(assets) = assets {
            let dir = assets
                .as_str()
                .ok_or_else(|| ApiError::bad_request("\"assets\" must be a folder path"))?;
            if !std::path::Path::new(dir).is_dir() {
                return Err(ApiError::bad_request(format!(
                    "assets folder {dir} does not exist"
                )));
            }
            def.assets = Some(PathBuf::from(dir));
        }
        if def.config.hostnames.is_empty() {
            def.config.hostnames = vec![format!("{name}.localhost")];
        }
        if def.code && def.bundle.is_none() && self.stores_path_apps() {
            // Prod: the files read now are the app, for every node, whatever becomes of the folder.
            let (entry, files) = super::versions::read_modules(&def.config, def.assets.as_deref())
                .map_err(|e| ApiError::bad_request(e.0))?;
            def.config.entry = PathBuf::from(entry);
            def.bundle = Some(files);
            def.root = None;
        }
        Ok(def)
    }

    fn def_from_path(
        &self,
        name: &str,
        path: &str,
        body: &mut Map<String, Value>,
    ) -> Result<AppDef, ApiError> {
        let p = PathBuf::from(path);
        if p.is_dir() {
            let tenant = body
                .get("tenant")
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string();
            let mut def = super::discover::read_folder(&p, name, &tenant)
                .map_err(|e| ApiError::bad_request(format!("app folder {path}: {e}")))?;
            // Keys the body gives win over the folder's.
            let mut merged =
                serde_json::to_value(&def.config).map_err(|e| ApiError::internal(e.to_string()))?;
            if body.get("hostnames").is_some() {
                merged["hostnames"] = Value::Array(Vec::new());
            }
            for (k, v) in body.iter() {
                merged[k] = v.clone();
            }
            def.config = config_from(match merged {
                Value::Object(m) => m,
                _ => Map::new(),
            })?;
            def.origin = Origin::Api;
            Ok(def)
        } else if p.is_file() {
            body.insert("entry".into(), path.into());
            let config = config_from(std::mem::take(body))?;
            Ok(AppDef {
                assets: p.parent().map(|d| d.join("public")).filter(|d| d.is_dir()),
                root: p.parent().map(PathBuf::from),
                config,
                origin: Origin::Api,
                code: true,
                bundle: None,
            })
        } else {
            Err(ApiError::bad_request(format!("path {path} does not exist")))
        }
    }
}

/// One version of an app as the admin API lists it: its number, when it was stored, and what it ran.
fn version_json(seq: i64, app: &crate::ports::AppRecord, current: bool) -> Value {
    json!({
        "version": seq,
        "current": current,
        "updated_ms": app.updated_ms,
        "hostnames": app.hostnames,
        "entry": app.spec["config"]["entry"],
        "files": app.bundle.keys().collect::<Vec<_>>(),
    })
}

impl Hosting {
    /// The registry's record of an admin-created app; an app of the config file or apps folder has no versions.
    async fn api_record(&self, name: &str) -> Result<crate::ports::AppRecord, ApiError> {
        self.sync_registry()
            .await
            .map_err(|e| ApiError::internal(format!("registry: {e}")))?;
        let tenant = super::lock(&self.api_apps)
            .get(name)
            .map(|d| d.config.tenant.clone());
        let Some(tenant) = tenant else {
            return Err(match self.get(name).await {
                Some(_) => ApiError::conflict(format!(
                    "app {name} was not created through the admin API: it has no stored versions"
                )),
                None => ApiError::not_found(format!("app {name} does not exist")),
            });
        };
        let tenant = TenantId::parse(&tenant).map_err(|e| ApiError::internal(e.to_string()))?;
        self.registry
            .get_app(&tenant, name)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found(format!("app {name} does not exist")))
    }
}

fn config_from(body: Map<String, Value>) -> Result<AppConfig, ApiError> {
    serde_json::from_value(Value::Object(body))
        .map_err(|e| ApiError::bad_request(format!("invalid app: {e}")))
}

#[async_trait]
impl AppControl for Hosting {
    async fn scheduled(&self, name: &str, cron: Option<&str>) -> Result<Value, ApiError> {
        use super::events::ScheduledError;
        match self.run_scheduled(name, cron).await {
            Ok((cron, at)) => Ok(json!({ "app": name, "cron": cron, "scheduledTime": at })),
            Err(ScheduledError::NotFound) => {
                Err(ApiError::not_found(format!("app {name} does not exist")))
            }
            Err(ScheduledError::BadCron(e)) => Err(ApiError::bad_request(e)),
            Err(ScheduledError::Failed(e)) => Err(ApiError::new(e.status(), e.to_string())),
        }
    }

    async fn list(&self) -> Vec<Value> {
        let (defs, failures) = self.apps().await;
        let mut out: Vec<Value> = defs
            .iter()
            .map(|d| app_json(d, failures.get(&d.config.name)))
            .collect();
        for (name, e) in failures.iter() {
            if !defs.iter().any(|d| &d.config.name == name) {
                out.push(json!({ "name": name, "status": "failed", "error": e }));
            }
        }
        out
    }

    async fn get(&self, name: &str) -> Option<Value> {
        let (defs, failures) = self.apps().await;
        match defs.iter().find(|d| d.config.name == name) {
            Some(d) => Some(app_json(d, failures.get(name))),
            None => failures
                .get(name)
                .map(|e| json!({ "name": name, "status": "failed", "error": e })),
        }
    }

    async fn put(&self, name: Option<&str>, body: Value, replace: bool) -> Result<Value, ApiError> {
        let def = self.def_from_body(name, body)?;
        let name = def.config.name.clone();
        self.put_api_app(def, replace).await.map_err(put_error)?;
        self.get(&name)
            .await
            .ok_or_else(|| ApiError::internal(format!("app {name} vanished")))
    }

    async fn edit(&self, name: &str, changes: Value) -> Result<Value, ApiError> {
        let Value::Object(changes) = changes else {
            return Err(ApiError::bad_request("body must be a JSON object"));
        };
        let current = self.api_record(name).await?;
        let mut def = super::def_from_record(&current).map_err(ApiError::internal)?;
        let mut config =
            serde_json::to_value(&def.config).map_err(|e| ApiError::internal(e.to_string()))?;
        for (key, value) in changes {
            if matches!(key.as_str(), "name" | "tenant" | "entry") {
                return Err(ApiError::bad_request(format!(
                    "\"{key}\" cannot be edited: create the app anew"
                )));
            }
            config[key] = value;
        }
        def.config = config_from(match config {
            Value::Object(m) => m,
            _ => Map::new(),
        })?;
        self.put_api_app(def, true).await.map_err(put_error)?;
        self.get(name)
            .await
            .ok_or_else(|| ApiError::internal(format!("app {name} vanished")))
    }

    async fn versions(&self, name: &str) -> Result<Vec<Value>, ApiError> {
        let current = self.api_record(name).await?;
        let past = self
            .registry
            .app_versions(&current.tenant, name)
            .await
            .map_err(ApiError::from)?;
        let next = past.first().map_or(1, |p| p.seq + 1);
        let mut out = vec![version_json(next, &current, true)];
        out.extend(past.iter().map(|p| version_json(p.seq, &p.app, false)));
        Ok(out)
    }

    async fn rollback(&self, name: &str) -> Result<Value, ApiError> {
        let current = self.api_record(name).await?;
        let past = self
            .registry
            .app_versions(&current.tenant, name)
            .await
            .map_err(ApiError::from)?;
        let Some(previous) = past.first() else {
            return Err(ApiError::conflict(format!(
                "app {name} has no previous version"
            )));
        };
        let def = super::def_from_record(&previous.app).map_err(ApiError::internal)?;
        self.put_api_app(def, true).await.map_err(put_error)?;
        self.get(name)
            .await
            .ok_or_else(|| ApiError::internal(format!("app {name} vanished")))
    }

    async fn delete(&self, name: &str) -> Result<(), ApiError> {
        self.delete_api_app(name).await.map_err(put_error)
    }

    async fn reload(&self) -> Value {
        serde_json::to_value(Hosting::reload(self).await).unwrap_or(Value::Null)
    }

    async fn logs(&self, name: &str) -> Option<Vec<Value>> {
        let (defs, _) = self.apps().await;
        defs.iter()
            .any(|d| d.config.name == name)
            .then(|| super::logs::recent(name))
    }

    async fn follow_logs(
        &self,
        name: &str,
        since_ms: Option<i64>,
        min_level: Option<&str>,
    ) -> Result<crate::ports::LogStream, ApiError> {
        let rank = match min_level {
            None => 0,
            Some(level) => super::logs::level_rank(level).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unknown level {level}: use debug, info, warn or error"
                ))
            })?,
        };
        let (defs, _) = self.apps().await;
        if !defs.iter().any(|d| d.config.name == name) {
            return Err(ApiError::not_found(format!("app {name} does not exist")));
        }
        let lines = super::logs::follow(name, since_ms, rank);
        Ok(lines.take_until(self.log_streams_ended()).boxed())
    }

    async fn metrics(&self) -> String {
        let (defs, _) = self.apps().await;
        let latencies = self.hosts().latencies();
        let mut out = String::new();
        let families = [
            (
                "nano_app_requests_total",
                "counter",
                "Requests run by the app's code.",
            ),
            (
                "nano_app_cpu_seconds_total",
                "counter",
                "CPU time spent in the app's code.",
            ),
            ("nano_app_isolates", "gauge", "Live isolates of the app."),
            (
                "nano_app_isolate_starts_total",
                "counter",
                "Isolates started for the app, including restarts after eviction.",
            ),
            (
                "nano_app_memory_bytes",
                "gauge",
                "Heap bytes of the app's isolates.",
            ),
            (
                "nano_app_terminations_total",
                "counter",
                "Requests ended by a limit.",
            ),
        ];
        let mut stats = Vec::new();
        for d in defs.iter().filter(|d| d.code) {
            if let Ok(name) = AppName::parse(&d.config.name) {
                if let Ok(s) = self.runtime().stats(&name).await {
                    stats.push((d, s));
                }
            }
        }
        for (family, kind, help) in families {
            let _ = writeln!(out, "# HELP {family} {help}\n# TYPE {family} {kind}");
            for (d, s) in &stats {
                let labels = format!("app=\"{}\",tenant=\"{}\"", d.config.name, d.config.tenant);
                match family {
                    "nano_app_requests_total" => {
                        let _ = writeln!(out, "{family}{{{labels}}} {}", s.requests);
                    }
                    "nano_app_cpu_seconds_total" => {
                        let _ = writeln!(out, "{family}{{{labels}}} {}", s.cpu_micros as f64 / 1e6);
                    }
                    "nano_app_isolates" => {
                        let _ = writeln!(out, "{family}{{{labels}}} {}", s.isolates);
                    }
                    "nano_app_isolate_starts_total" => {
                        let _ = writeln!(out, "{family}{{{labels}}} {}", s.isolate_starts);
                    }
                    "nano_app_memory_bytes" => {
                        let _ = writeln!(out, "{family}{{{labels}}} {}", s.heap_bytes);
                    }
                    _ => {
                        for limit in Limit::ALL {
                            let n = s.terminations.get(limit.as_str()).copied().unwrap_or(0);
                            let _ = writeln!(
                                out,
                                "{family}{{{labels},limit=\"{}\"}} {n}",
                                limit.as_str()
                            );
                        }
                    }
                }
            }
        }
        let family = "nano_app_request_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {family} Latency of requests routed to the app (assets and code).\n# TYPE {family} histogram"
        );
        for d in &defs {
            let l = latencies.get(&d.config.name).cloned().unwrap_or_default();
            let labels = format!("app=\"{}\",tenant=\"{}\"", d.config.name, d.config.tenant);
            let mut cumulative = 0;
            for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
                cumulative += l.buckets[i];
                let _ = writeln!(
                    out,
                    "{family}_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(out, "{family}_bucket{{{labels},le=\"+Inf\"}} {}", l.count);
            let _ = writeln!(out, "{family}_sum{{{labels}}} {}", l.sum_secs);
            let _ = writeln!(out, "{family}_count{{{labels}}} {}", l.count);
        }
        let family = "nano_app_server_errors_total";
        let _ = writeln!(
            out,
            "# HELP {family} Requests routed to the app that got a 5xx answer.\n# TYPE {family} counter"
        );
        for d in &defs {
            let errors = latencies.get(&d.config.name).map_or(0, |l| l.server_errors);
            let labels = format!("app=\"{}\",tenant=\"{}\"", d.config.name, d.config.tenant);
            let _ = writeln!(out, "{family}{{{labels}}} {errors}");
        }
        let _ = writeln!(
            out,
            "# HELP nano_apps Apps served.\n# TYPE nano_apps gauge\nnano_apps {}",
            defs.len()
        );
        out
    }
}
