//! The data port's contract, run against every data adapter: databases, documents, list, Mango queries, indexes,
//! bulk, and cross-tenant isolation.

use crate::support::fresh_name;
use nano::core::mango::{parse_index_fields, parse_query};
use nano::core::{DomainName, TenantId, TenantScope};
use nano::ports::{DataError, DataStore, ListOptions};
use serde_json::{json, Value};
use std::sync::Arc;

pub fn scope() -> TenantScope {
    TenantScope::resolved(TenantId::parse(&fresh_name("t")).unwrap())
}

pub fn db() -> DomainName {
    DomainName::parse(&fresh_name("db")).unwrap()
}

fn ids(docs: &[Value]) -> Vec<String> {
    docs.iter()
        .map(|d| d["_id"].as_str().unwrap_or_default().to_string())
        .collect()
}

pub mod suite {
    use super::*;

    type Store = Arc<dyn DataStore>;

    async fn fresh(s: &Store) -> (TenantScope, DomainName) {
        let (scope, db) = (scope(), db());
        s.create_db(&scope, &db).await.unwrap();
        (scope, db)
    }

    async fn query(s: &Store, scope: &TenantScope, db: &DomainName, body: Value) -> Vec<String> {
        let q = parse_query(&body).unwrap();
        let mut found = ids(&s.query_docs(scope, db, &q).await.unwrap());
        if body.get("sort").is_none() {
            found.sort();
        }
        found
    }

    pub async fn databases_are_created_once_and_deleted(s: &Store) {
        let (scope, db) = (scope(), db());
        s.create_db(&scope, &db).await.unwrap();
        assert_eq!(s.create_db(&scope, &db).await, Err(DataError::DbExists));
        s.delete_db(&scope, &db).await.unwrap();
        assert_eq!(s.delete_db(&scope, &db).await, Err(DataError::DbNotFound));
        s.create_db(&scope, &db).await.unwrap();
    }

    pub async fn documents_are_created_read_replaced_and_deleted(s: &Store) {
        let (scope, db) = fresh(s).await;
        let doc = json!({"_id": "a", "title": "x", "n": 1});
        s.create_doc(&scope, &db, &doc).await.unwrap();
        assert_eq!(
            s.create_doc(&scope, &db, &doc).await,
            Err(DataError::DocExists("a".into()))
        );
        assert_eq!(s.get_doc(&scope, &db, "a").await.unwrap(), doc);
        s.put_doc(&scope, &db, "a", &json!({"title": "y"}))
            .await
            .unwrap();
        assert_eq!(
            s.get_doc(&scope, &db, "a").await.unwrap(),
            json!({"title": "y", "_id": "a"})
        );
        s.put_doc(&scope, &db, "new", &json!({"v": 1}))
            .await
            .unwrap();
        assert_eq!(s.get_doc(&scope, &db, "new").await.unwrap()["v"], 1);
        s.delete_doc(&scope, &db, "a").await.unwrap();
        assert_eq!(
            s.get_doc(&scope, &db, "a").await,
            Err(DataError::DocNotFound("a".into()))
        );
        assert_eq!(
            s.delete_doc(&scope, &db, "a").await,
            Err(DataError::DocNotFound("a".into()))
        );
    }

    pub async fn document_operations_on_a_missing_database_fail(s: &Store) {
        let (scope, db) = (scope(), db());
        let doc = json!({"_id": "a"});
        assert_eq!(
            s.create_doc(&scope, &db, &doc).await,
            Err(DataError::DbNotFound)
        );
        assert_eq!(
            s.put_doc(&scope, &db, "a", &doc).await,
            Err(DataError::DbNotFound)
        );
        assert_eq!(
            s.get_doc(&scope, &db, "a").await,
            Err(DataError::DbNotFound)
        );
        assert_eq!(
            s.delete_doc(&scope, &db, "a").await,
            Err(DataError::DbNotFound)
        );
        assert_eq!(
            s.list_docs(&scope, &db, &ListOptions::default()).await,
            Err(DataError::DbNotFound)
        );
        assert_eq!(
            s.query_docs(&scope, &db, &parse_query(&json!({})).unwrap())
                .await,
            Err(DataError::DbNotFound)
        );
        let fields = parse_index_fields(&json!(["a"])).unwrap();
        assert_eq!(
            s.create_index(&scope, &db, "ix", &fields).await,
            Err(DataError::DbNotFound)
        );
        assert_eq!(
            s.bulk(&scope, &db, &[doc]).await,
            Err(DataError::DbNotFound)
        );
    }

    pub async fn list_follows_hypers_options(s: &Store) {
        let (scope, db) = fresh(s).await;
        for i in 1001..=1009 {
            s.create_doc(&scope, &db, &json!({"_id": i.to_string(), "i": i}))
                .await
                .unwrap();
        }
        let list = |o: ListOptions| {
            let (s, scope, db) = (s.clone(), scope.clone(), db.clone());
            async move { ids(&s.list_docs(&scope, &db, &o).await.unwrap()) }
        };
        assert_eq!(list(ListOptions::default()).await.len(), 9);
        let keys = Some(vec![
            "1002".into(),
            "1005".into(),
            "1008".into(),
            "nope".into(),
        ]);
        assert_eq!(
            list(ListOptions {
                keys,
                ..Default::default()
            })
            .await,
            vec!["1002", "1005", "1008"]
        );
        let start = Some("1004".to_string());
        let end = Some("1008".to_string());
        assert_eq!(
            list(ListOptions {
                startkey: start.clone(),
                ..Default::default()
            })
            .await
            .len(),
            6
        );
        assert_eq!(
            list(ListOptions {
                endkey: end.clone(),
                ..Default::default()
            })
            .await
            .len(),
            8
        );
        let both = ListOptions {
            startkey: start,
            endkey: end,
            ..Default::default()
        };
        assert_eq!(
            list(both.clone()).await,
            vec!["1004", "1005", "1006", "1007", "1008"]
        );
        assert_eq!(
            list(ListOptions {
                descending: true,
                ..both
            })
            .await,
            vec!["1008", "1007", "1006", "1005", "1004"]
        );
        assert_eq!(
            list(ListOptions {
                limit: Some(2),
                ..Default::default()
            })
            .await,
            vec!["1001", "1002"]
        );
        let desc = list(ListOptions {
            descending: true,
            ..Default::default()
        })
        .await;
        assert_eq!(desc.first().map(String::as_str), Some("1009"));
        assert_eq!(desc.last().map(String::as_str), Some("1001"));
    }

    pub async fn queries_compare_by_type(s: &Store) {
        let (scope, db) = fresh(s).await;
        let docs = [
            json!({"_id": "n5", "v": 5}),
            json!({"_id": "n10", "v": 10.5}),
            json!({"_id": "s5", "v": "5"}),
            json!({"_id": "sa", "v": "apple"}),
            json!({"_id": "t", "v": true}),
            json!({"_id": "one", "v": 1}),
            json!({"_id": "nul", "v": null}),
            json!({"_id": "none"}),
            json!({"_id": "obj", "v": {"x": 1}}),
        ];
        s.bulk(&scope, &db, &docs).await.unwrap();
        let q = |body: Value| query(s, &scope, &db, body);
        assert_eq!(q(json!({"selector": {"v": 5}})).await, vec!["n5"]);
        assert_eq!(q(json!({"selector": {"v": "5"}})).await, vec!["s5"]);
        assert_eq!(q(json!({"selector": {"v": true}})).await, vec!["t"]);
        assert_eq!(q(json!({"selector": {"v": 1}})).await, vec!["one"]);
        assert_eq!(
            q(json!({"selector": {"v": {"$gt": 1}}})).await,
            vec!["n10", "n5"]
        );
        assert_eq!(
            q(json!({"selector": {"v": {"$gte": "a"}}})).await,
            vec!["sa"]
        );
        assert_eq!(
            q(json!({"selector": {"v": {"$lt": "b"}}})).await,
            vec!["s5", "sa"]
        );
        assert_eq!(
            q(json!({"selector": {"v": null}})).await,
            vec!["none", "nul"]
        );
        assert_eq!(q(json!({"selector": {"v": {"x": 1}}})).await, vec!["obj"]);
        assert_eq!(
            q(json!({"selector": {"v": {"$in": [5, "apple", "nope"]}}})).await,
            vec!["n5", "sa"]
        );
        assert_eq!(
            q(json!({"selector": {"v": {"$ne": 5}}, "limit": 0}))
                .await
                .len(),
            8,
            "$ne includes documents without the field"
        );
        assert_eq!(
            q(json!({"selector": {"v": {"$nin": [5, "5", 1]}}})).await,
            vec!["n10", "none", "nul", "obj", "sa", "t"]
        );
        assert_eq!(
            q(json!({"selector": {"v": {"$exists": false}}})).await,
            vec!["none"]
        );
        assert_eq!(
            q(json!({"selector": {"v": {"$exists": true}}})).await.len(),
            8
        );
        assert_eq!(
            q(json!({"selector": {"v": {"$regex": "^AP", "$options": "i"}}})).await,
            vec!["sa"]
        );
        assert_eq!(
            q(json!({"selector": {"v": {"$not": {"$gt": 1}}}})).await,
            vec!["none", "nul", "obj", "one", "s5", "sa", "t"]
        );
    }

    pub async fn queries_combine_logic_paths_and_arrays(s: &Store) {
        let (scope, db) = fresh(s).await;
        let docs = [
            json!({"_id": "a", "type": "album", "year": 1967, "tags": ["rock", "psych"], "band": {"name": "The Doors"},
                   "scores": [{"k": "x", "v": 90}, {"k": "y", "v": 40}]}),
            json!({"_id": "b", "type": "album", "year": 1971, "tags": ["rock"], "band": {"name": "Led Zeppelin"},
                   "scores": [{"k": "x", "v": 10}]}),
            json!({"_id": "c", "type": "movie", "year": 1999, "tags": [], "band": {"name": "none"}}),
        ];
        s.bulk(&scope, &db, &docs).await.unwrap();
        let q = |body: Value| query(s, &scope, &db, body);
        assert_eq!(
            q(json!({"selector": {"band.name": "The Doors"}})).await,
            vec!["a"]
        );
        assert_eq!(
            q(json!({"selector": {"$or": [{"year": {"$lt": 1970}}, {"type": "movie"}]}})).await,
            vec!["a", "c"]
        );
        assert_eq!(
            q(json!({"selector": {"$and": [{"type": "album"}, {"year": {"$gt": 1970}}]}})).await,
            vec!["b"]
        );
        assert_eq!(
            q(json!({"selector": {"$nor": [{"type": "album"}]}})).await,
            vec!["c"]
        );
        assert_eq!(
            q(json!({"selector": {"tags": {"$all": ["rock", "psych"]}}})).await,
            vec!["a"]
        );
        assert_eq!(
            q(json!({"selector": {"tags": {"$size": 0}}})).await,
            vec!["c"]
        );
        assert_eq!(
            q(json!({"selector": {"tags": {"$elemMatch": {"$eq": "rock"}}}})).await,
            vec!["a", "b"]
        );
        assert_eq!(
            q(json!({"selector": {"scores": {"$elemMatch": {"k": "x", "v": {"$gte": 50}}}}})).await,
            vec!["a"]
        );
        assert_eq!(q(json!({"selector": {"tags": ["rock"]}})).await, vec!["b"]);
    }

    pub async fn queries_sort_page_and_project(s: &Store) {
        let (scope, db) = fresh(s).await;
        let docs: Vec<Value> = (0..30)
            .map(|i| json!({"_id": format!("d{i:02}"), "n": i, "band": format!("b{}", i % 3), "x": "drop"}))
            .collect();
        s.bulk(&scope, &db, &docs).await.unwrap();
        let q = |body: Value| {
            let (s, scope, db) = (s.clone(), scope.clone(), db.clone());
            async move {
                s.query_docs(&scope, &db, &parse_query(&body).unwrap())
                    .await
                    .unwrap()
            }
        };
        assert_eq!(q(json!({})).await.len(), 25, "default limit");
        assert_eq!(q(json!({"limit": 0})).await.len(), 30);
        let page = q(json!({"sort": [{"n": "DESC"}], "skip": 2, "limit": "3"})).await;
        assert_eq!(ids(&page), vec!["d27", "d26", "d25"]);
        let asc = q(json!({"selector": {"n": {"$gte": 10}}, "sort": ["n"], "limit": 2})).await;
        assert_eq!(ids(&asc), vec!["d10", "d11"]);
        let two = q(json!({"selector": {"n": 4}, "fields": ["_id", "band"]})).await;
        assert_eq!(two, vec![json!({"_id": "d04", "band": "b1"})]);
        let no_id = q(json!({"selector": {"n": 4}, "fields": ["band"]})).await;
        assert_eq!(no_id, vec![json!({"band": "b1"})]);
    }

    pub async fn indexes_are_idempotent_and_conflict_on_other_fields(s: &Store) {
        let (scope, db) = fresh(s).await;
        let title = parse_index_fields(&json!(["title"])).unwrap();
        let other = parse_index_fields(&json!([{"title": "DESC"}, {"year": "ASC"}])).unwrap();
        s.create_index(&scope, &db, "ix", &title).await.unwrap();
        s.create_index(&scope, &db, "ix", &title).await.unwrap();
        assert_eq!(
            s.create_index(&scope, &db, "ix", &other).await,
            Err(DataError::IndexConflict("ix".into()))
        );
        s.create_index(&scope, &db, "ix2", &other).await.unwrap();
        s.create_doc(&scope, &db, &json!({"_id": "1", "title": "b"}))
            .await
            .unwrap();
        s.create_doc(&scope, &db, &json!({"_id": "2", "title": "a"}))
            .await
            .unwrap();
        let q = parse_query(&json!({"selector": {"title": {"$gt": ""}}, "sort": [{"title": "DESC"}], "use_index": "ix"}))
            .unwrap();
        assert_eq!(
            ids(&s.query_docs(&scope, &db, &q).await.unwrap()),
            vec!["1", "2"]
        );
        s.delete_db(&scope, &db).await.unwrap();
        s.create_db(&scope, &db).await.unwrap();
        s.create_index(&scope, &db, "ix", &other).await.unwrap();
    }

    /// Many writes at once, some failing: each gets its own answer (group commit must not let one failing write
    /// fail its neighbours), and every acknowledged write is there to read.
    pub async fn concurrent_writes_each_get_their_own_result(s: &Store) {
        let (scope, db) = fresh(s).await;
        let taken = json!({"_id": "taken", "v": "first"});
        s.create_doc(&scope, &db, &taken).await.unwrap();
        let missing = super::db();
        let writes = (0..64).map(|i| {
            let (s, scope, db, missing) = (s.clone(), scope.clone(), db.clone(), missing.clone());
            async move {
                match i {
                    10 => {
                        s.create_doc(&scope, &db, &json!({"_id": "taken", "v": i}))
                            .await
                    }
                    20 => s.create_doc(&scope, &missing, &json!({"_id": "x"})).await,
                    30 => s
                        .bulk(&scope, &db, &[json!({"_id": "b1"}), json!({"_id": "b2"})])
                        .await
                        .map(|_| ()),
                    40 => s.put_doc(&scope, &db, "taken-too", &json!({"v": i})).await,
                    _ => {
                        s.create_doc(&scope, &db, &json!({"_id": format!("d{i}"), "v": i}))
                            .await
                    }
                }
            }
        });
        let answers = futures::future::join_all(writes).await;
        for (i, answer) in answers.into_iter().enumerate() {
            match i {
                10 => assert_eq!(answer, Err(DataError::DocExists("taken".into()))),
                20 => assert_eq!(answer, Err(DataError::DbNotFound)),
                _ => assert_eq!(answer, Ok(()), "write {i}"),
            }
        }
        assert_eq!(s.get_doc(&scope, &db, "taken").await.unwrap(), taken);
        for id in ["d0", "d63", "b1", "b2", "taken-too"] {
            s.get_doc(&scope, &db, id).await.unwrap();
        }
        let all = s
            .list_docs(&scope, &db, &ListOptions::default())
            .await
            .unwrap();
        assert_eq!(all.len(), 1 + 60 + 2 + 1);
    }

    pub async fn bulk_upserts_and_deletes_all_or_nothing(s: &Store) {
        let (scope, db) = fresh(s).await;
        let docs: Vec<Value> = (0..6)
            .map(|i| json!({"_id": format!("t{i}"), "type": "team"}))
            .collect();
        assert_eq!(
            s.bulk(&scope, &db, &docs).await.unwrap(),
            vec!["t0", "t1", "t2", "t3", "t4", "t5"]
        );
        let updates: Vec<Value> = (0..6)
            .map(|i| json!({"_id": format!("t{i}"), "type": "team", "active": true, "_update": true}))
            .collect();
        s.bulk(&scope, &db, &updates).await.unwrap();
        let active = query(
            s,
            &scope,
            &db,
            json!({"selector": {"type": "team", "active": true}}),
        )
        .await;
        assert_eq!(active.len(), 6);
        assert!(s
            .get_doc(&scope, &db, "t0")
            .await
            .unwrap()
            .get("_update")
            .is_none());
        let deletes = vec![
            json!({"_id": "t0", "_deleted": true}),
            json!({"_id": "t1", "_deleted": true}),
        ];
        assert_eq!(
            s.bulk(&scope, &db, &deletes).await.unwrap(),
            vec!["t0", "t1"]
        );
        assert_eq!(
            s.list_docs(&scope, &db, &ListOptions::default())
                .await
                .unwrap()
                .len(),
            4
        );
        // One bad document rejects the whole batch: nothing half-written.
        let bad = vec![json!({"_id": "new"}), json!({"no": "id"})];
        assert!(matches!(
            s.bulk(&scope, &db, &bad).await,
            Err(DataError::Invalid(_))
        ));
        assert_eq!(
            s.get_doc(&scope, &db, "new").await,
            Err(DataError::DocNotFound("new".into()))
        );
    }

    pub async fn deleting_a_database_deletes_its_documents(s: &Store) {
        let (scope, db) = fresh(s).await;
        s.create_doc(&scope, &db, &json!({"_id": "a"}))
            .await
            .unwrap();
        s.delete_db(&scope, &db).await.unwrap();
        s.create_db(&scope, &db).await.unwrap();
        assert!(s
            .list_docs(&scope, &db, &ListOptions::default())
            .await
            .unwrap()
            .is_empty());
    }

    pub async fn tenants_never_see_each_others_data(s: &Store) {
        let (a, b) = (scope(), scope());
        let db = db();
        s.create_db(&a, &db).await.unwrap();
        s.create_db(&b, &db).await.unwrap();
        s.create_doc(&a, &db, &json!({"_id": "same", "owner": "a"}))
            .await
            .unwrap();
        s.create_doc(&b, &db, &json!({"_id": "same", "owner": "b"}))
            .await
            .unwrap();
        s.create_doc(&a, &db, &json!({"_id": "only-a", "owner": "a"}))
            .await
            .unwrap();
        assert_eq!(s.get_doc(&b, &db, "same").await.unwrap()["owner"], "b");
        assert_eq!(
            s.get_doc(&b, &db, "only-a").await,
            Err(DataError::DocNotFound("only-a".into()))
        );
        let all = ListOptions::default();
        assert_eq!(
            ids(&s.list_docs(&b, &db, &all).await.unwrap()),
            vec!["same"]
        );
        let q = parse_query(&json!({"selector": {"owner": "a"}})).unwrap();
        assert!(s.query_docs(&b, &db, &q).await.unwrap().is_empty());
        // B's writes and deletes never reach A's documents.
        s.put_doc(&b, &db, "only-a", &json!({"owner": "b"}))
            .await
            .unwrap();
        s.bulk(&b, &db, &[json!({"_id": "same", "_deleted": true})])
            .await
            .unwrap();
        assert_eq!(
            s.delete_doc(&b, &db, "same").await,
            Err(DataError::DocNotFound("same".into()))
        );
        assert_eq!(s.get_doc(&a, &db, "only-a").await.unwrap()["owner"], "a");
        assert_eq!(s.get_doc(&a, &db, "same").await.unwrap()["owner"], "a");
        // Same index name with other fields under B is no conflict for A.
        let f1 = parse_index_fields(&json!(["owner"])).unwrap();
        let f2 = parse_index_fields(&json!(["other"])).unwrap();
        s.create_index(&a, &db, "ix", &f1).await.unwrap();
        s.create_index(&b, &db, "ix", &f2).await.unwrap();
        // Deleting B's database leaves A's.
        s.delete_db(&b, &db).await.unwrap();
        assert_eq!(s.list_docs(&a, &db, &all).await.unwrap().len(), 2);
        assert_eq!(s.create_db(&a, &db).await, Err(DataError::DbExists));
        let other = scope();
        assert_eq!(s.delete_db(&other, &db).await, Err(DataError::DbNotFound));
    }
}

pub(crate) async fn sqlite() -> (Arc<dyn DataStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = nano::adapters::sqlite::SqliteDataStore::open(&dir.path().join("data.db"))
        .await
        .unwrap();
    (Arc::new(store), dir)
}

/// SQLite only: an indexed `_query` searches the expression index instead of scanning the tenant's documents.
#[tokio::test]
async fn sqlite_indexed_query_uses_the_expression_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = nano::adapters::sqlite::SqliteDataStore::open(&dir.path().join("data.db"))
        .await
        .unwrap();
    let (scope, db) = (scope(), db());
    store.create_db(&scope, &db).await.unwrap();
    let docs: Vec<Value> = (0..200)
        .map(|i| json!({"_id": format!("d{i}"), "title": format!("t{i}"), "n": i}))
        .collect();
    store.bulk(&scope, &db, &docs).await.unwrap();
    let eq = parse_query(&json!({"selector": {"title": "t7"}})).unwrap();
    let before = store
        .explain_query(&scope, &db, &eq)
        .await
        .unwrap()
        .join("\n");
    assert!(!before.contains("data_ix_"), "{before}");
    let fields = parse_index_fields(&json!(["title"])).unwrap();
    store
        .create_index(&scope, &db, "by-title", &fields)
        .await
        .unwrap();
    let plan = store
        .explain_query(&scope, &db, &eq)
        .await
        .unwrap()
        .join("\n");
    assert!(
        plan.contains("SEARCH") && plan.contains("data_ix_"),
        "{plan}"
    );
    let sorted =
        parse_query(&json!({"selector": {"title": {"$gt": "t1"}}, "sort": [{"title": "DESC"}]}))
            .unwrap();
    let plan = store
        .explain_query(&scope, &db, &sorted)
        .await
        .unwrap()
        .join("\n");
    assert!(
        plan.contains("data_ix_") && !plan.contains("TEMP B-TREE"),
        "{plan}"
    );
    let found = store.query_docs(&scope, &db, &eq).await.unwrap();
    assert_eq!(ids(&found), vec!["d7"]);
}

/// PostgreSQL: each test in its own fresh schema.
pub(crate) async fn postgres() -> (Arc<dyn DataStore>, ()) {
    let store = nano::adapters::postgres::PgDataStore::open(&crate::support::pg_target())
        .await
        .expect("PostgreSQL at 127.0.0.1:5432 (scripts/ci-services.sh starts it)");
    (Arc::new(store), ())
}

/// PostgreSQL only: an indexed `_query` is an index scan on the shared expression index, never a sequential scan.
#[tokio::test]
async fn postgres_indexed_query_uses_the_expression_index() {
    let store = nano::adapters::postgres::PgDataStore::open(&crate::support::pg_target())
        .await
        .unwrap();
    let (scope, db) = (scope(), db());
    store.create_db(&scope, &db).await.unwrap();
    let docs: Vec<Value> = (0..200)
        .map(|i| json!({"_id": format!("d{i}"), "title": format!("t{i}"), "n": i}))
        .collect();
    store.bulk(&scope, &db, &docs).await.unwrap();
    let eq = parse_query(&json!({"selector": {"title": "t7"}})).unwrap();
    let before = store
        .explain_query(&scope, &db, &eq)
        .await
        .unwrap()
        .join("\n");
    assert!(!before.contains("data_ix_"), "{before}");
    let fields = parse_index_fields(&json!(["title"])).unwrap();
    store
        .create_index(&scope, &db, "by-title", &fields)
        .await
        .unwrap();
    let plan = store
        .explain_query(&scope, &db, &eq)
        .await
        .unwrap()
        .join("\n");
    assert!(
        plan.contains("Index") && plan.contains("data_ix_") && !plan.contains("Seq Scan"),
        "{plan}"
    );
    let found = store.query_docs(&scope, &db, &eq).await.unwrap();
    assert_eq!(ids(&found), vec!["d7"]);
}

/// PostgreSQL only: row-level security hides every tenant row from a transaction that has not set `nano.host`,
/// and shows one tenant's rows only to a transaction that names it.
#[tokio::test]
async fn postgres_row_level_security_needs_the_host_setting() {
    let target = crate::support::pg_target();
    let store = nano::adapters::postgres::PgDataStore::open(&target)
        .await
        .unwrap();
    let (a, b, db) = (scope(), scope(), db());
    for s in [&a, &b] {
        store.create_db(s, &db).await.unwrap();
        store
            .create_doc(s, &db, &json!({"_id": "x", "v": s.as_str()}))
            .await
            .unwrap();
    }
    let schema = target.schema.clone().unwrap();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(
            target
                .url
                .parse::<sqlx::postgres::PgConnectOptions>()
                .unwrap()
                .options([("search_path", schema.as_str())]),
        )
        .await
        .unwrap();
    let count = |host: Option<String>| {
        let pool = pool.clone();
        async move {
            let mut tx = pool.begin().await.unwrap();
            // The test connects as a superuser, which bypasses policies: take the role nano's transactions take.
            sqlx::query("SET LOCAL ROLE nano_tenant")
                .execute(&mut *tx)
                .await
                .unwrap();
            if let Some(host) = host {
                sqlx::query("SELECT set_config('nano.host', $1, true)")
                    .bind(host)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM data_docs")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            let (d,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM data_databases")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            n + d
        }
    };
    assert_eq!(count(None).await, 0, "rows visible without nano.host");
    assert_eq!(count(Some(a.as_str().to_string())).await, 2);
    assert_eq!(count(Some("nobody".to_string())).await, 0);
    let (total,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM data_docs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(total, 2, "both tenants' rows are stored");
}

/// The quota decorator over SQLite, with limits no behaviour reaches.
pub(crate) async fn quota() -> (Arc<dyn DataStore>, tempfile::TempDir) {
    let (inner, guard) = sqlite().await;
    let limits = crate::generous_quotas();
    (
        Arc::new(nano::app::quota::QuotaData::new(inner, &limits)),
        guard,
    )
}

crate::contract_suite!(
    super::suite,
    [sqlite => super::sqlite, postgres => super::postgres, quota => super::quota],
    [
        databases_are_created_once_and_deleted,
        documents_are_created_read_replaced_and_deleted,
        document_operations_on_a_missing_database_fail,
        list_follows_hypers_options,
        queries_compare_by_type,
        queries_combine_logic_paths_and_arrays,
        queries_sort_page_and_project,
        indexes_are_idempotent_and_conflict_on_other_fields,
        bulk_upserts_and_deletes_all_or_nothing,
        concurrent_writes_each_get_their_own_result,
        deleting_a_database_deletes_its_documents,
        tenants_never_see_each_others_data,
    ]
);

/// PostgreSQL only: once the registry on the same database marks a tenant deleted, its writes are refused as a 404
/// (the tenant is gone), not as a backend failure; a neighbour's go on.
#[tokio::test]
async fn postgres_refuses_a_deleted_tenants_writes_as_not_found() {
    let target = crate::support::pg_target();
    let store = nano::adapters::postgres::PgDataStore::open(&target)
        .await
        .unwrap();
    let pool = nano::adapters::postgres::registry_pool(&target)
        .await
        .unwrap();
    let registry = nano::adapters::sql::SqlRegistry::new(pool);
    let (gone, kept) = (scope(), scope());
    for s in [&gone, &kept] {
        let id = nano::core::TenantId::parse(s.as_str()).unwrap();
        nano::ports::Registry::create_tenant(&registry, &id)
            .await
            .unwrap();
    }
    let db = db();
    store.create_db(&gone, &db).await.unwrap();
    store.create_db(&kept, &db).await.unwrap();
    let id = nano::core::TenantId::parse(gone.as_str()).unwrap();
    nano::ports::Registry::mark_tenant_deleted(&registry, &id)
        .await
        .unwrap();
    let refused = store.put_doc(&gone, &db, "late", &json!({"a": 1})).await;
    let err = refused.expect_err("a marked tenant's write is refused");
    assert_eq!(
        nano::core::HasKind::kind(&err),
        nano::core::ErrorKind::NotFound,
        "{err}"
    );
    assert!(err.to_string().contains("was deleted"), "{err}");
    store
        .put_doc(&kept, &db, "k", &json!({"a": 1}))
        .await
        .unwrap();
}
