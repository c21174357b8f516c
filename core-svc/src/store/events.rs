use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::{
    domain::Event,
    error::Result,
    list::{Field, Kind, ListParams, Page, Spec},
};

const COLUMNS: &str = "e.seq, e.id, e.type, e.channels, e.actor_id, e.resource_type, e.resource_id, e.payload, e.occurred_at, e.request_id";

pub static LIST: Spec = Spec {
    fields: &[
        Field::new("id", "e.id", Kind::Uuid),
        Field::new("channel", "e.channels", Kind::ArrayContains),
        Field::new("type", "e.type", Kind::Glob),
        Field::new("actor_id", "e.actor_id", Kind::Uuid),
        Field::new("resource_type", "e.resource_type", Kind::Text),
        Field::new("resource_id", "e.resource_id", Kind::Text),
        Field::new("seq", "e.seq", Kind::Int).sortable(),
        Field::new("occur_time", "e.occurred_at", Kind::Time).sortable(),
    ],
    search: &["e.type", "e.resource_type", "e.resource_id"],
    default_order: "e.seq ASC",
    tiebreak: "e.pos",
};

/// Only sequenced events exist for readers; non-admins see their channels.
fn push_visible(qb: &mut QueryBuilder<Postgres>, viewer: Uuid, admin: bool) {
    qb.push(" AND e.seq IS NOT NULL");
    if !admin {
        qb.push(" AND e.channels && (ARRAY['system', 'user:' || ")
            .push_bind(viewer.to_string())
            .push("] || ARRAY(SELECT 'project:' || project_id FROM members WHERE user_id = ")
            .push_bind(viewer)
            .push("))");
    }
}

pub async fn list(conn: &mut PgConnection, viewer: Uuid, admin: bool, params: ListParams<'_>) -> Result<Page<Event>> {
    let plan = LIST.plan(params)?;
    plan.fetch(conn, &LIST, COLUMNS, "events e", |qb| push_visible(qb, viewer, admin)).await
}

pub async fn get(conn: &mut PgConnection, viewer: Uuid, admin: bool, id: Uuid) -> Result<Option<Event>> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM events e WHERE e.id = "));
    qb.push_bind(id);
    push_visible(&mut qb, viewer, admin);
    Ok(qb.build_query_as::<Event>().fetch_optional(conn).await?)
}

/// One sequenced event by id, whoever may see it (for webhook deliveries).
pub async fn by_id(conn: &mut PgConnection, id: Uuid) -> Result<Option<Event>> {
    Ok(sqlx::query_as::<_, Event>(sql!("SELECT {COLUMNS} FROM events e WHERE e.id = $1 AND e.seq IS NOT NULL"))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// Deletes sequenced events older than `days` days; returns how many.
pub async fn trim_older_than(conn: &mut PgConnection, days: i64) -> Result<u64> {
    // In batches: each statement stays well inside the statement timeout however large the
    // backlog, and holds its locks briefly.
    const BATCH: u64 = 10_000;
    let mut deleted = 0;
    loop {
        let r = sqlx::query(
            "DELETE FROM events WHERE seq IN (
                 SELECT seq FROM events
                 WHERE seq IS NOT NULL AND occurred_at < now() - make_interval(days => $1::int)
                 ORDER BY occurred_at LIMIT $2)",
        )
        .bind(days)
        .bind(BATCH as i64)
        .execute(&mut *conn)
        .await?;
        deleted += r.rows_affected();
        if r.rows_affected() < BATCH {
            return Ok(deleted);
        }
    }
}
