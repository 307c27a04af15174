//! Cache GET and SET requests per second over loopback HTTP (64 connections) against a release nano, next to a
//! bare hyper "hello" server measured in the same run as the ceiling. Run: `cargo bench --bench cache`.

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;
use support::{bare_hello_server, load, request, send, MakeRequest, Nano, Stats};

const CONNS: usize = 64;
const WARMUP: Duration = Duration::from_secs(1);
const DURATION: Duration = Duration::from_secs(4);
const ROUNDS: usize = 2;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let bare = bare_hello_server();
    let nano = Nano::start().await;
    let addr = nano.addr;
    send(addr, "PUT", "/cache/bench", None).await;
    send(
        addr,
        "POST",
        "/cache/bench",
        Some(
            r#"{"key":"movie-1","value":{"title":"Dune","year":1965,"tags":["sf","classic"]}}"#
                .into(),
        ),
    )
    .await;

    let hello: MakeRequest = Arc::new(move |_, _| request("GET", bare, "/", None));
    let get: MakeRequest = Arc::new(move |_, _| request("GET", addr, "/cache/bench/movie-1", None));
    let set: MakeRequest = Arc::new(move |c, n| {
        request(
            "PUT",
            addr,
            &format!("/cache/bench/key-{c}-{}", n % 1000),
            Some(format!(r#"{{"title":"Dune","n":{n}}}"#)),
        )
    });

    // Interleaved rounds, so that other load on the machine hits every target alike.
    let (mut bare_stats, mut get_stats, mut set_stats) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        bare_stats.push(load(bare, CONNS, WARMUP, DURATION, hello.clone()).await);
        get_stats.push(load(addr, CONNS, WARMUP, DURATION, get.clone()).await);
        set_stats.push(load(addr, CONNS, WARMUP, DURATION, set.clone()).await);
    }
    let (bare_stats, get_stats, set_stats) = (
        Stats::sum(&bare_stats),
        Stats::sum(&get_stats),
        Stats::sum(&set_stats),
    );

    println!();
    println!(
        "| target ({CONNS} connections, {ROUNDS} rounds of {}s) | requests/s | failed | vs bare hyper |",
        DURATION.as_secs()
    );
    println!("| --- | ---: | ---: | ---: |");
    let row = |name: &str, s: Stats| {
        println!(
            "| {name} | {:.0} | {} | {:.2} |",
            s.rps(),
            s.failed,
            s.rps() / bare_stats.rps()
        );
    };
    row("bare hyper hello (ceiling)", bare_stats);
    row("nano cache GET", get_stats);
    row("nano cache SET (PUT upsert)", set_stats);
    println!();
    println!(
        "cache GET / bare ceiling = {:.2} (target >= 0.50)",
        get_stats.rps() / bare_stats.rps()
    );
}
