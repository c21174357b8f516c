//! Config entries and their revisions. System settings are the rows with no project.

use serde_json::Value as Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::{
    domain::{Config, ConfigOp, ConfigRevision},
    error::Result,
    list::{Field, Kind, ListParams, Page, Spec},
};

const COLUMNS: &str = "c.id, c.project_id, c.key, c.value, c.description, c.version, c.created_at, c.updated_at, c.updated_by, c.deleted_at";
const REV_COLUMNS: &str =
    "r.id, r.config_id, c.project_id, c.key, r.version, r.value, r.description, r.op, r.author_id, r.created_at";

pub static LIST: Spec = Spec {
    fields: &[
        Field::new("id", "c.id", Kind::Uuid),
        Field::new("project_id", "c.project_id", Kind::Uuid),
        Field::new("key", "c.key", Kind::Text).sortable(),
        Field::new("deleted", "c.deleted_at", Kind::IsSet),
        Field::new("updated_by", "c.updated_by", Kind::Uuid),
        Field::new("version", "c.version", Kind::Int).sortable(),
        Field::new("create_time", "c.created_at", Kind::Time).sortable(),
        Field::new("update_time", "c.updated_at", Kind::Time).sortable(),
    ],
    search: &["c.key", "c.description"],
    default_order: "c.key ASC",
    tiebreak: "c.id",
};

pub static SETTINGS_LIST: Spec = Spec {
    fields: &[
        Field::new("id", "c.id", Kind::Uuid),
        Field::new("key", "c.key", Kind::Text).sortable(),
        Field::new("create_time", "c.created_at", Kind::Time).sortable(),
        Field::new("update_time", "c.updated_at", Kind::Time).sortable(),
    ],
    search: &["c.key", "c.description"],
    default_order: "c.key ASC",
    tiebreak: "c.id",
};

pub static REVISION_LIST: Spec = Spec {
    fields: &[
        Field::new("id", "r.id", Kind::Uuid),
        Field::new("config_id", "r.config_id", Kind::Uuid),
        Field::new("project_id", "c.project_id", Kind::Uuid),
        Field::new("key", "c.key", Kind::Text).sortable(),
        Field::new("op", "r.op", Kind::Enum(ConfigOp::ALL)),
        Field::new("author_id", "r.author_id", Kind::Uuid),
        Field::new("version", "r.version", Kind::Int).sortable(),
        Field::new("create_time", "r.created_at", Kind::Time).sortable(),
    ],
    search: &["c.key", "r.description"],
    default_order: "r.created_at DESC",
    tiebreak: "r.id DESC",
};

pub async fn get(conn: &mut PgConnection, id: Uuid, for_update: bool) -> Result<Option<Config>> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    Ok(sqlx::query_as::<_, Config>(sql!("SELECT {COLUMNS} FROM configs c WHERE c.id = $1{lock}"))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

pub async fn get_by_key(
    conn: &mut PgConnection,
    project_id: Option<Uuid>,
    key: &str,
    for_update: bool,
) -> Result<Option<Config>> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    // Two spellings on purpose: `project_id IS NOT DISTINCT FROM $1` can use no index and scanned
    // every config of every project on each write (found by bench/run).
    let q = match project_id {
        Some(p) => sqlx::query_as::<_, Config>(sql!(
            "SELECT {COLUMNS} FROM configs c WHERE c.project_id = $1 AND c.key = $2{lock}"
        ))
        .bind(p),
        None => sqlx::query_as::<_, Config>(sql!(
            "SELECT {COLUMNS} FROM configs c WHERE c.project_id IS NULL AND c.key = $1{lock}"
        )),
    };
    Ok(q.bind(key).fetch_optional(conn).await?)
}

/// Inserts version 1 of a new key; None if a concurrent transaction created it first.
pub async fn insert(
    conn: &mut PgConnection,
    project_id: Option<Uuid>,
    key: &str,
    value: &Json,
    description: &str,
    author: Uuid,
) -> Result<Option<Config>> {
    Ok(sqlx::query_as::<_, Config>(sql!(
        "INSERT INTO configs AS c (id, project_id, key, value, description, updated_by) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (project_id, key) DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(crate::domain::new_id())
    .bind(project_id)
    .bind(key)
    .bind(value)
    .bind(description)
    .bind(author)
    .fetch_optional(conn)
    .await?)
}

/// Writes a new version of an existing entry (`deleted` marks it deleted, or undeletes it).
pub async fn write(
    conn: &mut PgConnection,
    id: Uuid,
    value: &Json,
    description: &str,
    author: Uuid,
    deleted: bool,
) -> Result<Config> {
    Ok(sqlx::query_as::<_, Config>(sql!(
        "UPDATE configs c SET value = $2, description = $3, updated_by = $4, version = c.version + 1, updated_at = now(),
                deleted_at = CASE WHEN $5 THEN now() ELSE NULL END
         WHERE c.id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(value)
    .bind(description)
    .bind(author)
    .bind(deleted)
    .fetch_one(conn)
    .await?)
}

pub async fn insert_revision(conn: &mut PgConnection, c: &Config, op: ConfigOp, author: Uuid) -> Result<()> {
    sqlx::query(
        "INSERT INTO config_revisions (id, config_id, version, value, description, op, author_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(crate::domain::new_id())
    .bind(c.id)
    .bind(c.version)
    .bind(&c.value)
    .bind(&c.description)
    .bind(op.as_str())
    .bind(author)
    .bind(c.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_revision(conn: &mut PgConnection, config_id: Uuid, version: i64) -> Result<Option<ConfigRevision>> {
    Ok(sqlx::query_as::<_, ConfigRevision>(sql!(
        "SELECT {REV_COLUMNS} FROM config_revisions r JOIN configs c ON c.id = r.config_id WHERE r.config_id = $1 AND r.version = $2"
    ))
    .bind(config_id)
    .bind(version)
    .fetch_optional(conn)
    .await?)
}

pub async fn get_revision_by_id(conn: &mut PgConnection, id: Uuid) -> Result<Option<ConfigRevision>> {
    Ok(sqlx::query_as::<_, ConfigRevision>(sql!(
        "SELECT {REV_COLUMNS} FROM config_revisions r JOIN configs c ON c.id = r.config_id WHERE r.id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// Which project configs a caller may list.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// System settings only.
    Settings,
    /// One project (access already checked).
    Project(Uuid),
    /// Every project `user` is a member of.
    MemberOf(Uuid),
    /// Every project (admins).
    AllProjects,
}

fn push_scope(qb: &mut QueryBuilder<Postgres>, scope: Scope) {
    match scope {
        Scope::Settings => qb.push(" AND c.project_id IS NULL"),
        Scope::Project(p) => qb.push(" AND c.project_id = ").push_bind(p),
        Scope::MemberOf(u) => {
            qb.push(" AND c.project_id IN (SELECT project_id FROM members WHERE user_id = ").push_bind(u).push(")")
        }
        Scope::AllProjects => qb.push(" AND c.project_id IS NOT NULL"),
    };
}

pub async fn list(conn: &mut PgConnection, scope: Scope, params: ListParams<'_>) -> Result<Page<Config>> {
    let spec = if matches!(scope, Scope::Settings) { &SETTINGS_LIST } else { &LIST };
    let plan = spec.plan(params)?;
    // Deleted entries only show up when the filter restricts `deleted`.
    let show_deleted = plan.restricts("deleted");
    plan.fetch(conn, spec, COLUMNS, "configs c", |qb| {
        push_scope(qb, scope);
        if !show_deleted {
            qb.push(" AND c.deleted_at IS NULL");
        }
    })
    .await
}

pub async fn list_revisions(
    conn: &mut PgConnection,
    scope: Scope,
    config_id: Option<Uuid>,
    params: ListParams<'_>,
) -> Result<Page<ConfigRevision>> {
    let plan = REVISION_LIST.plan(params)?;
    plan.fetch(conn, &REVISION_LIST, REV_COLUMNS, "config_revisions r JOIN configs c ON c.id = r.config_id", |qb| {
        push_scope(qb, scope);
        if let Some(id) = config_id {
            qb.push(" AND r.config_id = ").push_bind(id);
        }
    })
    .await
}

/// The live (not deleted) key/value pairs of a project, by key.
pub async fn effective(conn: &mut PgConnection, project_id: Uuid) -> Result<Vec<(String, Json, i64)>> {
    Ok(sqlx::query_as::<_, (String, Json, i64)>(
        "SELECT key, value, version FROM configs WHERE project_id = $1 AND deleted_at IS NULL ORDER BY key",
    )
    .bind(project_id)
    .fetch_all(conn)
    .await?)
}

/// Every config of a project, deleted ones included (for exports), by key.
pub async fn all_of_project(conn: &mut PgConnection, project_id: Uuid) -> Result<Vec<Config>> {
    Ok(sqlx::query_as::<_, Config>(sql!("SELECT {COLUMNS} FROM configs c WHERE c.project_id = $1 ORDER BY c.key"))
        .bind(project_id)
        .fetch_all(conn)
        .await?)
}

/// The revisions of `config_ids`, oldest first per config.
pub async fn revisions_of(conn: &mut PgConnection, config_ids: &[Uuid]) -> Result<Vec<ConfigRevision>> {
    Ok(sqlx::query_as::<_, ConfigRevision>(sql!(
        "SELECT {REV_COLUMNS} FROM config_revisions r JOIN configs c ON c.id = r.config_id
         WHERE r.config_id = ANY($1) ORDER BY r.config_id, r.version"
    ))
    .bind(config_ids)
    .fetch_all(conn)
    .await?)
}
