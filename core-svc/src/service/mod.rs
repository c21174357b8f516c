//! Use cases: one function per operation, each owning its transaction, its authorization
//! check and the event it writes.
//!
//! Architecture invariant: authorization is decided here and nowhere else. Edges forward
//! credentials; `grpc` only translates. Every mutation writes its event in the same
//! transaction as the change (`events::record`), so the log never disagrees with the data.

pub mod access;
pub mod auth;
pub mod configs;
pub mod events;
pub mod members;
pub mod projects;
pub mod settings;
pub mod tasks;
pub mod users;
pub mod webhooks;

use sqlx::{PgPool, Postgres, Transaction};

use crate::{
    cache::Cache,
    error::{Error, Result},
    events::Feed,
    redis::{LoginLimits, Redis, TokenLimit},
    security::TokenKeys,
};

/// Everything a use case needs: the database, Redis, the token keys and the event feed. Cheap to clone.
#[derive(Clone)]
pub struct Core {
    pub db: PgPool,
    pub redis: Redis,
    pub keys: TokenKeys,
    pub login_limits: LoginLimits,
    /// Optional budget of calls per credential.
    pub token_limit: Option<TokenLimit>,
    /// This replica's live view of the event log, for subscriptions.
    pub feed: Feed,
    /// The read cache in Redis.
    pub cache: Cache,
    /// The Redis list this deployment's tasks are dispatched on (`tasks::queue_key`).
    pub task_queue: std::sync::Arc<str>,
    /// `WEBHOOK_ALLOW_PRIVATE`: webhooks may target private addresses (the SSRF guard is off).
    pub webhook_allow_private: bool,
    /// False while PostgreSQL does not answer (`startup::follow_database` checks every second):
    /// requests then fail at once with UNAVAILABLE instead of each waiting out the pool's
    /// acquire timeout.
    pub db_up: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Core {
    pub async fn begin(&self) -> Result<Transaction<'static, Postgres>> {
        self.check_db_up()?;
        Ok(self.db.begin().await?)
    }

    /// A pooled connection for reads.
    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<Postgres>> {
        self.check_db_up()?;
        Ok(self.db.acquire().await?)
    }

    fn check_db_up(&self) -> Result<()> {
        if self.db_up.load(std::sync::atomic::Ordering::Relaxed) {
            Ok(())
        } else {
            Err(Error::Unavailable("the database is unreachable".into()))
        }
    }

    /// Commits, then wakes the event relay (the transaction may have appended events).
    pub async fn commit(&self, tx: Transaction<'static, Postgres>) -> Result<()> {
        tx.commit().await?;
        self.feed.written();
        Ok(())
    }
}
