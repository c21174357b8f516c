//! `/api-tokens`: long-lived API tokens (AuthService). Deleting one revokes it.

use poem::Request;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use proto::v1::{self as pb, auth_service_client::AuthServiceClient};

use super::{BearerAuth, CreatedResponse, Ctx, ListResponse, OneResponse, Tag, parse_time, time};
use crate::types::{Id, Secret, Text, Timestamp};
use crate::{list::ListSpec, problem::ApiError};

pub const SPEC: ListSpec = ListSpec {
    resource: "api-tokens",
    filters: &[("id", "id"), ("user_id", "user_id"), ("name", "name"), ("revoked", "revoked")],
    sorts: &[("id", "create_time"), ("name", "name"), ("created_at", "create_time"), ("expires_at", "expire_time")],
    ids_by_get: true,
};

/// An API token (its secret only in the answer to create).
#[derive(Debug, Clone, Object)]
// Unset timestamps are left out rather than null: the schema says string.
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct ApiToken {
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// The first characters of the secret, to recognise it in a list.
    pub prefix: String,
    pub created_at: Option<String>,
    /// Unset: never expires.
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
    /// The secret, shown once (create only). Send it as `Authorization: Bearer <token>`.
    pub token: Option<Secret>,
}

impl From<pb::ApiToken> for ApiToken {
    fn from(t: pb::ApiToken) -> Self {
        Self {
            created_at: time(t.create_time.as_ref()),
            expires_at: time(t.expire_time.as_ref()),
            revoked_at: time(t.revoke_time.as_ref()),
            last_used_at: time(t.last_use_time.as_ref()),
            id: t.id,
            user_id: t.user_id,
            name: t.name,
            prefix: t.prefix,
            token: None,
        }
    }
}

/// `POST /api-tokens`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct ApiTokenInput {
    #[oai(nullable)]
    pub name: Option<Text>,
    /// Optional RFC 3339 expiry, in the future.
    #[oai(nullable)]
    pub expires_at: Option<Timestamp>,
}

pub struct TokensApi(pub super::Core);

impl TokensApi {
    fn client(&self) -> AuthServiceClient<tonic::transport::Channel> {
        AuthServiceClient::new(self.0.0.channel())
    }
}

#[OpenApi(tag = "Tag::ApiTokens")]
impl TokensApi {
    /// List API tokens
    ///
    /// The caller's own, or everyone's for admins. Filters: `q`, `id` (alone: getMany), `user_id`, `name`, `revoked`.
    /// Sort: `id`, `name`, `created_at`, `expires_at`.
    #[oai(path = "/api-tokens", method = "get", operation_id = "listApiTokens")]
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
            pattern = r#"^([ \t\n\r]*|[ \t\n\r]*\[[ \t\n\r]*"(id|name|created_at|expires_at)"([ \t\n\r]*,[ \t\n\r]*"([aA][sS][cC]|[dD][eE][sS][cC])")?[ \t\n\r]*\][ \t\n\r]*)$"#
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
    ) -> Result<ListResponse<ApiToken>, ApiError> {
        let _ = (filter, range, sort, start, end, sort_field, order);
        let ctx = Ctx::new(req, Some(&auth))?;
        let plan = ctx.plan(req, &SPEC)?;
        if plan.matches_nothing {
            return Ok(ListResponse::new(&SPEC, &plan, vec![], 0));
        }
        if let Some(ids) = &plan.ids {
            let mut found = Vec::new();
            for id in ids {
                match self.client().get_api_token(ctx.req(pb::GetApiTokenRequest { id: id.clone() })).await {
                    Ok(r) => found.extend(r.into_inner().api_token.map(ApiToken::from)),
                    // getMany leaves out what is missing or invisible, like BatchGet does.
                    Err(s) if s.code() == tonic::Code::NotFound => {}
                    Err(s) => return Err(ctx.fail(s)),
                }
            }
            let total = found.len() as i32;
            return Ok(ListResponse::new(&SPEC, &plan, found, total));
        }
        let r = self
            .client()
            .list_api_tokens(ctx.req(pb::ListApiTokensRequest {
                page_size: plan.page_size,
                filter: plan.filter.clone(),
                order_by: plan.order_by.clone(),
                skip: plan.skip,
                ..Default::default()
            }))
            .await
            .map_err(|s| ctx.fail(s))?
            .into_inner();
        Ok(ListResponse::new(&SPEC, &plan, r.api_tokens.into_iter().map(ApiToken::from).collect(), r.total_size))
    }

    /// Get an API token
    ///
    /// Revoked tokens stay readable (with `revoked_at` set) for auditing: a 200 here after
    /// `DELETE /api-tokens/{id}` is by design.
    #[oai(path = "/api-tokens/:id", method = "get", operation_id = "getApiToken")]
    async fn get(&self, req: &Request, auth: BearerAuth, id: Path<Id>) -> Result<OneResponse<ApiToken>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let r = self
            .client()
            .get_api_token(ctx.req(pb::GetApiTokenRequest { id: id.0.into_string() }))
            .await
            .map_err(|s| ctx.fail(s))?;
        let t = r.into_inner().api_token.map(ApiToken::from).ok_or_else(|| ctx.missing("api token"))?;
        Ok(OneResponse::new(t, None))
    }

    /// Create an API token
    ///
    /// Acts as the caller. The answer's `token` is the secret, shown only here.
    #[oai(path = "/api-tokens", method = "post", operation_id = "createApiToken")]
    async fn create(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: Json<ApiTokenInput>,
    ) -> Result<CreatedResponse<ApiToken>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let expire_time = parse_time(&ctx, "expires_at", body.0.expires_at.as_deref())?;
        let r = self
            .client()
            .create_api_token(ctx.req(pb::CreateApiTokenRequest {
                name: body.0.name.map(String::from).unwrap_or_default(),
                expire_time,
            }))
            .await
            .map_err(|s| ctx.fail(s))?
            .into_inner();
        let mut t = r.api_token.map(ApiToken::from).ok_or_else(|| ctx.missing("api token"))?;
        t.token = Some(r.token.into());
        Ok(CreatedResponse::new(t, None))
    }

    /// Revoke an API token
    ///
    /// It stops working at once. Answers with the revoked token, which stays readable (and listed,
    /// `revoked_at` set) for auditing: revoking is not deleting.
    #[oai(path = "/api-tokens/:id", method = "delete", operation_id = "deleteApiToken")]
    async fn delete(&self, req: &Request, auth: BearerAuth, id: Path<Id>) -> Result<OneResponse<ApiToken>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let r = self
            .client()
            .revoke_api_token(ctx.req(pb::RevokeApiTokenRequest { id: id.0.into_string() }))
            .await
            .map_err(|s| ctx.fail(s))?;
        let t = r.into_inner().api_token.map(ApiToken::from).ok_or_else(|| ctx.missing("api token"))?;
        Ok(OneResponse::new(t, None))
    }
}
