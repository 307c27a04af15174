//! An app on nano stores and reads documents through `env.DATA` over HTTP; they land in its own tenant's database.

use crate::support::{client, fresh_name, TestNano};
use nano::app::config::BindingConfig;
use nano::app::AppConfig;
use nano::core::{Limits, ServiceKind};
use serde_json::{json, Value};

const APP: &str = r#"export default { async fetch(req, env) {
  const u = new URL(req.url);
  const id = u.pathname.slice(1);
  if (req.method === 'POST') return Response.json(await env.DATA.add({ _id: id, ...(await req.json()) }));
  return Response.json(await env.DATA.get(id));
} };"#;

#[tokio::test]
async fn an_app_stores_and_reads_data_through_its_binding() {
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("index.js"), APP).unwrap();
    let (acme, beta) = (fresh_name("acme"), fresh_name("beta"));
    let entry = files.path().join("index.js");
    let (a, b) = (acme.clone(), beta.clone());
    let nano = TestNano::start_with(move |c| {
        c.tenants = vec![a.clone(), b.clone()];
        for (name, tenant) in [("movies-a", &a), ("movies-b", &b)] {
            c.apps.push(AppConfig {
                name: name.into(),
                tenant: tenant.clone(),
                hostnames: vec![format!("{name}.test")],
                entry: entry.clone(),
                env: Default::default(),
                limits: Limits::default(),
                engine: None,
                triggers: Default::default(),
                bindings: [(
                    "DATA".to_string(),
                    BindingConfig {
                        service: ServiceKind::Data,
                        domain: "movies".into(),
                    },
                )]
                .into(),
                outbound: Default::default(),
            });
        }
    })
    .await;
    let c = client();
    for t in [&acme, &beta] {
        let res = c
            .put(nano.url(&format!("/{t}/data/movies")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    let res = c
        .post(nano.url("/ghostbusters"))
        .header("host", "movies-a.test")
        .json(&json!({ "title": "Ghostbusters", "year": 1984 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"ok": true, "id": "ghostbusters"})
    );
    let got: Value = c
        .get(nano.url("/ghostbusters"))
        .header("host", "movies-a.test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        got,
        json!({"ok": true, "doc": {"_id": "ghostbusters", "title": "Ghostbusters", "year": 1984}})
    );
    // The document is in acme's database, as the REST API sees it, and not in beta's.
    let rest: Value = c
        .get(nano.url(&format!("/{acme}/data/movies/ghostbusters")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest["title"], "Ghostbusters");
    let other = c
        .get(nano.url(&format!("/{beta}/data/movies/ghostbusters")))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    // beta's app, same code, same binding name and domain, sees nothing of acme's.
    let theirs: Value = c
        .get(nano.url("/ghostbusters"))
        .header("host", "movies-b.test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["ok"], false);
    assert_eq!(theirs["status"], 404);
    nano.stop().await;
}
