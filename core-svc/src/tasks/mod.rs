//! The task queue: records in PostgreSQL, dispatch through Redis, workers in every replica.
//!
//! Why this split: PostgreSQL holds every task and every state change (queued → running →
//! succeeded / failed → … → dead), guarded by status and lease, so nothing Redis does — losing
//! data on restart, a `FLUSHALL`, delivering an id twice — can lose or double-run a task. Redis
//! is the fast path: a worker blocks on `BLPOP` and starts a task within milliseconds of it
//! being queued, without polling the database.
//!
//! - **Enqueue:** the task row (and its `task.queued` event) is written in the caller's
//!   transaction; after commit its id is pushed to `psm:tasks:ready`.
//! - **Workers** (`TASK_WORKERS` per replica) pop an id and *claim* it in PostgreSQL (only a due,
//!   queued or failed task can be claimed, by one worker). A claimed task carries a lease
//!   (`TASK_LEASE_SECS`) that the worker renews while it runs. When idle, a worker also claims
//!   straight from PostgreSQL, so tasks run while Redis is down.
//! - **At least once:** a worker that dies stops renewing; the sweeper finds the lapsed lease,
//!   records the attempt as lost and schedules a retry. Handlers are idempotent.
//! - **Retries:** exponential backoff with jitter (`TASK_RETRY_BASE_MS` · 2^(attempt−1), capped at
//!   `TASK_RETRY_MAX_SECS`, then a random point in its upper half); after `max_attempts` the task
//!   is `dead` until retried by hand.
//! - **The leader** (one replica, PostgreSQL advisory lock) sweeps every second: reclaims lapsed
//!   leases, pushes due tasks that Redis does not have (retries whose time has come, and anything
//!   Redis lost), turns new events into webhook deliveries, and schedules periodic maintenance.
//! - **Shutdown:** workers stop taking tasks, let the running one finish within the grace period,
//!   and otherwise hand it back (queued again at once, the attempt not counted).

mod handlers;
pub mod webhook;

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use rand::Rng;
use serde_json::{Value as Json, json};
use sqlx::PgConnection;
use tokio::sync::watch;
use uuid::Uuid;

use crate::{
    domain::{RequestMeta, Task, TaskStatus, channel},
    error::Result,
    events::{self, NewEvent},
    service::Core,
    store::tasks::{self as store, NewTask, Outcome},
};

/// The Redis list workers block on, per database: several deployments (or test databases) can
/// share one Redis without taking each other's tasks.
pub fn queue_key(database: &str) -> String {
    format!("psm:tasks:ready:{database}")
}
/// Advisory lock key of the task leader ("psm-task").
pub const LEADER_LOCK_KEY: i64 = 0x7073_6d2d_7461_736b;
/// A due task not started this long after its last push is pushed again (Redis lost it).
const REDISPATCH_AFTER: Duration = Duration::from_secs(5);

pub const KIND_WEBHOOK: &str = "webhook.deliver";
pub const KIND_EXPORT: &str = "project.export";
pub const KIND_PURGE_TOKENS: &str = "maintenance.purge_tokens";
pub const KIND_TRIM_EVENTS: &str = "maintenance.trim_events";

/// Settings of the queue, from the environment (`config.rs`).
#[derive(Debug, Clone)]
pub struct TaskConfig {
    /// Concurrent tasks per replica; 0 runs no worker here (another replica does the work).
    pub workers: usize,
    /// How long a running attempt is trusted without a renewal.
    pub lease: Duration,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub webhook_max_attempts: i32,
    pub webhook_timeout: Duration,
    /// Lets webhooks target private, loopback and link-local addresses (tests, trusted networks).
    pub webhook_allow_private: bool,
    /// How often expired tokens are purged and old events trimmed; zero turns it off.
    pub maintenance_every: Duration,
}

impl Default for TaskConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            lease: Duration::from_secs(30),
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(600),
            webhook_max_attempts: 8,
            webhook_timeout: Duration::from_secs(10),
            webhook_allow_private: false,
            maintenance_every: Duration::from_secs(3600),
        }
    }
}

impl TaskConfig {
    /// When attempt number `attempts` (1-based) failed: the delay before the next one.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let exp = self.retry_base.saturating_mul(1u32 << (attempts.clamp(1, 20) - 1) as u32).min(self.retry_max);
        // "Equal jitter": half fixed, half random, so retries of many tasks that failed together
        // spread out but never come sooner than half the backoff.
        let half = exp / 2;
        half + Duration::from_millis(rand::rng().random_range(0..=half.as_millis().max(1) as u64))
    }
}

/// Kinds that report their lifecycle as `task.*` events. Webhook deliveries do not: their
/// delivery log is their record, and events about them would feed webhooks again.
fn has_events(kind: &str) -> bool {
    kind != KIND_WEBHOOK
}

pub(crate) fn task_event<'a>(event_type: &'static str, t: &Task, meta: &'a RequestMeta) -> NewEvent<'a> {
    let mut channels = Vec::new();
    if let Some(p) = t.project_id {
        channels.push(channel::project(p));
    }
    if let Some(u) = t.created_by {
        channels.push(channel::user(u));
    }
    NewEvent {
        event_type,
        channels,
        actor_id: t.created_by,
        resource_type: "task",
        resource_id: t.id.to_string(),
        payload: events::payload(t),
        meta,
    }
}

impl Core {
    /// Writes a task (and its `task.queued` event) in the caller's transaction. Push it with
    /// [`Core::dispatch`] after the commit.
    pub async fn enqueue(&self, conn: &mut PgConnection, new: NewTask<'_>, meta: &RequestMeta) -> Result<Task> {
        let task = store::insert(conn, new).await?;
        if has_events(&task.kind) {
            events::record(conn, task_event("task.queued", &task, meta)).await?;
        }
        Ok(task)
    }

    /// Pushes committed task ids to Redis. Best effort: if Redis is down, idle workers claim
    /// from PostgreSQL and the sweeper pushes again.
    pub async fn dispatch(&self, ids: &[Uuid]) {
        if ids.is_empty() {
            return;
        }
        let Ok(mut conn) = self.redis.available().await else { return };
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let r: redis::RedisResult<()> =
            redis::cmd("RPUSH").arg(&*self.task_queue).arg(&ids).query_async(&mut conn).await;
        if let Err(e) = r {
            self.redis.failed("task_dispatch", &e);
        }
    }

    /// Ends an attempt and writes the lifecycle event with it.
    async fn finish(&self, task: &Task, worker: &str, outcome: Outcome<'_>) -> Result<Option<Task>> {
        let mut tx = self.begin().await?;
        let Some(done) = store::finish(&mut tx, task.id, worker, outcome).await? else {
            return Ok(None);
        };
        self.record_status_event(&mut tx, &done).await?;
        self.commit(tx).await?;
        Ok(Some(done))
    }

    async fn record_status_event(&self, conn: &mut PgConnection, t: &Task) -> Result<()> {
        if !has_events(&t.kind) {
            return Ok(());
        }
        let event_type = match t.status {
            TaskStatus::Succeeded => "task.succeeded",
            TaskStatus::Failed => "task.failed",
            TaskStatus::Dead => "task.dead",
            TaskStatus::Queued => "task.queued",
            TaskStatus::Running | TaskStatus::Cancelled => return Ok(()),
        };
        events::record(conn, task_event(event_type, t, &RequestMeta::default())).await
    }

    /// Reports progress (0–100) of a running attempt as a `task.progress` event.
    pub async fn report_progress(&self, task: &Task, worker: &str, progress: i32) -> Result<()> {
        let mut tx = self.begin().await?;
        if let Some(t) = store::set_progress(&mut tx, task.id, worker, progress.clamp(0, 100)).await?
            && has_events(&t.kind)
        {
            events::record(&mut tx, task_event("task.progress", &t, &RequestMeta::default())).await?;
        }
        self.commit(tx).await?;
        Ok(())
    }
}

/// Runs this replica's workers and its share of the leader's duties until `shutdown` flips.
pub async fn run(core: Core, config: Arc<TaskConfig>, grace: Duration, shutdown: watch::Receiver<bool>) {
    let mut handles = Vec::new();
    // Names the workers in leases and the attempt log: which replica ran what.
    let instance = Uuid::now_v7().simple().to_string();
    for n in 0..config.workers {
        let worker = format!("{}-{n}", &instance[24..]);
        handles.push(tokio::spawn(run_worker(core.clone(), config.clone(), worker, grace, shutdown.clone())));
    }
    handles.push(tokio::spawn(run_leader(core, config, shutdown)));
    for h in handles {
        let _ = h.await;
    }
}

async fn run_worker(
    core: Core,
    config: Arc<TaskConfig>,
    worker: String,
    grace: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut redis: Option<redis::aio::MultiplexedConnection> = None;
    while !*stop.borrow() {
        // Wait for an id from Redis (a dedicated connection: BLPOP blocks it), or a second.
        let popped: Option<Uuid> = tokio::select! {
            id = pop(&core, &mut redis) => id,
            _ = stop.changed() => continue,
        };
        let claimed = {
            let Ok(mut conn) = core.db.acquire().await else {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            };
            match popped {
                Some(id) => store::claim(&mut conn, id, &worker, config.lease).await,
                // Idle: look in PostgreSQL too (Redis down, or it lost the id).
                None => store::claim_next(&mut conn, &worker, config.lease).await,
            }
        };
        let task = match claimed {
            Ok(Some(t)) => t,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "claiming a task failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        execute(&core, &config, &worker, task, grace, &mut stop).await;
    }
}

/// One id from the ready list, waiting up to a second; None on timeout or Redis trouble.
async fn pop(core: &Core, conn: &mut Option<redis::aio::MultiplexedConnection>) -> Option<Uuid> {
    if conn.is_none() {
        match core.redis.dedicated().await {
            Ok(c) => *conn = Some(c),
            Err(_) => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                return None;
            }
        }
    }
    let c = conn.as_mut()?;
    let r: redis::RedisResult<Option<(String, String)>> =
        redis::cmd("BLPOP").arg(&*core.task_queue).arg(1.0).query_async(c).await;
    match r {
        Ok(Some((_, id))) => id.parse().ok(),
        Ok(None) => None,
        Err(e) => {
            core.redis.failed("task_pop", &e);
            *conn = None;
            tokio::time::sleep(Duration::from_secs(1)).await;
            None
        }
    }
}

/// Runs one claimed attempt: renews the lease while the handler works, records the outcome.
async fn execute(
    core: &Core,
    config: &TaskConfig,
    worker: &str,
    task: Task,
    grace: Duration,
    stop: &mut watch::Receiver<bool>,
) {
    let started = std::time::Instant::now();
    let run = handlers::run(core, config, worker, &task);
    tokio::pin!(run);
    let mut renew = tokio::time::interval(config.lease / 3);
    renew.tick().await;
    let mut deadline: Option<tokio::time::Instant> = None;
    let result = loop {
        tokio::select! {
            r = &mut run => break Some(r),
            _ = renew.tick() => {
                match core.db.acquire().await {
                    Ok(mut conn) => match store::extend_lease(&mut conn, task.id, worker, config.lease).await {
                        Ok(true) => {}
                        // Reclaimed by the sweeper (we were too slow): someone else runs it now.
                        Ok(false) => break None,
                        Err(e) => tracing::warn!(error = %e, "renewing a task lease failed"),
                    },
                    Err(e) => tracing::warn!(error = %e, "renewing a task lease failed"),
                }
            }
            _ = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => { let _ = stop.wait_for(|s| *s).await; }
                }
            } => {
                if deadline.is_none() {
                    // Shutdown: give the attempt the grace period to finish.
                    deadline = Some(tokio::time::Instant::now() + grace.saturating_sub(Duration::from_secs(1)));
                } else {
                    break None;
                }
            }
        }
    };
    metrics::histogram!("core_task_duration_seconds", "kind" => task.kind.clone()).record(started.elapsed());
    let Some(result) = result else {
        // Out of time (shutdown) or lease lost: hand it back if we still hold it.
        if let Ok(mut conn) = core.db.acquire().await
            && let Ok(Some(_)) = store::hand_back(&mut conn, task.id, worker).await
        {
            tracing::info!(task_id = %task.id, "task handed back");
            core.dispatch(&[task.id]).await;
        }
        return;
    };
    let outcome_name;
    let finished = match result {
        Ok(value) => {
            outcome_name = "succeeded";
            core.finish(&task, worker, Outcome::Succeeded(value)).await
        }
        Err(e) => {
            let message = e.to_string();
            let retry_at = (task.attempts < task.max_attempts)
                .then(|| Utc::now() + chrono::Duration::from_std(config.backoff(task.attempts)).unwrap_or_default());
            outcome_name = if retry_at.is_some() { "failed" } else { "dead" };
            tracing::warn!(task_id = %task.id, kind = %task.kind, attempt = task.attempts, error = %message, "task attempt failed");
            core.finish(&task, worker, Outcome::Failed { error: &message, retry_at }).await
        }
    };
    metrics::counter!("core_tasks_total", "kind" => task.kind.clone(), "outcome" => outcome_name).increment(1);
    if let Err(e) = finished {
        // The lease runs out and the sweeper retries: at least once, never lost.
        tracing::warn!(task_id = %task.id, error = %e, "recording a task outcome failed");
    }
}

/// The leader's loop: one replica at a time holds the advisory lock.
async fn run_leader(core: Core, config: Arc<TaskConfig>, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if let Err(e) = lead(&core, &config, &mut shutdown).await {
            tracing::warn!(error = %e, "task leader interrupted; retrying");
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

async fn lead(core: &Core, config: &TaskConfig, shutdown: &mut watch::Receiver<bool>) -> anyhow::Result<()> {
    // The lock lives with this connection: if it dies, leadership passes on.
    let mut lock = core.db.acquire().await?.detach();
    loop {
        let leader: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(LEADER_LOCK_KEY).fetch_one(&mut lock).await?;
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
    tracing::info!("task leader: this replica sweeps, dispatches webhooks and schedules maintenance");
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => if *shutdown.borrow() { return Ok(()) },
        }
        // Proves the lock connection is alive; if not, stop leading (the lock is gone with it).
        sqlx::query("SELECT 1").execute(&mut lock).await?;
        reclaim_lapsed(core, config).await?;
        handlers::create_deliveries(core, config).await?;
        schedule_maintenance(core, config).await?;
        let mut conn = core.db.acquire().await?;
        let due = store::take_due_for_dispatch(&mut conn, REDISPATCH_AFTER, 500).await?;
        drop(conn);
        core.dispatch(&due).await;
    }
}

async fn reclaim_lapsed(core: &Core, config: &TaskConfig) -> Result<()> {
    let mut tx = core.begin().await?;
    let lapsed = store::lapsed(&mut tx, 100).await?;
    for t in &lapsed {
        let retry_at = (t.attempts < t.max_attempts)
            .then(|| Utc::now() + chrono::Duration::from_std(config.backoff(t.attempts)).unwrap_or_default());
        let t = store::reclaim(&mut tx, t, retry_at).await?;
        tracing::warn!(task_id = %t.id, kind = %t.kind, attempt = t.attempts, "task lease lapsed: attempt lost");
        metrics::counter!("core_tasks_total", "kind" => t.kind.clone(), "outcome" => "lost").increment(1);
        if t.kind == KIND_WEBHOOK {
            handlers::delivery_lost(&mut tx, &t).await?;
        }
        core.record_status_event(&mut tx, &t).await?;
    }
    core.commit(tx).await?;
    Ok(())
}

/// Queues each periodic job when its interval has passed since it last succeeded (and none is
/// pending). Only the leader calls it, so there is one at a time.
async fn schedule_maintenance(core: &Core, config: &TaskConfig) -> Result<()> {
    if config.maintenance_every.is_zero() {
        return Ok(());
    }
    let mut queued = Vec::new();
    let mut tx = core.begin().await?;
    for kind in [KIND_PURGE_TOKENS, KIND_TRIM_EVENTS] {
        if store::pending_of_kind(&mut tx, kind).await? {
            continue;
        }
        let last = store::last_success(&mut tx, kind).await?;
        let due = last.is_none_or(|at| {
            Utc::now() - at >= chrono::Duration::from_std(config.maintenance_every).unwrap_or_default()
        });
        if due {
            let new = NewTask { kind, project_id: None, payload: json!({}), max_attempts: 3, created_by: None };
            queued.push(core.enqueue(&mut tx, new, &RequestMeta::default()).await?.id);
        }
    }
    core.commit(tx).await?;
    core.dispatch(&queued).await;
    Ok(())
}

/// The JSON a handler returns as the task's result.
type HandlerResult = std::result::Result<Json, anyhow::Error>;
