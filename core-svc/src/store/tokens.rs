//! Sessions (refresh-token families), refresh tokens and API tokens.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::{
    domain::{ApiToken, UserRole, UserStatus},
    error::Result,
    list::{Field, Kind, ListParams, Page, Spec},
};

/// What authentication needs to know about a credential's user.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct Principal {
    pub user_id: Uuid,
    #[sqlx(try_from = "String")]
    pub role: UserRole,
    #[sqlx(try_from = "String")]
    pub status: UserStatus,
    /// When the credential (session or API token) expires; None: never.
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn create_session(conn: &mut PgConnection, id: Uuid, user_id: Uuid, expires_at: DateTime<Utc>) -> Result<()> {
    sqlx::query("INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(user_id)
        .bind(expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn revoke_session(conn: &mut PgConnection, id: Uuid) -> Result<()> {
    sqlx::query("UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Revokes every session of a user except `keep`.
pub async fn revoke_user_sessions(conn: &mut PgConnection, user_id: Uuid, keep: Option<Uuid>) -> Result<()> {
    sqlx::query(
        "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $2",
    )
    .bind(user_id)
    .bind(keep)
    .execute(conn)
    .await?;
    Ok(())
}

/// The principal of a live session (not revoked, not expired).
pub async fn session_principal(conn: &mut PgConnection, user_id: Uuid, session_id: Uuid) -> Result<Option<Principal>> {
    Ok(sqlx::query_as::<_, Principal>(
        "SELECT u.id AS user_id, u.role, u.status, s.expires_at FROM users u JOIN sessions s ON s.user_id = u.id
         WHERE u.id = $1 AND s.id = $2 AND s.revoked_at IS NULL AND s.expires_at > now()",
    )
    .bind(user_id)
    .bind(session_id)
    .fetch_optional(conn)
    .await?)
}

/// The user behind a caller established earlier: by id, and through the session when it had
/// one (a revoked session ends access).
pub async fn principal(conn: &mut PgConnection, user_id: Uuid, session_id: Option<Uuid>) -> Result<Option<Principal>> {
    match session_id {
        Some(sid) => session_principal(conn, user_id, sid).await,
        None => Ok(sqlx::query_as::<_, Principal>(
            "SELECT id AS user_id, role, status, NULL::timestamptz AS expires_at FROM users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_optional(conn)
        .await?),
    }
}

pub async fn insert_refresh_token(
    conn: &mut PgConnection,
    session_id: Uuid,
    hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("INSERT INTO refresh_tokens (id, session_id, token_hash, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(crate::domain::new_id())
        .bind(session_id)
        .bind(hash)
        .bind(expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// A refresh token as found by its hash.
#[derive(Debug, sqlx::FromRow)]
pub struct RefreshToken {
    pub id: Uuid,
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub session_revoked_at: Option<DateTime<Utc>>,
}

pub async fn find_refresh_token(conn: &mut PgConnection, hash: &[u8]) -> Result<Option<RefreshToken>> {
    Ok(sqlx::query_as::<_, RefreshToken>(
        "SELECT r.id, r.session_id, s.user_id, r.expires_at, r.used_at, s.revoked_at AS session_revoked_at
         FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(conn)
    .await?)
}

/// Marks a refresh token used; false when it already was (a concurrent or replayed use).
pub async fn use_refresh_token(conn: &mut PgConnection, id: Uuid) -> Result<bool> {
    let r = sqlx::query("UPDATE refresh_tokens SET used_at = now() WHERE id = $1 AND used_at IS NULL")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn session_of_refresh_token(conn: &mut PgConnection, hash: &[u8]) -> Result<Option<(Uuid, Uuid)>> {
    Ok(sqlx::query_as::<_, (Uuid, Uuid)>(
        "SELECT s.id, s.user_id FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(conn)
    .await?)
}

const API_COLUMNS: &str = "t.id, t.user_id, t.name, t.prefix, t.created_at, t.expires_at, t.revoked_at, t.last_used_at";

pub static API_LIST: Spec = Spec {
    fields: &[
        Field::new("id", "t.id", Kind::Uuid),
        Field::new("user_id", "t.user_id", Kind::Uuid),
        Field::new("name", "t.name", Kind::Text).sortable(),
        Field::new("revoked", "t.revoked_at", Kind::IsSet),
        Field::new("create_time", "t.created_at", Kind::Time).sortable(),
        Field::new("expire_time", "t.expires_at", Kind::Time).sortable(),
    ],
    search: &["t.name", "t.prefix"],
    default_order: "t.created_at DESC",
    tiebreak: "t.id",
};

pub struct NewApiToken<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: &'a str,
    pub prefix: &'a str,
    pub hash: &'a [u8],
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn insert_api_token(conn: &mut PgConnection, t: NewApiToken<'_>) -> Result<ApiToken> {
    Ok(sqlx::query_as::<_, ApiToken>(sql!(
        "INSERT INTO api_tokens AS t (id, user_id, name, prefix, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING {API_COLUMNS}"
    ))
    .bind(t.id)
    .bind(t.user_id)
    .bind(t.name)
    .bind(t.prefix)
    .bind(t.hash)
    .bind(t.expires_at)
    .fetch_one(conn)
    .await?)
}

pub async fn get_api_token(conn: &mut PgConnection, id: Uuid) -> Result<Option<ApiToken>> {
    Ok(sqlx::query_as::<_, ApiToken>(sql!("SELECT {API_COLUMNS} FROM api_tokens t WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

pub async fn revoke_api_token(conn: &mut PgConnection, id: Uuid) -> Result<ApiToken> {
    Ok(sqlx::query_as::<_, ApiToken>(sql!(
        "UPDATE api_tokens t SET revoked_at = coalesce(t.revoked_at, now()) WHERE t.id = $1 RETURNING {API_COLUMNS}"
    ))
    .bind(id)
    .fetch_one(conn)
    .await?)
}

pub async fn list_api_tokens(
    conn: &mut PgConnection,
    owner: Option<Uuid>,
    params: ListParams<'_>,
) -> Result<Page<ApiToken>> {
    let plan = API_LIST.plan(params)?;
    plan.fetch(conn, &API_LIST, API_COLUMNS, "api_tokens t", |qb: &mut QueryBuilder<Postgres>| {
        if let Some(owner) = owner {
            qb.push(" AND t.user_id = ").push_bind(owner);
        }
    })
    .await
}

/// The stored hashes of a user's API tokens that are not revoked (to invalidate their cache).
pub async fn api_token_hashes(conn: &mut PgConnection, user_id: Uuid) -> Result<Vec<Vec<u8>>> {
    Ok(sqlx::query_scalar("SELECT token_hash FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(user_id)
        .fetch_all(conn)
        .await?)
}

pub async fn api_token_hash(conn: &mut PgConnection, id: Uuid) -> Result<Vec<u8>> {
    Ok(sqlx::query_scalar("SELECT token_hash FROM api_tokens WHERE id = $1").bind(id).fetch_one(conn).await?)
}

/// The principal behind a live API token (not revoked, not expired), recording its use.
pub async fn api_token_principal(conn: &mut PgConnection, hash: &[u8]) -> Result<Option<Principal>> {
    // last_used_at is refreshed at most once a minute: a write on every request would turn
    // every read into a write.
    Ok(sqlx::query_as::<_, Principal>(
        "WITH t AS (
            SELECT id, user_id, last_used_at, expires_at FROM api_tokens
            WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
         ), touch AS (
            UPDATE api_tokens a SET last_used_at = now() FROM t
            WHERE a.id = t.id AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute')
         )
         SELECT u.id AS user_id, u.role, u.status, t.expires_at FROM t JOIN users u ON u.id = t.user_id",
    )
    .bind(hash)
    .fetch_optional(conn)
    .await?)
}

/// Deletes sessions that ended (expired or revoked) over a week ago, with their refresh tokens,
/// and API tokens that expired or were revoked over 30 days ago. Returns (sessions, api tokens).
pub async fn purge_ended(conn: &mut PgConnection) -> Result<(u64, u64)> {
    let sessions = sqlx::query(
        "DELETE FROM sessions WHERE expires_at < now() - interval '7 days' OR revoked_at < now() - interval '7 days'",
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let api = sqlx::query(
        "DELETE FROM api_tokens WHERE expires_at < now() - interval '30 days' OR revoked_at < now() - interval '30 days'",
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok((sessions, api))
}
