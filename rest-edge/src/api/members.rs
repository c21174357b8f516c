//! `/members`: MemberService.

use poem::Request;
use poem_openapi::{
    Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};
use proto::v1::{self as pb, member_service_client::MemberServiceClient};

use super::{
    BearerAuth, CreatedResponse, Ctx, ListResponse, OneResponse, Tag, expected_etag, projects::MemberRole, time,
};
use crate::types::{Id, Text};
use crate::{list::ListSpec, problem::ApiError};

pub const SPEC: ListSpec = ListSpec {
    resource: "members",
    filters: &[("id", "id"), ("project_id", "project_id"), ("user_id", "user_id"), ("role", "role")],
    sorts: &[("id", "create_time"), ("role", "role"), ("created_at", "create_time"), ("updated_at", "update_time")],
    ids_by_get: false,
};

/// A user's membership in a project.
#[derive(Debug, Clone, Object)]
// Unset timestamps are left out rather than null: the schema says string.
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct Member {
    #[oai(read_only)]
    pub id: String,
    pub project_id: String,
    pub user_id: String,
    pub role: Option<MemberRole>,
    #[oai(read_only)]
    pub created_at: Option<String>,
    #[oai(read_only)]
    pub updated_at: Option<String>,
    pub version: i64,
    #[oai(read_only)]
    pub etag: String,
}

impl From<pb::Member> for Member {
    fn from(m: pb::Member) -> Self {
        Self {
            role: MemberRole::from_proto(m.role),
            created_at: time(m.create_time.as_ref()),
            updated_at: time(m.update_time.as_ref()),
            id: m.id,
            project_id: m.project_id,
            user_id: m.user_id,
            version: m.version,
            etag: m.etag,
        }
    }
}

/// Create: `project_id`, `role` and `user_id` (or `email`). Update (PUT): only `role` changes;
/// `version` is the expected version.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct MemberInput {
    #[oai(nullable)]
    pub project_id: Option<Id>,
    #[oai(nullable)]
    pub user_id: Option<Id>,
    /// Add the user with this email (when `user_id` is absent or null).
    #[oai(nullable)]
    pub email: Option<Text>,
    #[oai(nullable)]
    pub role: Option<MemberRole>,
    #[oai(nullable, validator(minimum(value = "0")))]
    pub version: Option<i64>,
}

pub struct MembersApi(pub super::Core);

impl MembersApi {
    fn client(&self) -> MemberServiceClient<tonic::transport::Channel> {
        MemberServiceClient::new(self.0.0.channel())
    }
}

fn one(ctx: &Ctx, m: Option<pb::Member>) -> Result<Member, ApiError> {
    m.map(Member::from).ok_or_else(|| ctx.missing("member"))
}

#[OpenApi(tag = "Tag::Members")]
impl MembersApi {
    /// List memberships
    ///
    /// Memberships visible to the caller. Filters: `q`, `id`, `project_id`, `user_id`, `role`.
    /// Sort: `id`, `role`, `created_at`, `updated_at`.
    #[oai(path = "/members", method = "get", operation_id = "listMembers")]
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
            pattern = r#"^([ \t\n\r]*|[ \t\n\r]*\[[ \t\n\r]*"(id|role|created_at|updated_at)"([ \t\n\r]*,[ \t\n\r]*"([aA][sS][cC]|[dD][eE][sS][cC])")?[ \t\n\r]*\][ \t\n\r]*)$"#
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
    ) -> Result<ListResponse<Member>, ApiError> {
        let _ = (filter, range, sort, start, end, sort_field, order);
        let ctx = Ctx::new(req, Some(&auth))?;
        let plan = ctx.plan(req, &SPEC)?;
        if plan.matches_nothing {
            return Ok(ListResponse::new(&SPEC, &plan, vec![], 0));
        }
        let r = self
            .client()
            .list_members(ctx.req(pb::ListMembersRequest {
                page_size: plan.page_size,
                filter: plan.filter.clone(),
                order_by: plan.order_by.clone(),
                skip: plan.skip,
                ..Default::default()
            }))
            .await
            .map_err(|s| ctx.fail(s))?
            .into_inner();
        Ok(ListResponse::new(&SPEC, &plan, r.members.into_iter().map(Member::from).collect(), r.total_size))
    }

    /// Get a membership
    #[oai(path = "/members/:id", method = "get", operation_id = "getMember")]
    async fn get(&self, req: &Request, auth: BearerAuth, id: Path<Id>) -> Result<OneResponse<Member>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let r = self
            .client()
            .get_member(ctx.req(pb::GetMemberRequest { id: id.0.into_string() }))
            .await
            .map_err(|s| ctx.fail(s))?;
        let m = one(&ctx, r.into_inner().member)?;
        let etag = Some(m.etag.clone());
        Ok(OneResponse::new(m, etag))
    }

    /// Add a member
    ///
    /// Owners only.
    #[oai(path = "/members", method = "post", operation_id = "createMember")]
    async fn create(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: Json<MemberInput>,
    ) -> Result<CreatedResponse<Member>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let b = body.0;
        let r = self
            .client()
            .add_member(ctx.req(pb::AddMemberRequest {
                project_id: b.project_id.map(String::from).unwrap_or_default(),
                user_id: b.user_id.map(String::from).unwrap_or_default(),
                email: b.email.map(String::from).unwrap_or_default(),
                role: b.role.map_or(pb::MemberRole::Unspecified, MemberRole::to_proto) as i32,
            }))
            .await
            .map_err(|s| ctx.fail(s))?;
        let m = one(&ctx, r.into_inner().member)?;
        let etag = Some(m.etag.clone());
        Ok(CreatedResponse::new(m, etag))
    }

    /// Change a member's role
    ///
    /// Owners only. `version` (or `If-Match`) must be the current version.
    #[oai(path = "/members/:id", method = "put", operation_id = "updateMember")]
    async fn update(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<Id>,
        /// Expected etag; takes precedence over the body's `version`.
        #[oai(name = "If-Match", validator(pattern = r#"^\s*(\*|(W/)?("\+?[0-9]{1,18}"|\+?[0-9]{1,18}))?\s*$"#))]
        if_match: Header<Option<String>>,
        body: Json<MemberInput>,
    ) -> Result<OneResponse<Member>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let b = body.0;
        let etag = expected_etag(&ctx, if_match.0.as_deref(), b.version)?;
        let r = self
            .client()
            .update_member(ctx.req(pb::UpdateMemberRequest {
                id: id.0.into_string(),
                role: b.role.map_or(pb::MemberRole::Unspecified, MemberRole::to_proto) as i32,
                etag,
            }))
            .await
            .map_err(|s| ctx.fail(s))?;
        let m = one(&ctx, r.into_inner().member)?;
        let etag = Some(m.etag.clone());
        Ok(OneResponse::new(m, etag))
    }

    /// Remove a member
    ///
    /// Owners only (members may also leave). Answers with the membership as it was.
    #[oai(path = "/members/:id", method = "delete", operation_id = "deleteMember")]
    async fn delete(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<Id>,
        /// Expected etag.
        #[oai(name = "If-Match", validator(pattern = r#"^\s*(\*|(W/)?("\+?[0-9]{1,18}"|\+?[0-9]{1,18}))?\s*$"#))]
        if_match: Header<Option<String>>,
    ) -> Result<OneResponse<Member>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let etag = expected_etag(&ctx, if_match.0.as_deref(), None)?;
        let r = self
            .client()
            .remove_member(ctx.req(pb::RemoveMemberRequest { id: id.0.into_string(), etag }))
            .await
            .map_err(|s| ctx.fail(s))?;
        Ok(OneResponse::new(one(&ctx, r.into_inner().member)?, None))
    }
}
