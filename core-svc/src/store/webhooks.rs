//! Webhooks, their deliveries, and the dispatcher's cursor over the event log.

use secrecy::ExposeSecret;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::{
    domain::{DeliveryStatus, Event, Webhook, WebhookDelivery},
    error::Result,
    list::{Field, Kind, ListParams, Page, Spec},
};

const COLUMNS: &str = "w.id, w.project_id, w.url, w.secret, w.event_types, w.active, w.description, w.created_by, \
                       w.version, w.created_at, w.updated_at";

const DELIVERY_COLUMNS: &str = "d.id, d.webhook_id, d.project_id, d.event_id, d.event_seq, d.event_type, d.status, \
                                d.attempts, d.response_status, d.response_body, d.last_error, d.duration_ms, \
                                d.task_id, d.created_at, d.updated_at, d.delivered_at";

pub static LIST: Spec = Spec {
    fields: &[
        Field::new("id", "w.id", Kind::Uuid),
        Field::new("project_id", "w.project_id", Kind::Uuid),
        Field::new("active", "w.active", Kind::Bool),
        Field::new("url", "w.url", Kind::Text).sortable(),
        Field::new("create_time", "w.created_at", Kind::Time).sortable(),
        Field::new("update_time", "w.updated_at", Kind::Time).sortable(),
    ],
    search: &["w.url", "w.description"],
    default_order: "w.created_at ASC",
    tiebreak: "w.id",
};

pub static DELIVERIES: Spec = Spec {
    fields: &[
        Field::new("id", "d.id", Kind::Uuid),
        Field::new("webhook_id", "d.webhook_id", Kind::Uuid),
        Field::new("project_id", "d.project_id", Kind::Uuid),
        Field::new("event_id", "d.event_id", Kind::Uuid),
        Field::new("event_type", "d.event_type", Kind::Glob),
        Field::new("status", "d.status", Kind::Enum(DeliveryStatus::ALL)),
        Field::new("create_time", "d.created_at", Kind::Time).sortable(),
        Field::new("update_time", "d.updated_at", Kind::Time).sortable(),
    ],
    search: &["d.event_type", "d.last_error"],
    default_order: "d.created_at DESC",
    tiebreak: "d.id",
};

pub async fn insert(conn: &mut PgConnection, w: &Webhook) -> Result<Webhook> {
    Ok(sqlx::query_as::<_, Webhook>(sql!(
        "INSERT INTO webhooks AS w (id, project_id, url, secret, event_types, active, description, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
    ))
    .bind(w.id)
    .bind(w.project_id)
    .bind(&w.url)
    .bind(w.secret.expose_secret())
    .bind(&w.event_types)
    .bind(w.active)
    .bind(&w.description)
    .bind(w.created_by)
    .fetch_one(conn)
    .await?)
}

pub async fn get(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<Option<Webhook>> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    Ok(sqlx::query_as::<_, Webhook>(sql!("SELECT {COLUMNS} FROM webhooks w WHERE w.id = $1{lock}"))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

pub async fn update(conn: &mut PgConnection, w: &Webhook) -> Result<Webhook> {
    Ok(sqlx::query_as::<_, Webhook>(sql!(
        "UPDATE webhooks w SET url = $2, secret = $3, event_types = $4, active = $5, description = $6,
                version = w.version + 1, updated_at = now()
         WHERE w.id = $1 RETURNING {COLUMNS}"
    ))
    .bind(w.id)
    .bind(&w.url)
    .bind(w.secret.expose_secret())
    .bind(&w.event_types)
    .bind(w.active)
    .bind(&w.description)
    .fetch_one(conn)
    .await?)
}

pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<()> {
    sqlx::query("DELETE FROM webhooks WHERE id = $1").bind(id).execute(conn).await?;
    Ok(())
}

/// Webhooks of one project, or (admins, `project` None) of every project; non-admins only see
/// projects they own.
pub async fn list(
    conn: &mut PgConnection,
    viewer: Uuid,
    admin: bool,
    project: Option<Uuid>,
    params: ListParams<'_>,
) -> Result<Page<Webhook>> {
    let plan = LIST.plan(params)?;
    plan.fetch(conn, &LIST, COLUMNS, "webhooks w", |qb: &mut QueryBuilder<Postgres>| {
        if let Some(p) = project {
            qb.push(" AND w.project_id = ").push_bind(p);
        }
        if !admin {
            qb.push(" AND w.project_id IN (SELECT project_id FROM members WHERE role = 'owner' AND user_id = ")
                .push_bind(viewer)
                .push(")");
        }
    })
    .await
}

/// Records a delivery of `event` to `webhook`, delivered by task `task_id`. False when it
/// exists already (the dispatcher ran twice over the same events).
pub async fn insert_delivery(
    conn: &mut PgConnection,
    id: Uuid,
    webhook: &Webhook,
    event: &Event,
    task_id: Uuid,
) -> Result<bool> {
    let r = sqlx::query(
        "INSERT INTO webhook_deliveries (id, webhook_id, project_id, event_id, event_seq, event_type, status, task_id)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7) ON CONFLICT (webhook_id, event_id) DO NOTHING",
    )
    .bind(id)
    .bind(webhook.id)
    .bind(webhook.project_id)
    .bind(event.id)
    .bind(event.seq.unwrap_or_default())
    .bind(&event.event_type)
    .bind(task_id)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn get_delivery(conn: &mut PgConnection, id: Uuid) -> Result<Option<WebhookDelivery>> {
    Ok(sqlx::query_as::<_, WebhookDelivery>(sql!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// Deliveries of one webhook, or of every webhook the viewer manages (all for admins).
pub async fn list_deliveries(
    conn: &mut PgConnection,
    viewer: Uuid,
    admin: bool,
    webhook: Option<Uuid>,
    params: ListParams<'_>,
) -> Result<Page<WebhookDelivery>> {
    let plan = DELIVERIES.plan(params)?;
    plan.fetch(conn, &DELIVERIES, DELIVERY_COLUMNS, "webhook_deliveries d", |qb: &mut QueryBuilder<Postgres>| {
        if let Some(w) = webhook {
            qb.push(" AND d.webhook_id = ").push_bind(w);
        }
        if !admin {
            qb.push(" AND d.project_id IN (SELECT project_id FROM members WHERE role = 'owner' AND user_id = ")
                .push_bind(viewer)
                .push(")");
        }
    })
    .await
}

/// The outcome of one delivery attempt.
pub struct Attempt<'a> {
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub response_status: i32,
    pub response_body: &'a str,
    pub last_error: &'a str,
    pub duration_ms: i64,
}

pub async fn record_attempt(conn: &mut PgConnection, id: Uuid, a: Attempt<'_>) -> Result<()> {
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $2, attempts = $3, response_status = $4, response_body = $5,
                last_error = $6, duration_ms = $7, updated_at = now(),
                delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END
         WHERE id = $1",
    )
    .bind(id)
    .bind(a.status.as_str())
    .bind(a.attempts)
    .bind(a.response_status)
    .bind(a.response_body)
    .bind(a.last_error)
    .bind(a.duration_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// A dead delivery whose task is retried by hand is pending again.
pub async fn reopen_delivery_of_task(conn: &mut PgConnection, task_id: Uuid) -> Result<()> {
    sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', updated_at = now() WHERE task_id = $1 AND status = 'dead'",
    )
    .bind(task_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The seq up to which the follower `name` has handled the log; created at `start` the first
/// time, so that a new deployment does not replay history into webhooks.
pub async fn cursor(conn: &mut PgConnection, name: &str, start: i64) -> Result<i64> {
    sqlx::query("INSERT INTO log_cursors (name, seq) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(start)
        .execute(&mut *conn)
        .await?;
    Ok(sqlx::query_scalar("SELECT seq FROM log_cursors WHERE name = $1 FOR UPDATE").bind(name).fetch_one(conn).await?)
}

pub async fn set_cursor(conn: &mut PgConnection, name: &str, seq: i64) -> Result<()> {
    sqlx::query("UPDATE log_cursors SET seq = $2 WHERE name = $1").bind(name).bind(seq).execute(conn).await?;
    Ok(())
}

/// Of `projects`, those with at least one webhook.
pub async fn projects_with_hooks(conn: &mut PgConnection, projects: &[Uuid]) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar("SELECT DISTINCT project_id FROM webhooks WHERE project_id = ANY($1)")
        .bind(projects)
        .fetch_all(conn)
        .await?)
}

/// Every webhook of `projects`, active or not.
pub async fn of_projects(conn: &mut PgConnection, projects: &[Uuid]) -> Result<Vec<Webhook>> {
    Ok(sqlx::query_as::<_, Webhook>(sql!(
        "SELECT {COLUMNS} FROM webhooks w WHERE w.project_id = ANY($1) ORDER BY w.created_at, w.id"
    ))
    .bind(projects)
    .fetch_all(conn)
    .await?)
}

/// A webhook's settings as its `webhook.created` / `webhook.updated` event recorded them.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedState {
    pub webhook_id: Uuid,
    /// None while the relay has not numbered the event yet (it comes after every numbered one).
    pub seq: Option<i64>,
    pub active: bool,
    pub event_types: Vec<String>,
}

/// The log's record of `hooks` from `since` on: for each, its last recorded state at or
/// before `since`, then every later one (numbered or not yet).
pub async fn logged_states(conn: &mut PgConnection, hooks: &[Uuid], since: i64) -> Result<Vec<LoggedState>> {
    let ids: Vec<String> = hooks.iter().map(Uuid::to_string).collect();
    let rows: Vec<(String, Option<i64>, serde_json::Value)> = sqlx::query_as(
        "(SELECT DISTINCT ON (resource_id) resource_id, seq, payload FROM events
           WHERE resource_type = 'webhook' AND resource_id = ANY($1)
             AND type IN ('webhook.created', 'webhook.updated') AND seq <= $2
           ORDER BY resource_id, seq DESC)
         UNION ALL
         (SELECT resource_id, seq, payload FROM events
           WHERE resource_type = 'webhook' AND resource_id = ANY($1)
             AND type IN ('webhook.created', 'webhook.updated') AND (seq > $2 OR seq IS NULL))",
    )
    .bind(&ids)
    .bind(since)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, seq, payload)| {
            Some(LoggedState {
                webhook_id: id.parse().ok()?,
                seq,
                active: payload["active"].as_bool()?,
                event_types: serde_json::from_value(payload["event_types"].clone()).ok()?,
            })
        })
        .collect())
}
