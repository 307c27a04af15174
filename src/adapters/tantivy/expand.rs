//! Query term expansion: the indexed terms a query term matches in a field (itself, by prefix, or with one typo),
//! read from every segment's term dictionary, each weighed by `search_text::match_weight`. Each expansion is then
//! queried as a plain BM25 term query, so every clause of a search is a term scorer and tantivy ranks the top hits
//! with block-max WAND instead of scoring every matching document.

use crate::core::search_text::{match_weight, FUZZY_MIN_CHARS, PREFIX_MIN_CHARS};
use std::collections::BTreeMap;
use tantivy::query::FuzzyTermQuery;
use tantivy::schema::Field;
use tantivy::{Searcher, Term};

/// Most indexed terms one query term expands to in one field, besides itself: the first in term order. A two-letter
/// prefix must not turn one query into thousands of clauses.
pub const MAX_EXPANSIONS: usize = 1024;

/// The indexed terms of `field` that `query_term` matches, with their weights, the query term itself first.
pub fn expand(
    searcher: &Searcher,
    field: Field,
    query_term: &str,
) -> tantivy::Result<Vec<(String, f32)>> {
    let chars = query_term.chars().count();
    let automaton = if chars >= FUZZY_MIN_CHARS {
        Some(FuzzyTermQuery::new(Term::from_field_text(field, query_term), 1, true).automaton()?)
    } else {
        None
    };
    let mut exact = false;
    // Matching terms other than the query term; each segment contributes at most its first `MAX_EXPANSIONS` (in
    // term order), which holds every term of the overall first `MAX_EXPANSIONS`.
    let mut others: BTreeMap<String, f32> = BTreeMap::new();
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(field)?;
        let dict = inverted.terms();
        exact = exact || dict.get(query_term.as_bytes())?.is_some();
        let mut note = |key: &[u8]| match std::str::from_utf8(key) {
            Ok(term) if term != query_term => match match_weight(query_term, term) {
                Some(weight) => {
                    others.insert(term.to_string(), weight);
                    true
                }
                None => false,
            },
            _ => false,
        };
        if chars >= PREFIX_MIN_CHARS {
            let mut stream = dict.range().gt(query_term.as_bytes()).into_stream()?;
            let mut taken = 0;
            while taken < MAX_EXPANSIONS
                && stream.advance()
                && stream.key().starts_with(query_term.as_bytes())
            {
                taken += usize::from(note(stream.key()));
            }
        }
        if let Some(automaton) = &automaton {
            let mut stream = dict.search(automaton).into_stream()?;
            while stream.advance() {
                note(stream.key());
            }
        }
    }
    let mut terms: Vec<(String, f32)> = others.into_iter().take(MAX_EXPANSIONS).collect();
    if exact {
        terms.insert(0, (query_term.to_string(), 1.0));
    }
    Ok(terms)
}
