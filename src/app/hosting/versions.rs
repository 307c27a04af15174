//! Reading an app's folder into an app version for the JS runtime.

use crate::app::build::BuildError;
use crate::app::config::AppConfig;
use crate::core::{AppName, AppSpec, BindingSpec, DomainName, Hostname, TenantId};
use crate::ports::{AppBindings, AppVersion, Services};
use std::collections::BTreeMap;
use std::path::Path;

/// The largest module file nano reads (a bundled app is one file, usually well under this).
const MAX_MODULE_BYTES: u64 = 32 * 1024 * 1024;

/// Reads the app's folder (the entry's parent): every `.js`/`.mjs` file below it, keyed by relative path, leaving
/// out the folder `skip` (the app's static assets, which are not modules); its bindings reach `services` as its tenant.
pub fn read_app_skipping(
    cfg: &AppConfig,
    skip: Option<&Path>,
    services: &Services,
) -> Result<AppVersion, BuildError> {
    let (entry, modules) = read_modules(cfg, skip)?;
    version_from(cfg, entry, modules, services)
}

/// The module files of the app's folder as `read_app_skipping` reads them: the entry's name and every file's source
/// by relative path.
pub fn read_modules(
    cfg: &AppConfig,
    skip: Option<&Path>,
) -> Result<(String, BTreeMap<String, String>), BuildError> {
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
                if !path.ends_with("node_modules") && Some(path.as_path()) != skip {
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
    Ok((entry, modules))
}

/// An app version from its config and module files (read from its folder, or uploaded as a bundle), with its
/// bindings bound to `services` as its tenant.
pub fn version_from(
    cfg: &AppConfig,
    entry: String,
    modules: BTreeMap<String, String>,
    services: &Services,
) -> Result<AppVersion, BuildError> {
    let fail = |msg: String| BuildError(format!("app {}: {msg}", cfg.name));
    let parse_err = |e: crate::core::CoreError| fail(e.to_string());
    let mut bindings = BTreeMap::new();
    for (name, b) in &cfg.bindings {
        if !valid_binding_name(name) {
            return Err(fail(format!(
                "binding name {name} must be a JS identifier (letters, digits, _ and $, not starting with a digit)"
            )));
        }
        if b.service == crate::core::ServiceKind::App {
            AppName::parse(&b.domain)
                .map_err(|e| fail(format!("binding {name}: app {}: {e}", b.domain)))?;
        }
        let domain = DomainName::parse(&b.domain)
            .map_err(|e| fail(format!("binding {name}: domain {}: {e}", b.domain)))?;
        bindings.insert(
            name.clone(),
            BindingSpec {
                service: b.service,
                domain,
            },
        );
    }
    let tenant = TenantId::parse(&cfg.tenant).map_err(parse_err)?;
    Ok(AppVersion {
        bindings: AppBindings::new(tenant.clone(), services),
        spec: AppSpec {
            name: AppName::parse(&cfg.name).map_err(parse_err)?,
            tenant,
            hostnames: cfg
                .hostnames
                .iter()
                .map(|h| Hostname::parse(h))
                .collect::<Result<_, _>>()
                .map_err(parse_err)?,
            entry,
            env: cfg.env.clone(),
            limits: cfg.limits.clone(),
            bindings,
            engine: cfg.engine.clone(),
            outbound: cfg.outbound.clone(),
        },
        modules,
    })
}

/// A binding name the app can write as `env.NAME`.
fn valid_binding_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}
