//! The configuration page's key table against `Config::defaults` of both profiles: every key, default and
//! environment variable, in both directions.

use crate::pages::{code, page, table};
use nano::app::{Config, Profile};
use serde_json::Value;
use std::collections::BTreeMap;

const PAGE: &str = "reference/configuration.md";

/// Every leaf key of a profile's defaults, nested tables flattened to `a.b` (an empty table is a leaf, `{}`),
/// with its JSON value.
fn keys_of(profile: Profile) -> BTreeMap<String, Value> {
    fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    flatten(&key, v, out);
                }
            }
            leaf => {
                out.insert(prefix.to_string(), leaf.clone());
            }
        }
    }
    let value = serde_json::to_value(Config::defaults(profile)).expect("config serializes");
    let mut out = BTreeMap::new();
    flatten("", &value, &mut out);
    out
}

/// Whether a page cell states this default: "unset" for none, numbers compared as numbers, strings bare,
/// anything else parsed as JSON (`[]`, `true`).
fn states(cell: &str, value: &Value) -> bool {
    let Some(text) = code(cell) else {
        return value.is_null() && cell == "unset";
    };
    match value {
        Value::Null => false,
        // An empty string is written `""`.
        Value::String(s) => text == s || (s.is_empty() && text == "\"\""),
        Value::Number(n) => text.parse::<f64>().ok() == n.as_f64(),
        other => serde_json::from_str::<Value>(text).ok().as_ref() == Some(other),
    }
}

/// The environment variable of a key, as figment reads it: `NANO_` + upper case, `__` for nesting.
fn env_var(key: &str) -> String {
    format!("NANO_{}", key.to_ascii_uppercase().replace('.', "__"))
}

#[test]
fn configuration_page_lists_every_key_with_its_defaults() {
    let dev = keys_of(Profile::Dev);
    let prod = keys_of(Profile::Prod);
    assert_eq!(
        dev.keys().collect::<Vec<_>>(),
        prod.keys().collect::<Vec<_>>(),
        "both profiles have the same keys"
    );
    let text = page(PAGE);
    let rows = table(&text, "key");
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for row in &rows {
        let [key, dev_cell, prod_cell, env_cell, ..] = row.as_slice() else {
            problems.push(format!("row {row:?} has fewer than 4 cells"));
            continue;
        };
        let Some(key) = code(key) else {
            problems.push(format!("row {row:?} names no key in backticks"));
            continue;
        };
        if seen.contains(&key.to_string()) {
            problems.push(format!("`{key}` is listed twice"));
        }
        seen.push(key.to_string());
        let (Some(d), Some(p)) = (dev.get(key), prod.get(key)) else {
            problems.push(format!(
                "the page lists `{key}`, which is not a configuration key"
            ));
            continue;
        };
        if !states(dev_cell, d) {
            problems.push(format!(
                "`{key}`: dev default is {d} in the code, the page says {dev_cell}"
            ));
        }
        if !states(prod_cell, p) {
            problems.push(format!(
                "`{key}`: prod default is {p} in the code, the page says {prod_cell}"
            ));
        }
        // `profile` is set by --profile only: the loader ignores NANO_PROFILE.
        let want_env = if key == "profile" {
            "none".to_string()
        } else {
            format!("`{}`", env_var(key))
        };
        if env_cell != &want_env {
            problems.push(format!(
                "`{key}`: environment variable should read {want_env}, the page says {env_cell}"
            ));
        }
    }
    for key in dev.keys() {
        if !seen.contains(key) {
            problems.push(format!("the page does not list the key `{key}`"));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/site/src/content/docs/{PAGE} disagrees with nano::app::Config:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn default_cells_are_compared_by_value() {
    assert!(states("`15`", &serde_json::json!(15.0)));
    assert!(!states("`16`", &serde_json::json!(15.0)));
    assert!(states("unset", &Value::Null));
    assert!(!states("`unset`", &Value::Null));
    assert!(states("`[]`", &serde_json::json!([])));
    assert!(states("`false`", &serde_json::json!(false)));
    assert!(!states("`true`", &serde_json::json!(false)));
    assert!(states("`json`", &serde_json::json!("json")));
    assert_eq!(env_var("services.data"), "NANO_SERVICES__DATA");
}
