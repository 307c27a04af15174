//! Redis glob escaping: literal text and hyper's `*`-only patterns as `SCAN MATCH` patterns.

/// Escapes every Redis glob special (`*`, `?`, `[`, `]`, `\`) so `text` matches only itself.
pub fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A hyper cache pattern as a Redis glob: every `*` stays a wildcard, everything else matches itself.
pub fn pattern(text: &str) -> String {
    text.split('*').map(literal).collect::<Vec<_>>().join("*")
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_everything_but_star_in_patterns() {
        assert_eq!(super::pattern("a?[b]\\*c*"), "a\\?\\[b\\]\\\\*c*");
        assert_eq!(super::literal("x*y"), "x\\*y");
    }
}
