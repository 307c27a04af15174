//! Contract suites: every adapter of every port runs the same behaviours, including cross-tenant isolation.
//!
//! Each port's module defines `pub async fn` behaviours taking the adapter under test, and instantiates them per
//! adapter with `contract_suite!`, which makes one named `#[tokio::test]` per behaviour.

#[path = "../support/mod.rs"]
mod support;

/// `contract_suite!(adapter_module, factory, Suite::path, [behaviour, ...])` makes, in `mod adapter_module`,
/// one `#[tokio::test] async fn behaviour()` per behaviour, each calling `suite::behaviour(&subject)` on a fresh
/// subject built by `factory().await` (which returns the subject and a guard kept alive for the test).
#[macro_export]
macro_rules! contract_suite {
    ($adapter:ident, $factory:path, $suite:path, [$($behaviour:ident),* $(,)?]) => {
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
mod registry;
mod search;
mod storage;
mod usage;
mod webhook;
