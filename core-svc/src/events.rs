//! The event log: written by every mutation, sequenced after commit by one relay leader.
//!
//! Why a relay: concurrent transactions commit out of insertion order, so neither a BIGSERIAL
//! nor a timestamp gives readers a cursor they can resume from without missing a row that
//! commits later with a smaller number. Instead, rows are inserted with `seq = NULL`; a single
//! leader (holder of a PostgreSQL advisory lock) repeatedly numbers the rows it can *see*, i.e.
//! committed ones, continuing from the highest `seq`. A transaction still in flight is invisible
//! to the relay and is numbered after it commits, so it always gets a larger `seq` than anything
//! a reader could already have seen. Readers only ever see sequenced rows. `UNIQUE (seq)` makes
//! a second, mistaken leader fail rather than reuse numbers.

use std::time::Duration;

use serde_json::Value as Json;
use sqlx::{PgConnection, PgPool, postgres::PgListener};
use tokio::sync::watch;
use uuid::Uuid;

use crate::{
    domain::{self, RequestMeta, channel},
    error::Result,
};

/// The NOTIFY channel every event-writing transaction signals on commit.
pub const NOTIFY_CHANNEL: &str = "platform_events";
/// Advisory lock key of the relay leader ("psm-evts" in ASCII).
const RELAY_LOCK_KEY: i64 = 0x7073_6d2d_6576_7473;
/// Upper bound on how stale the relay can be if a notification is lost.
const RELAY_POLL: Duration = Duration::from_millis(250);

/// An event to append in the caller's transaction.
pub struct NewEvent<'a> {
    pub event_type: &'static str,
    /// Main channel first.
    pub channels: Vec<String>,
    pub actor_id: Option<Uuid>,
    pub resource_type: &'static str,
    pub resource_id: String,
    pub payload: Json,
    pub meta: &'a RequestMeta,
}

/// Appends an event in the current transaction (it commits or rolls back with the change).
pub async fn record(conn: &mut PgConnection, e: NewEvent<'_>) -> Result<()> {
    let mut channels = e.channels;
    channels.push(channel::ADMIN.to_string());
    sqlx::query(
        "INSERT INTO events (id, type, channels, actor_id, resource_type, resource_id, payload, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(domain::new_id())
    .bind(e.event_type)
    .bind(&channels)
    .bind(e.actor_id)
    .bind(e.resource_type)
    .bind(&e.resource_id)
    .bind(&e.payload)
    .bind(e.meta.request_id.as_deref())
    .execute(&mut *conn)
    .await?;
    // Delivered only if and when the transaction commits: exactly the moment the relay can
    // see the row.
    sqlx::query("SELECT pg_notify($1, '')").bind(NOTIFY_CHANNEL).execute(&mut *conn).await?;
    Ok(())
}

/// Serialises a resource for an event payload.
pub fn payload<T: serde::Serialize>(v: &T) -> Json {
    serde_json::to_value(v).unwrap_or(Json::Null)
}

/// Numbers committed events in commit order while this replica holds the relay lock.
///
/// Runs until `shutdown` flips to true. Every replica runs it; at most one is leader.
pub async fn run_relay(pool: PgPool, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if let Err(e) = relay_once(&pool, &mut shutdown).await {
            tracing::warn!(error = %e, "event relay interrupted; retrying");
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

async fn relay_once(pool: &PgPool, shutdown: &mut watch::Receiver<bool>) -> anyhow::Result<()> {
    // The lock lives as long as this connection; if the connection dies, so does leadership,
    // and the UPDATEs below (on the same connection) cannot run without it.
    let mut conn = pool.acquire().await?.detach();
    loop {
        let leader: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(RELAY_LOCK_KEY).fetch_one(&mut conn).await?;
        if leader {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = shutdown.changed() => return Ok(()),
        }
        if *shutdown.borrow() {
            return Ok(());
        }
    }
    tracing::info!("event relay: this replica is the leader");
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(NOTIFY_CHANNEL).await?;
    loop {
        while sequence_batch(&mut conn).await? > 0 {}
        tokio::select! {
            n = listener.recv() => { n?; }
            _ = tokio::time::sleep(RELAY_POLL) => {}
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    // Number what is committed before handing leadership over.
                    while sequence_batch(&mut conn).await? > 0 {}
                    return Ok(());
                }
            }
        }
    }
}

/// Assigns seq to up to 5,000 committed, unnumbered events, in insertion order.
async fn sequence_batch(conn: &mut PgConnection) -> anyhow::Result<u64> {
    let r = sqlx::query(
        "WITH base AS (SELECT coalesce(max(seq), 0) AS s FROM events),
              todo AS (SELECT pos, row_number() OVER (ORDER BY pos) AS n
                       FROM events WHERE seq IS NULL ORDER BY pos LIMIT 5000)
         UPDATE events e SET seq = base.s + todo.n FROM todo, base WHERE e.pos = todo.pos",
    )
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected())
}
