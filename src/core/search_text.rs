//! The search service's text rules, shared by every search adapter: which query terms match by prefix or with one
//! typo and how much such a match weighs, values read from documents by dotted path, and the searchable text of a
//! JSON value.

use serde_json::{Map, Value};

/// Shortest query term matched as a prefix.
pub const PREFIX_MIN_CHARS: usize = 2;
/// Shortest query term matched with one typo.
pub const FUZZY_MIN_CHARS: usize = 5;
/// MiniSearch's weights of a prefix match (scaled by how much of the document term the query term covers) and of a
/// one-typo match, relative to an exact match's 1.
pub const PREFIX_WEIGHT: f32 = 0.375;
pub const FUZZY_WEIGHT: f32 = 0.45;

/// The value at a dotted path (`author.name`), if any.
pub fn value_at<'a>(doc: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = doc.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut current = doc.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

/// The searchable text of a value: strings as they are, numbers and booleans printed, arrays joined.
pub fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => items.iter().map(text_of).collect::<Vec<_>>().join(" "),
        Value::Null | Value::Object(_) => String::new(),
    }
}

/// True when `a` and `b` differ by at most one insertion, deletion, substitution or adjacent swap.
pub fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a == b {
        return true;
    }
    match a.len() as isize - b.len() as isize {
        0 => {
            let diffs: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
            match diffs.as_slice() {
                [_] => true,
                [i, j] => *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i],
                _ => false,
            }
        }
        1 => one_insertion(&b, &a),
        -1 => one_insertion(&a, &b),
        _ => false,
    }
}

/// `long` is `short` with one character inserted.
fn one_insertion(short: &[char], long: &[char]) -> bool {
    let i = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    short[i..] == long[i + 1..]
}

/// Whether a document term is matched by a query term: equal, by prefix, or with one typo.
pub fn term_matches(doc_term: &str, query_term: &str) -> bool {
    let n = query_term.chars().count();
    doc_term == query_term
        || (n >= PREFIX_MIN_CHARS && doc_term.starts_with(query_term))
        || (n >= FUZZY_MIN_CHARS && within_one_edit(doc_term, query_term))
}

/// How a document term matches a query term, with its weight; `None` when it does not. A document term that
/// matches several ways weighs as its best match.
pub fn match_weight(query_term: &str, doc_term: &str) -> Option<f32> {
    let n = query_term.chars().count();
    if doc_term == query_term {
        Some(1.0)
    } else if n >= PREFIX_MIN_CHARS && doc_term.starts_with(query_term) {
        Some(PREFIX_WEIGHT * n as f32 / doc_term.chars().count() as f32)
    } else if n >= FUZZY_MIN_CHARS && within_one_edit(query_term, doc_term) {
        Some(FUZZY_WEIGHT)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_edit() {
        assert!(within_one_edit("dune", "dune"));
        assert!(within_one_edit("foundation", "foundatoin"));
        assert!(within_one_edit("foundation", "fondation"));
        assert!(within_one_edit("foundation", "foundations"));
        assert!(within_one_edit("foundation", "foundatiom"));
        assert!(!within_one_edit("foundation", "fondatoin"));
        assert!(!within_one_edit("abc", "abcde"));
        assert!(!within_one_edit("dume", "dune messiah"));
    }

    #[test]
    fn matching_rules() {
        assert!(term_matches("dune", "dun"));
        assert!(!term_matches("dune", "d"));
        assert!(term_matches("galaxy", "galxy"));
        assert!(!term_matches("dune", "dine"));
        assert_eq!(match_weight("dune", "dune"), Some(1.0));
        assert_eq!(match_weight("dun", "dune"), Some(PREFIX_WEIGHT * 0.75));
        assert_eq!(match_weight("galxy", "galaxy"), Some(FUZZY_WEIGHT));
        assert_eq!(match_weight("dune", "dine"), None);
    }

    #[test]
    fn dotted_paths_and_text() {
        let doc = json!({"a": {"b": "x"}, "c.d": 1, "tags": ["x", 2]});
        let doc = doc.as_object().unwrap();
        assert_eq!(value_at(doc, "a.b"), Some(&json!("x")));
        assert_eq!(value_at(doc, "c.d"), Some(&json!(1)));
        assert_eq!(value_at(doc, "a.z"), None);
        assert_eq!(text_of(&doc["tags"]), "x 2");
    }
}
