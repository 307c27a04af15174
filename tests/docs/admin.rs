//! The hosting page's admin API table against the routes the admin handlers match (`src/adapters/http/admin*.rs`):
//! every served route is listed as available, and no route listed as available is missing from the code.

use crate::pages::{code, page, table};
use regex::Regex;
use std::collections::BTreeSet;
use std::path::PathBuf;

const PAGE: &str = "hosting.md";

/// `METHOD /admin/a/{}/b` for every `(&Method::X, ["a", t, "b"])` match arm of the admin handlers;
/// a segment bound to a variable becomes `{}`.
fn routes_in_code() -> BTreeSet<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/adapters/http");
    let arm = Regex::new(r"\(&Method::(\w+),\s*\[([^\]]*)\]\)").unwrap();
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !(name.starts_with("admin") && name.ends_with(".rs")) {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for c in arm.captures_iter(&source) {
            let segments: Vec<String> = c[2]
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(
                    |s| match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                        Some(literal) => literal.to_string(),
                        None => "{}".to_string(),
                    },
                )
                .collect();
            routes.insert(format!("{} /admin/{}", &c[1], segments.join("/")));
        }
    }
    routes
}

/// A page route with its parameter names blanked: `GET /admin/tenants/{t}` gives `GET /admin/tenants/{}`.
fn normalized(route: &str) -> String {
    Regex::new(r"\{[^}]*\}")
        .unwrap()
        .replace_all(route.trim(), "{}")
        .into_owned()
}

#[test]
fn hosting_page_lists_the_admin_routes_the_code_serves() {
    let served = routes_in_code();
    assert!(
        served.len() >= 5,
        "found only {served:?} in src/adapters/http/admin*.rs: has the match arm shape changed?"
    );
    let text = page(PAGE);
    let mut available = BTreeSet::new();
    let mut problems = Vec::new();
    for row in table(&text, "route") {
        let (Some(route), Some(status)) = (row.first().and_then(|c| code(c)), row.last()) else {
            problems.push(format!("row {row:?} has no route in backticks"));
            continue;
        };
        let route = normalized(route);
        if !route.contains(" /admin") {
            continue;
        }
        match status.as_str() {
            "available" => {
                if !served.contains(&route) {
                    problems.push(format!(
                        "`{route}` is listed as available but no admin handler matches it"
                    ));
                }
                available.insert(route);
            }
            "in progress" => {
                if served.contains(&route) {
                    problems.push(format!(
                        "`{route}` is served now: mark it available and describe it"
                    ));
                }
            }
            other => problems.push(format!(
                "`{route}`: status must be `available` or `in progress`, not `{other}`"
            )),
        }
    }
    for route in served.difference(&available) {
        problems.push(format!(
            "the code serves `{route}` but the page does not list it as available"
        ));
    }
    assert!(
        problems.is_empty(),
        "docs/site/src/content/docs/{PAGE} disagrees with the admin API:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn route_parameters_are_blanked() {
    assert_eq!(
        normalized("DELETE /admin/tenants/{t}/keys/{id}"),
        "DELETE /admin/tenants/{}/keys/{}"
    );
}
