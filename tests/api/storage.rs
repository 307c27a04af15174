//! The storage service over HTTP: hyper's routes and codes, multipart and raw uploads, downloads with types,
//! ranges and HEAD, listing, signed URLs, path-escape attempts and interrupted uploads.

use crate::support::{client, fresh_name, TestNano};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn bucket(nano: &TestNano) -> String {
    let name = fresh_name("b");
    let res = client()
        .put(nano.url(&format!("/storage/{name}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    name
}

async fn body(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    assert_eq!(
        res.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    (status, res.json().await.unwrap())
}

async fn raw_upload(nano: &TestNano, path: &str, bytes: &'static [u8]) -> (u16, Value) {
    body(
        client()
            .post(nano.url(path))
            .header("content-type", "application/octet-stream")
            .body(bytes)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn download(nano: &TestNano, path: &str) -> (u16, String, Vec<u8>) {
    let res = client().get(nano.url(path)).send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    (status, ct, res.bytes().await.unwrap().to_vec())
}

/// Sends `head` (request line and headers, without the blank line) then `body` over a raw socket, exactly as
/// written (no client-side path normalisation), and returns the status code.
async fn raw_request(nano: &TestNano, head: &str, body: &[u8]) -> u16 {
    let mut s = tokio::net::TcpStream::connect(nano.addr).await.unwrap();
    let req = format!("{head}\r\nhost: localhost\r\nconnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out);
    text.split(' ').nth(1).unwrap().parse().unwrap()
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn info_and_bucket_lifecycle() {
    let nano = TestNano::start().await;
    let (status, info) = body(client().get(nano.url("/storage")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(
        info,
        json!({"name":"hyper63 Storage","version":"1.0","status":"unstable"})
    );
    let name = bucket(&nano).await;
    let url = nano.url(&format!("/storage/{name}"));
    let (status, b) = body(client().put(&url).send().await.unwrap()).await;
    assert_eq!(
        (status, b),
        (
            409,
            json!({"ok":false,"status":409,"msg":"bucket already exists"})
        )
    );
    raw_upload(&nano, &format!("/storage/{name}/deep/er/x.bin"), b"1").await;
    let (status, b) = body(client().delete(&url).send().await.unwrap()).await;
    assert_eq!((status, b), (201, json!({"ok":true})));
    let (status, b) = body(client().delete(&url).send().await.unwrap()).await;
    assert_eq!(
        (status, b),
        (
            404,
            json!({"ok":false,"status":404,"msg":"bucket does not exist"})
        )
    );
    let (status, b) = body(
        client()
            .put(nano.url("/storage/a%2Fb"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, b["msg"].clone()),
        (400, json!("bucket name cannot contain slashes"))
    );
    let (status, b) = body(
        client()
            .put(nano.url("/storage/a..b"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, b["msg"].clone()),
        (400, json!("cannot contain relative path parts"))
    );
    assert_eq!(
        raw_request(&nano, "PUT /storage/.. HTTP/1.1", b"").await,
        400
    );
    let (status, b) = body(
        client()
            .put(nano.url("/storage/a%20b"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400, "{b}");
    nano.stop().await;
}

#[tokio::test]
async fn multipart_uploads_name_objects_like_hyper() {
    let nano = TestNano::start().await;
    let name = bucket(&nano).await;
    let file = |n: &str| Part::bytes(b"PNGDATA".to_vec()).file_name(n.to_string());
    let post = |path: String, form: Form| {
        let url = nano.url(&path);
        async move { body(client().post(url).multipart(form).send().await.unwrap()).await }
    };
    // Bucket root, then a `path` field, then the URL wildcard (a file-looking last segment is dropped).
    let (status, b) = post(
        format!("/storage/{name}"),
        Form::new().part("file", file("logo.png")),
    )
    .await;
    assert_eq!((status, b), (201, json!({"ok":true})));
    let form = Form::new()
        .text("path", "images/")
        .part("file", file("a.png"));
    assert_eq!(post(format!("/storage/{name}"), form).await.0, 201);
    let form = Form::new().part("file", file("b.png"));
    assert_eq!(
        post(format!("/storage/{name}//path/x.png"), form).await.0,
        201
    );
    let form = Form::new().text("path", "p/q").part("file", file("c.png"));
    assert_eq!(post(format!("/storage/{name}/ignored"), form).await.0, 201);
    for object in ["logo.png", "images/a.png", "path/b.png", "p/q/c.png"] {
        let (status, ct, bytes) = download(&nano, &format!("/storage/{name}/{object}")).await;
        assert_eq!(
            (status, ct.as_str(), bytes.as_slice()),
            (200, "image/png", &b"PNGDATA"[..]),
            "{object}"
        );
    }
    // A path after the file, a file under another field, no file, and a non-multipart body.
    let form = Form::new()
        .part("file", file("late.png"))
        .text("path", "late");
    let (status, b) = post(format!("/storage/{name}"), form).await;
    assert_eq!(status, 400, "{b}");
    assert!(
        b["msg"]
            .as_str()
            .unwrap()
            .contains("path field must come before"),
        "{b}"
    );
    assert_eq!(
        download(&nano, &format!("/storage/{name}/late.png"))
            .await
            .0,
        404
    );
    let (status, b) = post(
        format!("/storage/{name}"),
        Form::new().part("upload", file("x.png")),
    )
    .await;
    assert_eq!(status, 400, "{b}");
    let msg = "body must be FormData that contains a file field and optional path field";
    let (status, b) = post(format!("/storage/{name}"), Form::new().text("path", "x")).await;
    assert_eq!(
        (status, b),
        (422, json!({"ok":false,"status":422,"msg":msg}))
    );
    let res = client()
        .post(nano.url(&format!("/storage/{name}")))
        .json(&json!({"a":1}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        body(res).await,
        (422, json!({"ok":false,"status":422,"msg":msg}))
    );
    let form = Form::new().part("file", file("../../evil.png"));
    assert_eq!(post(format!("/storage/{name}"), form).await.0, 400);
    nano.stop().await;
}

#[tokio::test]
async fn raw_uploads_downloads_types_and_deletes() {
    let nano = TestNano::start().await;
    let name = bucket(&nano).await;
    let path = format!("/storage/{name}/docs/bar.txt");
    assert_eq!(
        raw_upload(&nano, &path, b"hello").await,
        (201, json!({"ok":true}))
    );
    let (status, ct, bytes) = download(&nano, &path).await;
    assert_eq!(
        (status, ct.as_str(), bytes.as_slice()),
        (200, "text/plain; charset=UTF-8", &b"hello"[..])
    );
    raw_upload(&nano, &format!("/storage/{name}/noext"), b"x").await;
    assert_eq!(
        download(&nano, &format!("/storage/{name}/noext")).await.1,
        "application/octet-stream"
    );
    // hyper-connect without credentials sends `Authorization: null`.
    let res = client()
        .get(nano.url(&path))
        .header("authorization", "null")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let missing = format!("/storage/{name}/nope.txt");
    let (status, b) = body(client().get(nano.url(&missing)).send().await.unwrap()).await;
    assert_eq!(
        (status, b),
        (
            404,
            json!({"ok":false,"status":404,"msg":"object does not exist"})
        )
    );
    let (status, b) = body(
        client()
            .get(nano.url("/storage/no-such-bucket/x"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, b["msg"].clone()),
        (404, json!("bucket does not exist"))
    );
    let (status, b) = body(client().delete(nano.url(&path)).send().await.unwrap()).await;
    assert_eq!((status, b), (201, json!({"ok":true})));
    let (status, b) = body(client().delete(nano.url(&path)).send().await.unwrap()).await;
    assert_eq!(
        (status, b["msg"].clone()),
        (404, json!("object does not exist"))
    );
    nano.stop().await;
}

#[tokio::test]
async fn head_range_and_listing() {
    let nano = TestNano::start().await;
    let name = bucket(&nano).await;
    let path = format!("/storage/{name}/img/digits.png");
    raw_upload(&nano, &path, b"0123456789").await;
    raw_upload(&nano, &format!("/storage/{name}/img/a.png"), b"a").await;
    raw_upload(&nano, &format!("/storage/{name}/top.txt"), b"t").await;
    let res = client().head(nano.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-length"], "10");
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.headers()["accept-ranges"], "bytes");
    assert!(res.bytes().await.unwrap().is_empty());
    let res = client()
        .head(nano.url(&format!("/storage/{name}/nope")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    for (range, want, content_range) in [
        ("bytes=2-4", &b"234"[..], "bytes 2-4/10"),
        ("bytes=7-", &b"789"[..], "bytes 7-9/10"),
        ("bytes=-2", &b"89"[..], "bytes 8-9/10"),
    ] {
        let res = client()
            .get(nano.url(&path))
            .header("range", range)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 206, "{range}");
        assert_eq!(res.headers()["content-range"], content_range);
        assert_eq!(res.bytes().await.unwrap().as_ref(), want);
    }
    let res = client()
        .get(nano.url(&path))
        .header("range", "bytes=10-")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 416);
    assert_eq!(res.headers()["content-range"], "bytes */10");
    let (status, list) = body(
        client()
            .get(nano.url(&format!("/storage/{name}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["img/a.png", "img/digits.png", "top.txt"]);
    assert_eq!(list["objects"][1]["size"], 10);
    let (_, list) = body(
        client()
            .get(nano.url(&format!("/storage/{name}?prefix=img/d")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["objects"].as_array().unwrap().len(), 1);
    let (status, _) = body(
        client()
            .get(nano.url("/storage/no-such-bucket"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    nano.stop().await;
}

#[tokio::test]
async fn signed_urls_are_served_by_nano_and_checked() {
    let nano = TestNano::start().await;
    let name = bucket(&nano).await;
    let path = format!("/storage/{name}/signed/file.txt");
    // Upload URL: hyper-connect's signedUrl(..., {type:'upload'}), then a PUT of the bytes to it.
    let res = client()
        .post(nano.url(&format!("{path}?useSignedUrl=true")))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    let (status, b) = body(res).await;
    assert_eq!(status, 201, "{b}");
    let upload_url = b["url"].as_str().unwrap().to_string();
    assert!(
        upload_url.contains("/default/storage/") && upload_url.contains("signature="),
        "{upload_url}"
    );
    let res = client()
        .put(&upload_url)
        .body("signed bytes")
        .send()
        .await
        .unwrap();
    assert_eq!(body(res).await, (201, json!({"ok":true})));
    // The same flow when the request has no Content-Type, or asks for JSON.
    let res = client().post(nano.url(&path)).send().await.unwrap();
    assert!(body(res).await.1["url"].is_string());
    let res = client()
        .post(nano.url(&path))
        .header("content-type", "text/plain")
        .header("accept", "application/json")
        .body("x")
        .send()
        .await
        .unwrap();
    assert!(body(res).await.1["url"].is_string());
    // An Accept that merely includes JSON (axios' default) is a raw upload, as in hyper.
    let res = client()
        .post(nano.url(&format!("/storage/{name}/axios.txt")))
        .header("content-type", "text/plain")
        .header("accept", "application/json, text/plain, */*")
        .body("raw")
        .send()
        .await
        .unwrap();
    assert_eq!(body(res).await, (201, json!({"ok": true})));
    assert_eq!(
        download(&nano, &format!("/storage/{name}/axios.txt"))
            .await
            .2,
        b"raw"
    );
    // An upload URL does not grant downloads, and a download URL does not grant uploads.
    assert_eq!(
        client().get(&upload_url).send().await.unwrap().status(),
        403
    );
    let (status, b) = body(
        client()
            .get(nano.url(&format!("{path}?useSignedUrl=true")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let download_url = b["url"].as_str().unwrap().to_string();
    let res = client().get(&download_url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "signed bytes");
    assert_eq!(
        client()
            .put(&download_url)
            .body("x")
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    // Tampering with the signature, the expiry or the object is refused.
    let tampered = [
        download_url.replace("signature=", "signature=00"),
        download_url.replace("expires=", "expires=9"),
        download_url.replace("file.txt", "other.txt"),
    ];
    for url in tampered {
        let (status, b) = body(client().get(&url).send().await.unwrap()).await;
        assert_eq!(status, 403, "{url} {b}");
    }
    // Expired: an upload URL that lived one second.
    let res = client()
        .post(nano.url(&format!("{path}?useSignedUrl=true&expiresIn=1")))
        .send()
        .await
        .unwrap();
    let short = body(res).await.1["url"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, b) = body(client().put(&short).body("late").send().await.unwrap()).await;
    assert_eq!(
        (status, b["msg"].clone()),
        (403, json!("signature has expired"))
    );
    // Signing for a bucket that does not exist is a 404.
    let res = client()
        .get(nano.url("/storage/no-such-bucket/x?useSignedUrl=true"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    nano.stop().await;
}

#[tokio::test]
async fn path_escapes_are_refused_and_touch_nothing() {
    let nano = TestNano::start().await;
    let name = bucket(&nano).await;
    // A file outside every bucket, and a symlink to it inside the bucket.
    let secret = nano.dir.path().join("secret.txt");
    std::fs::write(&secret, "secret").unwrap();
    let bucket_dir = nano.dir.path().join("storage/default").join(&name);
    std::os::unix::fs::symlink(&secret, bucket_dir.join("link.txt")).unwrap();
    std::os::unix::fs::symlink(nano.dir.path(), bucket_dir.join("linkdir")).unwrap();
    let before = all_files(nano.dir.path());
    let attempts = [
        format!("/storage/{name}/../../secret.txt"),
        format!("/storage/{name}/a/../../../secret.txt"),
        format!("/storage/{name}/%2e%2e/%2e%2e/secret.txt"),
        format!("/storage/{name}/a%2F..%2F..%2F..%2Fsecret.txt"),
        format!("/storage/{name}/a%5C..%5Csecret.txt"),
        format!("/storage/{name}/a%00b"),
        format!("/storage/{name}/./x"),
        format!("/storage/{name}/link.txt"),
        format!("/storage/{name}/linkdir/secret.txt"),
    ];
    for path in &attempts {
        for method in ["GET", "HEAD", "DELETE"] {
            let status = raw_request(&nano, &format!("{method} {path} HTTP/1.1"), b"").await;
            assert_eq!(status, 400, "{method} {path}");
        }
        let head = format!("POST {path} HTTP/1.1\r\ncontent-type: text/plain\r\ncontent-length: 4");
        assert_eq!(raw_request(&nano, &head, b"evil").await, 400, "POST {path}");
    }
    assert_eq!(all_files(nano.dir.path()), before);
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "secret");
    nano.stop().await;
}

#[tokio::test]
async fn an_interrupted_upload_leaves_nothing_visible() {
    let nano = TestNano::start().await;
    let name = bucket(&nano).await;
    let mut s = tokio::net::TcpStream::connect(nano.addr).await.unwrap();
    let head = format!(
        "POST /storage/{name}/big.bin HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/octet-stream\r\ncontent-length: 10000000\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&vec![7u8; 100_000]).await.unwrap();
    s.flush().await.unwrap();
    drop(s);
    // Uploads in flight live in the node's own folder, `.uploads/<node>`.
    let uploads = nano.dir.path().join("storage/.uploads");
    let temp_files = || {
        std::fs::read_dir(&uploads)
            .unwrap()
            .flat_map(|node| std::fs::read_dir(node.unwrap().path()).unwrap())
            .count()
    };
    // Wait (bounded) until the server has seen the connection drop and removed its temp file.
    for _ in 0..200 {
        if temp_files() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(temp_files(), 0, "temp file left behind");
    assert_eq!(
        download(&nano, &format!("/storage/{name}/big.bin")).await.0,
        404
    );
    let (_, list) = body(
        client()
            .get(nano.url(&format!("/storage/{name}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["objects"], json!([]));
    nano.stop().await;
}

#[tokio::test]
async fn tenants_have_separate_buckets() {
    let (a, b) = (fresh_name("ta"), fresh_name("tb"));
    let tenants = vec![a.clone(), b.clone()];
    let nano = TestNano::start_with(|c| c.tenants = tenants).await;
    let name = fresh_name("shared");
    for t in [&a, &b] {
        let res = client()
            .put(nano.url(&format!("/{t}/storage/{name}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{t}");
    }
    raw_upload(&nano, &format!("/{a}/storage/{name}/same.txt"), b"from a").await;
    assert_eq!(
        download(&nano, &format!("/{b}/storage/{name}/same.txt"))
            .await
            .0,
        404
    );
    raw_upload(&nano, &format!("/{b}/storage/{name}/same.txt"), b"from b").await;
    assert_eq!(
        download(&nano, &format!("/{a}/storage/{name}/same.txt"))
            .await
            .2,
        b"from a"
    );
    // A signed URL of tenant a does not work when presented to tenant b.
    let res = client()
        .get(nano.url(&format!("/{a}/storage/{name}/same.txt?useSignedUrl=true")))
        .send()
        .await
        .unwrap();
    let url = body(res).await.1["url"].as_str().unwrap().to_string();
    assert_eq!(client().get(&url).send().await.unwrap().status(), 200);
    let other = url.replace(&format!("/{a}/storage/"), &format!("/{b}/storage/"));
    assert_eq!(client().get(&other).send().await.unwrap().status(), 403);
    let res = client()
        .delete(nano.url(&format!("/{b}/storage/{name}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(
        download(&nano, &format!("/{a}/storage/{name}/same.txt"))
            .await
            .2,
        b"from a"
    );
    nano.stop().await;
}

fn own_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// Memory stays bounded while a 128 MiB object goes up and comes back down: the server (in this process) never
/// holds the object. The client streams 1 MiB chunks and counts what it receives, so it holds none either.
#[tokio::test]
async fn large_objects_stream_in_bounded_memory() {
    use futures::StreamExt;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    const MIB: usize = 1024 * 1024;
    const OBJECT_MIB: usize = 128;
    let nano = TestNano::start().await;
    let name = bucket(&nano).await;
    let url = nano.url(&format!("/storage/{name}/large.bin"));
    let baseline = own_rss_kib();
    let (stop, peak) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(own_rss_kib(), Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        })
    };
    let chunk = bytes::Bytes::from(vec![1u8; MIB]);
    let body =
        futures::stream::iter((0..OBJECT_MIB).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    let res = client()
        .post(&url)
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = client().get(&url).send().await.unwrap();
    assert_eq!(
        res.headers()["content-length"],
        (OBJECT_MIB * MIB).to_string().as_str()
    );
    let mut stream = res.bytes_stream();
    let mut received = 0;
    while let Some(part) = stream.next().await {
        received += part.unwrap().len();
    }
    assert_eq!(received, OBJECT_MIB * MIB);
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let growth_mib = peak.load(Ordering::Relaxed).saturating_sub(baseline) / 1024;
    println!("rss growth {growth_mib} MiB");
    assert!(
        growth_mib < 64,
        "memory grew by {growth_mib} MiB for a {OBJECT_MIB} MiB object"
    );
    nano.stop().await;
}

/// With auth on, a signed URL is its own authorization: it works without a bearer token, an altered one is 403, and
/// the same object without a signature is 401.
#[tokio::test]
async fn signed_urls_work_when_auth_is_on() {
    let shared = tempfile::tempdir().unwrap();
    let data = shared.path().to_path_buf();
    let tenant = fresh_name("t");
    let open = {
        let (data, tenant) = (data.clone(), tenant.clone());
        TestNano::start_with(move |c| {
            c.data_dir = data;
            c.tenants = vec![tenant];
        })
        .await
    };
    let base = format!("/{tenant}/storage/photos");
    assert_eq!(
        client().put(open.url(&base)).send().await.unwrap().status(),
        201
    );
    raw_upload(&open, &format!("{base}/cat.txt"), b"meow").await;
    let url_of = |method: reqwest::Method, path: String| {
        let url = open.url(&path);
        async move {
            let res = client().request(method, url).send().await.unwrap();
            body(res).await.1["url"].as_str().unwrap().to_string()
        }
    };
    let download = url_of(
        reqwest::Method::GET,
        format!("{base}/cat.txt?useSignedUrl=true"),
    )
    .await;
    let upload = url_of(
        reqwest::Method::POST,
        format!("{base}/dog.txt?useSignedUrl=true"),
    )
    .await;
    let old = open.addr.to_string();
    open.stop().await;
    let locked = {
        let data = data.clone();
        TestNano::start_with(move |c| {
            c.data_dir = data;
            c.auth = true;
        })
        .await
    };
    let new = locked.addr.to_string();
    let (download, upload) = (download.replace(&old, &new), upload.replace(&old, &new));
    let res = client().get(&download).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "meow");
    let res = client().put(&upload).body("woof").send().await.unwrap();
    assert_eq!(res.status(), 201);
    let tampered = download.replace("cat.txt", "dog.txt");
    assert_eq!(client().get(&tampered).send().await.unwrap().status(), 403);
    let plain = locked.url(&format!("{base}/dog.txt"));
    assert_eq!(client().get(&plain).send().await.unwrap().status(), 401);
    locked.stop().await;
}
