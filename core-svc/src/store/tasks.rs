//! Task records: the queue's source of truth. Redis only carries ids to wake workers; every state
//! change happens here, guarded by the task's status and lease, so a duplicate id in Redis or a
//! worker that lost its lease cannot run or finish a task twice.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value as Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::{
    domain::{Task, TaskStatus},
    error::Result,
    list::{Field, Kind, ListParams, Page, Spec},
};

const COLUMNS: &str = "t.id, t.kind, t.status, t.project_id, t.payload, t.attempts, t.max_attempts, t.run_at, \
                       t.progress, t.result, t.last_error, t.created_by, t.version, t.created_at, t.updated_at";

pub static LIST: Spec = Spec {
    fields: &[
        Field::new("id", "t.id", Kind::Uuid),
        Field::new("kind", "t.kind", Kind::Glob),
        Field::new("status", "t.status", Kind::Enum(TaskStatus::ALL)),
        Field::new("project_id", "t.project_id", Kind::Uuid),
        Field::new("created_by", "t.created_by", Kind::Uuid),
        Field::new("create_time", "t.created_at", Kind::Time).sortable(),
        Field::new("update_time", "t.updated_at", Kind::Time).sortable(),
        Field::new("run_time", "t.run_at", Kind::Time).sortable(),
    ],
    search: &["t.kind", "t.last_error"],
    default_order: "t.created_at DESC",
    tiebreak: "t.id",
};

pub struct NewTask<'a> {
    pub kind: &'a str,
    pub project_id: Option<Uuid>,
    pub payload: Json,
    pub max_attempts: i32,
    pub created_by: Option<Uuid>,
}

pub async fn insert(conn: &mut PgConnection, t: NewTask<'_>) -> Result<Task> {
    Ok(sqlx::query_as::<_, Task>(sql!(
        "INSERT INTO tasks AS t (id, kind, status, project_id, payload, max_attempts, created_by, dispatched_at)
         VALUES ($1, $2, 'queued', $3, $4, $5, $6, now()) RETURNING {COLUMNS}"
    ))
    .bind(crate::domain::new_id())
    .bind(t.kind)
    .bind(t.project_id)
    .bind(&t.payload)
    .bind(t.max_attempts)
    .bind(t.created_by)
    .fetch_one(conn)
    .await?)
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Task>> {
    Ok(sqlx::query_as::<_, Task>(sql!("SELECT {COLUMNS} FROM tasks t WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// Admins see every task; others those they created and those of projects they own.
pub async fn list(conn: &mut PgConnection, viewer: Uuid, admin: bool, params: ListParams<'_>) -> Result<Page<Task>> {
    let plan = LIST.plan(params)?;
    plan.fetch(conn, &LIST, COLUMNS, "tasks t", |qb: &mut QueryBuilder<Postgres>| {
        if !admin {
            qb.push(" AND (t.created_by = ")
                .push_bind(viewer)
                .push(" OR t.project_id IN (SELECT project_id FROM members WHERE role = 'owner' AND user_id = ")
                .push_bind(viewer)
                .push("))");
        }
    })
    .await
}

/// Starts an attempt of task `id` if it is due and nobody runs it: the one place a task becomes
/// `running`, so two workers given the same id cannot both start it.
pub async fn claim(conn: &mut PgConnection, id: Uuid, worker: &str, lease: Duration) -> Result<Option<Task>> {
    let task = sqlx::query_as::<_, Task>(sql!(
        "UPDATE tasks t SET status = 'running', attempts = t.attempts + 1, locked_by = $2,
                locked_until = now() + make_interval(secs => $3), version = t.version + 1, updated_at = now()
         WHERE t.id = $1 AND t.status IN ('queued', 'failed') AND t.run_at <= now()
         RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(worker)
    .bind(lease.as_secs_f64())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(t) = &task {
        record_attempt_start(conn, t, worker).await?;
    }
    Ok(task)
}

/// Claims the oldest due task straight from PostgreSQL (used when Redis cannot dispatch).
pub async fn claim_next(conn: &mut PgConnection, worker: &str, lease: Duration) -> Result<Option<Task>> {
    let task = sqlx::query_as::<_, Task>(sql!(
        "UPDATE tasks t SET status = 'running', attempts = t.attempts + 1, locked_by = $1,
                locked_until = now() + make_interval(secs => $2), version = t.version + 1, updated_at = now()
         WHERE t.id = (SELECT id FROM tasks WHERE status IN ('queued', 'failed') AND run_at <= now()
                       ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING {COLUMNS}"
    ))
    .bind(worker)
    .bind(lease.as_secs_f64())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(t) = &task {
        record_attempt_start(conn, t, worker).await?;
    }
    Ok(task)
}

async fn record_attempt_start(conn: &mut PgConnection, t: &Task, worker: &str) -> Result<()> {
    sqlx::query("INSERT INTO task_attempts (task_id, attempt, worker) VALUES ($1, $2, $3)")
        .bind(t.id)
        .bind(t.attempts)
        .bind(worker)
        .execute(conn)
        .await?;
    Ok(())
}

async fn record_attempt_end(
    conn: &mut PgConnection,
    id: Uuid,
    attempt: i32,
    outcome: &str,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE task_attempts SET finished_at = now(), outcome = $3, error = $4
         WHERE task_id = $1 AND attempt = $2 AND finished_at IS NULL",
    )
    .bind(id)
    .bind(attempt)
    .bind(outcome)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// Keeps the lease while the worker is alive. False when the lease is gone (reclaimed).
pub async fn extend_lease(conn: &mut PgConnection, id: Uuid, worker: &str, lease: Duration) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE tasks SET locked_until = now() + make_interval(secs => $3)
         WHERE id = $1 AND status = 'running' AND locked_by = $2",
    )
    .bind(id)
    .bind(worker)
    .bind(lease.as_secs_f64())
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn set_progress(conn: &mut PgConnection, id: Uuid, worker: &str, progress: i32) -> Result<Option<Task>> {
    Ok(sqlx::query_as::<_, Task>(sql!(
        "UPDATE tasks t SET progress = $3, updated_at = now()
         WHERE t.id = $1 AND t.status = 'running' AND t.locked_by = $2 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(worker)
    .bind(progress)
    .fetch_optional(conn)
    .await?)
}

/// Ends the running attempt held by `worker`. None when the worker no longer holds the lease
/// (the sweeper reclaimed it): the outcome is then dropped, as the task runs again elsewhere.
pub async fn finish(conn: &mut PgConnection, id: Uuid, worker: &str, outcome: Outcome<'_>) -> Result<Option<Task>> {
    let (status, result, error, run_at) = match &outcome {
        Outcome::Succeeded(result) => (TaskStatus::Succeeded, Some(result.clone()), None, None),
        Outcome::Failed { error, retry_at: Some(at) } => (TaskStatus::Failed, None, Some(*error), Some(*at)),
        Outcome::Failed { error, retry_at: None } => (TaskStatus::Dead, None, Some(*error), None),
    };
    let task = sqlx::query_as::<_, Task>(sql!(
        "UPDATE tasks t SET status = $3, result = coalesce($4, t.result), last_error = coalesce($5, t.last_error),
                run_at = coalesce($6, t.run_at), progress = CASE WHEN $3 = 'succeeded' THEN 100 ELSE t.progress END,
                locked_by = NULL, locked_until = NULL, dispatched_at = NULL,
                version = t.version + 1, updated_at = now()
         WHERE t.id = $1 AND t.status = 'running' AND t.locked_by = $2 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(worker)
    .bind(status.as_str())
    .bind(result)
    .bind(error)
    .bind(run_at)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(t) = &task {
        let name = if status == TaskStatus::Succeeded { "succeeded" } else { "failed" };
        record_attempt_end(conn, id, t.attempts, name, error).await?;
    }
    Ok(task)
}

pub enum Outcome<'a> {
    Succeeded(Json),
    /// `retry_at` None: no attempts left, the task is dead.
    Failed {
        error: &'a str,
        retry_at: Option<DateTime<Utc>>,
    },
}

/// Gives an unfinished attempt back on shutdown: the task is queued again at once and the
/// attempt does not count.
pub async fn hand_back(conn: &mut PgConnection, id: Uuid, worker: &str) -> Result<Option<Task>> {
    let task = sqlx::query_as::<_, Task>(sql!(
        "UPDATE tasks t SET status = 'queued', attempts = greatest(t.attempts - 1, 0), run_at = now(),
                locked_by = NULL, locked_until = NULL, dispatched_at = NULL,
                version = t.version + 1, updated_at = now()
         WHERE t.id = $1 AND t.status = 'running' AND t.locked_by = $2 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(worker)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(t) = &task {
        record_attempt_end(conn, id, t.attempts + 1, "handed_back", None).await?;
    }
    Ok(task)
}

/// Running tasks whose lease lapsed (their worker died or hung), locked for the caller's
/// transaction.
pub async fn lapsed(conn: &mut PgConnection, limit: i64) -> Result<Vec<Task>> {
    Ok(sqlx::query_as::<_, Task>(sql!(
        "SELECT {COLUMNS} FROM tasks t WHERE t.status = 'running' AND t.locked_until < now()
         ORDER BY t.locked_until LIMIT $1 FOR UPDATE SKIP LOCKED"
    ))
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Ends a lapsed attempt as lost: retried at `retry_at`, or dead when None.
pub async fn reclaim(conn: &mut PgConnection, t: &Task, retry_at: Option<DateTime<Utc>>) -> Result<Task> {
    let error = "the worker running this attempt stopped answering (lease expired)";
    let status = if retry_at.is_some() { TaskStatus::Failed } else { TaskStatus::Dead };
    let task = sqlx::query_as::<_, Task>(sql!(
        "UPDATE tasks t SET status = $2, last_error = $3, run_at = coalesce($4, t.run_at),
                locked_by = NULL, locked_until = NULL, dispatched_at = NULL,
                version = t.version + 1, updated_at = now()
         WHERE t.id = $1 RETURNING {COLUMNS}"
    ))
    .bind(t.id)
    .bind(status.as_str())
    .bind(error)
    .bind(retry_at)
    .fetch_one(&mut *conn)
    .await?;
    record_attempt_end(conn, t.id, t.attempts, "lost", Some(error)).await?;
    Ok(task)
}

/// Due tasks not pushed to Redis recently (never, or Redis lost them): marks them pushed now
/// and returns their ids.
pub async fn take_due_for_dispatch(
    conn: &mut PgConnection,
    redispatch_after: Duration,
    limit: i64,
) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "UPDATE tasks SET dispatched_at = now()
         WHERE id IN (SELECT id FROM tasks WHERE status IN ('queued', 'failed') AND run_at <= now()
                        AND (dispatched_at IS NULL OR dispatched_at < now() - make_interval(secs => $1))
                      ORDER BY run_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING id",
    )
    .bind(redispatch_after.as_secs_f64())
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Queues a dead, failed or cancelled task again with a fresh attempt budget.
pub async fn retry(conn: &mut PgConnection, id: Uuid) -> Result<Option<Task>> {
    Ok(sqlx::query_as::<_, Task>(sql!(
        "UPDATE tasks t SET status = 'queued', attempts = 0, run_at = now(), dispatched_at = now(),
                version = t.version + 1, updated_at = now()
         WHERE t.id = $1 AND t.status IN ('dead', 'failed', 'cancelled') RETURNING {COLUMNS}"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

pub async fn cancel(conn: &mut PgConnection, id: Uuid) -> Result<Option<Task>> {
    Ok(sqlx::query_as::<_, Task>(sql!(
        "UPDATE tasks t SET status = 'cancelled', version = t.version + 1, updated_at = now()
         WHERE t.id = $1 AND t.status IN ('queued', 'failed') RETURNING {COLUMNS}"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// Whether a task of `kind` is waiting or running (periodic jobs are not stacked).
pub async fn pending_of_kind(conn: &mut PgConnection, kind: &str) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM tasks WHERE kind = $1 AND status IN ('queued', 'running', 'failed'))",
    )
    .bind(kind)
    .fetch_one(conn)
    .await?)
}

/// When a task of `kind` last succeeded.
pub async fn last_success(conn: &mut PgConnection, kind: &str) -> Result<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar("SELECT max(updated_at) FROM tasks WHERE kind = $1 AND status = 'succeeded'")
        .bind(kind)
        .fetch_one(conn)
        .await?)
}

pub async fn save_output(conn: &mut PgConnection, id: Uuid, document: &Json) -> Result<()> {
    sqlx::query(
        "INSERT INTO task_outputs (task_id, document) VALUES ($1, $2)
         ON CONFLICT (task_id) DO UPDATE SET document = EXCLUDED.document, created_at = now()",
    )
    .bind(id)
    .bind(document)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn output(conn: &mut PgConnection, id: Uuid) -> Result<Option<Json>> {
    Ok(sqlx::query_scalar("SELECT document FROM task_outputs WHERE task_id = $1").bind(id).fetch_optional(conn).await?)
}
