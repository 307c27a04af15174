//! The queue's tables on PostgreSQL, for the queue that `adapters::sql` implements: migrated, and handed over with the
//! tenant confinement (`tenant.rs`) that every transaction on them runs under.

use super::pool::{connect, PgTarget};
use super::tenant;
use crate::ports::BackendError;
use crate::ports::QueueError;
use futures::future::BoxFuture;
use sqlx::{PgConnection, PgPool};

const MIGRATIONS: &[(&str, &str)] = &[
    (
        "tenant_role",
        include_str!("../../../migrations/postgres/tenant_role.sql"),
    ),
    (
        "queue/001_queue",
        include_str!("../../../migrations/postgres/queue/001_queue.sql"),
    ),
    (
        "queue/002_leases",
        include_str!("../../../migrations/postgres/queue/002_leases.sql"),
    ),
];

/// Confines a transaction to one tenant (given its id): `tenant::confine` with this database's role setting, or
/// (`false`) `tenant::confine_unchecked`, for purges.
pub type Confine = Box<
    dyn for<'c> Fn(&'c mut PgConnection, &'c str, bool) -> BoxFuture<'c, Result<(), sqlx::Error>>
        + Send
        + Sync,
>;

/// Connects and migrates the queue's tables, and says how to confine a transaction on them to a tenant. The error
/// names the server, never the password.
pub async fn queue_tables(target: &PgTarget) -> Result<(PgPool, Confine), QueueError> {
    let pool = connect(target, MIGRATIONS)
        .await
        .map_err(|e| QueueError::Backend(BackendError::msg(e)))?;
    let use_role = tenant::needs_role(&pool)
        .await
        .map_err(|e| QueueError::Backend(BackendError::new(e)))?;
    Ok((pool, confine_with(use_role)))
}

fn confine_with(use_role: bool) -> Confine {
    Box::new(move |conn, host, checked| {
        if checked {
            Box::pin(tenant::confine(conn, host, use_role))
        } else {
            Box::pin(tenant::confine_unchecked(conn, host, use_role))
        }
    })
}
