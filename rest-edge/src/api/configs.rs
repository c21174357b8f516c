//! `/configs`, `/config-revisions`, and the project-level config operations
//! (`GET /projects/{id}/config`, `POST /projects/{id}/import`): ConfigService.

use poem::Request;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};
use proto::v1::{self as pb, config_service_client::ConfigServiceClient};
use serde_json::Value;

use super::{
    BearerAuth, CreatedResponse, Ctx, ListResponse, MERGE_RETRIES, OneResponse, Tag, expected_etag, struct_to_json,
    time, to_json, to_proto,
};
use crate::types::{Id, Text};
use crate::{list::ListSpec, problem::ApiError};

pub const SPEC: ListSpec = ListSpec {
    resource: "configs",
    filters: &[
        ("id", "id"),
        ("project_id", "project_id"),
        ("key", "key"),
        ("deleted", "deleted"),
        ("updated_by", "updated_by"),
    ],
    sorts: &[
        ("id", "create_time"),
        ("key", "key"),
        ("version", "version"),
        ("created_at", "create_time"),
        ("updated_at", "update_time"),
    ],
    ids_by_get: false,
};

pub const REVISION_SPEC: ListSpec = ListSpec {
    resource: "config-revisions",
    filters: &[
        ("id", "id"),
        ("config_id", "config_id"),
        ("project_id", "project_id"),
        ("key", "key"),
        ("op", "op"),
        ("author_id", "author_id"),
    ],
    sorts: &[("id", "create_time"), ("version", "version"), ("created_at", "create_time")],
    ids_by_get: false,
};

/// A config entry of a project.
#[derive(Debug, Clone, Object)]
// Unset timestamps are left out rather than null: the schema says string.
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct Config {
    #[oai(read_only)]
    pub id: String,
    pub project_id: String,
    /// `^[a-z0-9][a-z0-9_.-]{0,127}$`
    pub key: String,
    /// Any JSON value, at most 64 KiB encoded.
    pub value: Value,
    pub description: String,
    pub version: i64,
    #[oai(read_only)]
    pub etag: String,
    #[oai(read_only)]
    pub created_at: Option<String>,
    #[oai(read_only)]
    pub updated_at: Option<String>,
    /// The user who made the last change.
    #[oai(read_only)]
    pub updated_by: String,
    /// Set when the key is deleted (its history is kept).
    #[oai(read_only)]
    pub deleted_at: Option<String>,
}

impl From<pb::Config> for Config {
    fn from(c: pb::Config) -> Self {
        Self {
            value: to_json(c.value.as_ref()),
            created_at: time(c.create_time.as_ref()),
            updated_at: time(c.update_time.as_ref()),
            deleted_at: time(c.delete_time.as_ref()),
            id: c.id,
            project_id: c.project_id,
            key: c.key,
            description: c.description,
            version: c.version,
            etag: c.etag,
            updated_by: c.updated_by,
        }
    }
}

/// Create: `project_id`, `key`, `value` (fails with 409 when the key exists). Update (PUT):
/// `value` and `description` are applied; `version` is the expected version.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct ConfigInput {
    #[oai(nullable)]
    pub project_id: Option<Id>,
    #[oai(nullable)]
    pub key: Option<Text>,
    /// Any JSON value.
    #[oai(nullable)]
    pub value: Option<Value>,
    #[oai(nullable)]
    pub description: Option<Text>,
    #[oai(nullable, validator(minimum(value = "0")))]
    pub version: Option<i64>,
}

/// What a revision did.
#[derive(Debug, Clone, Copy, Enum, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum ConfigOp {
    Set,
    Delete,
    Rollback,
}

/// One revision of a config entry.
#[derive(Debug, Clone, Object)]
// Unset timestamps are left out rather than null: the schema says string.
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct ConfigRevision {
    pub id: String,
    pub config_id: String,
    pub project_id: String,
    pub key: String,
    pub version: i64,
    pub value: Value,
    pub description: String,
    pub op: Option<ConfigOp>,
    pub author_id: String,
    pub created_at: Option<String>,
}

impl From<pb::ConfigRevision> for ConfigRevision {
    fn from(r: pb::ConfigRevision) -> Self {
        Self {
            value: to_json(r.value.as_ref()),
            op: match pb::ConfigOp::try_from(r.op) {
                Ok(pb::ConfigOp::Set) => Some(ConfigOp::Set),
                Ok(pb::ConfigOp::Delete) => Some(ConfigOp::Delete),
                Ok(pb::ConfigOp::Rollback) => Some(ConfigOp::Rollback),
                _ => None,
            },
            created_at: time(r.create_time.as_ref()),
            id: r.id,
            config_id: r.config_id,
            project_id: r.project_id,
            key: r.key,
            version: r.version,
            description: r.description,
            author_id: r.author_id,
        }
    }
}

/// `POST /configs/{id}/rollback`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct RollbackInput {
    /// The version whose value to restore.
    pub to_version: i64,
    /// Expected current version (optional; `If-Match` takes precedence).
    #[oai(nullable, validator(minimum(value = "0")))]
    pub version: Option<i64>,
}

/// One entry of an import.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct ImportEntry {
    pub key: Text,
    #[oai(nullable)]
    pub value: Option<Value>,
    #[oai(nullable)]
    pub description: Option<Text>,
}

/// `POST /projects/{id}/import`: every entry is set in one transaction, all or nothing.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct ImportInput {
    #[oai(validator(max_items = 10000))]
    pub entries: Vec<ImportEntry>,
}

/// The effective config of a project.
#[derive(ApiResponse)]
pub enum EffectiveResponse {
    /// `{key: value}` for every live key.
    #[oai(status = 200)]
    Ok(Json<Value>, #[oai(header = "ETag")] String),
    /// `If-None-Match` matched: unchanged since.
    #[oai(status = 304)]
    NotModified(#[oai(header = "ETag")] String),
}

fn client(core: &super::Core) -> ConfigServiceClient<tonic::transport::Channel> {
    ConfigServiceClient::new(core.0.channel())
}

fn one(ctx: &Ctx, c: Option<pb::Config>) -> Result<Config, ApiError> {
    c.map(Config::from).ok_or_else(|| ctx.missing("config"))
}

fn with_etag(c: Config) -> OneResponse<Config> {
    let etag = Some(c.etag.clone());
    OneResponse::new(c, etag)
}

/// Does `If-None-Match` name `etag`?
fn none_match(header: Option<&str>, etag: &str) -> bool {
    let Some(h) = header else { return false };
    h.split(',').map(str::trim).any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

pub struct ConfigsApi(pub super::Core);

#[OpenApi(tag = "Tag::Configs")]
impl ConfigsApi {
    /// List config entries
    ///
    /// Live entries (add `deleted: true` to the filter for deleted ones). Filters: `q`, `id`,
    /// `project_id`, `key`, `deleted`, `updated_by`. Sort: `id`, `key`, `version`, `created_at`,
    /// `updated_at`.
    #[oai(path = "/configs", method = "get", operation_id = "listConfigs")]
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
            pattern = r#"^([ \t\n\r]*|[ \t\n\r]*\[[ \t\n\r]*"(id|key|version|created_at|updated_at)"([ \t\n\r]*,[ \t\n\r]*"([aA][sS][cC]|[dD][eE][sS][cC])")?[ \t\n\r]*\][ \t\n\r]*)$"#
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
    ) -> Result<ListResponse<Config>, ApiError> {
        let _ = (filter, range, sort, start, end, sort_field, order);
        let ctx = Ctx::new(req, Some(&auth))?;
        let plan = ctx.plan(req, &SPEC)?;
        if plan.matches_nothing {
            return Ok(ListResponse::new(&SPEC, &plan, vec![], 0));
        }
        let r = client(&self.0)
            .list_configs(ctx.req(pb::ListConfigsRequest {
                page_size: plan.page_size,
                filter: plan.filter.clone(),
                order_by: plan.order_by.clone(),
                skip: plan.skip,
                ..Default::default()
            }))
            .await
            .map_err(|s| ctx.fail(s))?
            .into_inner();
        Ok(ListResponse::new(&SPEC, &plan, r.configs.into_iter().map(Config::from).collect(), r.total_size))
    }

    /// Get a config entry
    ///
    /// Deleted entries are returned too, with `deleted_at` set.
    #[oai(path = "/configs/:id", method = "get", operation_id = "getConfig")]
    async fn get(&self, req: &Request, auth: BearerAuth, id: Path<Id>) -> Result<OneResponse<Config>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let r = client(&self.0)
            .get_config(ctx.req(pb::GetConfigRequest { id: id.0.into_string(), ..Default::default() }))
            .await
            .map_err(|s| ctx.fail(s))?;
        Ok(with_etag(one(&ctx, r.into_inner().config)?))
    }

    /// Create a config entry
    ///
    /// Editors and owners. 409 when the key already exists (update it instead).
    #[oai(path = "/configs", method = "post", operation_id = "createConfig")]
    async fn create(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: Json<ConfigInput>,
    ) -> Result<CreatedResponse<Config>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let b = body.0;
        let r = client(&self.0)
            .set_config(ctx.req(pb::SetConfigRequest {
                project_id: b.project_id.map(String::from).unwrap_or_default(),
                key: b.key.map(String::from).unwrap_or_default(),
                value: Some(to_proto(&b.value.unwrap_or(Value::Null))),
                description: b.description.map(String::from).unwrap_or_default(),
                // "must not exist yet": create never overwrites.
                etag: proto::etag::format(0),
            }))
            .await
            .map_err(|s| ctx.fail(s))?;
        let c = one(&ctx, r.into_inner().config)?;
        let etag = Some(c.etag.clone());
        Ok(CreatedResponse::new(c, etag))
    }

    /// Update a config entry
    ///
    /// Sets `value` and `description`; `version` (or `If-Match`) must be the current version. A
    /// field left out keeps its current value. Without `version` and `If-Match` (or with
    /// `If-Match: *`) the fields sent are written over whatever version is current — never over
    /// a write made after the edge read the entry (409 if such writes keep coming). A deleted
    /// entry comes back to life with the next version.
    #[oai(path = "/configs/:id", method = "put", operation_id = "updateConfig")]
    async fn update(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<Id>,
        /// Expected etag; takes precedence over the body's `version`.
        #[oai(name = "If-Match", validator(pattern = r#"^\s*(\*|(W/)?("\+?[0-9]{1,18}"|\+?[0-9]{1,18}))?\s*$"#))]
        if_match: Header<Option<String>>,
        body: Json<ConfigInput>,
    ) -> Result<OneResponse<Config>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let b = body.0;
        // The fields the body leaves out come from a read of the entry. Written under the
        // client's precondition, or without one (or `If-Match: *`) as a compare-and-swap on the
        // version read, retried when another write gets in between: either way what was read
        // never overwrites a newer write, and what the client sent is written.
        let precondition = expected_etag(&ctx, if_match.0.as_deref(), b.version)?;
        let value = b.value.as_ref().map(to_proto);
        let mut retries = 0;
        let r = loop {
            // The entry is named by id here but by project and key in SetConfig.
            let current = client(&self.0)
                .get_config(ctx.req(pb::GetConfigRequest { id: id.0.to_string(), ..Default::default() }))
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .config
                .ok_or_else(|| ctx.missing("config"))?;
            let etag = if precondition.is_empty() { current.etag } else { precondition.clone() };
            let written = client(&self.0)
                .set_config(ctx.req(pb::SetConfigRequest {
                    value: value.clone().or(current.value),
                    description: b.description.as_deref().map_or(current.description, str::to_string),
                    project_id: current.project_id,
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
        Ok(with_etag(one(&ctx, r.into_inner().config)?))
    }

    /// Delete a config entry
    ///
    /// Its history is kept. Answers with the entry after deletion (`deleted_at` set).
    #[oai(path = "/configs/:id", method = "delete", operation_id = "deleteConfig")]
    async fn delete(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<Id>,
        /// Expected etag.
        #[oai(name = "If-Match", validator(pattern = r#"^\s*(\*|(W/)?("\+?[0-9]{1,18}"|\+?[0-9]{1,18}))?\s*$"#))]
        if_match: Header<Option<String>>,
    ) -> Result<OneResponse<Config>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let etag = expected_etag(&ctx, if_match.0.as_deref(), None)?;
        let r = client(&self.0)
            .delete_config(ctx.req(pb::DeleteConfigRequest { id: id.0.into_string(), etag }))
            .await
            .map_err(|s| ctx.fail(s))?;
        Ok(with_etag(one(&ctx, r.into_inner().config)?))
    }

    /// Roll a config entry back
    ///
    /// Writes a new revision whose value is that of `to_version`.
    #[oai(path = "/configs/:id/rollback", method = "post", operation_id = "rollbackConfig")]
    async fn rollback(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<Id>,
        /// Expected etag; takes precedence over the body's `version`.
        #[oai(name = "If-Match", validator(pattern = r#"^\s*(\*|(W/)?("\+?[0-9]{1,18}"|\+?[0-9]{1,18}))?\s*$"#))]
        if_match: Header<Option<String>>,
        body: Json<RollbackInput>,
    ) -> Result<OneResponse<Config>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let etag = expected_etag(&ctx, if_match.0.as_deref(), body.0.version)?;
        let r = client(&self.0)
            .rollback_config(ctx.req(pb::RollbackConfigRequest {
                id: id.0.into_string(),
                version: body.0.to_version,
                etag,
            }))
            .await
            .map_err(|s| ctx.fail(s))?;
        Ok(with_etag(one(&ctx, r.into_inner().config)?))
    }

    /// Effective config of a project
    ///
    /// The whole config as one JSON object `{key: value}`, with a strong `ETag`;
    /// `If-None-Match` with that tag answers 304.
    #[oai(path = "/projects/:id/config", method = "get", operation_id = "getEffectiveConfig")]
    async fn effective(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<Id>,
        /// An etag from an earlier answer.
        #[oai(name = "If-None-Match")]
        if_none_match: Header<Option<String>>,
    ) -> Result<EffectiveResponse, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let r = client(&self.0)
            .get_effective_config(ctx.req(pb::GetEffectiveConfigRequest { project_id: id.0.into_string() }))
            .await
            .map_err(|s| ctx.fail(s))?
            .into_inner();
        if none_match(if_none_match.0.as_deref(), &r.etag) {
            return Ok(EffectiveResponse::NotModified(r.etag));
        }
        let values = r.values.as_ref().map_or_else(|| Value::Object(Default::default()), struct_to_json);
        Ok(EffectiveResponse::Ok(Json(values), r.etag))
    }

    /// Import config entries
    ///
    /// Sets every entry in one transaction: all or nothing. Answers with the entries as set.
    #[oai(path = "/projects/:id/import", method = "post", operation_id = "importConfigs")]
    async fn import(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<Id>,
        body: Json<ImportInput>,
    ) -> Result<Json<Vec<Config>>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let entries = body
            .0
            .entries
            .into_iter()
            .map(|e| pb::import_configs_request::Entry {
                key: e.key.into_string(),
                value: Some(to_proto(&e.value.unwrap_or(Value::Null))),
                description: e.description.map(String::from).unwrap_or_default(),
            })
            .collect();
        let r = client(&self.0)
            .import_configs(ctx.req(pb::ImportConfigsRequest { project_id: id.0.into_string(), entries }))
            .await
            .map_err(|s| ctx.fail(s))?;
        Ok(Json(r.into_inner().configs.into_iter().map(Config::from).collect()))
    }
}

pub struct RevisionsApi(pub super::Core);

#[OpenApi(tag = "Tag::ConfigRevisions")]
impl RevisionsApi {
    /// List config revisions
    ///
    /// Filters: `id`, `config_id`, `project_id`, `key`, `op`, `author_id`. Sort: `id`,
    /// `version`, `created_at` (default: newest first).
    #[oai(path = "/config-revisions", method = "get", operation_id = "listConfigRevisions")]
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
            pattern = r#"^([ \t\n\r]*|[ \t\n\r]*\[[ \t\n\r]*"(id|version|created_at)"([ \t\n\r]*,[ \t\n\r]*"([aA][sS][cC]|[dD][eE][sS][cC])")?[ \t\n\r]*\][ \t\n\r]*)$"#
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
    ) -> Result<ListResponse<ConfigRevision>, ApiError> {
        let _ = (filter, range, sort, start, end, sort_field, order);
        let ctx = Ctx::new(req, Some(&auth))?;
        let plan = ctx.plan(req, &REVISION_SPEC)?;
        if plan.matches_nothing {
            return Ok(ListResponse::new(&REVISION_SPEC, &plan, vec![], 0));
        }
        let r = client(&self.0)
            .list_config_revisions(ctx.req(pb::ListConfigRevisionsRequest {
                page_size: plan.page_size,
                filter: plan.filter.clone(),
                order_by: plan.order_by.clone(),
                skip: plan.skip,
                ..Default::default()
            }))
            .await
            .map_err(|s| ctx.fail(s))?
            .into_inner();
        let items = r.revisions.into_iter().map(ConfigRevision::from).collect();
        Ok(ListResponse::new(&REVISION_SPEC, &plan, items, r.total_size))
    }

    /// Get a config revision
    #[oai(path = "/config-revisions/:id", method = "get", operation_id = "getConfigRevision")]
    async fn get(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<Id>,
    ) -> Result<OneResponse<ConfigRevision>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let r = client(&self.0)
            .get_config_revision(ctx.req(pb::GetConfigRevisionRequest { id: id.0.into_string() }))
            .await
            .map_err(|s| ctx.fail(s))?;
        let rev = r.into_inner().revision.map(ConfigRevision::from).ok_or_else(|| ctx.missing("revision"))?;
        Ok(OneResponse::new(rev, None))
    }
}
