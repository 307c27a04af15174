//! Hosted apps from the config: read each app's folder into an app version and load it into the JS runtime.

use super::build::BuildError;
use super::config::AppConfig;
use crate::adapters::http::apps::AppRoute;
use crate::core::{AppName, AppSpec, Hostname, TenantId};
use crate::ports::{AppRuntime, AppVersion};
use std::collections::BTreeMap;
use std::path::Path;

/// The largest module file nano reads (a bundled app is one file, usually well under this).
const MAX_MODULE_BYTES: u64 = 32 * 1024 * 1024;

/// Reads the app's folder (the entry's parent): every `.js`/`.mjs` file below it, keyed by relative path.
pub fn read_app(cfg: &AppConfig) -> Result<AppVersion, BuildError> {
    let fail = |msg: String| BuildError(format!("app {}: {msg}", cfg.name));
    let dir = cfg.entry.parent().unwrap_or(Path::new("."));
    let entry = cfg
        .entry
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| fail(format!("entry {} is not a file name", cfg.entry.display())))?
        .to_string();
    let mut modules = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).map_err(|e| fail(format!("cannot read {}: {e}", d.display())))?;
        for item in entries {
            let path = item.map_err(|e| fail(e.to_string()))?.path();
            if path.is_dir() {
                if !path.ends_with("node_modules") {
                    stack.push(path);
                }
                continue;
            }
            if !matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("js" | "mjs")
            ) {
                continue;
            }
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if size > MAX_MODULE_BYTES {
                return Err(fail(format!(
                    "{} is over {MAX_MODULE_BYTES} bytes",
                    path.display()
                )));
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
            let rel = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            modules.insert(rel, text);
        }
    }
    let parse_err = |e: crate::core::CoreError| fail(e.to_string());
    Ok(AppVersion {
        spec: AppSpec {
            name: AppName::parse(&cfg.name).map_err(parse_err)?,
            tenant: TenantId::parse(&cfg.tenant).map_err(parse_err)?,
            hostnames: cfg
                .hostnames
                .iter()
                .map(|h| Hostname::parse(h))
                .collect::<Result<_, _>>()
                .map_err(parse_err)?,
            entry,
            env: cfg.env.clone(),
            limits: cfg.limits.clone(),
            engine: cfg.engine.clone(),
        },
        modules,
    })
}

/// Loads every configured app; the first failure stops start-up with a message naming the app.
pub async fn load_apps(
    runtime: &dyn AppRuntime,
    apps: &[AppConfig],
) -> Result<Vec<AppRoute>, BuildError> {
    let mut routes = Vec::new();
    for cfg in apps {
        let version = read_app(cfg)?;
        let spec = version.spec.clone();
        runtime
            .load(version)
            .await
            .map_err(|e| BuildError(format!("app {}: {e}", cfg.name)))?;
        for host in spec.hostnames {
            routes.push((host, spec.name.clone(), spec.tenant.to_string()));
        }
    }
    Ok(routes)
}
