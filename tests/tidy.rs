//! Tidy: the layout rules of DESIGN.md, checked on the source tree.

use regex::Regex;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("node_modules") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rel(path: &Path) -> String {
    path.strip_prefix(root()).unwrap().display().to_string()
}

/// Code lines only: `//` comments are dropped so docs may mention what code must not use.
fn code_of(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn core_ports_and_services_use_no_io_or_engine_crates() {
    let banned = Regex::new(
        r"\b(tokio|hyper|hyper_util|axum|sqlx|rusqlite|tantivy|rquickjs|v8|figment|reqwest)::",
    )
    .unwrap();
    let mut offences = Vec::new();
    for dir in ["src/core", "src/ports", "src/services"] {
        for file in rust_files(&root().join(dir)) {
            for m in banned.find_iter(&code_of(&file)) {
                offences.push(format!("{} uses {}", rel(&file), m.as_str()));
            }
        }
    }
    assert!(offences.is_empty(), "{offences:#?}");
}

#[test]
fn only_app_names_adapters_and_adapters_do_not_call_each_other() {
    let named = Regex::new(r"\badapters::(\w+)").unwrap();
    let mut offences = Vec::new();
    for file in rust_files(&root().join("src")) {
        let path = rel(&file);
        if path.starts_with("src/app/") || path == "src/lib.rs" || path == "src/adapters/mod.rs" {
            continue;
        }
        let own = path
            .strip_prefix("src/adapters/")
            .and_then(|p| p.split('/').next())
            .map(|p| p.trim_end_matches(".rs").to_string());
        for cap in named.captures_iter(&code_of(&file)) {
            if own.as_deref() != Some(&cap[1]) {
                offences.push(format!("{path} names adapters::{}", &cap[1]));
            }
        }
    }
    assert!(offences.is_empty(), "{offences:#?}");
}

#[test]
fn every_rust_file_opens_with_a_module_doc_line() {
    let mut missing = Vec::new();
    for dir in ["src", "tests", "benches", "bench"] {
        let dir = root().join(dir);
        if !dir.exists() {
            continue;
        }
        for file in rust_files(&dir) {
            let text = std::fs::read_to_string(&file).unwrap();
            if !text.starts_with("//!") {
                missing.push(rel(&file));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "files without an opening //! line: {missing:#?}"
    );
}

#[test]
fn tenant_scopes_are_made_only_by_tenant_resolution() {
    let allowed = [
        "src/core/scope.rs",
        "src/adapters/http/tenancy.rs",
        "src/app/",
        "src/adapters/js/bindings",
        "src/adapters/js/cache_api.rs",
    ];
    let mut offences = Vec::new();
    for file in rust_files(&root().join("src")) {
        let path = rel(&file);
        if allowed.iter().any(|a| path.starts_with(a)) {
            continue;
        }
        // Unit tests (the `#[cfg(test)]` module at a file's end) may make scopes, as integration tests do.
        let code = code_of(&file);
        let shipped = code.split("#[cfg(test)]").next().unwrap_or_default();
        if shipped.contains("TenantScope::resolved") {
            offences.push(path);
        }
    }
    assert!(
        offences.is_empty(),
        "TenantScope built outside tenant resolution: {offences:#?}"
    );
}

#[test]
fn tenant_data_port_methods_take_the_scope_first() {
    let method = Regex::new(r"async fn (\w+)\(\s*&self\s*,?\s*([^)]*)\)").unwrap();
    let mut offences = Vec::new();
    for file in rust_files(&root().join("src/ports")) {
        let path = rel(&file);
        // The registry and runtime manage tenants and apps themselves; an assets port is one app's folder, built
        // for that app alone (no tenant data is reached through it); app control is the operator's, over every app;
        // the rate limiter counts requests per tenant name before an app's request is tenant-resolved, and holds no
        // tenant data; run claims are the cron loop's, over every tenant's triggers (a claim names its tenant, holds
        // no data); the queue scan names the tenants with due jobs, whose jobs are then read under their scope; a
        // WebSocket connector reaches the outside world under the app's outbound policy, never tenant data.
        if path.ends_with("mod.rs")
            || path.ends_with("registry.rs")
            || path.ends_with("runtime.rs")
            || path.ends_with("assets.rs")
            || path.ends_with("app_control.rs")
            || path.ends_with("ports/rate.rs")
            || path.ends_with("ports/schedule.rs")
            || path.ends_with("ports/queue_scan.rs")
            || path.ends_with("ports/websocket.rs")
        {
            continue;
        }
        for cap in method.captures_iter(&code_of(&file)) {
            if !cap[2].trim_start().starts_with("scope: &TenantScope") {
                offences.push(format!(
                    "{path}: {} does not take `scope: &TenantScope` first",
                    &cap[1]
                ));
            }
        }
    }
    assert!(offences.is_empty(), "{offences:#?}");
}
