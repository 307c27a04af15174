//! The routes outside the services: `GET /`, `/healthz`, the 404 fallback, CORS and h2c.

use crate::support::{client, TestNano};
use serde_json::Value;

#[tokio::test]
async fn root_lists_name_version_and_services() {
    let nano = TestNano::start().await;
    let res = client().get(nano.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["name"], "nano");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(body["services"].is_array(), "{body}");
    nano.stop().await;
}

#[tokio::test]
async fn healthz_answers() {
    let nano = TestNano::start().await;
    let res = client().get(nano.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["ok"], true);
}

#[tokio::test]
async fn unknown_paths_get_hypers_404() {
    let nano = TestNano::start().await;
    for path in ["/nope", "/nope/deeper/still", "/crawler/x/y"] {
        let res = client().get(nano.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        assert_eq!(
            res.headers()["content-type"],
            "application/json; charset=utf-8"
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({ "ok": false, "msg": "not found!" })
        );
    }
}

#[tokio::test]
async fn cors_headers_and_preflight() {
    let nano = TestNano::start().await;
    let res = client()
        .request(reqwest::Method::OPTIONS, nano.url("/data/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert!(res.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("DELETE"));
    let res = client().get(nano.url("/")).send().await.unwrap();
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
}

#[tokio::test]
async fn serves_h2c_with_prior_knowledge() {
    let nano = TestNano::start().await;
    let h2 = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let res = h2.get(nano.url("/")).send().await.unwrap();
    assert_eq!(res.version(), reqwest::Version::HTTP_2);
    assert_eq!(res.status(), 200);
}
