//! Deleting a tenant removes everything it owns in every service (rows, storage files, search index folders), and
//! nothing of a tenant with the same names.

use crate::support::{client, fresh_name, TestNano};
use reqwest::Method;
use serde_json::{json, Value};

async fn fill(nano: &TestNano, t: &str) {
    let c = client();
    let steps: Vec<(Method, &str, Option<Value>)> = vec![
        (Method::PUT, "/data/movies", None),
        (
            Method::POST,
            "/data/movies",
            Some(json!({ "_id": "doc1", "t": t })),
        ),
        (
            Method::POST,
            "/data/movies/_index",
            Some(json!({ "name": "by-t", "fields": ["t"] })),
        ),
        (Method::PUT, "/cache/movies", None),
        (
            Method::POST,
            "/cache/movies",
            Some(json!({ "key": "doc1", "value": { "t": t } })),
        ),
        (
            Method::PUT,
            "/search/movies",
            Some(json!({ "fields": ["t"] })),
        ),
        (
            Method::POST,
            "/search/movies",
            Some(json!({ "key": "doc1", "doc": { "t": t } })),
        ),
        (
            Method::PUT,
            "/queue/movies",
            Some(json!({ "target": "http://127.0.0.1:9/x" })),
        ),
        (Method::POST, "/queue/movies", Some(json!({ "t": t }))),
        (Method::PUT, "/storage/movies", None),
    ];
    for (method, path, body) in steps {
        let mut req = c.request(method.clone(), nano.url(&format!("/{t}{path}")));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        assert!(
            res.status().is_success(),
            "{method} {path}: {}",
            res.text().await.unwrap()
        );
    }
    let form = reqwest::multipart::Form::new()
        .text("path", "doc1.txt")
        .part(
            "file",
            reqwest::multipart::Part::bytes(t.as_bytes().to_vec()).file_name("doc1.txt"),
        );
    let res = c
        .post(nano.url(&format!("/{t}/storage/movies")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success(),
        "upload: {}",
        res.text().await.unwrap()
    );
}

/// Status of each service's read of the tenant's `movies` things.
async fn reads(nano: &TestNano, t: &str) -> Vec<u16> {
    let c = client();
    let mut out = Vec::new();
    for (method, path) in [
        (Method::GET, "/data/movies/doc1"),
        (Method::GET, "/cache/movies/doc1"),
        (Method::GET, "/search/movies/doc1"),
        (Method::GET, "/queue/movies?status=READY"),
        (Method::GET, "/storage/movies/doc1.txt"),
    ] {
        let res = c
            .request(method, nano.url(&format!("/{t}{path}")))
            .send()
            .await
            .unwrap();
        out.push(res.status().as_u16());
    }
    out
}

#[tokio::test]
async fn deleting_a_tenant_purges_its_data_in_every_service() {
    let nano = TestNano::start().await;
    let (a, b) = (fresh_name("gone"), fresh_name("kept"));
    let c = client();
    for t in [&a, &b] {
        let res = c
            .post(nano.url("/admin/tenants"))
            .json(&json!({ "id": t }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        fill(&nano, t).await;
        assert_eq!(reads(&nano, t).await, [200, 200, 200, 200, 200]);
    }
    assert!(nano.dir.path().join("storage").join(&a).exists());
    assert!(nano.dir.path().join("search").join(&a).exists());
    let res = c
        .delete(nano.url(&format!("/admin/tenants/{a}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert!(!nano.dir.path().join("storage").join(&a).exists());
    assert!(!nano.dir.path().join("search").join(&a).exists());
    // Re-created under the same name, the tenant starts empty: its old databases, stores, indexes, queues and
    // buckets are gone, not merely hidden.
    let res = c
        .post(nano.url("/admin/tenants"))
        .json(&json!({ "id": a }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(reads(&nano, &a).await, [404, 404, 404, 404, 404]);
    let queues: Value = c
        .get(nano.url(&format!("/{a}/queue")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(queues["queues"], json!([]));
    let caches: Value = c
        .get(nano.url(&format!("/{a}/cache")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(caches["stores"], json!([]));
    // Job ids start again: the id sequence went with the tenant.
    fill(&nano, &a).await;
    let jobs: Value = c
        .get(nano.url(&format!("/{a}/queue/movies?status=READY")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jobs["jobs"][0]["id"], 1);
    // The other tenant, same names, is untouched.
    assert_eq!(reads(&nano, &b).await, [200, 200, 200, 200, 200]);
    let doc: Value = c
        .get(nano.url(&format!("/{b}/data/movies/doc1")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["t"], b.as_str());
    // Deleting a tenant that does not exist purges nothing and says so.
    let res = c
        .delete(nano.url(&format!("/admin/tenants/{}", fresh_name("none"))))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    nano.stop().await;
}
