//! Text analysis for search on PostgreSQL: split on non-alphanumerics, lower-case, strip accents; values by dotted
//! path; one-deletion variants (typo candidates) and the exact one-typo test.

use serde_json::{Map, Value};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Shortest query term matched as a prefix.
pub const PREFIX_MIN_CHARS: usize = 2;
/// Shortest query term matched with one typo.
pub const FUZZY_MIN_CHARS: usize = 5;

/// The terms of `text`, in order, repeats kept (term frequencies count them).
pub fn tokens(text: &str) -> Vec<String> {
    let folded: String = text
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty() && t.chars().count() <= 64)
        .map(str::to_string)
        .collect()
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

/// `term` and every string one deletion away from it.
pub fn deletions(term: &str) -> Vec<String> {
    let chars: Vec<char> = term.chars().collect();
    let mut out = vec![term.to_string()];
    for i in 0..chars.len() {
        let v: String = chars[..i].iter().chain(&chars[i + 1..]).collect();
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// Whether `a` and `b` are at most one edit apart (insertion, deletion, substitution or adjacent transposition).
pub fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a == b {
        return true;
    }
    let one_insertion = |short: &[char], long: &[char]| {
        let i = short.iter().zip(long).take_while(|(x, y)| x == y).count();
        short[i..] == long[i + 1..]
    };
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

#[cfg(test)]
mod tests {
    #[test]
    fn folds_case_and_accents() {
        assert_eq!(
            super::tokens("Crème BRÛLÉE-x"),
            vec!["creme", "brulee", "x"]
        );
    }

    #[test]
    fn one_edit() {
        assert!(super::within_one_edit("foundatoin", "foundation"));
        assert!(!super::within_one_edit("dume", "dune messiah"));
        assert!(super::deletions("abc").contains(&"ac".to_string()));
    }
}
