//! Webhooks of a project and their delivery log. Managing webhooks is an owner's job
//! (docs/PRODUCT.md §4 "Permissions"): viewers and editors get PERMISSION_DENIED, non-members
//! NOT_FOUND.

use chrono::Utc;
use rand::Rng;
use uuid::Uuid;

use super::{
    Core,
    access::{self, Need},
};
use crate::{
    domain::{self, Caller, RequestMeta, Violations, Webhook, WebhookDelivery, channel},
    error::{Error, Result},
    events::{self, NewEvent},
    list::{ListParams, Page},
    store::{projects::Lock, webhooks},
};

/// What a create or update may set; None leaves a field as it is (update) or defaulted (create).
#[derive(Debug, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub active: Option<bool>,
    pub description: Option<String>,
    /// Some("") on create: generate one.
    pub secret: Option<String>,
}

fn webhook_event<'a>(
    event_type: &'static str,
    actor: &Caller,
    w: &Webhook,
    before: Option<&Webhook>,
    meta: &'a RequestMeta,
) -> NewEvent<'a> {
    let mut payload = events::payload(w);
    if let (Some(before), Some(obj)) = (before, payload.as_object_mut()) {
        obj.insert("before".into(), events::payload(before));
    }
    NewEvent {
        event_type,
        channels: vec![channel::project(w.project_id)],
        actor_id: Some(actor.user_id),
        resource_type: "webhook",
        resource_id: w.id.to_string(),
        payload,
        meta,
    }
}

fn generate_secret() -> String {
    let bytes: [u8; 24] = rand::rng().random();
    format!("whsec_{}", hex::encode(bytes))
}

/// Hides a webhook of a project the caller may not see behind "webhook not found".
fn hide_as_webhook(e: Error) -> Error {
    match e {
        Error::NotFound { .. } => Error::not_found("webhook"),
        other => other,
    }
}

impl Core {
    pub async fn create_webhook(
        &self,
        caller: &Caller,
        meta: &RequestMeta,
        project_id: &str,
        patch: WebhookPatch,
    ) -> Result<Webhook> {
        let project_id = domain::parse_id("project_id", project_id)?;
        let mut v = Violations::new();
        let url = match patch.url.as_deref() {
            Some(u) => v.check(domain::webhook_url("webhook.url", u, self.webhook_allow_private)),
            None => {
                v.push("webhook.url", "is required");
                None
            }
        };
        let event_types =
            v.check(domain::event_type_globs("webhook.event_types", &patch.event_types.unwrap_or_default()));
        let description =
            v.check(domain::description("webhook.description", patch.description.as_deref().unwrap_or_default()));
        let secret = match patch.secret.as_deref() {
            None | Some("") => Some(generate_secret()),
            Some(s) => v.check(domain::webhook_secret("webhook.secret", s)),
        };
        v.finish()?;
        let mut tx = self.begin().await?;
        let project = access::project(&mut tx, caller, Some(project_id), None, Need::Manage, Lock::Share).await?;
        access::writable(&project.project)?;
        let now = Utc::now();
        let draft = Webhook {
            id: domain::new_id(),
            project_id,
            url: url.unwrap_or_default(),
            secret: secret.unwrap_or_default().into(),
            event_types: event_types.unwrap_or_default(),
            active: patch.active.unwrap_or(true),
            description: description.unwrap_or_default(),
            created_by: Some(caller.user_id),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let hook = webhooks::insert(&mut tx, &draft).await?;
        events::record(&mut tx, webhook_event("webhook.created", caller, &hook, None, meta)).await?;
        self.commit(tx).await?;
        Ok(hook)
    }

    /// The webhook, if the caller manages its project.
    async fn managed_webhook(
        &self,
        conn: &mut sqlx::PgConnection,
        caller: &Caller,
        id: Uuid,
        lock: bool,
    ) -> Result<Webhook> {
        let hook = webhooks::get(conn, id, lock).await?.ok_or(Error::not_found("webhook"))?;
        let lock = if lock { Lock::Share } else { Lock::None };
        access::project(conn, caller, Some(hook.project_id), None, Need::Manage, lock)
            .await
            .map_err(hide_as_webhook)?;
        Ok(hook)
    }

    pub async fn get_webhook(&self, caller: &Caller, id: &str) -> Result<Webhook> {
        let id = domain::parse_id("id", id)?;
        let mut conn = self.conn().await?;
        self.managed_webhook(&mut conn, caller, id, false).await
    }

    pub async fn list_webhooks(
        &self,
        caller: &Caller,
        project_id: &str,
        params: ListParams<'_>,
    ) -> Result<Page<Webhook>> {
        let project_id = domain::parse_optional_id("project_id", project_id)?;
        let mut conn = self.conn().await?;
        if let Some(p) = project_id {
            access::project(&mut conn, caller, Some(p), None, Need::Manage, Lock::None).await?;
        }
        webhooks::list(&mut conn, caller.user_id, caller.is_admin(), project_id, params).await
    }

    /// Applies `patch` (fields named by the update mask). Returns the webhook, with its secret
    /// when the secret changed.
    pub async fn update_webhook(
        &self,
        caller: &Caller,
        meta: &RequestMeta,
        id: &str,
        patch: WebhookPatch,
        expected: Option<i64>,
    ) -> Result<(Webhook, bool)> {
        let id = domain::parse_id("webhook.id", id)?;
        let mut v = Violations::new();
        let url = patch
            .url
            .as_deref()
            .and_then(|u| v.check(domain::webhook_url("webhook.url", u, self.webhook_allow_private)));
        let event_types =
            patch.event_types.as_deref().and_then(|t| v.check(domain::event_type_globs("webhook.event_types", t)));
        let description =
            patch.description.as_deref().and_then(|d| v.check(domain::description("webhook.description", d)));
        let secret = match patch.secret.as_deref() {
            None => None,
            Some("") => Some(generate_secret()),
            Some(s) => v.check(domain::webhook_secret("webhook.secret", s)),
        };
        v.finish()?;
        let mut tx = self.begin().await?;
        let before = self.managed_webhook(&mut tx, caller, id, true).await?;
        domain::check_version("webhook", expected, before.version)?;
        let mut after = before.clone();
        if let Some(u) = url {
            after.url = u;
        }
        if let Some(t) = event_types {
            after.event_types = t;
        }
        if let Some(a) = patch.active {
            after.active = a;
        }
        if let Some(d) = description {
            after.description = d;
        }
        let secret_changed = secret.is_some();
        if let Some(s) = secret {
            after.secret = s.into();
        }
        let hook = webhooks::update(&mut tx, &after).await?;
        events::record(&mut tx, webhook_event("webhook.updated", caller, &hook, Some(&before), meta)).await?;
        self.commit(tx).await?;
        Ok((hook, secret_changed))
    }

    pub async fn delete_webhook(
        &self,
        caller: &Caller,
        meta: &RequestMeta,
        id: &str,
        expected: Option<i64>,
    ) -> Result<Webhook> {
        let id = domain::parse_id("id", id)?;
        let mut tx = self.begin().await?;
        let before = self.managed_webhook(&mut tx, caller, id, true).await?;
        domain::check_version("webhook", expected, before.version)?;
        webhooks::delete(&mut tx, id).await?;
        events::record(&mut tx, webhook_event("webhook.deleted", caller, &before, None, meta)).await?;
        self.commit(tx).await?;
        Ok(before)
    }

    pub async fn list_webhook_deliveries(
        &self,
        caller: &Caller,
        webhook_id: &str,
        params: ListParams<'_>,
    ) -> Result<Page<WebhookDelivery>> {
        let webhook_id = domain::parse_optional_id("webhook_id", webhook_id)?;
        let mut conn = self.conn().await?;
        if let Some(w) = webhook_id {
            self.managed_webhook(&mut conn, caller, w, false).await?;
        }
        webhooks::list_deliveries(&mut conn, caller.user_id, caller.is_admin(), webhook_id, params).await
    }

    pub async fn get_webhook_delivery(&self, caller: &Caller, id: &str) -> Result<WebhookDelivery> {
        let id = domain::parse_id("id", id)?;
        let mut conn = self.conn().await?;
        let d = webhooks::get_delivery(&mut conn, id).await?.ok_or(Error::not_found("webhook_delivery"))?;
        access::project(&mut conn, caller, Some(d.project_id), None, Need::Manage, Lock::None).await.map_err(|e| {
            match e {
                Error::NotFound { .. } => Error::not_found("webhook_delivery"),
                other => other,
            }
        })?;
        Ok(d)
    }
}
