//! hyper-connect's `cloud://key:secret@host/<tenant>` strings (always https) against nano's own TLS listener, with
//! a self-signed certificate made for the test and handed to Node with `NODE_EXTRA_CA_CERTS`.

use nano::app::{Config, Profile};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_connect_cloud_strings_work_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.key_pair.serialize_pem()).unwrap();
    let mut config = Config::defaults(Profile::Dev);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.tls_listen = Some("127.0.0.1:0".parse().unwrap());
    config.tls_cert = Some(cert_file.clone());
    config.tls_key = Some(key_file);
    config.data_dir = dir.path().join("data");
    config.auth = true;
    let running = nano::app::start(config).await.unwrap();
    let tls = running.tls_addr.unwrap();

    let tenant = crate::support::fresh_name("t");
    let admin = |path: &str| format!("http://{}{path}", running.addr);
    let c = crate::support::client();
    let res = c
        .post(admin("/admin/tenants"))
        .json(&json!({ "id": tenant }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let key: Value = c
        .post(admin(&format!("/admin/tenants/{tenant}/keys")))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (
        key["key"]["id"].as_str().unwrap(),
        key["secret"].as_str().unwrap(),
    );
    let connection = format!("cloud://{id}:{secret}@127.0.0.1:{}/{tenant}", tls.port());

    let compat = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat");
    assert!(
        compat.join("node_modules/hyper-connect").exists(),
        "hyper-connect is not installed: run `npm ci` in tests/compat"
    );
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(compat.join("js/tls.mjs"))
            .env("HYPER", connection)
            .env("NODE_EXTRA_CA_CERTS", &cert_file)
            .current_dir(&compat)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "node tls.mjs failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // What the client wrote is the tenant's, under hyper-connect's default domain.
    let token = nano::core::jwt::sign(id, i64::MAX / 2, secret.as_bytes());
    let doc: Value = c
        .get(admin(&format!("/{tenant}/data/default/movie-1")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["title"], "Ghostbusters");
    running.stop().await;
}
