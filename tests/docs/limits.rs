//! The runtime page's limits table against `nano::core::Limits::default()`: every setting and its default.

use crate::pages::{code, page, table};
use nano::core::Limits;
use std::collections::BTreeMap;

const PAGE: &str = "runtime.md";

#[test]
fn runtime_page_lists_every_limit_with_its_default() {
    let defaults: BTreeMap<String, serde_json::Value> =
        match serde_json::to_value(Limits::default()).expect("limits serialize") {
            serde_json::Value::Object(map) => map.into_iter().collect(),
            other => panic!("limits serialize to an object, not {other}"),
        };
    let text = page(PAGE);
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for row in table(&text, "limit") {
        let [_, setting, default, ..] = row.as_slice() else {
            problems.push(format!("row {row:?} has fewer than 3 cells"));
            continue;
        };
        // One row may name two settings (`env_vars`, `env_var_bytes`) with one default each, in order.
        let names: Vec<&str> = setting.split(',').filter_map(|s| code(s.trim())).collect();
        let values: Vec<&str> = default.split(',').filter_map(|s| code(s.trim())).collect();
        if names.is_empty() || names.len() != values.len() {
            problems.push(format!(
                "row {row:?}: each setting needs one default in backticks"
            ));
            continue;
        }
        for (name, value) in names.into_iter().zip(values) {
            seen.push(name.to_string());
            match defaults.get(name) {
                None => problems.push(format!("the page lists `{name}`, which is not a limit")),
                Some(v)
                    if serde_json::from_str::<serde_json::Value>(value)
                        .ok()
                        .as_ref()
                        != Some(v) =>
                {
                    problems.push(format!(
                        "`{name}`: default is {v} in the code, the page says {value}"
                    ))
                }
                Some(_) => {}
            }
        }
    }
    for name in defaults.keys() {
        if !seen.contains(name) {
            problems.push(format!("the page does not list the limit `{name}`"));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/site/src/content/docs/{PAGE} disagrees with nano::core::Limits:\n  {}",
        problems.join("\n  ")
    );
}
