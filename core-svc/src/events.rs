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
//!
//! Fan-out: every replica runs a *tailer* that reads newly sequenced rows (woken by the
//! relay's `platform_events_seq` notification, with a poll as a safety net) and broadcasts them
//! in batches to its local subscribers ([`Feed`]). Each batch says which seq range it covers, so
//! a subscriber notices any hole (it lagged behind the broadcast buffer, or joined between two
//! batches) and fills it from the log. PostgreSQL is the only transport: a lost notification
//! costs latency, never an event, and Redis plays no part in delivery.
//!
//! Fan-out: every replica runs a *tailer* that reads newly sequenced rows (woken by the
//! relay's `platform_events_seq` notification, with a poll as a safety net) and broadcasts them
//! in batches to its local subscribers ([`Feed`]). Each batch says which seq range it covers, so
//! a subscriber notices any hole (it lagged behind the broadcast buffer, or joined between two
//! batches) and fills it from the log. PostgreSQL is the only transport: a lost notification
//! costs latency, never an event, and Redis plays no part in delivery.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use serde_json::Value as Json;
use sqlx::{PgConnection, PgPool, postgres::PgListener};
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::{
    domain::{self, RequestMeta, channel},
    error::Result,
};

/// The NOTIFY channel that wakes the relay: sent after writes commit ([`run_waker`]).
pub const NOTIFY_CHANNEL: &str = "platform_events";
/// The NOTIFY channel the relay signals after numbering a batch; tailers listen on it.
pub const SEQUENCED_CHANNEL: &str = "platform_events_seq";
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
    // No NOTIFY here: a NOTIFY in the transaction makes PostgreSQL serialise those commits (they
    // queue for the notification lock while flushing WAL), which capped config writes at ~250/s
    // (bench/run). `Core::commit` wakes the relay after the commit instead (`Feed::written`).
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
    if r.rows_affected() > 0 {
        sqlx::query("SELECT pg_notify($1, '')").bind(SEQUENCED_CHANNEL).execute(&mut *conn).await?;
    }
    Ok(r.rows_affected())
}

/// Columns of a sequenced event, in the order `domain::Event` reads them.
pub const EVENT_COLUMNS: &str =
    "seq, id, type, channels, actor_id, resource_type, resource_id, payload, occurred_at, request_id";
/// Events per tailer read, and per replay page.
pub const BATCH: i64 = 1000;
/// Broadcast buffer, in batches. A subscriber further behind than this drops out of the
/// broadcast and catches up from the log, so memory stays bounded whatever the clients do.
const FEED_CAPACITY: usize = 256;
/// Upper bound on how stale a tailer can be if a notification is lost.
const TAIL_POLL: Duration = Duration::from_millis(500);

/// Every sequenced event in `(after, last]`, in seq order; nothing in that range is left out.
#[derive(Debug)]
pub struct Batch {
    pub after: i64,
    pub last: i64,
    pub events: Vec<Arc<domain::Event>>,
}

/// This replica's live view of the log: the latest seq it has read and a broadcast of what
/// follows. Cheap to clone.
#[derive(Clone)]
pub struct Feed {
    inner: Arc<FeedInner>,
}

struct FeedInner {
    tx: broadcast::Sender<Arc<Batch>>,
    head: AtomicI64,
    stop: watch::Sender<bool>,
    /// Set by committed writes; [`run_waker`] turns it into one NOTIFY per burst.
    written: tokio::sync::Notify,
}

impl Feed {
    /// A feed whose log has been read up to `head`.
    pub fn new(head: i64) -> Self {
        let (tx, _) = broadcast::channel(FEED_CAPACITY);
        Self {
            inner: Arc::new(FeedInner {
                tx,
                head: AtomicI64::new(head),
                stop: watch::channel(false).0,
                written: tokio::sync::Notify::new(),
            }),
        }
    }

    /// A feed starting at the latest seq in the log.
    pub async fn start(pool: &PgPool) -> sqlx::Result<Self> {
        Ok(Self::new(max_seq(pool).await?))
    }

    /// Live batches from now on. Subscribe *before* reading [`Feed::head`]: then every event
    /// after the head read comes through the receiver (or shows up as a hole in it).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Batch>> {
        self.inner.tx.subscribe()
    }

    /// The latest seq this replica has broadcast.
    pub fn head(&self) -> i64 {
        self.inner.head.load(Ordering::Acquire)
    }

    /// Flips to true when the replica shuts down; streams end then so that the server can drain.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.inner.stop.subscribe()
    }

    pub fn stop(&self) {
        self.inner.stop.send_replace(true);
    }

    /// A transaction that may have appended events committed: wake the relay (whichever replica
    /// leads). Coalesced: a burst of commits costs one NOTIFY.
    pub fn written(&self) {
        self.inner.written.notify_one();
    }

    fn publish(&self, batch: Batch) {
        self.inner.head.store(batch.last, Ordering::Release);
        // No receiver is fine: nobody is subscribed on this replica.
        let _ = self.inner.tx.send(Arc::new(batch));
    }
}

/// Sends `NOTIFY platform_events` after committed writes, one per burst: while one is on its way,
/// further commits only leave a single permit behind, so writers never wait on it and the relay
/// (any replica) wakes within a round trip. The relay's 250 ms poll covers a lost one.
pub async fn run_waker(pool: PgPool, feed: Feed, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = feed.inner.written.notified() => {}
            _ = shutdown.changed() => if *shutdown.borrow() { return },
        }
        if let Err(e) = sqlx::query("SELECT pg_notify($1, '')").bind(NOTIFY_CHANNEL).execute(&pool).await {
            tracing::debug!(error = %e, "waking the event relay failed; its poll will find the events");
        }
    }
}

/// The latest sequenced seq in the log (0 when empty).
/// The smallest seq the log still holds (older events were trimmed), if it holds any.
pub async fn min_seq(pool: &PgPool) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT min(seq) FROM events").fetch_one(pool).await
}

pub async fn max_seq(pool: &PgPool) -> sqlx::Result<i64> {
    let max: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM events").fetch_one(pool).await?;
    Ok(max.unwrap_or(0))
}

/// Reads newly sequenced events and broadcasts them. Every replica runs one.
pub async fn run_tailer(pool: PgPool, feed: Feed, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if let Err(e) = tail(&pool, &feed, &mut shutdown).await {
            tracing::warn!(error = %e, "event tailer interrupted; retrying");
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

async fn tail(pool: &PgPool, feed: &Feed, shutdown: &mut watch::Receiver<bool>) -> anyhow::Result<()> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(SEQUENCED_CHANNEL).await?;
    loop {
        loop {
            let after = feed.head();
            let events = read_after(pool, after, i64::MAX, None).await?;
            let Some(last) = events.last().and_then(|e| e.seq) else { break };
            let full = events.len() as i64 == BATCH;
            feed.publish(Batch { after, last, events: events.into_iter().map(Arc::new).collect() });
            if !full {
                break;
            }
        }
        tokio::select! {
            n = listener.recv() => { n?; }
            _ = tokio::time::sleep(TAIL_POLL) => {}
            _ = shutdown.changed() => if *shutdown.borrow() { return Ok(()) },
        }
    }
}

/// Up to [`BATCH`] sequenced events in `(after, upto]`, in seq order; with `filter`, only those
/// on one of `filter.0`'s channels or of one of `filter.1`'s types.
pub async fn read_after(
    pool: &PgPool,
    after: i64,
    upto: i64,
    filter: Option<(&[String], &[&str])>,
) -> sqlx::Result<Vec<domain::Event>> {
    match filter {
        None => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3"
            )))
            .bind(after)
            .bind(upto)
            .bind(BATCH)
            .fetch_all(pool)
            .await
        }
        Some((channels, types)) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {EVENT_COLUMNS} FROM events
                 WHERE seq > $1 AND seq <= $2 AND (channels && $4 OR type = ANY($5))
                 ORDER BY seq LIMIT $3"
            )))
            .bind(after)
            .bind(upto)
            .bind(BATCH)
            .bind(channels)
            .bind(types)
            .fetch_all(pool)
            .await
        }
    }
}
