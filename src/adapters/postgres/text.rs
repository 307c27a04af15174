//! Text analysis for search on PostgreSQL: split on non-alphanumerics, lower-case, strip accents, and one-deletion
//! variants (typo candidates). The matching rules are `core::search_text`'s.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

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
    fn deletions() {
        assert!(super::deletions("abc").contains(&"ac".to_string()));
    }
}
