//! Tenant export and import: a tenant filled through REST (all five services, with a multi-megabyte object) is
//! exported, deleted, and imported into a fresh tenant, whose every service then reads the same; bad archives get
//! 400 and an import over a quota 429, both leaving nothing; an import over existing names gets 409; another
//! tenant with the same names is untouched.

use crate::support::{client, fresh_name, TestNano};
use serde_json::{json, Value};
use std::collections::BTreeSet;

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A few megabytes that are not all the same byte.
fn big_object() -> Vec<u8> {
    (0..3 * 1024 * 1024 + 123)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

/// Fills every service of tenant `t`; `tag` makes two tenants' contents differ under the same names.
async fn fill(nano: &TestNano, t: &str, tag: &str) {
    let c = client();
    let u = |p: &str| nano.url(&format!("/{t}{p}"));
    for db in ["movies", "books"] {
        assert_eq!(send(c.put(u(&format!("/data/{db}")))).await.0, 201);
    }
    for (id, title) in [("m1", "Dune"), ("m2", "Heat"), ("m3", "Up")] {
        let doc = json!({ "_id": id, "title": title, "tag": tag, "nested": { "n": [1, 2] } });
        assert_eq!(send(c.post(u("/data/movies")).json(&doc)).await.0, 201);
    }
    let index = json!({ "name": "by-title", "fields": [{ "title": "DESC" }, { "tag": "ASC" }] });
    assert_eq!(
        send(c.post(u("/data/movies/_index")).json(&index)).await.0,
        201
    );
    let doc = json!({ "_id": "b1", "tag": tag });
    assert_eq!(send(c.post(u("/data/books")).json(&doc)).await.0, 201);
    assert_eq!(send(c.put(u("/cache/sessions"))).await.0, 201);
    let key = json!({ "key": "a", "value": { "tag": tag } });
    assert_eq!(send(c.post(u("/cache/sessions")).json(&key)).await.0, 201);
    let key = json!({ "key": "b", "value": { "n": 2 }, "ttl": "1h" });
    assert_eq!(send(c.post(u("/cache/sessions")).json(&key)).await.0, 201);
    assert_eq!(send(c.put(u("/storage/files"))).await.0, 201);
    let big = if tag == "src" {
        big_object()
    } else {
        b"other".to_vec()
    };
    for (path, bytes) in [
        ("big.bin", big),
        ("docs/a.txt", tag.as_bytes().to_vec()),
        ("empty", vec![]),
    ] {
        let req = c
            .post(u(&format!("/storage/files/{path}")))
            .header("content-type", "application/octet-stream")
            .body(bytes);
        assert_eq!(send(req).await.0, 201, "{path}");
    }
    let mapping = json!({ "fields": ["title"], "storeFields": ["title"], "boost": { "title": 2 } });
    assert_eq!(send(c.put(u("/search/films")).json(&mapping)).await.0, 201);
    for (key, title) in [("d1", "Dune"), ("d2", "Dune Messiah")] {
        let add = json!({ "key": key, "doc": { "title": title, "tag": tag } });
        assert_eq!(send(c.post(u("/search/films")).json(&add)).await.0, 201);
    }
    let target = json!({ "target": "http://127.0.0.1:9/hook", "secret": "s3cret" });
    assert_eq!(send(c.put(u("/queue/jobs")).json(&target)).await.0, 201);
    for n in 0..2 {
        let job = json!({ "n": n, "tag": tag });
        assert_eq!(send(c.post(u("/queue/jobs")).json(&job)).await.0, 201);
    }
}

/// What tenant `t`'s services hold, read through REST.
async fn contents(nano: &TestNano, t: &str) -> Vec<Value> {
    let c = client();
    let u = |p: &str| nano.url(&format!("/{t}{p}"));
    let mut out = Vec::new();
    for p in [
        "/data/movies",
        "/data/books",
        "/data/movies/m2",
        "/cache/sessions/a",
        "/cache/sessions/b",
        "/search/films/d1",
        "/search/films/d2",
    ] {
        out.push(json!([p, send(c.get(u(p))).await]));
    }
    let (status, hits) = send(
        c.post(u("/search/films/_query"))
            .json(&json!({ "query": "dune" })),
    )
    .await;
    let ids: BTreeSet<String> = hits["matches"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|h| h["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    out.push(json!(["query", status, ids]));
    for path in ["big.bin", "docs/a.txt", "empty"] {
        let res = c
            .get(u(&format!("/storage/files/{path}")))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let bytes = res.bytes().await.unwrap();
        out.push(json!([
            path,
            status,
            bytes.len(),
            format!("{:x}", md5_like(&bytes))
        ]));
    }
    let mut jobs = BTreeSet::new();
    for status in ["READY", "ERROR"] {
        let (_, b) = send(c.get(u(&format!("/queue/jobs?status={status}")))).await;
        for j in b["jobs"].as_array().cloned().unwrap_or_default() {
            jobs.insert(j["job"].to_string());
        }
    }
    out.push(json!(["jobs", jobs]));
    out
}

/// A cheap content fingerprint (FNV-1a).
fn md5_like(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

async fn export(nano: &TestNano, t: &str) -> Vec<u8> {
    let res = client()
        .get(nano.url(&format!("/admin/tenants/{t}/export")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    res.bytes().await.unwrap().to_vec()
}

async fn import(nano: &TestNano, t: &str, archive: Vec<u8>) -> (u16, Value) {
    send(
        client()
            .post(nano.url(&format!("/admin/tenants/{t}/import")))
            .body(archive),
    )
    .await
}

#[tokio::test]
async fn a_tenant_exported_deleted_and_imported_reads_the_same() {
    let (src, other, dst) = (fresh_name("src"), fresh_name("other"), fresh_name("dst"));
    let tenants = vec![src.clone(), other.clone()];
    let nano = TestNano::start_with(move |c| c.tenants = tenants).await;
    fill(&nano, &src, "src").await;
    fill(&nano, &other, "other").await;
    let before = contents(&nano, &src).await;
    let other_before = contents(&nano, &other).await;
    assert_eq!(before[0][1][0], 200, "{}", before[0]);
    let big = before.iter().find(|row| row[0] == "big.bin").unwrap();
    assert_eq!(
        (big[1].clone(), big[2].clone()),
        (json!(200), json!(3 * 1024 * 1024 + 123))
    );
    assert_ne!(
        before, other_before,
        "the two tenants hold different data under the same names"
    );

    let archive = export(&nano, &src).await;
    assert!(
        archive.len() > 3 * 1024 * 1024,
        "the archive holds the big object"
    );
    let c = client();
    let (status, _) = send(c.delete(nano.url(&format!("/admin/tenants/{src}")))).await;
    assert_eq!(status, 200);
    let (status, _) = send(
        c.post(nano.url("/admin/tenants"))
            .json(&json!({ "id": dst })),
    )
    .await;
    assert_eq!(status, 201);

    let (status, b) = import(&nano, &dst, archive.clone()).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["imported"]["docs"], 4, "{b}");
    assert_eq!(b["imported"]["objects"], 3, "{b}");
    assert_eq!(b["imported"]["jobs"], 2, "{b}");
    assert_eq!(b["imported"]["db_indexes"], 1, "{b}");
    // The index came back with its fields: the same definition is accepted again, another one conflicts.
    let index = |fields: Value| json!({ "name": "by-title", "fields": fields });
    let same = index(json!([{ "title": "DESC" }, { "tag": "ASC" }]));
    let url = nano.url(&format!("/{dst}/data/movies/_index"));
    assert_eq!(send(c.post(&url).json(&same)).await.0, 201);
    assert_eq!(
        send(c.post(&url).json(&index(json!(["title"])))).await.0,
        409
    );
    let after = contents(&nano, &dst).await;
    assert_eq!(after, before);
    assert_eq!(
        contents(&nano, &other).await,
        other_before,
        "the other tenant is untouched"
    );

    // Importing again over the same names is refused and changes nothing.
    let (status, b) = import(&nano, &dst, archive).await;
    assert_eq!(status, 409, "{b}");
    assert!(
        b["msg"].as_str().unwrap().contains("database named books"),
        "{b}"
    );
    assert_eq!(contents(&nano, &dst).await, before);
    nano.stop().await;
}

#[tokio::test]
async fn bad_archives_get_400_and_leave_nothing() {
    let (src, dst) = (fresh_name("src"), fresh_name("dst"));
    let tenants = vec![src.clone(), dst.clone()];
    let nano = TestNano::start_with(move |c| c.tenants = tenants).await;
    fill(&nano, &src, "small").await;
    let archive = export(&nano, &src).await;
    let text = String::from_utf8(archive).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let truncated = lines[..lines.len() - 1].join("\n");
    let bad_chunk = text.replacen(
        "\"kind\":\"chunk\",\"data\":\"",
        "\"kind\":\"chunk\",\"data\":\"!!",
        1,
    );
    let cases = [
        ("not json at all\n".to_string(), "line 1"),
        ("{\"kind\":\"db\",\"name\":\"x\"}\n".to_string(), "header"),
        (truncated, "end record"),
        (bad_chunk, "base64"),
        (
            text.replace("\"kind\":\"cache\"", "\"kind\":\"mystery\""),
            "mystery",
        ),
    ];
    for (body, named) in cases {
        let (status, b) = import(&nano, &dst, body.into_bytes()).await;
        assert_eq!(status, 400, "{b}");
        assert_eq!(b["ok"], false);
        assert!(b["msg"].as_str().unwrap().contains(named), "{named}: {b}");
        let c = client();
        for p in [
            "/data/movies",
            "/cache/sessions/a",
            "/storage/files/docs/a.txt",
            "/search/films/d1",
        ] {
            let (status, b) = send(c.get(nano.url(&format!("/{dst}{p}")))).await;
            assert_eq!(status, 404, "{named}: {p} was left behind: {b}");
        }
    }
    // After all those refusals the good archive still imports.
    let (status, b) = import(&nano, &dst, text.into_bytes()).await;
    assert_eq!(status, 200, "{b}");
    nano.stop().await;
}

#[tokio::test]
async fn an_import_over_a_quota_gets_429_and_leaves_nothing() {
    let (src, dst) = (fresh_name("src"), fresh_name("dst"));
    let (s, d) = (src.clone(), dst.clone());
    let nano = TestNano::start_with(move |c| {
        c.tenants = vec![s, d.clone()];
        c.tenant_quotas.insert(
            d,
            nano::app::config::QuotaConfig {
                storage_bytes: Some(1024 * 1024),
                ..Default::default()
            },
        );
    })
    .await;
    fill(&nano, &src, "src").await;
    let archive = export(&nano, &src).await;
    let (status, b) = import(&nano, &dst, archive).await;
    assert_eq!(status, 429, "{b}");
    assert!(b["msg"].as_str().unwrap().contains("storage_bytes"), "{b}");
    let c = client();
    for p in [
        "/data/movies",
        "/cache/sessions/a",
        "/storage/files/docs/a.txt",
    ] {
        let (status, b) = send(c.get(nano.url(&format!("/{dst}{p}")))).await;
        assert_eq!(status, 404, "{p} was left behind: {b}");
    }
    nano.stop().await;
}
