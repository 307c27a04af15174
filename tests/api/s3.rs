//! Storage on S3 (SeaweedFS from `scripts/s3-server.sh`): two prod nodes with their own data folders serve one
//! tenant's objects through either node, signed URLs included; a wrong key stops `nano run` with exit 2, naming
//! the endpoint and never the secret.

use crate::support::{client, fresh_name, nano_bin, s3_target, use_s3, TestNano};
use serde_json::{json, Value};

#[tokio::test]
async fn two_prod_nodes_share_objects_through_s3_with_no_shared_folder() {
    let schema = fresh_name("nt").replace('-', "_");
    let prefix = fresh_name("np");
    let tenant = fresh_name("t");
    let s3 = s3_target();
    let node = |s3: nano::adapters::s3::S3Target, tenant: String| {
        let (schema, prefix) = (schema.clone(), prefix.clone());
        async move {
            TestNano::start_prod_on(&schema, &prefix, move |c| {
                use_s3(c, &s3);
                c.auth = false;
                c.default_tenant = Some(tenant);
            })
            .await
        }
    };
    let a = node(s3.clone(), tenant.clone()).await;
    let b = node(s3.clone(), tenant.clone()).await;
    assert_ne!(a.dir.path(), b.dir.path());
    let c = client();
    let res = c.put(a.url("/storage/photos")).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let res = c.put(b.url("/storage/photos")).send().await.unwrap();
    assert_eq!(res.status(), 409, "the bucket made through A exists for B");
    // An object written through A is read, listed and ranged through B.
    let body = vec![7u8; 6 * 1024 * 1024 + 11];
    let res = c
        .post(a.url("/storage/photos/trip/day1.bin"))
        .header("content-type", "application/octet-stream")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let got = c
        .get(b.url("/storage/photos/trip/day1.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().to_vec(), body);
    let ranged = c
        .get(b.url("/storage/photos/trip/day1.bin"))
        .header("range", "bytes=-5")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), 206);
    assert_eq!(ranged.bytes().await.unwrap().len(), 5);
    let listed: Value = c
        .get(b.url("/storage/photos?prefix=trip/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["objects"][0]["name"], "trip/day1.bin");
    assert_eq!(listed["objects"][0]["size"], body.len());
    // A signed upload URL from B works on A, and the download URL from A on B.
    let up: Value = c
        .post(b.url("/storage/photos/signed.txt?useSignedUrl=true"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // S3 presigned URLs: the client goes straight to the S3 endpoint, whichever node answered.
    assert!(
        up["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:8333/nano-test/"),
        "{up}"
    );
    let url = up["url"].as_str().unwrap().replace(&b.url(""), &a.url(""));
    let res = c.put(&url).body("signed bytes").send().await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let down: Value = c
        .get(a.url("/storage/photos/signed.txt?useSignedUrl=true"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = down["url"]
        .as_str()
        .unwrap()
        .replace(&a.url(""), &b.url(""));
    let res = c.get(&url).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "signed bytes");
    // A delete through B is seen by A.
    let res = c
        .delete(b.url("/storage/photos/trip/day1.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = c
        .get(a.url("/storage/photos/trip/day1.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let msg: Value = res.json().await.unwrap();
    assert_eq!(
        msg,
        json!({"ok": false, "status": 404, "msg": "object does not exist"})
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_wrong_s3_key_stops_nano_with_exit_2_naming_the_endpoint_not_the_secret() {
    let s3 = s3_target();
    let dir = tempfile::tempdir().unwrap();
    let secret = "do-not-print-this-secret";
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        tokio::process::Command::new(nano_bin())
            .args(["run", "--profile", "dev", "--listen", "127.0.0.1:0"])
            .env("NANO_DATA_DIR", dir.path())
            .env("NANO_STORAGE", "s3")
            .env("NANO_S3__ENDPOINT", s3.endpoint.as_deref().unwrap())
            .env("NANO_S3__BUCKET", &s3.bucket)
            .env("NANO_S3__ACCESS_KEY", "no-such-key")
            .env("NANO_S3__SECRET_KEY", secret)
            .env("NANO_S3__PATH_STYLE", "true")
            .current_dir(dir.path())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("nano gave up on S3 within 60 s")
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("127.0.0.1:8333"), "{stderr}");
    assert!(!stderr.contains(secret), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains(secret), "{stdout}");
}

/// A presigned upload would go straight to S3, past the `storage_bytes` quota: a tenant with that quota gets
/// nano's own signed URL, whose upload streams through it.
#[tokio::test]
async fn a_tenant_with_a_storage_quota_gets_nanos_own_signed_urls() {
    let s3 = s3_target();
    let nano = TestNano::start_with(move |c| {
        use_s3(c, &s3);
        c.quotas.storage_bytes = Some(1_000);
    })
    .await;
    let c = client();
    let res = c.put(nano.url("/storage/docs")).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let up: Value = c
        .post(nano.url("/storage/docs/big.bin?useSignedUrl=true"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = up["url"].as_str().unwrap();
    assert!(url.starts_with(&nano.url("/")), "{up}");
    let res = c.put(url).body(vec![0u8; 2_000]).send().await.unwrap();
    assert_eq!(res.status(), 429);
    nano.stop().await;
}

/// `env.STORAGE` works on S3 as on files: what the app uploads through its binding, REST downloads, and the reverse.
#[tokio::test]
async fn the_storage_binding_works_on_s3() {
    let files = tempfile::tempdir().unwrap();
    std::fs::write(
        files.path().join("index.js"),
        r#"export default { async fetch(req, env) {
  const name = new URL(req.url).pathname.slice(1);
  if (req.method === 'PUT') return Response.json(await env.FILES.upload(name, await req.text()));
  const got = await env.FILES.download(name);
  return got.ok ? new Response(got.object) : Response.json(got, { status: got.status });
} };"#,
    )
    .unwrap();
    let entry = files.path().join("index.js");
    let s3 = s3_target();
    let nano = TestNano::start_with(move |c| {
        use_s3(c, &s3);
        c.apps.push(nano::app::AppConfig {
            name: "files".into(),
            tenant: "default".into(),
            hostnames: vec!["files.test".into()],
            entry,
            env: Default::default(),
            limits: Default::default(),
            engine: None,
            triggers: Default::default(),
            bindings: [(
                "FILES".to_string(),
                nano::app::config::BindingConfig {
                    service: nano::core::ServiceKind::Storage,
                    domain: "uploads".into(),
                },
            )]
            .into(),
            outbound: Default::default(),
        });
    })
    .await;
    let c = client();
    assert_eq!(
        c.put(nano.url("/storage/uploads"))
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let up: Value = c
        .put(nano.url("/notes/a.txt"))
        .header("host", "files.test")
        .body("from the app")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(up, json!({"ok": true}));
    let rest = c
        .get(nano.url("/storage/uploads/notes/a.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.text().await.unwrap(), "from the app");
    let res = c
        .post(nano.url("/storage/uploads/b.txt"))
        .header("content-type", "text/plain")
        .body("from REST")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let got = c
        .get(nano.url("/b.txt"))
        .header("host", "files.test")
        .send()
        .await
        .unwrap();
    assert_eq!(got.text().await.unwrap(), "from REST");
    let missing = c
        .get(nano.url("/none.txt"))
        .header("host", "files.test")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    nano.stop().await;
}

/// An upload that resolved its tenant before `DELETE /admin/tenants/{t}` and ends after the purge keeps nothing:
/// S3 would take the object whatever happened to the tenant, so nano undoes it. The neighbour's upload is kept.
#[tokio::test]
async fn an_upload_ending_after_its_tenants_deletion_leaves_nothing_on_s3() {
    let s3 = s3_target();
    let nano = TestNano::start_with(move |c| use_s3(c, &s3)).await;
    let c = client();
    let (gone, kept) = (fresh_name("gone"), fresh_name("kept"));
    for t in [&gone, &kept] {
        let res = c
            .post(nano.url("/admin/tenants"))
            .json(&json!({ "id": t }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let res = c
            .put(nano.url(&format!("/{t}/storage/docs")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    // The upload starts, then waits for its last chunk while the tenant is deleted.
    let (tx, body) = crate::fed_body();
    let upload = tokio::spawn({
        let url = nano.url(&format!("/{gone}/storage/docs/late.bin"));
        let c = c.clone();
        async move {
            let req = c
                .post(url)
                .header("content-type", "application/octet-stream");
            req.body(body).send().await.unwrap().status()
        }
    });
    if tx.send(Ok(vec![1u8; 64 * 1024])).await.is_err() {
        panic!("the upload ended early: {}", upload.await.unwrap());
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let res = c
        .delete(nano.url(&format!("/admin/tenants/{gone}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    // The last chunk; the upload may already have been ended by then.
    let _ = tx.send(Ok(vec![2u8; 1024])).await;
    drop(tx);
    let status = upload.await.unwrap();
    assert!(
        !status.is_success(),
        "the late upload was accepted: {status}"
    );
    // Created again, the tenant is empty: the late object is not there.
    let res = c
        .post(nano.url("/admin/tenants"))
        .json(&json!({ "id": gone }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = c
        .get(nano.url(&format!("/{gone}/storage/docs/late.bin")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "{}", res.text().await.unwrap());
    let res = c
        .post(nano.url(&format!("/{kept}/storage/docs/kept.bin")))
        .header("content-type", "application/octet-stream")
        .body(vec![3u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "the neighbour keeps uploading");
    nano.stop().await;
}

/// Cloudflare's R2 binding on S3: objects with HTTP and custom metadata, ranges, listing with a delimiter and a
/// cursor, and deletion behave as on files (tests/runtime/cloudflare.rs); the bucket is made when the app loads.
#[tokio::test]
async fn the_r2_binding_works_on_s3() {
    let files = tempfile::tempdir().unwrap();
    std::fs::write(
        files.path().join("index.js"),
        r#"export default { async fetch(req, env) {
  const B = env.PHOTOS;
  const out = {};
  const put = await B.put('trip/cat.txt', 'meow meow', {
    httpMetadata: { contentType: 'text/plain' }, customMetadata: { owner: 'alice' },
  });
  out.put = [put.key, put.size, put.httpEtag === `"${put.etag}"`];
  await B.put('trip/2024/a.txt', 'a');
  await B.put('readme.txt', new Response('streamed').body);
  const got = await B.get('trip/cat.txt');
  out.got = [await got.text(), got.httpMetadata.contentType, got.customMetadata.owner, got.etag === put.etag];
  out.range = await (await B.get('trip/cat.txt', { range: { offset: 5, length: 4 } })).text();
  out.suffix = await (await B.get('trip/cat.txt', { range: { suffix: 3 } })).text();
  const head = await B.head('trip/cat.txt');
  out.head = [head.size, 'body' in head, head.customMetadata.owner];
  out.missing = [await B.get('nope'), await B.head('nope')];
  const dir = await B.list({ prefix: 'trip/', delimiter: '/' });
  out.dir = [dir.objects.map((o) => o.key), dir.delimitedPrefixes];
  const p1 = await B.list({ limit: 2 });
  const p2 = await B.list({ limit: 2, cursor: p1.cursor });
  out.pages = [p1.objects.map((o) => o.key), p1.truncated, p2.objects.map((o) => o.key), p2.truncated];
  await B.delete(['trip/cat.txt', 'never-there']);
  out.after = (await B.list()).objects.map((o) => o.key);
  return Response.json(out);
} };"#,
    )
    .unwrap();
    let entry = files.path().join("index.js");
    let s3 = s3_target();
    let nano = TestNano::start_with(move |c| {
        use_s3(c, &s3);
        c.apps.push(nano::app::AppConfig {
            name: "r2".into(),
            tenant: "default".into(),
            hostnames: vec!["r2.test".into()],
            entry,
            env: Default::default(),
            limits: Default::default(),
            engine: None,
            triggers: Default::default(),
            bindings: [(
                "PHOTOS".to_string(),
                nano::app::config::BindingConfig {
                    service: nano::core::ServiceKind::R2,
                    domain: fresh_name("photos"),
                },
            )]
            .into(),
            outbound: Default::default(),
        });
    })
    .await;
    let res = client()
        .get(nano.url("/"))
        .header("host", "r2.test")
        .send()
        .await
        .unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let out: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(out["put"], json!(["trip/cat.txt", 9, true]), "{out}");
    assert_eq!(
        out["got"],
        json!(["meow meow", "text/plain", "alice", true]),
        "{out}"
    );
    assert_eq!(
        (&out["range"], &out["suffix"]),
        (&json!("meow"), &json!("eow")),
        "{out}"
    );
    assert_eq!(out["head"], json!([9, false, "alice"]), "{out}");
    assert_eq!(out["missing"], json!([null, null]), "{out}");
    assert_eq!(
        out["dir"],
        json!([["trip/cat.txt"], ["trip/2024/"]]),
        "{out}"
    );
    assert_eq!(
        out["pages"],
        json!([
            ["readme.txt", "trip/2024/a.txt"],
            true,
            ["trip/cat.txt"],
            false
        ]),
        "{out}"
    );
    assert_eq!(
        out["after"],
        json!(["readme.txt", "trip/2024/a.txt"]),
        "{out}"
    );
    nano.stop().await;
}
