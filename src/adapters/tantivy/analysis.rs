//! Text analysis shared by indexing, querying and match explanation: the `nano` analyzer (split on non-alphanumerics,
//! lower-case, ASCII folding), values read from JSON by dotted path, and the one-typo test.

use serde_json::{Map, Value};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, TokenStream,
};

/// The name the analyzer is registered under in every index.
pub const ANALYZER: &str = "nano";
/// Shortest query term matched as a prefix.
pub const PREFIX_MIN_CHARS: usize = 2;
/// Shortest query term matched with one typo.
pub const FUZZY_MIN_CHARS: usize = 5;

pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(64))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The distinct terms of `text`, in order of first appearance.
pub fn terms(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        let t = &stream.token().text;
        if !out.iter().any(|o| o == t) {
            out.push(t.clone());
        }
    }
    out
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn analysis_lowercases_and_folds() {
        let mut a = analyzer();
        assert_eq!(
            terms(&mut a, "Crème Brûlée, DUNE dune!"),
            vec!["creme", "brulee", "dune"]
        );
    }

    #[test]
    fn one_edit() {
        assert!(within_one_edit("dune", "dune"));
        assert!(within_one_edit("foundation", "foundatoin"));
        assert!(within_one_edit("foundation", "fondation"));
        assert!(within_one_edit("foundation", "foundations"));
        assert!(within_one_edit("foundation", "foundatiom"));
        assert!(!within_one_edit("foundation", "fondatoin"));
        assert!(!within_one_edit("abc", "abcde"));
    }

    #[test]
    fn matching_rules() {
        assert!(term_matches("dune", "dun"));
        assert!(!term_matches("dune", "d"));
        assert!(term_matches("galaxy", "galxy"));
        assert!(!term_matches("dune", "dine"));
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
