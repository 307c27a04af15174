//! The search port's contract, run against every search adapter.

use crate::support::fresh_name;
use nano::core::{DomainName, TenantId, TenantScope};
use nano::ports::search::{BulkOutcome, IndexMapping, SearchQuery};
use nano::ports::{Search, SearchError};
use serde_json::{json, Map, Value};
use std::sync::Arc;

pub mod suite {
    use super::*;

    fn scope() -> TenantScope {
        TenantScope::resolved(TenantId::parse(&fresh_name("t")).unwrap())
    }

    fn index() -> DomainName {
        DomainName::parse(&fresh_name("i")).unwrap()
    }

    fn mapping(fields: &[&str], store: &[&str]) -> IndexMapping {
        IndexMapping {
            fields: fields.iter().map(|s| s.to_string()).collect(),
            store_fields: store.iter().map(|s| s.to_string()).collect(),
            boost: Default::default(),
        }
    }

    fn doc(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn q(text: &str) -> SearchQuery {
        SearchQuery {
            text: text.into(),
            limit: 100,
            ..Default::default()
        }
    }

    async fn ids(
        s: &Arc<dyn Search>,
        sc: &TenantScope,
        i: &DomainName,
        query: SearchQuery,
    ) -> Vec<String> {
        s.query(sc, i, query)
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect()
    }

    async fn movies(s: &Arc<dyn Search>) -> (TenantScope, DomainName) {
        let (sc, i) = (scope(), index());
        s.create_index(&sc, &i, mapping(&["title", "type"], &["title", "type"]))
            .await
            .unwrap();
        for (k, title, ty) in [
            ("m1", "Dune", "movie"),
            ("m2", "Dune Messiah", "book"),
            ("m3", "Foundation", "book"),
            ("m4", "Crème Brûlée Stories", "movie"),
        ] {
            s.add(&sc, &i, k, doc(json!({"title": title, "type": ty})))
                .await
                .unwrap();
        }
        (sc, i)
    }

    pub async fn indexes_are_created_once_and_need_fields(s: &Arc<dyn Search>) {
        let (sc, i) = (scope(), index());
        assert!(matches!(
            s.create_index(&sc, &i, mapping(&[], &[])).await,
            Err(SearchError::Invalid(_))
        ));
        s.create_index(&sc, &i, mapping(&["title"], &[]))
            .await
            .unwrap();
        assert!(matches!(
            s.create_index(&sc, &i, mapping(&["title"], &[])).await,
            Err(SearchError::IndexExists)
        ));
        s.delete_index(&sc, &i).await.unwrap();
        s.delete_index(&sc, &i).await.unwrap();
        assert!(matches!(
            s.add(&sc, &i, "k", doc(json!({"title": "x"}))).await,
            Err(SearchError::IndexNotFound)
        ));
        s.create_index(&sc, &i, mapping(&["title"], &[]))
            .await
            .unwrap();
        assert!(ids(s, &sc, &i, q("x")).await.is_empty());
    }

    pub async fn documents_are_added_got_updated_and_removed(s: &Arc<dyn Search>) {
        let (sc, i) = movies(s).await;
        let got = s.get(&sc, &i, "m1").await.unwrap();
        assert_eq!(
            Value::Object(got),
            json!({"_id": "m1", "title": "Dune", "type": "movie"})
        );
        assert!(matches!(
            s.add(&sc, &i, "m1", doc(json!({"title": "again"}))).await,
            Err(SearchError::DocumentConflict)
        ));
        s.update(
            &sc,
            &i,
            "m1",
            doc(json!({"title": "Arrival", "type": "movie"})),
        )
        .await
        .unwrap();
        assert_eq!(s.get(&sc, &i, "m1").await.unwrap()["title"], "Arrival");
        assert!(ids(s, &sc, &i, q("arrival")).await == vec!["m1"]);
        assert!(!ids(s, &sc, &i, q("dune")).await.contains(&"m1".to_string()));
        assert!(matches!(
            s.update(&sc, &i, "nope", doc(json!({"title": "x"}))).await,
            Err(SearchError::NotFound)
        ));
        s.remove(&sc, &i, "m1").await.unwrap();
        assert!(matches!(
            s.get(&sc, &i, "m1").await,
            Err(SearchError::NotFound)
        ));
        assert!(matches!(
            s.remove(&sc, &i, "m1").await,
            Err(SearchError::NotFound)
        ));
        assert!(ids(s, &sc, &i, q("arrival")).await.is_empty());
    }

    pub async fn a_documents_own_id_wins_over_the_key(s: &Arc<dyn Search>) {
        let (sc, i) = movies(s).await;
        s.add(
            &sc,
            &i,
            "key",
            doc(json!({"_id": "own", "title": "Solaris"})),
        )
        .await
        .unwrap();
        assert_eq!(s.get(&sc, &i, "own").await.unwrap()["title"], "Solaris");
        assert!(matches!(
            s.get(&sc, &i, "key").await,
            Err(SearchError::NotFound)
        ));
    }

    pub async fn queries_fold_case_and_accents_match_prefixes_and_typos(s: &Arc<dyn Search>) {
        let (sc, i) = movies(s).await;
        let mut dune = ids(s, &sc, &i, q("DUNE")).await;
        dune.sort();
        assert_eq!(dune, vec!["m1", "m2"]);
        let mut dun = ids(s, &sc, &i, q("dun")).await;
        dun.sort();
        assert_eq!(dun, vec!["m1", "m2"]);
        assert_eq!(ids(s, &sc, &i, q("creme brulee")).await, vec!["m4"]);
        assert_eq!(ids(s, &sc, &i, q("foundatoin")).await, vec!["m3"]);
        // One typo is tolerated only from five letters on.
        assert!(ids(s, &sc, &i, q("dume")).await.is_empty());
        assert!(ids(s, &sc, &i, q("zzzz")).await.is_empty());
        let hits = s.query(&sc, &i, q("dune")).await.unwrap();
        // BM25: the shorter title with the term ranks first.
        assert_eq!(hits[0].id, "m1");
        assert_eq!(hits[0].terms, vec!["dune"]);
        assert_eq!(hits[0].query_terms, vec!["dune"]);
        assert_eq!(hits[0].matched["dune"], vec!["title"]);
        assert_eq!(hits[0].stored["type"], "movie");
        assert!(hits[0].score > hits[1].score);
        // Equal scores are ordered by id, whatever the order of the writes.
        for k in ["t3", "t1", "t2"] {
            s.add(&sc, &i, k, doc(json!({"title": "Twins", "type": "x"})))
                .await
                .unwrap();
        }
        assert_eq!(ids(s, &sc, &i, q("twins")).await, vec!["t1", "t2", "t3"]);
    }

    pub async fn fields_boosts_and_filters_shape_results(s: &Arc<dyn Search>) {
        let (sc, i) = (scope(), index());
        let mut m = mapping(&["title", "body"], &["title", "kind"]);
        m.boost.insert("body".into(), 10.0);
        s.create_index(&sc, &i, m).await.unwrap();
        s.add(
            &sc,
            &i,
            "t",
            doc(json!({"title": "rust", "body": "other", "kind": "a"})),
        )
        .await
        .unwrap();
        s.add(
            &sc,
            &i,
            "b",
            doc(json!({"title": "other", "body": "rust", "kind": "b"})),
        )
        .await
        .unwrap();
        // The boosted body field wins.
        assert_eq!(ids(s, &sc, &i, q("rust")).await, vec!["b", "t"]);
        let only_title = SearchQuery {
            fields: Some(vec!["title".into()]),
            ..q("rust")
        };
        assert_eq!(ids(s, &sc, &i, only_title).await, vec!["t"]);
        let filtered = SearchQuery {
            filter: doc(json!({"kind": "a"})),
            ..q("rust")
        };
        assert_eq!(ids(s, &sc, &i, filtered).await, vec!["t"]);
        let unknown = SearchQuery {
            fields: Some(vec!["nope".into()]),
            ..q("rust")
        };
        assert!(matches!(
            s.query(&sc, &i, unknown).await,
            Err(SearchError::Invalid(_))
        ));
    }

    pub async fn bulk_loads_by_id_and_reports_each_document(s: &Arc<dyn Search>) {
        let (sc, i) = movies(s).await;
        let out = s
            .bulk(
                &sc,
                &i,
                vec![
                    json!({"id": "1", "title": "Alien"}),
                    json!({"_id": "2", "title": "Aliens"}),
                    json!({"title": "no id"}),
                    json!({"_id": "m3", "title": "Foundation and Empire"}),
                ],
            )
            .await
            .unwrap();
        assert_eq!(out[0], BulkOutcome::Indexed("1".into()));
        assert_eq!(out[1], BulkOutcome::Indexed("2".into()));
        assert!(matches!(out[2], BulkOutcome::Rejected(_)));
        assert_eq!(out[3], BulkOutcome::Indexed("m3".into()));
        assert_eq!(
            s.get(&sc, &i, "m3").await.unwrap()["title"],
            "Foundation and Empire"
        );
        let mut aliens = ids(s, &sc, &i, q("alien")).await;
        aliens.sort();
        assert_eq!(aliens, vec!["1", "2"]);
    }

    pub async fn concurrent_writes_are_all_kept_and_conflict_once(s: &Arc<dyn Search>) {
        let (sc, i) = (scope(), index());
        s.create_index(&sc, &i, mapping(&["title"], &[]))
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for n in 0..12 {
            let (s, sc, i) = (s.clone(), sc.clone(), i.clone());
            tasks.push(tokio::spawn(async move {
                let key = if n % 2 == 0 {
                    format!("k{n}")
                } else {
                    "same".to_string()
                };
                s.add(
                    &sc,
                    &i,
                    &key,
                    doc(json!({"title": format!("word{n} shared")})),
                )
                .await
            }));
        }
        let mut conflicts = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => {}
                Err(SearchError::DocumentConflict) => conflicts += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(conflicts, 5, "six adds of `same`, one wins");
        assert_eq!(ids(s, &sc, &i, q("shared")).await.len(), 7);
    }

    pub async fn tenants_never_see_each_others_indexes(s: &Arc<dyn Search>) {
        let (a, i) = movies(s).await;
        let b = scope();
        assert!(matches!(
            s.get(&b, &i, "m1").await,
            Err(SearchError::IndexNotFound)
        ));
        assert!(matches!(
            s.query(&b, &i, q("dune")).await,
            Err(SearchError::IndexNotFound)
        ));
        s.create_index(&b, &i, mapping(&["title"], &[]))
            .await
            .unwrap();
        assert!(ids(s, &b, &i, q("dune")).await.is_empty());
        assert!(matches!(
            s.remove(&b, &i, "m1").await,
            Err(SearchError::NotFound)
        ));
        s.add(&b, &i, "m1", doc(json!({"title": "Other tenant"})))
            .await
            .unwrap();
        assert_eq!(s.get(&a, &i, "m1").await.unwrap()["title"], "Dune");
        s.delete_index(&b, &i).await.unwrap();
        assert_eq!(s.get(&a, &i, "m1").await.unwrap()["title"], "Dune");
        assert_eq!(ids(s, &a, &i, q("messiah")).await, vec!["m2"]);
    }
}

pub(crate) async fn tantivy() -> (Arc<dyn Search>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let search = nano::adapters::tantivy::TantivySearch::open(&dir.path().join("search")).unwrap();
    (Arc::new(search), dir)
}

/// PostgreSQL: each test in its own fresh schema.
pub(crate) async fn postgres() -> (Arc<dyn Search>, ()) {
    let search = nano::adapters::postgres::PgSearch::open(&crate::support::pg_target())
        .await
        .expect("PostgreSQL at 127.0.0.1:5432 (scripts/ci-services.sh starts it)");
    (Arc::new(search), ())
}

/// Specific to tantivy: indexes written by one adapter instance are there for the next (reload at start).
#[tokio::test]
async fn tantivy_indexes_reload_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("search");
    let sc = TenantScope::resolved(TenantId::parse(&fresh_name("t")).unwrap());
    let i = DomainName::parse("books").unwrap();
    {
        let s = nano::adapters::tantivy::TantivySearch::open(&root).unwrap();
        let m = IndexMapping {
            fields: vec!["title".into()],
            ..Default::default()
        };
        s.create_index(&sc, &i, m).await.unwrap();
        s.add(
            &sc,
            &i,
            "k",
            json!({"title": "Hyperion"}).as_object().unwrap().clone(),
        )
        .await
        .unwrap();
    }
    let s = nano::adapters::tantivy::TantivySearch::open(&root).unwrap();
    assert_eq!(s.get(&sc, &i, "k").await.unwrap()["title"], "Hyperion");
    let hits = s
        .query(
            &sc,
            &i,
            SearchQuery {
                text: "hyper".into(),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
}

/// The quota decorator over tantivy, with limits no behaviour reaches.
pub(crate) async fn quota() -> (Arc<dyn Search>, tempfile::TempDir) {
    let (inner, guard) = tantivy().await;
    let limits = crate::generous_quotas();
    (
        Arc::new(nano::app::quota::QuotaSearch::new(inner, &limits)),
        guard,
    )
}

crate::contract_suite!(
    super::suite,
    [tantivy => super::tantivy, postgres => super::postgres, quota => super::quota],
    [
        indexes_are_created_once_and_need_fields,
        documents_are_added_got_updated_and_removed,
        a_documents_own_id_wins_over_the_key,
        queries_fold_case_and_accents_match_prefixes_and_typos,
        fields_boosts_and_filters_shape_results,
        bulk_loads_by_id_and_reports_each_document,
        concurrent_writes_are_all_kept_and_conflict_once,
        tenants_never_see_each_others_indexes,
    ]
);
