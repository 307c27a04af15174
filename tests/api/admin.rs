//! The admin API (tenants, keys) and key-based auth of services requests.

use crate::support::{client, fresh_name, TestNano};
use nano::app::config::Secret;
use nano::core::jwt;
use serde_json::{json, Value};

async fn post(nano: &TestNano, path: &str, body: Value) -> (u16, Value) {
    let res = client()
        .post(nano.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn get(nano: &TestNano, path: &str) -> (u16, Value) {
    let res = client().get(nano.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn tenants_are_created_listed_and_deleted() {
    let nano = TestNano::start().await;
    let t = fresh_name("t");
    let (status, body) = post(&nano, "/admin/tenants", json!({ "id": t })).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["tenant"]["id"], t);
    let (status, body) = post(&nano, "/admin/tenants", json!({ "id": t })).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["msg"].as_str().unwrap().contains(&t));
    let (_, list) = get(&nano, "/admin/tenants").await;
    let ids: Vec<&str> = list["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&t.as_str()) && ids.contains(&"default"),
        "{list}"
    );
    let (status, body) = get(&nano, &format!("/admin/tenants/{t}")).await;
    assert_eq!((status, body["keys"].as_u64()), (200, Some(0)));
    let res = client()
        .delete(nano.url(&format!("/admin/tenants/{t}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (status, _) = get(&nano, &format!("/admin/tenants/{t}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn bad_admin_input_gets_clear_errors() {
    let nano = TestNano::start().await;
    let (status, body) = post(&nano, "/admin/tenants", json!({ "id": "Not Valid" })).await;
    assert_eq!(status, 400);
    assert!(
        body["msg"]
            .as_str()
            .unwrap()
            .contains("tenant name is not valid"),
        "{body}"
    );
    let (status, body) = post(&nano, "/admin/tenants", json!({ "name": "x" })).await;
    assert_eq!(status, 400, "{body}");
    let res = client()
        .post(nano.url("/admin/tenants"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let (status, _) = post(&nano, "/admin/tenants/nobody-here/keys", json!({})).await;
    assert_eq!(status, 404);
    let (status, body) = post(
        &nano,
        "/admin/tenants/default/keys",
        json!({ "readonly": true }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["msg"].as_str().unwrap().contains("readonly"), "{body}");
    let (status, _) = get(&nano, "/admin/nothing-here").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn admin_token_is_required_when_set() {
    let nano = TestNano::start_with(|c| c.admin_token = Some(Secret::new("tok-123"))).await;
    let res = client()
        .get(nano.url("/admin/tenants"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = client()
        .get(nano.url("/admin/tenants"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = client()
        .get(nano.url("/admin/tenants"))
        .bearer_auth("tok-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// Attack: a page on another origin that got hold of the admin token (or rides a console user's browser) must not be
/// allowed by CORS to read admin answers or send the preflighted calls; the services keep hyper's open CORS.
#[tokio::test]
async fn the_admin_api_grants_no_other_origin() {
    let nano = TestNano::start_with(|c| c.admin_token = Some(Secret::new("tok-123"))).await;
    for (method, path) in [
        (reqwest::Method::GET, "/admin/tenants"),
        (reqwest::Method::OPTIONS, "/admin/tenants"),
        (reqwest::Method::GET, "/admin/ui/"),
    ] {
        let res = client()
            .request(method.clone(), nano.url(path))
            .header("origin", "https://evil.test")
            .bearer_auth("tok-123")
            .send()
            .await
            .unwrap();
        for h in [
            "access-control-allow-origin",
            "access-control-allow-credentials",
            "access-control-allow-methods",
        ] {
            assert!(res.headers().get(h).is_none(), "{method} {path} sent {h}");
        }
    }
    let res = client()
        .get(nano.url("/"))
        .header("origin", "https://evil.test")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
}

/// Creates a tenant and a key for it; returns (key id, secret, response body).
async fn tenant_with_key(nano: &TestNano, tenant: &str, grant: Value) -> (String, String, Value) {
    let (status, _) = post(nano, "/admin/tenants", json!({ "id": tenant })).await;
    assert_eq!(status, 201);
    let (status, body) = post(nano, &format!("/admin/tenants/{tenant}/keys"), grant).await;
    assert_eq!(status, 201, "{body}");
    (
        body["key"]["id"].as_str().unwrap().to_string(),
        body["secret"].as_str().unwrap().to_string(),
        body,
    )
}

fn token(key: &str, secret: &str, exp_from_now: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    jwt::sign(key, now + exp_from_now, secret.as_bytes())
}

/// Status of `GET <path>` with this bearer token (or none) and Host.
async fn status_with(nano: &TestNano, path: &str, bearer: Option<&str>, host: Option<&str>) -> u16 {
    let mut req = client().get(nano.url(path));
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    if let Some(h) = host {
        req = req.header("host", h);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn keys_are_issued_with_connection_strings_and_revoked() {
    let nano = TestNano::start_with(|c| c.auth = true).await;
    let t = fresh_name("t");
    let (key, secret, body) = tenant_with_key(&nano, &t, json!({ "domains": ["movies"] })).await;
    let http = body["connection"]["http"].as_str().unwrap();
    assert_eq!(http, format!("http://{key}:{secret}@{}/movies", nano.addr));
    let cloud = body["connection"]["cloud"].as_str().unwrap();
    assert_eq!(cloud, format!("cloud://{key}:{secret}@{}/{t}", nano.addr));
    let (_, list) = get(&nano, &format!("/admin/tenants/{t}/keys")).await;
    assert_eq!(list["keys"][0]["id"], key.as_str());
    assert!(
        !list.to_string().contains(&secret),
        "secrets are never listed"
    );

    let good = token(&key, &secret, 600);
    assert_ne!(
        status_with(&nano, &format!("/{t}/data/movies"), Some(&good), None).await,
        401
    );
    let res = client()
        .delete(nano.url(&format!("/admin/tenants/{t}/keys/{key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        status_with(&nano, &format!("/{t}/data/movies"), Some(&good), None).await,
        401
    );
}

#[tokio::test]
async fn auth_refuses_every_bad_credential_without_hints() {
    let nano = TestNano::start_with(|c| c.auth = true).await;
    let (a, b) = (fresh_name("a"), fresh_name("b"));
    let (key_a, secret_a, _) = tenant_with_key(&nano, &a, json!({})).await;
    let (key_b, secret_b, _) = tenant_with_key(&nano, &b, json!({ "read_only": true })).await;
    let good_a = token(&key_a, &secret_a, 600);
    let path_a = format!("/{a}/data/db");
    let path_b = format!("/{b}/data/db");
    let host_b = format!("{b}.localhost");
    let cases: Vec<(&str, String, Option<String>, Option<String>)> = vec![
        ("no token", path_a.clone(), None, None),
        ("junk token", path_a.clone(), Some("null".into()), None),
        (
            "expired",
            path_a.clone(),
            Some(token(&key_a, &secret_a, -3600)),
            None,
        ),
        (
            "forged secret",
            path_a.clone(),
            Some(token(&key_a, "guess", 600)),
            None,
        ),
        (
            "other tenant's path",
            path_b.clone(),
            Some(good_a.clone()),
            None,
        ),
        (
            "other tenant's host",
            "/data/db".into(),
            Some(good_a.clone()),
            Some(host_b.clone()),
        ),
        (
            "unknown key",
            path_a.clone(),
            Some(token("knope", &secret_a, 600)),
            None,
        ),
        (
            "key b's secret for key a",
            path_a.clone(),
            Some(token(&key_a, &secret_b, 600)),
            None,
        ),
    ];
    for (what, path, bearer, host) in &cases {
        let res = {
            let mut req = client().get(nano.url(path));
            if let Some(b) = bearer {
                req = req.bearer_auth(b);
            }
            if let Some(h) = host {
                req = req.header("host", h);
            }
            req.send().await.unwrap()
        };
        assert_eq!(res.status(), 401, "{what}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body,
            json!({ "ok": false, "msg": "not authorized" }),
            "{what}"
        );
    }
    // The key alone names the tenant when path and Host do not.
    assert_ne!(
        status_with(&nano, "/data/db", Some(&good_a), None).await,
        401
    );
    // A read-only key may read but not write.
    let good_b = token(&key_b, &secret_b, 600);
    assert_ne!(status_with(&nano, &path_b, Some(&good_b), None).await, 401);
    let res = client()
        .put(nano.url(&path_b))
        .bearer_auth(&good_b)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn dev_without_auth_ignores_junk_authorization() {
    let nano = TestNano::start().await;
    assert_eq!(status_with(&nano, "/", Some("null"), None).await, 200);
    assert_ne!(status_with(&nano, "/data/x", Some("null"), None).await, 401);
}

/// Logs and metrics are per node, so every admin answer, errors included, names the node that gave it.
#[tokio::test]
async fn admin_answers_name_the_node() {
    let nano = TestNano::start_with(|c| c.node_name = Some("node-a".into())).await;
    for path in [
        "/admin/tenants",
        "/admin/metrics",
        "/admin/tenants/no-such-tenant",
    ] {
        let res = client().get(nano.url(path)).send().await.unwrap();
        assert_eq!(
            res.headers()
                .get("x-nano-node")
                .map(|v| v.to_str().unwrap()),
            Some("node-a"),
            "{path}: {}",
            res.status()
        );
    }
    nano.stop().await;
}
