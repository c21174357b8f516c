//! `/webhooks` and `/webhook-deliveries` (read-only): WebhookService. Owners of a project manage
//! its webhooks; core-svc decides who may.

use poem::Request;
use poem_openapi::{
    Enum, Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};
use proto::v1::{self as pb, webhook_service_client::WebhookServiceClient};

use super::{BearerAuth, CreatedResponse, Ctx, ListResponse, OneResponse, Tag, expected_etag, time};
use crate::types::{Id, Secret, Text};
use crate::{list::ListSpec, problem::ApiError};

pub const SPEC: ListSpec = ListSpec {
    resource: "webhooks",
    filters: &[("id", "id"), ("project_id", "project_id"), ("active", "active"), ("url", "url")],
    sorts: &[("id", "create_time"), ("url", "url"), ("created_at", "create_time"), ("updated_at", "update_time")],
    // A getMany names webhooks, not their project, which ListWebhooks needs for non-admins.
    ids_by_get: true,
};

pub const DELIVERY_SPEC: ListSpec = ListSpec {
    resource: "webhook-deliveries",
    filters: &[
        ("id", "id"),
        ("webhook_id", "webhook_id"),
        ("project_id", "project_id"),
        ("status", "status"),
        ("event_type", "event_type"),
        ("event_id", "event_id"),
    ],
    sorts: &[("id", "create_time"), ("created_at", "create_time"), ("updated_at", "update_time")],
    ids_by_get: false,
};

/// A project's webhook (its secret only in the answers that set it).
#[derive(Debug, Clone, Object)]
// Unset timestamps are left out rather than null: the schema says string.
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct Webhook {
    #[oai(read_only)]
    pub id: String,
    pub project_id: String,
    /// `http` or `https` URL that receives `POST`s.
    pub url: String,
    /// Globs over event types: `config.*`, `member.added`, `*`.
    pub event_types: Vec<String>,
    /// Inactive webhooks receive nothing.
    pub active: bool,
    pub description: String,
    /// The HMAC key of `X-Platform-Signature`: in the answer to create, and to an update that
    /// changed it; never readable afterwards.
    pub secret: Option<Secret>,
    #[oai(read_only)]
    pub created_at: Option<String>,
    #[oai(read_only)]
    pub updated_at: Option<String>,
    /// Starts at 1, +1 per change. Send it back on update as the expected version.
    pub version: i64,
    #[oai(read_only)]
    pub etag: String,
    #[oai(read_only)]
    pub created_by: String,
}

impl From<pb::Webhook> for Webhook {
    fn from(w: pb::Webhook) -> Self {
        Self {
            secret: Some(w.secret).filter(|s| !s.is_empty()).map(Secret::from),
            created_at: time(w.create_time.as_ref()),
            updated_at: time(w.update_time.as_ref()),
            id: w.id,
            project_id: w.project_id,
            url: w.url,
            event_types: w.event_types,
            active: w.active,
            description: w.description,
            version: w.version,
            etag: w.etag,
            created_by: w.created_by,
        }
    }
}

/// `POST /webhooks`: `project_id`, `url` and `event_types` are required. A new webhook is
/// active (deactivate it with `PUT`); without `secret`, core-svc generates one. The answer shows
/// the secret, once. Other fields (e.g. the rest of a React Admin record) are ignored.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct WebhookCreateInput {
    #[oai(nullable)]
    pub project_id: Option<Id>,
    #[oai(nullable)]
    pub url: Option<Text>,
    #[oai(nullable, validator(max_items = 100))]
    pub event_types: Option<Vec<Text>>,
    #[oai(nullable)]
    pub description: Option<Text>,
    #[oai(nullable)]
    pub secret: Option<Secret>,
}

/// `PUT /webhooks/{id}` (the whole record as React Admin sends it): `url`, `event_types`,
/// `active`, `description` and `secret` are applied when present (an empty `secret`: generate a
/// new one), `version` is the expected version, everything else is ignored.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct WebhookInput {
    #[oai(nullable)]
    pub url: Option<Text>,
    #[oai(nullable, validator(max_items = 100))]
    pub event_types: Option<Vec<Text>>,
    #[oai(nullable)]
    pub active: Option<bool>,
    #[oai(nullable)]
    pub description: Option<Text>,
    #[oai(nullable)]
    pub secret: Option<Secret>,
    #[oai(nullable, validator(minimum(value = "0")))]
    pub version: Option<i64>,
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, Enum, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not delivered yet; attempts are scheduled.
    Pending,
    Delivered,
    /// Every attempt failed (retry its task with `POST /tasks/{task_id}/retry`).
    Dead,
}

/// One event sent (or being sent) to one webhook.
#[derive(Debug, Clone, Object)]
// Unset timestamps are left out rather than null: the schema says string.
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct WebhookDelivery {
    pub id: String,
    pub webhook_id: String,
    pub project_id: String,
    /// The event delivered.
    pub event_id: String,
    pub event_seq: i64,
    pub event_type: String,
    pub status: Option<DeliveryStatus>,
    pub attempts: i32,
    /// HTTP status of the last attempt (0: no answer).
    pub response_status: i32,
    /// Start of the last answer's body (at most 1 KiB).
    pub response_body: String,
    pub last_error: String,
    /// Duration of the last attempt.
    pub duration_ms: i64,
    /// The task that delivers it.
    pub task_id: String,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    /// When it was delivered.
    pub delivered_at: Option<String>,
}

impl From<pb::WebhookDelivery> for WebhookDelivery {
    fn from(d: pb::WebhookDelivery) -> Self {
        Self {
            status: match pb::DeliveryStatus::try_from(d.status) {
                Ok(pb::DeliveryStatus::Pending) => Some(DeliveryStatus::Pending),
                Ok(pb::DeliveryStatus::Delivered) => Some(DeliveryStatus::Delivered),
                Ok(pb::DeliveryStatus::Dead) => Some(DeliveryStatus::Dead),
                _ => None,
            },
            created_at: time(d.create_time.as_ref()),
            updated_at: time(d.update_time.as_ref()),
            delivered_at: time(d.deliver_time.as_ref()),
            id: d.id,
            webhook_id: d.webhook_id,
            project_id: d.project_id,
            event_id: d.event_id,
            event_seq: d.event_seq,
            event_type: d.event_type,
            attempts: d.attempts,
            response_status: d.response_status,
            response_body: d.response_body,
            last_error: d.last_error,
            duration_ms: d.duration_ms,
            task_id: d.task_id,
        }
    }
}

fn client(core: &super::Core) -> WebhookServiceClient<tonic::transport::Channel> {
    WebhookServiceClient::new(core.0.channel())
}

fn one(ctx: &Ctx, w: Option<pb::Webhook>) -> Result<Webhook, ApiError> {
    w.map(Webhook::from).ok_or_else(|| ctx.missing("webhook"))
}

fn with_etag(w: Webhook) -> OneResponse<Webhook> {
    let etag = Some(w.etag.clone());
    OneResponse::new(w, etag)
}

fn texts(v: Option<Vec<Text>>) -> Vec<String> {
    v.unwrap_or_default().into_iter().map(String::from).collect()
}

pub struct WebhooksApi(pub super::Core);

#[OpenApi(tag = "Tag::Webhooks")]
impl WebhooksApi {
    /// List webhooks
    ///
    /// The webhooks of a project (owners; every project's for admins): non-admins filter by
    /// `project_id`. Filters: `id` (alone: getMany), `project_id`, `active`, `url`. Sort: `id`,
    /// `url`, `created_at`, `updated_at`.
    #[oai(path = "/webhooks", method = "get", operation_id = "listWebhooks")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        req: &Request,
        auth: BearerAuth,
        /// JSON object of field filters; a list matches any of its values.
        filter: Query<Option<String>>,
        /// `[start, end]`, inclusive, at most 1000 records.
        #[oai(validator(
            pattern = r#"^([ \t\n\r]*|[ \t\n\r]*\[[ \t\n\r]*[0-9]{1,10}[ \t\n\r]*,[ \t\n\r]*[0-9]{1,10}[ \t\n\r]*\][ \t\n\r]*)$"#
        ))]
        range: Query<Option<String>>,
        /// `[field, "ASC"|"DESC"]`.
        #[oai(validator(
            pattern = r#"^([ \t\n\r]*|[ \t\n\r]*\[[ \t\n\r]*"(id|url|created_at|updated_at)"([ \t\n\r]*,[ \t\n\r]*"([aA][sS][cC]|[dD][eE][sS][cC])")?[ \t\n\r]*\][ \t\n\r]*)$"#
        ))]
        sort: Query<Option<String>>,
        /// json-server: first index (inclusive).
        #[oai(name = "_start", validator(maximum(value = "1000000")))]
        start: Query<Option<u32>>,
        /// json-server: last index (exclusive).
        #[oai(name = "_end", validator(maximum(value = "1001000")))]
        end: Query<Option<u32>>,
        /// json-server: sort field.
        #[oai(name = "_sort")]
        sort_field: Query<Option<String>>,
        /// json-server: `asc` or `desc`.
        #[oai(name = "_order")]
        order: Query<Option<String>>,
    ) -> Result<ListResponse<Webhook>, ApiError> {
        let _ = (filter, range, sort, start, end, sort_field, order);
        let ctx = Ctx::new(req, Some(&auth))?;
        let plan = ctx.plan(req, &SPEC)?;
        if plan.matches_nothing {
            return Ok(ListResponse::new(&SPEC, &plan, vec![], 0));
        }
        if let Some(ids) = &plan.ids {
            let mut found = Vec::new();
            for id in ids {
                match client(&self.0).get_webhook(ctx.req(pb::GetWebhookRequest { id: id.clone() })).await {
                    Ok(r) => found.extend(r.into_inner().webhook.map(Webhook::from)),
                    // getMany leaves out what is missing or invisible, like BatchGet does.
                    Err(s) if s.code() == tonic::Code::NotFound => {}
                    Err(s) => return Err(ctx.fail(s)),
                }
            }
            let total = found.len() as i32;
            return Ok(ListResponse::new(&SPEC, &plan, found, total));
        }
        let r = client(&self.0)
            .list_webhooks(ctx.req(pb::ListWebhooksRequest {
                // ListWebhooks names the project in a field of its own (required for non-admins).
                project_id: plan.equal("project_id").unwrap_or_default().to_string(),
                page_size: plan.page_size,
                filter: plan.filter.clone(),
                order_by: plan.order_by.clone(),
                skip: plan.skip,
                ..Default::default()
            }))
            .await
            .map_err(|s| ctx.fail(s))?
            .into_inner();
        Ok(ListResponse::new(&SPEC, &plan, r.webhooks.into_iter().map(Webhook::from).collect(), r.total_size))
    }

    /// Get a webhook
    ///
    /// Without its secret.
    #[oai(path = "/webhooks/:id", method = "get", operation_id = "getWebhook")]
    async fn get(&self, req: &Request, auth: BearerAuth, id: Path<Id>) -> Result<OneResponse<Webhook>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let r = client(&self.0)
            .get_webhook(ctx.req(pb::GetWebhookRequest { id: id.0.into_string() }))
            .await
            .map_err(|s| ctx.fail(s))?;
        Ok(with_etag(one(&ctx, r.into_inner().webhook)?))
    }

    /// Register a webhook
    ///
    /// Owners only. Every event of the project whose type matches `event_types` is POSTed to
    /// `url`, signed with the secret, which this answer shows once. New webhooks are active.
    #[oai(path = "/webhooks", method = "post", operation_id = "createWebhook")]
    async fn create(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: Json<WebhookCreateInput>,
    ) -> Result<CreatedResponse<Webhook>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let b = body.0;
        let r = client(&self.0)
            .create_webhook(ctx.req(pb::CreateWebhookRequest {
                project_id: b.project_id.map(String::from).unwrap_or_default(),
                webhook: Some(pb::Webhook {
                    url: b.url.map(String::from).unwrap_or_default(),
                    event_types: texts(b.event_types),
                    description: b.description.map(String::from).unwrap_or_default(),
                    secret: b.secret.map(|s| s.expose().to_string()).unwrap_or_default(),
                    ..Default::default()
                }),
            }))
            .await
            .map_err(|s| ctx.fail(s))?;
        let w = one(&ctx, r.into_inner().webhook)?;
        let etag = Some(w.etag.clone());
        Ok(CreatedResponse::new(w, etag))
    }

    /// Update a webhook
    ///
    /// Owners only. Applies the fields present; `version` (or `If-Match`) must be the current
    /// version. A new `secret` is shown in this answer, once.
    #[oai(path = "/webhooks/:id", method = "put", operation_id = "updateWebhook")]
    async fn update(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<Id>,
        /// Expected etag; takes precedence over the body's `version`.
        #[oai(name = "If-Match", validator(pattern = r#"^\s*(\*|(W/)?("\+?[0-9]{1,18}"|\+?[0-9]{1,18}))?\s*$"#))]
        if_match: Header<Option<String>>,
        body: Json<WebhookInput>,
    ) -> Result<OneResponse<Webhook>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let b = body.0;
        let etag = expected_etag(&ctx, if_match.0.as_deref(), b.version)?;
        let mut paths = Vec::new();
        for (name, present) in [
            ("url", b.url.is_some()),
            ("event_types", b.event_types.is_some()),
            ("active", b.active.is_some()),
            ("description", b.description.is_some()),
            ("secret", b.secret.is_some()),
        ] {
            if present {
                paths.push(name.to_string());
            }
        }
        if paths.is_empty() {
            return Err(ApiError::invalid("body", "nothing to update", ctx.id()));
        }
        let r = client(&self.0)
            .update_webhook(ctx.req(pb::UpdateWebhookRequest {
                webhook: Some(pb::Webhook {
                    id: id.0.into_string(),
                    url: b.url.map(String::from).unwrap_or_default(),
                    event_types: texts(b.event_types),
                    active: b.active.unwrap_or_default(),
                    description: b.description.map(String::from).unwrap_or_default(),
                    secret: b.secret.map(|s| s.expose().to_string()).unwrap_or_default(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask { paths }),
                etag,
            }))
            .await
            .map_err(|s| ctx.fail(s))?;
        Ok(with_etag(one(&ctx, r.into_inner().webhook)?))
    }

    /// Delete a webhook
    ///
    /// Owners only; its delivery log goes with it. Answers with the webhook as it was.
    /// `If-Match` makes it conditional.
    #[oai(path = "/webhooks/:id", method = "delete", operation_id = "deleteWebhook")]
    async fn delete(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<Id>,
        /// Expected etag.
        #[oai(name = "If-Match", validator(pattern = r#"^\s*(\*|(W/)?("\+?[0-9]{1,18}"|\+?[0-9]{1,18}))?\s*$"#))]
        if_match: Header<Option<String>>,
    ) -> Result<OneResponse<Webhook>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let etag = expected_etag(&ctx, if_match.0.as_deref(), None)?;
        let r = client(&self.0)
            .delete_webhook(ctx.req(pb::DeleteWebhookRequest { id: id.0.into_string(), etag }))
            .await
            .map_err(|s| ctx.fail(s))?;
        Ok(OneResponse::new(one(&ctx, r.into_inner().webhook)?, None))
    }
}

pub struct DeliveriesApi(pub super::Core);

#[OpenApi(tag = "Tag::WebhookDeliveries")]
impl DeliveriesApi {
    /// List webhook deliveries
    ///
    /// The delivery log of the webhooks the caller manages, newest first. Filters: `id`,
    /// `webhook_id`, `project_id`, `status`, `event_type`, `event_id`. Sort: `id`
    /// (= `created_at`), `created_at`, `updated_at`.
    #[oai(path = "/webhook-deliveries", method = "get", operation_id = "listWebhookDeliveries")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        req: &Request,
        auth: BearerAuth,
        /// JSON object of field filters; a list matches any of its values.
        filter: Query<Option<String>>,
        /// `[start, end]`, inclusive, at most 1000 records.
        #[oai(validator(
            pattern = r#"^([ \t\n\r]*|[ \t\n\r]*\[[ \t\n\r]*[0-9]{1,10}[ \t\n\r]*,[ \t\n\r]*[0-9]{1,10}[ \t\n\r]*\][ \t\n\r]*)$"#
        ))]
        range: Query<Option<String>>,
        /// `[field, "ASC"|"DESC"]`.
        #[oai(validator(
            pattern = r#"^([ \t\n\r]*|[ \t\n\r]*\[[ \t\n\r]*"(id|created_at|updated_at)"([ \t\n\r]*,[ \t\n\r]*"([aA][sS][cC]|[dD][eE][sS][cC])")?[ \t\n\r]*\][ \t\n\r]*)$"#
        ))]
        sort: Query<Option<String>>,
        /// json-server: first index (inclusive).
        #[oai(name = "_start", validator(maximum(value = "1000000")))]
        start: Query<Option<u32>>,
        /// json-server: last index (exclusive).
        #[oai(name = "_end", validator(maximum(value = "1001000")))]
        end: Query<Option<u32>>,
        /// json-server: sort field.
        #[oai(name = "_sort")]
        sort_field: Query<Option<String>>,
        /// json-server: `asc` or `desc`.
        #[oai(name = "_order")]
        order: Query<Option<String>>,
    ) -> Result<ListResponse<WebhookDelivery>, ApiError> {
        let _ = (filter, range, sort, start, end, sort_field, order);
        let ctx = Ctx::new(req, Some(&auth))?;
        let plan = ctx.plan(req, &DELIVERY_SPEC)?;
        if plan.matches_nothing {
            return Ok(ListResponse::new(&DELIVERY_SPEC, &plan, vec![], 0));
        }
        let r = client(&self.0)
            .list_webhook_deliveries(ctx.req(pb::ListWebhookDeliveriesRequest {
                page_size: plan.page_size,
                filter: plan.filter.clone(),
                order_by: plan.order_by.clone(),
                skip: plan.skip,
                ..Default::default()
            }))
            .await
            .map_err(|s| ctx.fail(s))?
            .into_inner();
        let items = r.deliveries.into_iter().map(WebhookDelivery::from).collect();
        Ok(ListResponse::new(&DELIVERY_SPEC, &plan, items, r.total_size))
    }

    /// Get a webhook delivery
    #[oai(path = "/webhook-deliveries/:id", method = "get", operation_id = "getWebhookDelivery")]
    async fn get(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<Id>,
    ) -> Result<OneResponse<WebhookDelivery>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let r = client(&self.0)
            .get_webhook_delivery(ctx.req(pb::GetWebhookDeliveryRequest { id: id.0.into_string() }))
            .await
            .map_err(|s| ctx.fail(s))?;
        let d = r.into_inner().delivery.map(WebhookDelivery::from).ok_or_else(|| ctx.missing("delivery"))?;
        Ok(OneResponse::new(d, None))
    }
}
