use crate::error::Reason;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::{
    domain::{Member, MemberRole},
    error::{Error, Result},
    list::{Field, Kind, ListParams, Page, Spec},
};

const COLUMNS: &str = "m.id, m.project_id, m.user_id, m.role, m.version, m.created_at, m.updated_at";

pub static LIST: Spec = Spec {
    fields: &[
        Field::new("id", "m.id", Kind::Uuid),
        Field::new("project_id", "m.project_id", Kind::Uuid),
        Field::new("user_id", "m.user_id", Kind::Uuid),
        Field::new("role", "m.role", Kind::Enum(MemberRole::ALL)).sortable(),
        Field::new("create_time", "m.created_at", Kind::Time).sortable(),
        Field::new("update_time", "m.updated_at", Kind::Time).sortable(),
    ],
    search: &["u.email", "u.name"],
    default_order: "m.created_at ASC",
    tiebreak: "m.id",
};

pub async fn insert(conn: &mut PgConnection, m: &Member) -> Result<Member> {
    sqlx::query_as::<_, Member>(sql!(
        "INSERT INTO members AS m (id, project_id, user_id, role) VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
    ))
    .bind(m.id)
    .bind(m.project_id)
    .bind(m.user_id)
    .bind(m.role.as_str())
    .fetch_one(conn)
    .await
    .map_err(|e| {
        super::on_unique(e, "members_project_id_user_id_key", || {
            Error::already_exists(Reason::AlreadyMember, "the user is already a member of this project")
        })
    })
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Member>> {
    Ok(sqlx::query_as::<_, Member>(sql!("SELECT {COLUMNS} FROM members m WHERE m.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

pub async fn update_role(conn: &mut PgConnection, id: Uuid, role: MemberRole) -> Result<Member> {
    Ok(sqlx::query_as::<_, Member>(sql!(
        "UPDATE members m SET role = $2, version = m.version + 1, updated_at = now() WHERE m.id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(role.as_str())
    .fetch_one(conn)
    .await?)
}

pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<()> {
    sqlx::query("DELETE FROM members WHERE id = $1").bind(id).execute(conn).await?;
    Ok(())
}

/// Owners of a project other than `except`, oldest first.
pub async fn other_owners(conn: &mut PgConnection, project_id: Uuid, except: Uuid) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT user_id FROM members WHERE project_id = $1 AND role = 'owner' AND user_id <> $2 ORDER BY created_at, id",
    )
    .bind(project_id)
    .bind(except)
    .fetch_all(conn)
    .await?)
}

pub async fn list(
    conn: &mut PgConnection,
    viewer: Uuid,
    admin: bool,
    project_id: Option<Uuid>,
    params: ListParams<'_>,
) -> Result<Page<Member>> {
    let plan = LIST.plan(params)?;
    plan.fetch(conn, &LIST, COLUMNS, "members m JOIN users u ON u.id = m.user_id", |qb: &mut QueryBuilder<Postgres>| {
        if let Some(p) = project_id {
            qb.push(" AND m.project_id = ").push_bind(p);
        }
        if !admin {
            qb.push(" AND m.project_id IN (SELECT project_id FROM members WHERE user_id = ")
                .push_bind(viewer)
                .push(")");
        }
    })
    .await
}

pub async fn user_ids(conn: &mut PgConnection, project_id: Uuid) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar("SELECT user_id FROM members WHERE project_id = $1").bind(project_id).fetch_all(conn).await?)
}

/// Every member of a project (for exports).
pub async fn all_of_project(conn: &mut PgConnection, project_id: Uuid) -> Result<Vec<Member>> {
    Ok(sqlx::query_as::<_, Member>(sql!(
        "SELECT {COLUMNS} FROM members m WHERE m.project_id = $1 ORDER BY m.created_at, m.id"
    ))
    .bind(project_id)
    .fetch_all(conn)
    .await?)
}
