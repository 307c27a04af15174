//! Tenant resolution extras: the optional `X-Tenant-Host` response header and the optional HTTPS listener.

use crate::support::{client, fresh_name, TestNano};
use nano::app::{Config, Profile};

/// A self-signed certificate for `127.0.0.1` and `localhost`, written as PEM files into `dir`: (cert, key, cert PEM).
pub fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let pem = cert.cert.pem();
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&c, &pem).unwrap();
    std::fs::write(&k, cert.key_pair.serialize_pem()).unwrap();
    (c, k, pem)
}

#[tokio::test]
async fn tenant_host_header_is_off_by_default_and_names_the_tenant_when_on() {
    let t = fresh_name("t");
    let tt = t.clone();
    let off = TestNano::start_with(move |c| c.tenants = vec![tt]).await;
    let res = client()
        .get(off.url(&format!("/{t}/data/movies")))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("x-tenant-host").is_none());
    off.stop().await;

    let tt = t.clone();
    let on = TestNano::start_with(move |c| {
        c.tenants = vec![tt];
        c.tenant_host_header = true;
    })
    .await;
    let by_path = client()
        .get(on.url(&format!("/{t}/data/movies")))
        .send()
        .await
        .unwrap();
    assert_eq!(by_path.headers()["x-tenant-host"], t.as_str());
    let by_host = client()
        .get(on.url("/data/movies"))
        .header("host", format!("{t}.nano.test"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_host.headers()["x-tenant-host"], t.as_str());
    let by_default = client().get(on.url("/data/movies")).send().await.unwrap();
    assert_eq!(by_default.headers()["x-tenant-host"], "default");
    let root = client().get(on.url("/")).send().await.unwrap();
    assert!(root.headers().get("x-tenant-host").is_none());
    on.stop().await;
}

#[tokio::test]
async fn refusals_never_carry_the_tenant_header() {
    let t = fresh_name("t");
    let tt = t.clone();
    let nano = TestNano::start_with(move |c| {
        c.tenants = vec![tt];
        c.tenant_host_header = true;
        c.auth = true;
    })
    .await;
    let res = client()
        .get(nano.url(&format!("/{t}/data/movies")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().get("x-tenant-host").is_none());
    nano.stop().await;
}

#[tokio::test]
async fn the_https_listener_serves_the_same_routes() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, pem) = self_signed(dir.path());
    let mut config = Config::defaults(Profile::Dev);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.tls_listen = Some("127.0.0.1:0".parse().unwrap());
    config.tls_cert = Some(cert);
    config.tls_key = Some(key);
    config.data_dir = dir.path().join("data");
    let running = nano::app::start(config).await.unwrap();
    let tls = running.tls_addr.expect("an https listener");
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    for host in ["127.0.0.1", "localhost"] {
        let url = format!("https://{host}:{}/", tls.port());
        let res = trusting.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["name"], "nano");
    }
    // A client that does not trust the certificate is refused; plain HTTP still answers on its own port.
    assert!(reqwest::get(format!("https://127.0.0.1:{}/", tls.port()))
        .await
        .is_err());
    let plain = reqwest::get(format!("http://{}/", running.addr))
        .await
        .unwrap();
    assert_eq!(plain.status(), 200);
    running.stop().await;
}

#[tokio::test]
async fn tls_listen_without_a_certificate_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults(Profile::Dev);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.tls_listen = Some("127.0.0.1:0".parse().unwrap());
    config.data_dir = dir.path().to_path_buf();
    let err = nano::app::start(config).await.err().expect("refused");
    assert!(err.to_string().contains("tls_cert"), "{err}");
    let mut config = Config::defaults(Profile::Dev);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.tls_listen = Some("127.0.0.1:0".parse().unwrap());
    std::fs::write(dir.path().join("empty.pem"), "").unwrap();
    config.tls_cert = Some(dir.path().join("empty.pem"));
    config.tls_key = Some(dir.path().join("empty.pem"));
    config.data_dir = dir.path().to_path_buf();
    let err = nano::app::start(config).await.err().expect("refused");
    assert!(err.to_string().contains("empty.pem"), "{err}");
}
