//! Workers apps from npm frameworks, bundled to one file with esbuild as their users deploy them, run unmodified:
//! Hono and itty-router, routed by Host, with params, query strings, JSON bodies, env and 404s; and JWTs and JWEs with
//! jose, hono/jwt and @tsndr/cloudflare-worker-jwt on nano's `crypto.subtle`.

use crate::support::{client, TestNano};
use nano::app::AppConfig;
use nano::core::{EnvValue, Limits};
use std::path::Path;
use std::process::Command;

fn bundle(name: &str, out: &Path) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat");
    let esbuild = dir.join("node_modules/.bin/esbuild");
    assert!(
        esbuild.exists(),
        "esbuild is not installed: run `npm ci` in tests/compat (scripts/test.sh does)"
    );
    let target = out.join(format!("{name}.js"));
    let status = Command::new(esbuild)
        .arg(dir.join("workers").join(format!("{name}.js")))
        .args(["--bundle", "--format=esm", "--log-level=warning"])
        .arg(format!("--outfile={}", target.display()))
        .current_dir(&dir)
        .status()
        .expect("esbuild runs");
    assert!(status.success(), "esbuild failed for {name}");
    target
}

fn app(name: &str, entry: std::path::PathBuf) -> AppConfig {
    AppConfig {
        name: name.into(),
        tenant: "default".into(),
        hostnames: vec![format!("{name}.test")],
        entry,
        env: [("GREETING".to_string(), EnvValue::Text("hi from env".into()))].into(),
        limits: Limits::default(),
        bindings: Default::default(),
        engine: None,
        triggers: Default::default(),
        outbound: Default::default(),
    }
}

async fn get(nano: &TestNano, host: &str, path: &str) -> (u16, String) {
    let res = client()
        .get(nano.url(path))
        .header("host", host)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn hono_and_itty_router_bundles_run_unmodified() {
    let out = tempfile::tempdir().unwrap();
    let (hono, itty) = (bundle("hono", out.path()), bundle("itty", out.path()));
    let nano = TestNano::start_with(|c| {
        c.apps.push(app("hono", hono));
        c.apps.push(app("itty", itty));
    })
    .await;
    assert_eq!(
        get(&nano, "hono.test", "/").await,
        (200, "hello from hono".into())
    );
    assert_eq!(
        get(&nano, "itty.test", "/").await,
        (200, "\"hello from itty\"".into())
    );
    for host in ["hono.test", "itty.test"] {
        let (status, body) = get(&nano, host, "/json/bob?q=1").await;
        assert_eq!(status, 200, "{host}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({ "name": "bob", "q": "1" }),
            "{host}"
        );
        let res = client()
            .post(nano.url("/echo"))
            .header("host", host)
            .json(&serde_json::json!({ "a": [1, 2] }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{host}");
        assert_eq!(
            res.json::<serde_json::Value>().await.unwrap(),
            serde_json::json!({ "a": [1, 2] })
        );
        assert_eq!(get(&nano, host, "/no/such/route").await.0, 404, "{host}");
    }
    assert_eq!(
        get(&nano, "hono.test", "/env").await,
        (200, "hi from env".into())
    );
    nano.stop().await;
}

/// The JWKS and tokens Node's WebCrypto made for the runtime suite (`tests/runtime/crypto_vectors.mjs`).
const VECTORS: &str = include_str!("../runtime/crypto_vectors.json");

#[tokio::test]
async fn jose_hono_jwt_and_worker_jwt_bundles_run_on_nanos_webcrypto() {
    let out = tempfile::tempdir().unwrap();
    let bundle = bundle("jwt", out.path());
    let nano = TestNano::start_with(|c| {
        for engine in ["quickjs", "v8"] {
            let mut jwt = app(&format!("jwt-{engine}"), bundle.clone());
            jwt.engine = Some(engine.into());
            // RSA key generation in a debug build takes far longer than the default CPU limit.
            jwt.limits = Limits {
                cpu_ms: 120_000,
                wall_ms: 120_000,
                ..Limits::default()
            };
            c.apps.push(jwt);
        }
    })
    .await;
    let vectors: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    for host in ["jwt-quickjs.test", "jwt-v8.test"] {
        jwt_checks(&nano, host, &vectors["jwt"]).await;
    }
    nano.stop().await;
}

/// Node's tokens checked by each library against the JWKS, then each library's own keys, JWTs and JWEs.
async fn jwt_checks(nano: &TestNano, host: &str, jwt: &serde_json::Value) {
    let res = client()
        .post(nano.url("/verify"))
        .header("host", host)
        .json(jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{host}");
    let verified: serde_json::Value = res.json().await.unwrap();
    let checked = |tsndr: bool| {
        let mut v = serde_json::json!({
            "jose": "user-1", "joseForged": "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
            "hono": "user-1", "honoJwks": "user-1", "honoForged": "JwtTokenSignatureMismatched",
        });
        if tsndr {
            v["tsndr"] = "user-1".into();
            v["tsndrForged"] = "INVALID_SIGNATURE".into();
        }
        v
    };
    assert_eq!(
        verified,
        serde_json::json!({ "RS256": checked(true), "PS256": checked(false), "ES256": checked(true) }),
        "{host}"
    );
    let res = client()
        .get(nano.url("/roundtrip"))
        .header("host", host)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{host}");
    let round: serde_json::Value = res.json().await.unwrap();
    let sealed = serde_json::json!(["sealed for nano", "ERR_JWE_DECRYPTION_FAILED"]);
    assert_eq!(
        round,
        serde_json::json!({
            "RS256": "user-1", "PS384": "user-1", "ES256": "user-1", "ES384": "user-1", "ES512": "user-1",
            "EdDSA": "user-1", "HS512": "user-1",
            "RSA-OAEP-256 A256GCM": sealed, "RSA-OAEP A128CBC-HS256": sealed, "ECDH-ES A256GCM": sealed,
            "ECDH-ES+A128KW A128CBC-HS256": sealed, "ECDH-ES+A256KW A256GCM": sealed, "A256KW A192CBC-HS384": sealed,
            "A128GCMKW A128GCM": sealed, "PBES2-HS256+A128KW A256CBC-HS512": sealed, "dir A256GCM": sealed,
            "honoHS256": "user-1", "tsndrES256": "user-1",
        }),
        "{host}"
    );
}
