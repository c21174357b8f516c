use crate::error::Reason;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::{
    domain::{MemberRole, Project, ProjectStatus},
    error::{Error, Result},
    list::{Field, Kind, ListParams, Page, Spec},
};

const COLUMNS: &str =
    "p.id, p.slug, p.name, p.description, p.status, p.owner_id, p.version, p.created_at, p.updated_at";

pub static LIST: Spec = Spec {
    fields: &[
        Field::new("id", "p.id", Kind::Uuid),
        Field::new("slug", "p.slug", Kind::Text).sortable(),
        Field::new("name", "p.name", Kind::Text).sortable(),
        Field::new("description", "p.description", Kind::Text),
        Field::new("status", "p.status", Kind::Enum(ProjectStatus::ALL)).sortable(),
        Field::new("owner_id", "p.owner_id", Kind::Uuid),
        Field::new("create_time", "p.created_at", Kind::Time).sortable(),
        Field::new("update_time", "p.updated_at", Kind::Time).sortable(),
    ],
    search: &["p.slug", "p.name", "p.description"],
    default_order: "p.created_at DESC",
    tiebreak: "p.id",
};

fn slug_taken() -> Error {
    Error::already_exists(Reason::SlugTaken, "a project with this slug already exists")
}

/// A project with the role of one user in it (None: not a member).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct WithRole {
    #[sqlx(flatten)]
    pub project: Project,
    pub member_role: Option<String>,
}

impl WithRole {
    pub fn role(&self) -> Option<MemberRole> {
        self.member_role.as_deref().and_then(MemberRole::parse)
    }
}

pub async fn insert(conn: &mut PgConnection, p: &Project) -> Result<Project> {
    sqlx::query_as::<_, Project>(sql!(
        "INSERT INTO projects AS p (id, slug, name, description, status, owner_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    ))
    .bind(p.id)
    .bind(&p.slug)
    .bind(&p.name)
    .bind(&p.description)
    .bind(p.status.as_str())
    .bind(p.owner_id)
    .fetch_one(conn)
    .await
    .map_err(|e| super::on_unique(e, "projects_slug_key", slug_taken))
}

/// How a use case holds the project row while it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    None,
    /// Writers under the project (configs) share it; archive/delete wait for them.
    Share,
    /// Changes to the project or its membership.
    Update,
}

/// The project by id or slug, with `user`'s membership role.
pub async fn get_with_role(
    conn: &mut PgConnection,
    id: Option<Uuid>,
    slug: Option<&str>,
    user: Uuid,
    lock: Lock,
) -> Result<Option<WithRole>> {
    let mut qb = QueryBuilder::<Postgres>::new(format!(
        "SELECT {COLUMNS}, m.role AS member_role FROM projects p LEFT JOIN members m ON m.project_id = p.id AND m.user_id = "
    ));
    qb.push_bind(user);
    match (id, slug) {
        (Some(id), _) => qb.push(" WHERE p.id = ").push_bind(id),
        (None, Some(slug)) => qb.push(" WHERE p.slug = ").push_bind(slug.to_string()),
        (None, None) => return Ok(None),
    };
    qb.push(match lock {
        Lock::None => "",
        Lock::Share => " FOR SHARE OF p",
        Lock::Update => " FOR UPDATE OF p",
    });
    Ok(qb.build_query_as::<WithRole>().fetch_optional(conn).await?)
}

pub async fn update(conn: &mut PgConnection, p: &Project) -> Result<Project> {
    sqlx::query_as::<_, Project>(sql!(
        "UPDATE projects p SET slug = $2, name = $3, description = $4, status = $5, owner_id = $6,
                version = p.version + 1, updated_at = now()
         WHERE p.id = $1 RETURNING {COLUMNS}"
    ))
    .bind(p.id)
    .bind(&p.slug)
    .bind(&p.name)
    .bind(&p.description)
    .bind(p.status.as_str())
    .bind(p.owner_id)
    .fetch_one(conn)
    .await
    .map_err(|e| super::on_unique(e, "projects_slug_key", slug_taken))
}

pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<()> {
    sqlx::query("DELETE FROM projects WHERE id = $1").bind(id).execute(conn).await?;
    Ok(())
}

/// Restricts to projects the joined user is a member of, unless admin.
fn push_visible(qb: &mut QueryBuilder<Postgres>, admin: bool) {
    if !admin {
        qb.push(" AND m.user_id IS NOT NULL");
    }
}

fn from_clause(user: Uuid) -> String {
    // The user id is a UUID we parsed ourselves, so formatting it into SQL is safe; binding it
    // would need the same placeholder in both the count and the row query.
    format!("projects p LEFT JOIN members m ON m.project_id = p.id AND m.user_id = '{user}'")
}

pub async fn list(conn: &mut PgConnection, user: Uuid, admin: bool, params: ListParams<'_>) -> Result<Page<WithRole>> {
    let plan = LIST.plan(params)?;
    let select = format!("{COLUMNS}, m.role AS member_role");
    plan.fetch(conn, &LIST, &select, &from_clause(user), |qb| push_visible(qb, admin)).await
}

pub async fn get_many(conn: &mut PgConnection, user: Uuid, admin: bool, ids: &[Uuid]) -> Result<Vec<WithRole>> {
    let mut qb = QueryBuilder::new(format!(
        "SELECT {COLUMNS}, m.role AS member_role FROM {} WHERE p.id = ANY(",
        from_clause(user)
    ));
    qb.push_bind(ids.to_vec()).push(")");
    push_visible(&mut qb, admin);
    Ok(qb.build_query_as::<WithRole>().fetch_all(conn).await?)
}
