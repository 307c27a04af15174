//! The rate-limiter port's contract, run against both limiters: bursts of one second's worth, refill over time,
//! tenant isolation; and, on Redis, one quota shared by every node on the same prefix, with buckets that expire.

use crate::support::fresh_name;
use nano::ports::RateLimiter;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub mod suite {
    use super::*;

    pub fn tenant() -> String {
        fresh_name("t")
    }

    /// Asks `n` times in a row; returns how many were admitted and how long the asking took.
    pub async fn burst(
        l: &Arc<dyn RateLimiter>,
        tenant: &str,
        rate: u32,
        n: u32,
    ) -> (u32, Duration) {
        let started = Instant::now();
        let mut admitted = 0;
        for _ in 0..n {
            if l.admit(tenant, rate).await.unwrap() {
                admitted += 1;
            }
        }
        (admitted, started.elapsed())
    }

    /// At most what the bucket held plus what refilled while asking (and one for rounding).
    pub fn at_most(held: u32, rate: u32, took: Duration) -> u32 {
        held + (took.as_secs_f64() * f64::from(rate)).ceil() as u32 + 1
    }

    pub async fn a_burst_gets_one_seconds_worth_then_refusals(l: &Arc<dyn RateLimiter>) {
        let (t, rate) = (tenant(), 10);
        for i in 0..rate {
            assert!(
                l.admit(&t, rate).await.unwrap(),
                "request {i} fits a full bucket"
            );
        }
        let (admitted, took) = burst(l, &t, rate, 20).await;
        assert!(
            admitted < 20 && admitted <= at_most(0, rate, took),
            "{admitted} of 20 more admitted in {took:?}"
        );
    }

    pub async fn the_bucket_refills_at_the_rate(l: &Arc<dyn RateLimiter>) {
        let (t, rate) = (tenant(), 10);
        burst(l, &t, rate, 30).await;
        let started = Instant::now();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (admitted, _) = burst(l, &t, rate, 20).await;
        let waited = started.elapsed();
        assert!(
            admitted >= 4 && admitted <= at_most(0, rate, waited),
            "{admitted} admitted after {waited:?} at 10 per second"
        );
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let (admitted, took) = burst(l, &t, rate, 30).await;
        assert!(
            admitted >= rate && admitted <= at_most(rate, rate, took),
            "a bucket left alone fills up to one second's worth, no more: {admitted}"
        );
    }

    pub async fn tenants_do_not_share_buckets(l: &Arc<dyn RateLimiter>) {
        let (a, b, rate) = (tenant(), tenant(), 5);
        burst(l, &a, rate, 20).await;
        assert!(!l.admit(&a, rate).await.unwrap(), "a's bucket is empty");
        let (admitted, _) = burst(l, &b, rate, rate).await;
        assert_eq!(admitted, rate, "b's bucket is its own, full");
    }
}

crate::contract_suite!(
    super::suite,
    [memory => super::memory, redis => super::redis],
    [
        a_burst_gets_one_seconds_worth_then_refusals,
        the_bucket_refills_at_the_rate,
        tenants_do_not_share_buckets,
    ]
);

pub(crate) async fn memory() -> (Arc<dyn RateLimiter>, ()) {
    (
        Arc::new(nano::adapters::memory::MemoryRateLimiter::new()),
        (),
    )
}

fn redis_target(prefix: &str) -> nano::adapters::redis::RedisTarget {
    nano::adapters::redis::RedisTarget {
        url: std::env::var("NANO_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string()),
        prefix: prefix.to_string(),
    }
}

/// A Redis limiter on `prefix`; tests wait longer than prod's 50 ms, since a busy test machine is not an outage.
async fn redis_on(prefix: &str, timeout: Duration) -> nano::adapters::redis::RedisRateLimiter {
    nano::adapters::redis::RedisRateLimiter::open(&redis_target(prefix), timeout)
        .await
        .expect("Redis at 127.0.0.1:6379 (scripts/ci-services.sh starts it)")
}

pub(crate) async fn redis() -> (Arc<dyn RateLimiter>, ()) {
    let limiter = redis_on(&fresh_name("nanotest"), Duration::from_secs(5)).await;
    (Arc::new(limiter), ())
}

/// Two nodes on one Redis prefix count in one bucket: together they get one second's worth, not two.
#[tokio::test]
async fn redis_nodes_on_one_prefix_share_one_quota() {
    let prefix = fresh_name("nanotest");
    let one: Arc<dyn RateLimiter> = Arc::new(redis_on(&prefix, Duration::from_secs(5)).await);
    let two: Arc<dyn RateLimiter> = Arc::new(redis_on(&prefix, Duration::from_secs(5)).await);
    let (t, rate) = (suite::tenant(), 10);
    let started = Instant::now();
    let mut admitted = 0;
    for _ in 0..20 {
        for node in [&one, &two] {
            if node.admit(&t, rate).await.unwrap() {
                admitted += 1;
            }
        }
    }
    let took = started.elapsed();
    assert!(
        admitted >= rate && admitted <= suite::at_most(rate, rate, took),
        "two nodes admitted {admitted} of 40 at 10 per second in {took:?}"
    );
    let other: Arc<dyn RateLimiter> =
        Arc::new(redis_on(&fresh_name("nanotest"), Duration::from_secs(5)).await);
    assert!(
        other.admit(&t, rate).await.unwrap(),
        "another prefix is another deployment, with its own buckets"
    );
}

/// A bucket's key carries a TTL of a few seconds at most, so idle tenants leave no keys behind.
#[tokio::test]
async fn redis_buckets_of_idle_tenants_expire() {
    let prefix = fresh_name("nanotest");
    let limiter = redis_on(&prefix, Duration::from_secs(5)).await;
    let t = suite::tenant();
    assert!(limiter.admit(&t, 3).await.unwrap());
    let client = ::redis::Client::open(redis_target(&prefix).url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let ttl: i64 = ::redis::cmd("PTTL")
        .arg(format!("{prefix}:{t}:rate"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 0 && ttl <= 2_000, "PTTL {ttl}");
}

/// A Redis that does not answer within the bound (here: busy with a long script) is an error after the bound (the
/// caller then admits), never a wait for Redis.
#[tokio::test]
async fn redis_slower_than_the_bound_fails_instead_of_waiting() {
    let prefix = fresh_name("nanotest");
    let limiter = redis_on(&prefix, Duration::from_millis(50)).await;
    let t = suite::tenant();
    assert!(
        limiter.admit(&t, 3).await.unwrap(),
        "a Redis at ease answers"
    );
    let client = ::redis::Client::open(redis_target(&prefix).url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let busy = tokio::spawn(async move {
        let _: ::redis::RedisResult<i64> = ::redis::cmd("EVAL")
            .arg("local i = 0 while i < 20000000 do i = i + 1 end return i")
            .arg(0)
            .query_async(&mut conn)
            .await;
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    let started = Instant::now();
    let answer = limiter.admit(&t, 3).await;
    let took = started.elapsed();
    busy.await.unwrap();
    assert!(answer.is_err(), "a busy Redis must not count: {answer:?}");
    assert!(took < Duration::from_millis(500), "waited {took:?}");
}
