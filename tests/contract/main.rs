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
