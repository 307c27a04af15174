//! Storage throughput: upload and download of a 100 MB object over loopback against a release nano, with the
//! server's resident memory sampled during each transfer. Run: `cargo bench --bench storage`.

mod common;

use bytes::Bytes;
use common::{client, sample_peak_rss, start_nano};
use futures::StreamExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

const OBJECT_MB: usize = 100;
const ROUNDS: usize = 3;
const CHUNK: usize = 1024 * 1024;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let nano = start_nano(&dir.path().join("data")).await;
    let http = client();
    let bucket = format!("{}/storage/bench", nano.base);
    assert_eq!(http.put(&bucket).send().await.unwrap().status(), 201);
    let url = format!("{bucket}/big/object.bin");
    let chunk = Bytes::from(vec![42u8; CHUNK]);
    let total = (OBJECT_MB * CHUNK) as f64;
    let idle_rss = common::rss_kib(nano.pid);
    let (mut up, mut down, mut up_rss, mut down_rss) = (vec![], vec![], 0u64, 0u64);
    for _ in 0..ROUNDS {
        // Upload: a streamed body of 1 MiB chunks (the client holds one chunk, not the object).
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = sample_peak_rss(nano.pid, stop.clone());
        let c = chunk.clone();
        let body =
            futures::stream::iter((0..OBJECT_MB).map(move |_| Ok::<_, std::io::Error>(c.clone())));
        let started = Instant::now();
        let res = http
            .post(&url)
            .header("content-type", "application/octet-stream")
            .body(reqwest::Body::wrap_stream(body))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        up.push(total / started.elapsed().as_secs_f64() / 1e6);
        stop.store(true, Ordering::Relaxed);
        up_rss = up_rss.max(sampler.join().unwrap());

        // Download, counting bytes as they stream in.
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = sample_peak_rss(nano.pid, stop.clone());
        let started = Instant::now();
        let res = http.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let mut stream = res.bytes_stream();
        let mut got = 0usize;
        while let Some(part) = stream.next().await {
            got += part.unwrap().len();
        }
        assert_eq!(got, OBJECT_MB * CHUNK);
        down.push(total / started.elapsed().as_secs_f64() / 1e6);
        stop.store(true, Ordering::Relaxed);
        down_rss = down_rss.max(sampler.join().unwrap());
    }
    println!("\nstorage: {OBJECT_MB} MiB object over loopback, {ROUNDS} rounds, release nano\n");
    println!("| transfer | median MB/s | best MB/s | peak server RSS |");
    println!("| --- | --- | --- | --- |");
    let best = |v: &Vec<f64>| v.iter().cloned().fold(0.0, f64::max);
    println!(
        "| upload (raw body, fsync before rename) | {:.0} | {:.0} | {:.1} MiB |",
        median(up.clone()),
        best(&up),
        up_rss as f64 / 1024.0
    );
    println!(
        "| download | {:.0} | {:.0} | {:.1} MiB |",
        median(down.clone()),
        best(&down),
        down_rss as f64 / 1024.0
    );
    println!(
        "\nserver RSS when idle before the transfers: {:.1} MiB",
        idle_rss as f64 / 1024.0
    );
}
