//! App folders: each `<apps_dir>/<name>/` becomes an app from its entry module, its optional `nano.toml` (any
//! `[[apps]]` key, plus `main` and `assets`) or `wrangler.toml`/`wrangler.jsonc` (`name`, `main`, `vars`, `routes`,
//! `assets.directory`, `triggers.crons`, and the bindings `kv_namespaces`, `r2_buckets`, `queues.producers`,
//! `queues.consumers` and `services`), and its optional `public/` folder of static assets. Wrangler keys nano does
//! not implement are logged as warnings naming the key.

use super::{AppDef, Origin};
use crate::app::config::AppConfig;
use std::path::{Path, PathBuf};

/// Entry modules looked for, in order, when the folder's config names none.
const ENTRIES: [&str; 5] = [
    "index.js",
    "worker.js",
    "src/index.js",
    "index.mjs",
    "src/worker.js",
];

/// Every app folder below `dir` (sorted by name), and the folders that could not be read as apps with why.
pub fn discover(dir: &Path, default_tenant: &str) -> (Vec<AppDef>, Vec<(String, String)>) {
    let mut apps = Vec::new();
    let mut errors = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (apps, errors);
    };
    let mut folders: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.'))
        })
        .collect();
    folders.sort();
    for folder in folders {
        let name = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match read_folder(&folder, &name, default_tenant) {
            Ok(def) => apps.push(def),
            Err(e) => errors.push((name, e)),
        }
    }
    (apps, errors)
}

/// One app folder as an app definition.
pub fn read_folder(folder: &Path, name: &str, default_tenant: &str) -> Result<AppDef, String> {
    let mut table = toml::Table::new();
    table.insert("name".into(), name.into());
    table.insert("tenant".into(), default_tenant.into());
    let mut assets: Option<PathBuf> = None;
    if let Some(wrangler) = read_wrangler(folder)? {
        for key in unsupported_keys(&wrangler) {
            tracing::warn!(
                app = name,
                key = key.as_str(),
                "wrangler key {key} is not supported by nano; ignored"
            );
        }
        merge_wrangler(&mut table, &wrangler, &mut assets, folder);
    }
    let nano_toml = folder.join("nano.toml");
    if nano_toml.is_file() {
        let text = std::fs::read_to_string(&nano_toml)
            .map_err(|e| format!("cannot read {}: {e}", nano_toml.display()))?;
        let own: toml::Table =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", nano_toml.display()))?;
        for (k, v) in own {
            match k.as_str() {
                "main" => {
                    table.insert("entry".into(), v);
                }
                "assets" => {
                    let dir = v
                        .as_str()
                        .ok_or_else(|| format!("{}: assets must be a path", nano_toml.display()))?;
                    assets = Some(folder.join(dir));
                }
                _ => {
                    table.insert(k, v);
                }
            }
        }
    }
    let named_entry = table
        .get("entry")
        .and_then(|v| v.as_str())
        .map(|e| folder.join(e));
    let entry = match named_entry {
        Some(e) if e.is_file() => Some(e),
        Some(e) if folder.join("package.json").is_file() => {
            return Err(format!(
                "entry module {} does not exist: build the app first (`npm install && npm run build` in {})",
                e.display(),
                folder.display()
            ))
        }
        Some(e) => return Err(format!("entry module {} does not exist", e.display())),
        None => ENTRIES.iter().map(|e| folder.join(e)).find(|p| p.is_file()),
    };
    if assets.is_none() && folder.join("public").is_dir() {
        assets = Some(folder.join("public"));
    }
    let code = entry.is_some();
    if !code && assets.is_none() {
        return Err(format!(
            "no entry module ({} or `main`) and no public/ folder",
            ENTRIES.join(", ")
        ));
    }
    let entry = entry.unwrap_or_else(|| folder.join("index.js"));
    table.insert("entry".into(), entry.display().to_string().into());
    let has_hosts = table
        .get("hostnames")
        .and_then(|v| v.as_array())
        .is_some_and(|a| !a.is_empty());
    if !has_hosts {
        let app_name = table
            .get("name")
            .and_then(|v| v.as_str())
            .unwrap_or(name)
            .to_string();
        table.insert(
            "hostnames".into(),
            toml::Value::Array(vec![format!("{app_name}.localhost").into()]),
        );
    }
    let config: AppConfig = toml::Value::Table(table)
        .try_into()
        .map_err(|e| format!("app config: {e}"))?;
    super::check_app(&config)?;
    Ok(AppDef {
        config,
        origin: Origin::Folder,
        assets,
        code,
        bundle: None,
        root: Some(folder.to_path_buf()),
    })
}

/// `wrangler.toml`, or `wrangler.jsonc`/`wrangler.json` (comments and trailing commas allowed), as a TOML table.
fn read_wrangler(folder: &Path) -> Result<Option<toml::Table>, String> {
    let toml_path = folder.join("wrangler.toml");
    if toml_path.is_file() {
        let text = std::fs::read_to_string(&toml_path).map_err(|e| e.to_string())?;
        return toml::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{}: {e}", toml_path.display()));
    }
    for file in ["wrangler.jsonc", "wrangler.json"] {
        let path = folder.join(file);
        if path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
            let value: serde_json::Value = serde_json::from_str(&strip_jsonc(&text))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let value: toml::Value =
                serde_json::from_value(value).map_err(|e| format!("{}: {e}", path.display()))?;
            return Ok(value.as_table().cloned());
        }
    }
    Ok(None)
}

/// The wrangler keys nano understands, copied into the app's config table.
fn merge_wrangler(
    table: &mut toml::Table,
    wrangler: &toml::Table,
    assets: &mut Option<PathBuf>,
    folder: &Path,
) {
    if let Some(name) = wrangler.get("name").and_then(|v| v.as_str()) {
        table.insert("name".into(), name.into());
    }
    if let Some(main) = wrangler.get("main").and_then(|v| v.as_str()) {
        table.insert("entry".into(), main.into());
    }
    if let Some(vars) = wrangler.get("vars").and_then(|v| v.as_table()) {
        table.insert("env".into(), toml::Value::Table(vars.clone()));
    }
    let mut triggers = toml::Table::new();
    if let Some(crons) = wrangler.get("triggers").and_then(|t| t.get("crons")) {
        triggers.insert("crons".into(), crons.clone());
    }
    let queues = wrangler.get("queues");
    if let Some(consumers) = queues
        .and_then(|q| q.get("consumers"))
        .and_then(|c| c.as_array())
    {
        let kept: Vec<toml::Value> = consumers
            .iter()
            .filter_map(|c| c.as_table())
            .map(|c| {
                let mut t = toml::Table::new();
                for k in ["queue", "max_batch_size", "max_retries", "retry_delay"] {
                    if let Some(v) = c.get(k) {
                        t.insert(k.into(), v.clone());
                    }
                }
                toml::Value::Table(t)
            })
            .collect();
        triggers.insert("queues".into(), toml::Value::Array(kept));
    }
    if !triggers.is_empty() {
        table.insert("triggers".into(), toml::Value::Table(triggers));
    }
    let mut bindings = toml::Table::new();
    let producers = queues.and_then(|q| q.get("producers"));
    for (list, service, domain_key) in [
        (wrangler.get("kv_namespaces"), "kv", "id"),
        (wrangler.get("r2_buckets"), "r2", "bucket_name"),
        (producers, "queues", "queue"),
        (wrangler.get("services"), "app", "service"),
    ] {
        for entry in list.and_then(|l| l.as_array()).into_iter().flatten() {
            let Some(name) = entry.get("binding").and_then(|v| v.as_str()) else {
                continue;
            };
            let domain = entry.get(domain_key).and_then(|v| v.as_str());
            let domain = match (service, domain) {
                // A namespace id that is no store name (a placeholder) gives way to the binding's name.
                ("kv", Some(id))
                    if crate::services::cache::is_valid_store_name(&id.to_lowercase()) =>
                {
                    id.to_lowercase()
                }
                ("kv", _) => name.to_lowercase(),
                (_, Some(d)) => d.to_string(),
                (_, None) => continue,
            };
            let mut b = toml::Table::new();
            b.insert("service".into(), service.into());
            b.insert("domain".into(), domain.into());
            bindings.insert(name.into(), toml::Value::Table(b));
        }
    }
    if !bindings.is_empty() {
        table.insert("bindings".into(), toml::Value::Table(bindings));
    }
    if let Some(dir) = wrangler
        .get("assets")
        .and_then(|a| a.get("directory"))
        .and_then(|v| v.as_str())
    {
        *assets = Some(folder.join(dir));
    }
    let mut hosts = Vec::new();
    let routes = wrangler
        .get("routes")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    let single = wrangler.get("route").cloned();
    for route in routes.iter().chain(single.iter()) {
        let pattern = match route {
            toml::Value::String(s) => s.as_str(),
            toml::Value::Table(t) => t.get("pattern").and_then(|v| v.as_str()).unwrap_or(""),
            _ => "",
        };
        if let Some(host) = route_host(pattern) {
            if !hosts.contains(&host) {
                hosts.push(host);
            }
        }
    }
    if !hosts.is_empty() {
        table.insert(
            "hostnames".into(),
            toml::Value::Array(hosts.into_iter().map(Into::into).collect()),
        );
    }
}

/// Wrangler keys that give a Worker something nano does not implement (bindings, settings, and every
/// compatibility flag: nano implements none), named as `key` or `key.sub`; each is logged as a warning when the app
/// is read.
pub fn unsupported_keys(wrangler: &toml::Table) -> Vec<String> {
    const UNSUPPORTED: [&str; 16] = [
        "d1_databases",
        "durable_objects",
        "migrations",
        "vectorize",
        "ai",
        "analytics_engine_datasets",
        "hyperdrive",
        "browser",
        "workflows",
        "dispatch_namespaces",
        "mtls_certificates",
        "send_email",
        "tail_consumers",
        "unsafe",
        "version_metadata",
        "secrets_store_secrets",
    ];
    let mut out: Vec<String> = UNSUPPORTED
        .iter()
        .filter(|k| wrangler.contains_key(**k))
        .map(|k| k.to_string())
        .collect();
    for flag in wrangler
        .get("compatibility_flags")
        .and_then(|f| f.as_array())
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str())
    {
        out.push(format!("compatibility_flags.{flag}"));
    }
    for consumer in wrangler
        .get("queues")
        .and_then(|q| q.get("consumers"))
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
    {
        for k in ["dead_letter_queue", "max_batch_timeout", "max_concurrency"] {
            if consumer.get(k).is_some() {
                out.push(format!("queues.consumers.{k}"));
            }
        }
    }
    out
}

/// The hostname of a wrangler route pattern: `https://shop.example.com/*` gives `shop.example.com`.
fn route_host(pattern: &str) -> Option<String> {
    let rest = pattern.split_once("://").map_or(pattern, |(_, r)| r);
    let host = rest.split('/').next()?.trim();
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// JSON with comments (`//`, `/* */`) and trailing commas made plain JSON; strings are left alone.
fn strip_jsonc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
            }
            _ => out.push(c),
        }
    }
    // Trailing commas: a comma followed only by whitespace before `}` or `]`.
    let mut cleaned = String::with_capacity(out.len());
    let bytes: Vec<char> = out.chars().collect();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if in_string {
            cleaned.push(c);
            if c == '\\' && i + 1 < bytes.len() {
                cleaned.push(bytes[i + 1]);
                i += 1;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            cleaned.push(c);
        } else if c == ',' {
            let next = bytes[i + 1..].iter().find(|n| !n.is_whitespace());
            if !matches!(next, Some('}') | Some(']')) {
                cleaned.push(c);
            }
        } else {
            cleaned.push(c);
        }
        i += 1;
    }
    cleaned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonc_and_routes() {
        let v: serde_json::Value = serde_json::from_str(&strip_jsonc(
            "{ // c\n \"name\": \"a//b\", /* x */ \"routes\": [\"x\",],\n}",
        ))
        .unwrap();
        assert_eq!(v["name"], "a//b");
        assert_eq!(
            route_host("https://Shop.example.com/*").as_deref(),
            Some("shop.example.com")
        );
        assert_eq!(
            route_host("*.example.com/*").as_deref(),
            Some("*.example.com")
        );
    }

    #[test]
    fn folders_become_apps() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("alpha");
        std::fs::create_dir_all(a.join("src")).unwrap();
        std::fs::write(a.join("src/index.js"), "export default {}").unwrap();
        let b = dir.path().join("beta");
        std::fs::create_dir_all(b.join("public")).unwrap();
        let c = dir.path().join("gamma");
        std::fs::create_dir_all(&c).unwrap();
        std::fs::write(c.join("w.js"), "export default {}").unwrap();
        std::fs::write(
            c.join("wrangler.toml"),
            "name = \"gamma\"\nmain = \"w.js\"\nroutes = [\"g.example.com/*\"]\n[vars]\nA = \"1\"\n[triggers]\ncrons = [\"*/5 * * * *\"]\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("empty")).unwrap();
        let (apps, errors) = discover(dir.path(), "default");
        let names: Vec<_> = apps.iter().map(|a| a.config.name.as_str()).collect();
        assert_eq!(names, ["alpha", "beta", "gamma"]);
        assert_eq!(apps[0].config.hostnames, ["alpha.localhost"]);
        assert!(apps[0].code);
        assert!(!apps[1].code && apps[1].assets.is_some());
        assert_eq!(apps[2].config.hostnames, ["g.example.com"]);
        assert_eq!(apps[2].config.triggers.crons, ["*/5 * * * *"]);
        assert_eq!(
            apps[2].config.env["A"],
            crate::core::EnvValue::Text("1".into())
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, "empty");
    }

    #[test]
    fn wrangler_bindings_and_unsupported_keys() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("shop");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::write(a.join("index.js"), "export default {}").unwrap();
        let wrangler = r#"
name = "shop"
compatibility_flags = ["nodejs_compat"]
[[kv_namespaces]]
binding = "CARTS"
id = "0f2ac74b498b48028cb68387c421e279"
[[kv_namespaces]]
binding = "SESSIONS"
id = "<YOUR_ID>"
[[r2_buckets]]
binding = "PHOTOS"
bucket_name = "photos"
[[queues.producers]]
binding = "ORDERS"
queue = "orders"
[[queues.consumers]]
queue = "orders"
max_batch_size = 5
dead_letter_queue = "dlq"
[[services]]
binding = "AUTH"
service = "auth"
[[d1_databases]]
binding = "DB"
"#;
        std::fs::write(a.join("wrangler.toml"), wrangler).unwrap();
        let (apps, errors) = discover(dir.path(), "default");
        assert!(errors.is_empty(), "{errors:?}");
        let cfg = &apps[0].config;
        let b = |n: &str| {
            (
                cfg.bindings[n].service.as_str(),
                cfg.bindings[n].domain.as_str(),
            )
        };
        assert_eq!(b("CARTS"), ("kv", "0f2ac74b498b48028cb68387c421e279"));
        assert_eq!(b("SESSIONS"), ("kv", "sessions"));
        assert_eq!(b("PHOTOS"), ("r2", "photos"));
        assert_eq!(b("ORDERS"), ("queues", "orders"));
        assert_eq!(b("AUTH"), ("app", "auth"));
        assert_eq!(cfg.triggers.queues.len(), 1);
        assert_eq!(cfg.triggers.queues[0].queue, "orders");
        assert_eq!(cfg.triggers.queues[0].max_batch_size, Some(5));
        let table: toml::Table = toml::from_str(wrangler).unwrap();
        assert_eq!(
            unsupported_keys(&table),
            [
                "d1_databases",
                "compatibility_flags.nodejs_compat",
                "queues.consumers.dead_letter_queue"
            ]
        );
    }
}
