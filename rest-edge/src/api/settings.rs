//! `/settings`: SettingService. Records are addressed by id; `GET /settings/{key}` works too.

use poem::Request;
use poem_openapi::{
    Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};
use proto::v1::{self as pb, setting_service_client::SettingServiceClient};
use serde_json::Value;

use super::{
    BearerAuth, CreatedResponse, Ctx, ListResponse, MERGE_RETRIES, OneResponse, Tag, expected_etag, time, to_json,
    to_proto,
};
use crate::types::Text;
use crate::{list::ListSpec, problem::ApiError};

pub const SPEC: ListSpec = ListSpec {
    resource: "settings",
    filters: &[("id", "id"), ("key", "key")],
    sorts: &[("id", "create_time"), ("key", "key"), ("created_at", "create_time"), ("updated_at", "update_time")],
    ids_by_get: false,
};

/// A system-wide setting, e.g. `auth.signup_enabled`, `events.retention_days`.
#[derive(Debug, Clone, Object)]
// Unset timestamps are left out rather than null: the schema says string.
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct Setting {
    #[oai(read_only)]
    pub id: String,
    pub key: String,
    /// Any JSON value; known keys are validated.
    pub value: Value,
    pub description: String,
    pub version: i64,
    #[oai(read_only)]
    pub etag: String,
    #[oai(read_only)]
    pub created_at: Option<String>,
    #[oai(read_only)]
    pub updated_at: Option<String>,
    #[oai(read_only)]
    pub updated_by: String,
}

impl From<pb::Setting> for Setting {
    fn from(s: pb::Setting) -> Self {
        Self {
            value: to_json(s.value.as_ref()),
            created_at: time(s.create_time.as_ref()),
            updated_at: time(s.update_time.as_ref()),
            id: s.id,
            key: s.key,
            description: s.description,
            version: s.version,
            etag: s.etag,
            updated_by: s.updated_by,
        }
    }
}

/// Create: `key`, `value`. Update (PUT): `value` and `description`; `version` is the expected
/// version.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct SettingInput {
    #[oai(nullable)]
    pub key: Option<Text>,
    #[oai(nullable)]
    pub value: Option<Value>,
    #[oai(nullable)]
    pub description: Option<Text>,
    #[oai(nullable, validator(minimum(value = "0")))]
    pub version: Option<i64>,
}

pub struct SettingsApi(pub super::Core);

impl SettingsApi {
    fn client(&self) -> SettingServiceClient<tonic::transport::Channel> {
        SettingServiceClient::new(self.0.0.channel())
    }

    async fn fetch(&self, ctx: &Ctx, id_or_key: String) -> Result<pb::Setting, ApiError> {
        self.client()
            .get_setting(ctx.req(pb::GetSettingRequest { key: id_or_key }))
            .await
            .map_err(|s| ctx.fail(s))?
            .into_inner()
            .setting
            .ok_or_else(|| ctx.missing("setting"))
    }
}

fn one(s: Setting) -> OneResponse<Setting> {
    let etag = Some(s.etag.clone());
    OneResponse::new(s, etag)
}

#[OpenApi(tag = "Tag::Settings")]
impl SettingsApi {
    /// List settings
    ///
    /// Any authenticated user. Filters: `q`, `id`, `key`. Sort: `id`, `key`, `created_at`,
    /// `updated_at`.
    #[oai(path = "/settings", method = "get", operation_id = "listSettings")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        req: &Request,
        auth: BearerAuth,
        /// JSON object of field filters; `q` is free text; a list matches any of its values.
        filter: Query<Option<String>>,
        /// `[start, end]`, inclusive, at most 1000 records.
        #[oai(validator(
            pattern = r#"^([ \t\n\r]*|[ \t\n\r]*\[[ \t\n\r]*[0-9]{1,10}[ \t\n\r]*,[ \t\n\r]*[0-9]{1,10}[ \t\n\r]*\][ \t\n\r]*)$"#
        ))]
        range: Query<Option<String>>,
        /// `[field, "ASC"|"DESC"]`.
        #[oai(validator(
            pattern = r#"^([ \t\n\r]*|[ \t\n\r]*\[[ \t\n\r]*"(id|key|created_at|updated_at)"([ \t\n\r]*,[ \t\n\r]*"([aA][sS][cC]|[dD][eE][sS][cC])")?[ \t\n\r]*\][ \t\n\r]*)$"#
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
    ) -> Result<ListResponse<Setting>, ApiError> {
        let _ = (filter, range, sort, start, end, sort_field, order);
        let ctx = Ctx::new(req, Some(&auth))?;
        let plan = ctx.plan(req, &SPEC)?;
        if plan.matches_nothing {
            return Ok(ListResponse::new(&SPEC, &plan, vec![], 0));
        }
        let r = self
            .client()
            .list_settings(ctx.req(pb::ListSettingsRequest {
                page_size: plan.page_size,
                filter: plan.filter.clone(),
                order_by: plan.order_by.clone(),
                skip: plan.skip,
                ..Default::default()
            }))
            .await
            .map_err(|s| ctx.fail(s))?
            .into_inner();
        Ok(ListResponse::new(&SPEC, &plan, r.settings.into_iter().map(Setting::from).collect(), r.total_size))
    }

    /// Get a setting
    ///
    /// By id or by key.
    #[oai(path = "/settings/:id", method = "get", operation_id = "getSetting")]
    async fn get(&self, req: &Request, auth: BearerAuth, id: Path<String>) -> Result<OneResponse<Setting>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        Ok(one(self.fetch(&ctx, id.0).await?.into()))
    }

    /// Create a setting
    ///
    /// Admins only. 409 when the key exists.
    #[oai(path = "/settings", method = "post", operation_id = "createSetting")]
    async fn create(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: Json<SettingInput>,
    ) -> Result<CreatedResponse<Setting>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let b = body.0;
        let r = self
            .client()
            .set_setting(ctx.req(pb::SetSettingRequest {
                key: b.key.map(String::from).unwrap_or_default(),
                value: Some(to_proto(&b.value.unwrap_or(Value::Null))),
                description: b.description.map(String::from).unwrap_or_default(),
                etag: proto::etag::format(0),
            }))
            .await
            .map_err(|s| ctx.fail(s))?;
        let s = r.into_inner().setting.map(Setting::from).ok_or_else(|| ctx.missing("setting"))?;
        let etag = Some(s.etag.clone());
        Ok(CreatedResponse::new(s, etag))
    }

    /// Update a setting
    ///
    /// Admins only. `version` (or `If-Match`) must be the current version. A field left out keeps
    /// its current value; without a precondition the fields sent are written over whatever
    /// version is current, as for configs.
    #[oai(path = "/settings/:id", method = "put", operation_id = "updateSetting")]
    async fn update(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<String>,
        /// Expected etag; takes precedence over the body's `version`.
        #[oai(name = "If-Match", validator(pattern = r#"^\s*(\*|(W/)?("\+?[0-9]{1,18}"|\+?[0-9]{1,18}))?\s*$"#))]
        if_match: Header<Option<String>>,
        body: Json<SettingInput>,
    ) -> Result<OneResponse<Setting>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let b = body.0;
        // As for configs: the client's precondition, or a compare-and-swap on the version read.
        let precondition = expected_etag(&ctx, if_match.0.as_deref(), b.version)?;
        let value = b.value.as_ref().map(to_proto);
        let mut retries = 0;
        let r = loop {
            let current = self.fetch(&ctx, id.0.clone()).await?;
            let etag = if precondition.is_empty() { current.etag } else { precondition.clone() };
            let written = self
                .client()
                .set_setting(ctx.req(pb::SetSettingRequest {
                    value: value.clone().or(current.value),
                    description: b.description.as_deref().map_or(current.description, str::to_string),
                    key: current.key,
                    etag,
                }))
                .await;
            match written {
                Err(s) if precondition.is_empty() && s.code() == tonic::Code::Aborted && retries < MERGE_RETRIES => {
                    retries += 1;
                    super::merge_backoff(retries).await;
                }
                r => break r.map_err(|s| ctx.fail(s))?,
            }
        };
        Ok(one(r.into_inner().setting.map(Setting::from).ok_or_else(|| ctx.missing("setting"))?))
    }

    /// Delete a setting
    ///
    /// Admins only. Answers with the setting as it was.
    #[oai(path = "/settings/:id", method = "delete", operation_id = "deleteSetting")]
    async fn delete(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<String>,
        /// Expected etag.
        #[oai(name = "If-Match", validator(pattern = r#"^\s*(\*|(W/)?("\+?[0-9]{1,18}"|\+?[0-9]{1,18}))?\s*$"#))]
        if_match: Header<Option<String>>,
    ) -> Result<OneResponse<Setting>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let etag = expected_etag(&ctx, if_match.0.as_deref(), None)?;
        let current = self.fetch(&ctx, id.0).await?;
        let r = self
            .client()
            .delete_setting(ctx.req(pb::DeleteSettingRequest { key: current.key, etag }))
            .await
            .map_err(|s| ctx.fail(s))?;
        let s = r.into_inner().setting.map(Setting::from).ok_or_else(|| ctx.missing("setting"))?;
        Ok(OneResponse::new(s, None))
    }
}
