//! SQL shared by the sqlx adapters: the registry, queue and run-claims ports written once, for SQLite (dev) and PostgreSQL (prod)
//! alike.

mod queue;
mod registry;
mod schedule;

pub use queue::{Confine, QueueDatabase, SqlQueue};
pub use registry::SqlRegistry;
pub use schedule::{SqlRunClaims, CLAIMS_KEPT_MS};

use futures::stream::BoxStream;
use futures::StreamExt;
use sqlx::{Database, Pool};
use std::future::Future;

/// The channel the registry's triggers notify on PostgreSQL, with the schema's name as the payload.
const REGISTRY_CHANNEL: &str = "nano_registry";

/// A database the SQL ports run on: what sqlx offers for every one, plus the count of rows a statement changed
/// (which sqlx leaves to each driver's result type) and the registry's change notices where the database pushes
/// them.
pub trait SqlDatabase: Database {
    /// A statement that makes a transaction wait for every tenant transaction of tenant `$1` in flight and keeps
    /// new ones waiting until it ends (PostgreSQL's tenant lock, taken shared by `postgres::tenant::confine`); none
    /// on SQLite, whose stores do not share the registry's file.
    const TENANT_LOCK: Option<&'static str>;
    fn rows_affected(done: &Self::QueryResult) -> u64;

    /// A stream that yields after registry writes of any connection (`None` where the database pushes nothing).
    fn registry_changes(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Option<BoxStream<'static, ()>>> + Send;
}

impl SqlDatabase for sqlx::Sqlite {
    const TENANT_LOCK: Option<&'static str> = None;
    fn rows_affected(done: &Self::QueryResult) -> u64 {
        done.rows_affected()
    }

    /// One process owns a SQLite registry: its followers poll `registry_version`.
    fn registry_changes(
        _pool: &Pool<Self>,
    ) -> impl Future<Output = Option<BoxStream<'static, ()>>> + Send {
        std::future::ready(None)
    }
}

impl SqlDatabase for sqlx::Postgres {
    const TENANT_LOCK: Option<&'static str> =
        Some("SELECT pg_advisory_xact_lock(1952804468, hashtext($1))");
    fn rows_affected(done: &Self::QueryResult) -> u64 {
        done.rows_affected()
    }

    /// `LISTEN nano_registry` on a connection of its own, yielding for the notices whose payload is this pool's
    /// schema (other schemas of the database are other clusters), and after a lost connection (notices may have
    /// been missed while it was down). `None`, logged, when the listener cannot start.
    fn registry_changes(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Option<BoxStream<'static, ()>>> + Send {
        let pool = pool.clone();
        async move {
            let started = async {
                let (schema,): (String,) = sqlx::query_as("SELECT current_schema()::text")
                    .fetch_one(&pool)
                    .await?;
                let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
                listener.listen(REGISTRY_CHANNEL).await?;
                Ok::<_, sqlx::Error>((listener, schema))
            };
            let state = match started.await {
                Ok(state) => state,
                Err(e) => {
                    tracing::warn!("registry notices unavailable, polling only: {e}");
                    return None;
                }
            };
            let notices = futures::stream::unfold(state, |(mut listener, schema)| async move {
                loop {
                    match listener.try_recv().await {
                        Ok(Some(notice)) if notice.payload() != schema => continue,
                        // A notice of this schema, or a lost connection (reconnected): look either way.
                        Ok(_) => return Some(((), (listener, schema))),
                        Err(e) => {
                            tracing::warn!("registry notices: {e}");
                            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                            return Some(((), (listener, schema)));
                        }
                    }
                }
            });
            Some(notices.boxed())
        }
    }
}
