use crate::error::Reason;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::{
    domain::{User, UserRole, UserStatus},
    error::{Error, Result},
    list::{Field, Kind, ListParams, Page, Spec},
};

const COLUMNS: &str = "u.id, u.email, u.name, u.role, u.status, u.version, u.created_at, u.updated_at, u.last_login_at";

pub static LIST: Spec = Spec {
    fields: &[
        Field::new("id", "u.id", Kind::Uuid),
        Field::new("email", "u.email", Kind::Text).sortable(),
        Field::new("name", "u.name", Kind::Text).sortable(),
        Field::new("role", "u.role", Kind::Enum(UserRole::ALL)).sortable(),
        Field::new("status", "u.status", Kind::Enum(UserStatus::ALL)).sortable(),
        Field::new("create_time", "u.created_at", Kind::Time).sortable(),
        Field::new("update_time", "u.updated_at", Kind::Time).sortable(),
        Field::new("last_login_time", "u.last_login_at", Kind::Time).sortable(),
    ],
    search: &["u.email", "u.name"],
    default_order: "u.created_at ASC",
    tiebreak: "u.id",
};

pub struct NewUser<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub name: &'a str,
    pub role: UserRole,
    pub password_hash: &'a str,
}

fn email_taken() -> Error {
    Error::already_exists(Reason::EmailTaken, "a user with this email already exists")
}

pub async fn insert(conn: &mut PgConnection, u: NewUser<'_>) -> Result<User> {
    sqlx::query_as::<_, User>(
        "INSERT INTO users AS u (id, email, name, role, status, password_hash) VALUES ($1, $2, $3, $4, 'active', $5)
         RETURNING u.id, u.email, u.name, u.role, u.status, u.version, u.created_at, u.updated_at, u.last_login_at",
    )
    .bind(u.id)
    .bind(u.email)
    .bind(u.name)
    .bind(u.role.as_str())
    .bind(u.password_hash)
    .fetch_one(conn)
    .await
    .map_err(|e| super::on_unique(e, "users_email_key", email_taken))
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<User>> {
    Ok(sqlx::query_as::<_, User>(sql!("SELECT {COLUMNS} FROM users u WHERE u.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

pub async fn get_for_update(conn: &mut PgConnection, id: Uuid) -> Result<Option<User>> {
    Ok(sqlx::query_as::<_, User>(sql!("SELECT {COLUMNS} FROM users u WHERE u.id = $1 FOR UPDATE"))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// The user and their password hash, by email (case-insensitive).
pub async fn get_credentials(conn: &mut PgConnection, email: &str) -> Result<Option<(User, String)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: User,
        password_hash: String,
    }
    let row = sqlx::query_as::<_, Row>(sql!(
        "SELECT {COLUMNS}, u.password_hash FROM users u WHERE lower(u.email) = lower($1)"
    ))
    .bind(email)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.user, r.password_hash)))
}

pub async fn password_hash(conn: &mut PgConnection, id: Uuid) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1").bind(id).fetch_optional(conn).await?)
}

pub async fn get_by_email(conn: &mut PgConnection, email: &str) -> Result<Option<User>> {
    Ok(sqlx::query_as::<_, User>(sql!("SELECT {COLUMNS} FROM users u WHERE lower(u.email) = lower($1)"))
        .bind(email)
        .fetch_optional(conn)
        .await?)
}

/// Records a login and returns its time.
pub async fn touch_login(conn: &mut PgConnection, id: Uuid) -> Result<chrono::DateTime<chrono::Utc>> {
    Ok(sqlx::query_scalar("UPDATE users SET last_login_at = now() WHERE id = $1 RETURNING last_login_at")
        .bind(id)
        .fetch_one(conn)
        .await?)
}

/// Writes every mutable field and bumps the version.
pub async fn update(conn: &mut PgConnection, u: &User, password_hash: Option<&str>) -> Result<User> {
    sqlx::query_as::<_, User>(
        "UPDATE users AS u SET email = $2, name = $3, role = $4, status = $5,
                password_hash = coalesce($6, u.password_hash), version = u.version + 1, updated_at = now()
         WHERE u.id = $1
         RETURNING u.id, u.email, u.name, u.role, u.status, u.version, u.created_at, u.updated_at, u.last_login_at",
    )
    .bind(u.id)
    .bind(&u.email)
    .bind(&u.name)
    .bind(u.role.as_str())
    .bind(u.status.as_str())
    .bind(password_hash)
    .fetch_one(conn)
    .await
    .map_err(|e| super::on_unique(e, "users_email_key", email_taken))
}

pub async fn set_password(conn: &mut PgConnection, id: Uuid, hash: &str) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(hash)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn any_admin(conn: &mut PgConnection) -> Result<bool> {
    Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin')").fetch_one(conn).await?)
}

/// The users `viewer` may see: everyone for admins; themself and co-members otherwise.
fn push_visible(qb: &mut QueryBuilder<Postgres>, viewer: Uuid, admin: bool) {
    if !admin {
        qb.push(" AND (u.id = ")
            .push_bind(viewer)
            .push(" OR u.id IN (SELECT m2.user_id FROM members m1 JOIN members m2 ON m2.project_id = m1.project_id WHERE m1.user_id = ")
            .push_bind(viewer)
            .push("))");
    }
}

pub async fn list(conn: &mut PgConnection, viewer: Uuid, admin: bool, params: ListParams<'_>) -> Result<Page<User>> {
    let plan = LIST.plan(params)?;
    plan.fetch(conn, &LIST, COLUMNS, "users u", |qb| push_visible(qb, viewer, admin)).await
}

pub async fn get_visible(conn: &mut PgConnection, viewer: Uuid, admin: bool, ids: &[Uuid]) -> Result<Vec<User>> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM users u WHERE u.id = ANY("));
    qb.push_bind(ids.to_vec()).push(")");
    push_visible(&mut qb, viewer, admin);
    Ok(qb.build_query_as::<User>().fetch_all(conn).await?)
}

pub async fn other_active_admins(conn: &mut PgConnection, id: Uuid) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM users WHERE role = 'admin' AND status = 'active' AND id <> $1")
        .bind(id)
        .fetch_one(conn)
        .await?)
}

/// Advisory lock key serialising first-admin creation across replicas ("psm-admn").
const BOOTSTRAP_LOCK_KEY: i64 = 0x7073_6d2d_6164_6d6e;

/// Serialises concurrent first-admin bootstraps until the transaction ends: the second replica
/// waits, then sees the admin the first one created.
pub async fn lock_admin_bootstrap(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(BOOTSTRAP_LOCK_KEY).execute(conn).await?;
    Ok(())
}
