//! Authentication: login, refresh rotation with reuse detection, logout, sign-up, API tokens,
//! and turning a bearer credential into a [`Caller`] on every request.

use crate::error::Reason;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::{Core, users::user_event};
use crate::{
    cache::{Generation, Key},
    domain::{self, ApiToken, Caller, RequestMeta, User, UserRole, UserStatus, Violations},
    error::{Error, Result},
    events,
    list::{ListParams, Page},
    security::{self, API_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX, REFRESH_TOKEN_TTL},
    store::{tokens, users},
};

/// Tokens issued at login or refresh.
#[derive(Debug)]
pub struct TokenPair {
    pub access_token: SecretString,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: SecretString,
    pub refresh_expires_at: DateTime<Utc>,
}

/// Sessions of `user` that just ended: one (`session`), or all but `kept`.
///
/// Recorded as a `session.revoked` event on the user's channel, in the revoking transaction.
/// Subscription streams treat it as an access change: those riding on a revoked session end
/// (UNAUTHENTICATED SESSION_REVOKED) within moments, on every replica, and edges re-check the
/// user's clients.
struct SessionsRevoked {
    user: Uuid,
    session: Option<Uuid>,
    kept: Option<Uuid>,
}

impl SessionsRevoked {
    async fn record(
        &self,
        conn: &mut sqlx::PgConnection,
        actor: Uuid,
        reason: &'static str,
        meta: &RequestMeta,
    ) -> Result<()> {
        events::record(
            conn,
            events::NewEvent {
                event_type: "session.revoked",
                channels: vec![domain::channel::user(self.user)],
                actor_id: Some(actor),
                resource_type: "user",
                resource_id: self.user.to_string(),
                payload: serde_json::json!({
                    "user_id": self.user,
                    "session_id": self.session,
                    "kept_session_id": self.kept,
                    "reason": reason,
                }),
                meta,
            },
        )
        .await
    }
}

fn bad_credentials() -> Error {
    Error::unauthenticated(Reason::InvalidCredentials, "invalid email or password")
}

impl Core {
    /// The caller behind `authorization: Bearer <token>`.
    ///
    /// The user's status and role are read on every call (not trusted from the JWT), so a
    /// disabled or demoted user loses access at their next request.
    ///
    /// The lookup is cached (`cache.rs`); every change that affects it (user update, logout,
    /// session or token revocation) bumps the user's or token's generation before it is
    /// acknowledged. With a per-token budget configured, each call counts against it.
    #[tracing::instrument(skip_all)]
    pub async fn authenticate(&self, bearer: Option<&str>) -> Result<Caller> {
        let token = bearer.ok_or_else(|| Error::unauthenticated(Reason::MissingCredentials, "missing bearer token"))?;
        let (principal, session_id, budget_key, expires_at) = if token.starts_with(API_TOKEN_PREFIX) {
            let hash = security::hash_token(token);
            let hex = hex::encode(&hash);
            let key = Key { kind: "auth", generation: Generation::ApiToken(hex.clone()), name: String::new() };
            let p = self
                .cache
                .get_or_load(key, || async move {
                    let mut conn = self.conn().await?;
                    tokens::api_token_principal(&mut conn, &hash).await
                })
                .await?
                .filter(|p| p.expires_at.is_none_or(|e| e > Utc::now()))
                .ok_or_else(|| Error::unauthenticated(Reason::InvalidToken, "invalid, expired or revoked API token"))?;
            let expires_at = p.expires_at;
            (p, None, format!("t:{hex}"), expires_at)
        } else {
            let claims = self.keys.verify(token)?;
            let (user, session) = (claims.sub, claims.sid);
            let key = Key { kind: "auth", generation: Generation::User(user), name: format!("s:{session}") };
            let p = self
                .cache
                .get_or_load(key, || async move {
                    let mut conn = self.conn().await?;
                    tokens::session_principal(&mut conn, user, session).await
                })
                .await?
                .filter(|p| p.expires_at.is_none_or(|e| e > Utc::now()))
                .ok_or_else(|| {
                    Error::unauthenticated(Reason::SessionRevoked, "the session has ended; sign in again")
                })?;
            (p, Some(session), format!("s:{session}"), DateTime::from_timestamp(claims.exp, 0))
        };
        if principal.status != UserStatus::Active {
            return Err(Error::unauthenticated(Reason::UserDisabled, "the user is disabled"));
        }
        if let Some(limit) = &self.token_limit {
            self.redis.hit_token_limit(limit, &budget_key).await?;
        }
        Ok(Caller { user_id: principal.user_id, role: principal.role, session_id, expires_at })
    }

    /// Everything cached about `user`'s access (their sessions and API tokens), to bump after
    /// a change to the user commits. Read inside the change's transaction, so that the bump
    /// itself cannot fail the write.
    pub(crate) async fn user_generations(conn: &mut sqlx::PgConnection, user: Uuid) -> Result<Vec<Generation>> {
        let hashes = tokens::api_token_hashes(conn, user).await?;
        let mut generations = vec![Generation::User(user)];
        generations.extend(hashes.iter().map(|h| Generation::ApiToken(hex::encode(h))));
        Ok(generations)
    }

    #[tracing::instrument(skip_all)]
    pub async fn login(&self, meta: &RequestMeta, email: &str, password: SecretString) -> Result<(TokenPair, User)> {
        let mut v = Violations::new();
        if email.trim().is_empty() {
            v.push("email", "is required");
        }
        if password.expose_secret().is_empty() {
            v.push("password", "is required");
        }
        v.finish()?;
        if password.expose_secret().len() > domain::PASSWORD_MAX_CHARS * 4 {
            return Err(bad_credentials());
        }
        self.redis.hit_login_limit(&self.login_limits, email.trim(), meta.client_addr.as_deref()).await?;

        let mut conn = self.conn().await?;
        let found = users::get_credentials(&mut conn, email.trim()).await?;
        drop(conn);
        let Some((mut user, hash)) = found else {
            // Same work as a real check, so response time does not reveal unknown emails.
            let _ = security::verify_password(password, security::dummy_hash().await.to_string()).await;
            return Err(bad_credentials());
        };
        if !security::verify_password(password, hash).await? {
            return Err(bad_credentials());
        }
        if user.status != UserStatus::Active {
            return Err(Error::unauthenticated(Reason::UserDisabled, "the user is disabled"));
        }
        let mut tx = self.begin().await?;
        // The returned user shows this login, as GetMe will from now on.
        user.last_login_at = Some(users::touch_login(&mut tx, user.id).await?);
        let session_id = domain::new_id();
        let now = Utc::now();
        tokens::create_session(&mut tx, session_id, user.id, now + REFRESH_TOKEN_TTL).await?;
        let pair = self.issue(&mut tx, user.id, user.role, session_id, now).await?;
        self.commit(tx).await?;
        tracing::info!(user_id = %user.id, "login");
        Ok((pair, user))
    }

    async fn issue(
        &self,
        conn: &mut sqlx::PgConnection,
        user_id: Uuid,
        role: UserRole,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<TokenPair> {
        let (refresh_token, hash) = security::new_opaque_token(REFRESH_TOKEN_PREFIX);
        let refresh_expires_at = now + REFRESH_TOKEN_TTL;
        tokens::insert_refresh_token(conn, session_id, &hash, refresh_expires_at).await?;
        let (access_token, access_expires_at) = self.keys.issue(user_id, role, session_id, now)?;
        Ok(TokenPair { access_token, access_expires_at, refresh_token, refresh_expires_at })
    }

    /// Rotates a refresh token. A token that was already used means it leaked (or a client
    /// raced itself): the whole session is revoked, so the thief's copy dies too.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, meta: &RequestMeta, refresh_token: &SecretString) -> Result<(TokenPair, User)> {
        let refresh_token = refresh_token.expose_secret();
        if refresh_token.is_empty() {
            return Err(Error::invalid("refresh_token", "is required"));
        }
        let invalid = || Error::unauthenticated(Reason::InvalidRefreshToken, "invalid or expired refresh token");
        let mut tx = self.begin().await?;
        let t = tokens::find_refresh_token(&mut tx, &security::hash_token(refresh_token)).await?.ok_or_else(invalid)?;
        if t.session_revoked_at.is_some() || t.expires_at <= Utc::now() {
            return Err(invalid());
        }
        if t.used_at.is_some() || !tokens::use_refresh_token(&mut tx, t.id).await? {
            tokens::revoke_session(&mut tx, t.session_id).await?;
            let revoked = SessionsRevoked { user: t.user_id, session: Some(t.session_id), kept: None };
            revoked.record(&mut tx, t.user_id, "refresh_token_reused", meta).await?;
            self.commit(tx).await?;
            self.cache.bump(&[Generation::User(t.user_id)]).await;
            tracing::warn!(user_id = %t.user_id, session_id = %t.session_id, "refresh token reuse: session revoked");
            return Err(Error::unauthenticated(
                Reason::RefreshTokenReused,
                "refresh token already used; the session is revoked",
            ));
        }
        let user = users::get(&mut tx, t.user_id).await?.ok_or_else(invalid)?;
        if user.status != UserStatus::Active {
            return Err(Error::unauthenticated(Reason::UserDisabled, "the user is disabled"));
        }
        let pair = self.issue(&mut tx, user.id, user.role, t.session_id, Utc::now()).await?;
        self.commit(tx).await?;
        Ok((pair, user))
    }

    /// Revokes the session of `refresh_token`, or else the caller's current session.
    pub async fn logout(
        &self,
        meta: &RequestMeta,
        caller: Option<&Caller>,
        refresh_token: &SecretString,
    ) -> Result<()> {
        let refresh_token = refresh_token.expose_secret();
        let mut tx = self.begin().await?;
        let (user, session) = if !refresh_token.is_empty() {
            let (session, user) = tokens::session_of_refresh_token(&mut tx, &security::hash_token(refresh_token))
                .await?
                .ok_or_else(|| Error::unauthenticated(Reason::InvalidRefreshToken, "invalid refresh token"))?;
            if let Some(c) = caller
                && c.user_id != user
                && !c.is_admin()
            {
                return Err(Error::unauthenticated(Reason::InvalidRefreshToken, "invalid refresh token"));
            }
            (user, session)
        } else {
            let caller = caller.ok_or_else(|| {
                Error::unauthenticated(Reason::MissingCredentials, "send a refresh token or a bearer token")
            })?;
            let session = caller.session_id.ok_or_else(|| {
                Error::invalid("refresh_token", "API tokens have no session; revoke the API token instead")
            })?;
            (caller.user_id, session)
        };
        tokens::revoke_session(&mut tx, session).await?;
        let revoked = SessionsRevoked { user, session: Some(session), kept: None };
        revoked.record(&mut tx, caller.map_or(user, |c| c.user_id), "logout", meta).await?;
        self.commit(tx).await?;
        self.cache.bump(&[Generation::User(user)]).await;
        Ok(())
    }

    pub async fn sign_up(&self, meta: &RequestMeta, email: &str, name: &str, password: &SecretString) -> Result<User> {
        let enabled = self.setting_bool("auth.signup_enabled").await?.unwrap_or(false);
        if !enabled {
            return Err(Error::failed_precondition(
                Reason::SignupDisabled,
                "sign-up is disabled; ask an admin for an account",
            ));
        }
        self.redis.hit_login_limit(&self.login_limits, email.trim(), meta.client_addr.as_deref()).await?;
        self.insert_user(None, meta, email, name, password, UserRole::User).await
    }

    pub async fn change_password(
        &self,
        meta: &RequestMeta,
        caller: &Caller,
        current: SecretString,
        new: &SecretString,
    ) -> Result<()> {
        let new = domain::password("new_password", new)?;
        let mut conn = self.conn().await?;
        let hash = users::password_hash(&mut conn, caller.user_id).await?.ok_or(Error::not_found("user"))?;
        drop(conn);
        if !security::verify_password(current, hash).await? {
            return Err(Error::invalid("current_password", "is not the current password"));
        }
        let new_hash = security::hash_password(new).await?;
        let mut tx = self.begin().await?;
        users::set_password(&mut tx, caller.user_id, &new_hash).await?;
        tokens::revoke_user_sessions(&mut tx, caller.user_id, caller.session_id).await?;
        let revoked = SessionsRevoked { user: caller.user_id, session: None, kept: caller.session_id };
        revoked.record(&mut tx, caller.user_id, "password_changed", meta).await?;
        self.commit(tx).await?;
        self.cache.bump(&[Generation::User(caller.user_id)]).await;
        Ok(())
    }

    pub async fn create_api_token(
        &self,
        caller: &Caller,
        name: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(ApiToken, SecretString)> {
        let mut v = Violations::new();
        let name = v.check(domain::name("name", name));
        if expires_at.is_some_and(|exp| exp <= Utc::now()) {
            v.push("expire_time", "must be in the future");
        }
        v.finish()?;
        let (secret, hash) = security::new_opaque_token(API_TOKEN_PREFIX);
        // The prefix identifies the token in lists; 8 hex digits of 64 reveal nothing useful.
        let prefix = &secret.expose_secret()[..API_TOKEN_PREFIX.len() + 8];
        let mut tx = self.begin().await?;
        let t = tokens::insert_api_token(
            &mut tx,
            tokens::NewApiToken {
                id: domain::new_id(),
                user_id: caller.user_id,
                name: &name.unwrap_or_default(),
                prefix,
                hash: &hash,
                expires_at,
            },
        )
        .await?;
        self.commit(tx).await?;
        Ok((t, secret))
    }

    /// Admins see every token; users their own. Someone else's token is NOT_FOUND.
    pub async fn get_api_token(&self, caller: &Caller, id: &str) -> Result<ApiToken> {
        let id = domain::parse_id("id", id)?;
        let mut conn = self.conn().await?;
        tokens::get_api_token(&mut conn, id)
            .await?
            .filter(|t| t.user_id == caller.user_id || caller.is_admin())
            .ok_or(Error::not_found("api_token"))
    }

    pub async fn list_api_tokens(&self, caller: &Caller, params: ListParams<'_>) -> Result<Page<ApiToken>> {
        let mut conn = self.conn().await?;
        let owner = if caller.is_admin() { None } else { Some(caller.user_id) };
        tokens::list_api_tokens(&mut conn, owner, params).await
    }

    pub async fn revoke_api_token(&self, caller: &Caller, id: &str) -> Result<ApiToken> {
        let t = self.get_api_token(caller, id).await?;
        let mut tx = self.begin().await?;
        let t = tokens::revoke_api_token(&mut tx, t.id).await?;
        let hash = tokens::api_token_hash(&mut tx, t.id).await?;
        self.commit(tx).await?;
        self.cache.bump(&[Generation::ApiToken(hex::encode(hash))]).await;
        Ok(t)
    }

    /// Creates the first admin from configuration, once, however many replicas start at once.
    pub async fn bootstrap_admin(&self, email: &str, password: &SecretString) -> Result<Option<User>> {
        // Cheap check first so a restart does not pay for an argon2 hash.
        if users::any_admin(&mut *self.conn().await?).await? {
            return Ok(None);
        }
        let meta = RequestMeta { request_id: Some("bootstrap".into()), client_addr: None };
        match self.insert_user(None, &meta, email, "Administrator", password, UserRole::Admin).await {
            Ok(u) => Ok(Some(u)),
            // Another replica won the race (insert_user re-checks under an advisory lock).
            Err(Error::AlreadyExists { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Validates and inserts a user, with its `user.created` event.
    pub(crate) async fn insert_user(
        &self,
        actor: Option<&Caller>,
        meta: &RequestMeta,
        email: &str,
        name: &str,
        password: &SecretString,
        role: UserRole,
    ) -> Result<User> {
        let mut v = Violations::new();
        let email = v.check(domain::email("email", email));
        let name = v.check(domain::name("name", name));
        let password = v.check(domain::password("password", password));
        v.finish()?;
        let (email, name, password) =
            (email.unwrap_or_default(), name.unwrap_or_default(), password.unwrap_or_default());
        let hash = security::hash_password(password).await?;
        let mut tx = self.begin().await?;
        if role == UserRole::Admin && actor.is_none() {
            users::lock_admin_bootstrap(&mut tx).await?;
            if users::any_admin(&mut tx).await? {
                return Err(Error::already_exists(Reason::AdminExists, "an admin already exists"));
            }
        }
        let id = domain::new_id();
        let user =
            users::insert(&mut tx, users::NewUser { id, email: &email, name: &name, role, password_hash: &hash })
                .await?;
        events::record(&mut tx, user_event("user.created", actor.map_or(id, |a| a.user_id), &user, meta)).await?;
        self.commit(tx).await?;
        Ok(user)
    }

    pub async fn me(&self, caller: &Caller) -> Result<User> {
        let mut conn = self.conn().await?;
        users::get(&mut conn, caller.user_id).await?.ok_or(Error::not_found("user"))
    }
}
