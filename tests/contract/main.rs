//! Contract suites: every adapter of every port runs the same behaviours, including cross-tenant isolation.
//!
//! Each port's module defines `pub async fn` behaviours taking the adapter under test, and instantiates them per
//! port once with `contract_suite!`, listing the behaviours once and the adapters (and decorators) that run them;
//! it makes one named `#[tokio::test]` per adapter and behaviour.

#[path = "../support/mod.rs"]
mod support;

/// `contract_suite!(suite_path, [adapter => factory, ...], [behaviour, ...])` names a port's behaviours once and
/// runs them on every adapter: in `mod adapter`, one `#[tokio::test] async fn behaviour()` per behaviour, each
/// calling `suite::behaviour(&subject)` on a fresh subject built by `factory().await` (which returns the subject and
/// a guard kept alive for the test). Decorators (quotas) are adapters here too: each wraps a real adapter.
#[macro_export]
macro_rules! contract_suite {
    ($suite:path, [$($adapter:ident => $factory:path),* $(,)?], $behaviours:tt) => {
        $( $crate::contract_suite!(@adapter $adapter, $factory, $suite, $behaviours); )*
    };
    (@adapter $adapter:ident, $factory:path, $suite:path, [$($behaviour:ident),* $(,)?]) => {
        mod $adapter {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $behaviour() {
                    let (subject, _guard) = $factory().await;
                    { use $suite as suite; suite::$behaviour(&subject).await; }
                }
            )*
        }
    };
}

/// Quota limits no contract behaviour reaches, so a quota decorator must behave exactly as the adapter it wraps.
pub fn generous_quotas() -> nano::app::quota::Limits {
    let mut config = nano::app::Config::defaults(nano::app::Profile::Dev);
    config.quotas = nano::app::config::QuotaConfig {
        requests_per_second: None,
        documents: Some(1_000_000),
        cache_keys: Some(1_000_000),
        storage_bytes: Some(1 << 40),
        search_docs: Some(1_000_000),
        queue_jobs: Some(1_000_000),
    };
    nano::app::quota::Limits::from_config(&config)
}

/// `every_service_adapter!(suite)` makes one `#[tokio::test]` per adapter of the five tenant-data service ports
/// (data, cache, storage, search, queue), each calling `suite::<service>(&store)` on a fresh store built by that
/// port's factory, for behaviours that every service port shares (usage, dump, purge).
#[macro_export]
macro_rules! every_service_adapter {
    ($suite:path) => {
        mod adapters {
            use $suite as suite;
            #[tokio::test]
            async fn sqlite_data() {
                let (store, _guard) = $crate::data::sqlite().await;
                suite::data(&store).await;
            }
            #[tokio::test]
            async fn sqlite_cache() {
                let (store, _guard) = $crate::cache::sqlite().await;
                suite::cache(&store).await;
            }
            #[tokio::test]
            async fn fs_storage() {
                let (store, _guard) = $crate::storage::fs().await;
                suite::storage(&store).await;
            }
            #[tokio::test]
            async fn s3_storage() {
                let (store, _guard) = $crate::storage::s3().await;
                suite::storage(&store).await;
            }
            #[tokio::test]
            async fn tantivy_search() {
                let (store, _guard) = $crate::search::tantivy().await;
                suite::search(&store).await;
            }
            #[tokio::test]
            async fn sqlite_queue() {
                let (store, _guard) = $crate::queue::sqlite().await;
                suite::queue(&store).await;
            }
            #[tokio::test]
            async fn postgres_data() {
                let (store, _guard) = $crate::data::postgres().await;
                suite::data(&store).await;
            }
            #[tokio::test]
            async fn redis_cache() {
                let (store, _guard) = $crate::cache::redis().await;
                suite::cache(&store).await;
            }
            #[tokio::test]
            async fn postgres_search() {
                let (store, _guard) = $crate::search::postgres().await;
                suite::search(&store).await;
            }
            #[tokio::test]
            async fn postgres_queue() {
                let (store, _guard) = $crate::queue::postgres().await;
                suite::queue(&store).await;
            }
        }
    };
}

mod cache;
mod data;
mod dump;
mod postgres;
mod purge;
mod queue;
mod rate;
mod registry;
mod schedule;
mod search;
mod storage;
mod usage;
mod webhook;
