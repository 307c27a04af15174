//! Text analysis for tantivy: the `nano` analyzer (split on non-alphanumerics, lower-case, ASCII folding) that
//! indexing, querying and match explanation share. The matching rules are `core::search_text`'s.

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, TokenStream,
};

/// The name the analyzer is registered under in every index.
pub const ANALYZER: &str = "nano";

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analysis_lowercases_and_folds() {
        let mut a = analyzer();
        assert_eq!(
            terms(&mut a, "Crème Brûlée, DUNE dune!"),
            vec!["creme", "brulee", "dune"]
        );
    }
}
