//! NUL characters: PostgreSQL stores none in text or JSONB, so nano refuses them in every id, key and JSON value
//! it is given, in every profile alike (a dev app must not write what prod cannot store).

use serde_json::Value;

/// The message of every refusal (400).
pub const NUL_REFUSED: &str =
    "the NUL character (\\u0000) is not allowed in names, ids, keys or JSON values";

/// Whether `s` holds a NUL character.
pub fn has_nul(s: &str) -> bool {
    s.contains('\0')
}

/// Whether any string or object key anywhere in `v` holds a NUL character.
pub fn json_has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => has_nul(s),
        Value::Array(items) => items.iter().any(json_has_nul),
        Value::Object(m) => m.iter().any(|(k, v)| has_nul(k) || json_has_nul(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_nul_in_strings_keys_and_nesting() {
        assert!(!json_has_nul(
            &json!({"a": ["b", {"c": "\\u0000"}], "n": 1})
        ));
        assert!(json_has_nul(&json!({"a": "x\u{0}y"})));
        assert!(json_has_nul(&json!({"k\u{0}": 1})));
        assert!(json_has_nul(&json!([[[{"deep": ["\u{0}"]}]]])));
    }
}
