use crate::error::Reason;
use secrecy::SecretString;
use uuid::Uuid;

use super::{Core, access};
use crate::{
    domain::{self, Caller, RequestMeta, User, UserRole, UserStatus, Violations, channel},
    error::{Error, Result},
    events::{self, NewEvent},
    list::{ListParams, Page},
    security,
    store::{tokens, users},
};

/// Fields of an update; None leaves a field unchanged.
#[derive(Debug, Default)]
pub struct UserPatch {
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Option<UserRole>,
    pub status: Option<UserStatus>,
    pub password: Option<SecretString>,
}

pub(crate) fn user_event<'a>(
    event_type: &'static str,
    actor: Uuid,
    user: &User,
    meta: &'a RequestMeta,
) -> NewEvent<'a> {
    NewEvent {
        event_type,
        channels: vec![channel::user(user.id)],
        actor_id: Some(actor),
        resource_type: "user",
        resource_id: user.id.to_string(),
        payload: events::payload(user),
        meta,
    }
}

impl Core {
    pub async fn create_user(
        &self,
        caller: &Caller,
        meta: &RequestMeta,
        email: &str,
        name: &str,
        password: &SecretString,
        role: Option<UserRole>,
    ) -> Result<User> {
        access::admin(caller)?;
        self.insert_user(Some(caller), meta, email, name, password, role.unwrap_or(UserRole::User)).await
    }

    pub async fn get_user(&self, caller: &Caller, id: &str) -> Result<User> {
        let id = domain::parse_id("id", id)?;
        let mut conn = self.conn().await?;
        users::get_visible(&mut conn, caller.user_id, caller.is_admin(), &[id])
            .await?
            .pop()
            .ok_or(Error::not_found("user"))
    }

    pub async fn batch_get_users(&self, caller: &Caller, ids: &[String]) -> Result<Vec<User>> {
        let ids = parse_ids(ids)?;
        let mut conn = self.conn().await?;
        users::get_visible(&mut conn, caller.user_id, caller.is_admin(), &ids).await
    }

    pub async fn list_users(&self, caller: &Caller, params: ListParams<'_>) -> Result<Page<User>> {
        let mut conn = self.conn().await?;
        users::list(&mut conn, caller.user_id, caller.is_admin(), params).await
    }

    /// Users change their own name; admins change anything. Disabling takes effect at the
    /// user's next request (authentication reads the status every time).
    pub async fn update_user(
        &self,
        caller: &Caller,
        meta: &RequestMeta,
        id: &str,
        patch: UserPatch,
        expected: Option<i64>,
    ) -> Result<User> {
        let id = domain::parse_id("user.id", id)?;
        let visible = self.get_user(caller, &id.to_string()).await?;
        if !caller.is_admin() {
            if visible.id != caller.user_id {
                return Err(Error::permission_denied("only admins may change other users"));
            }
            let role_change = patch.role.is_some_and(|r| r != visible.role);
            let status_change = patch.status.is_some_and(|s| s != visible.status);
            let email_change = patch.email.as_deref().is_some_and(|e| !e.eq_ignore_ascii_case(&visible.email));
            if role_change || status_change || email_change || patch.password.is_some() {
                return Err(Error::permission_denied(
                    "users may change their name; use ChangePassword for the password",
                ));
            }
        }
        let mut v = Violations::new();
        let email = patch.email.as_deref().and_then(|e| v.check(domain::email("user.email", e)));
        let name = patch.name.as_deref().and_then(|n| v.check(domain::name("user.name", n)));
        let password = patch.password.as_ref().and_then(|p| v.check(domain::password("password", p)));
        v.finish()?;
        let hash = match password {
            Some(p) => Some(security::hash_password(p).await?),
            None => None,
        };

        let mut tx = self.begin().await?;
        let before = users::get_for_update(&mut tx, id).await?.ok_or(Error::not_found("user"))?;
        domain::check_version("user", expected, before.version)?;
        let mut after = before.clone();
        if let Some(e) = email {
            after.email = e;
        }
        if let Some(n) = name {
            after.name = n;
        }
        if let Some(r) = patch.role {
            after.role = r;
        }
        if let Some(s) = patch.status {
            after.status = s;
        }
        let loses_admin = before.role == UserRole::Admin
            && before.status == UserStatus::Active
            && (after.role != UserRole::Admin || after.status != UserStatus::Active);
        if loses_admin && users::other_active_admins(&mut tx, id).await? == 0 {
            return Err(Error::failed_precondition(
                Reason::LastAdmin,
                "the platform must keep at least one active admin",
            ));
        }
        let user = users::update(&mut tx, &after, hash.as_deref()).await?;
        if hash.is_some() && id != caller.user_id {
            // An admin reset: whoever held the old password must sign in again.
            tokens::revoke_user_sessions(&mut tx, id, None).await?;
        }
        let event_type = if before.status == UserStatus::Active && user.status == UserStatus::Disabled {
            "user.disabled"
        } else {
            "user.updated"
        };
        events::record(&mut tx, user_event(event_type, caller.user_id, &user, meta)).await?;
        let generations = Core::user_generations(&mut tx, id).await?;
        self.commit(tx).await?;
        self.cache.bump(&generations).await;
        Ok(user)
    }
}

pub(crate) fn parse_ids(ids: &[String]) -> Result<Vec<Uuid>> {
    const MAX: usize = 1000;
    if ids.len() > MAX {
        return Err(Error::invalid("ids", format!("at most {MAX} ids per call")));
    }
    ids.iter().enumerate().map(|(i, s)| domain::parse_id(&format!("ids[{i}]"), s)).collect()
}
