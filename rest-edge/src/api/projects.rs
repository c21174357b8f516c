//! `/projects`: ProjectService, plus the project's effective config and bulk import (in
//! [`super::configs`]).

use poem::Request;
use poem_openapi::{
    Enum, Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};
use proto::v1::{self as pb, project_service_client::ProjectServiceClient};

use super::{BearerAuth, CreatedResponse, Ctx, ListResponse, OneResponse, Tag, expected_etag, time};
use crate::types::{Id, Text};
use crate::{list::ListSpec, problem::ApiError};

pub const SPEC: ListSpec = ListSpec {
    resource: "projects",
    filters: &[
        ("id", "id"),
        ("slug", "slug"),
        ("name", "name"),
        ("status", "status"),
        ("owner_id", "owner_id"),
        ("member_id", "member_id"),
    ],
    sorts: &[
        // UUIDv7 ids are time-ordered: React Admin's default sort by id is creation order.
        ("id", "create_time"),
        ("slug", "slug"),
        ("name", "name"),
        ("status", "status"),
        ("created_at", "create_time"),
        ("updated_at", "update_time"),
    ],
    ids_by_get: false,
};

#[derive(Debug, Clone, Copy, Enum, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum ProjectStatus {
    Active,
    Archived,
}

/// A member's role in a project.
#[derive(Debug, Clone, Copy, Enum, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum MemberRole {
    Viewer,
    Editor,
    Owner,
}

impl MemberRole {
    pub fn from_proto(v: i32) -> Option<Self> {
        match pb::MemberRole::try_from(v).ok()? {
            pb::MemberRole::Viewer => Some(Self::Viewer),
            pb::MemberRole::Editor => Some(Self::Editor),
            pb::MemberRole::Owner => Some(Self::Owner),
            pb::MemberRole::Unspecified => None,
        }
    }

    pub fn to_proto(self) -> pb::MemberRole {
        match self {
            Self::Viewer => pb::MemberRole::Viewer,
            Self::Editor => pb::MemberRole::Editor,
            Self::Owner => pb::MemberRole::Owner,
        }
    }
}

/// A project (docs/PRODUCT.md §4).
#[derive(Debug, Clone, Object)]
// Unset timestamps are left out rather than null: the schema says string.
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct Project {
    #[oai(read_only)]
    pub id: String,
    /// Unique, `^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`.
    pub slug: String,
    pub name: String,
    pub description: String,
    pub status: ProjectStatus,
    /// A member with the owner role; changing it hands the project over.
    pub owner_id: String,
    #[oai(read_only)]
    pub created_at: Option<String>,
    #[oai(read_only)]
    pub updated_at: Option<String>,
    /// Starts at 1, +1 per change. Send it back on update as the expected version.
    pub version: i64,
    #[oai(read_only)]
    pub etag: String,
    /// The caller's role in this project (owner for admins who are not members).
    pub my_role: Option<MemberRole>,
}

impl From<pb::Project> for Project {
    fn from(p: pb::Project) -> Self {
        Self {
            status: if p.status == pb::ProjectStatus::Archived as i32 {
                ProjectStatus::Archived
            } else {
                ProjectStatus::Active
            },
            created_at: time(p.create_time.as_ref()),
            updated_at: time(p.update_time.as_ref()),
            my_role: MemberRole::from_proto(p.caller_role),
            id: p.id,
            slug: p.slug,
            name: p.name,
            description: p.description,
            owner_id: p.owner_id,
            version: p.version,
            etag: p.etag,
        }
    }
}

/// Create: `slug` and `name` are required. Update (PUT, the whole record as React Admin sends
/// it): `slug`, `name`, `description` and `owner_id` are applied, `version` is the expected
/// version, everything else is ignored.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct ProjectInput {
    #[oai(nullable)]
    pub slug: Option<Text>,
    #[oai(nullable)]
    pub name: Option<Text>,
    #[oai(nullable)]
    pub description: Option<Text>,
    #[oai(nullable)]
    pub owner_id: Option<Id>,
    #[oai(nullable, validator(minimum(value = "0")))]
    pub version: Option<i64>,
}

pub struct ProjectsApi(pub super::Core);

impl ProjectsApi {
    fn client(&self) -> ProjectServiceClient<tonic::transport::Channel> {
        ProjectServiceClient::new(self.0.0.channel())
    }
}

fn one(ctx: &Ctx, p: Option<pb::Project>) -> Result<Project, ApiError> {
    p.map(Project::from).ok_or_else(|| ctx.missing("project"))
}

#[OpenApi(tag = "Tag::Projects")]
impl ProjectsApi {
    /// List projects
    ///
    /// The caller's projects (every project for admins). Filters: `q`, `id`, `slug`, `name`,
    /// `status`, `owner_id`, `member_id`. Sort: `id`, `slug`, `name`, `status`, `created_at`,
    /// `updated_at`.
    #[oai(path = "/projects", method = "get", operation_id = "listProjects")]
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
            pattern = r#"^([ \t\n\r]*|[ \t\n\r]*\[[ \t\n\r]*"(id|slug|name|status|created_at|updated_at)"([ \t\n\r]*,[ \t\n\r]*"([aA][sS][cC]|[dD][eE][sS][cC])")?[ \t\n\r]*\][ \t\n\r]*)$"#
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
    ) -> Result<ListResponse<Project>, ApiError> {
        let _ = (filter, range, sort, start, end, sort_field, order);
        let ctx = Ctx::new(req, Some(&auth))?;
        let plan = ctx.plan(req, &SPEC)?;
        if plan.matches_nothing {
            return Ok(ListResponse::new(&SPEC, &plan, vec![], 0));
        }
        let r = self
            .client()
            .list_projects(ctx.req(pb::ListProjectsRequest {
                page_size: plan.page_size,
                filter: plan.filter.clone(),
                order_by: plan.order_by.clone(),
                skip: plan.skip,
                ..Default::default()
            }))
            .await
            .map_err(|s| ctx.fail(s))?
            .into_inner();
        Ok(ListResponse::new(&SPEC, &plan, r.projects.into_iter().map(Project::from).collect(), r.total_size))
    }

    /// Get a project
    #[oai(path = "/projects/:id", method = "get", operation_id = "getProject")]
    async fn get(&self, req: &Request, auth: BearerAuth, id: Path<Id>) -> Result<OneResponse<Project>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let r = self
            .client()
            .get_project(ctx.req(pb::GetProjectRequest { id: id.0.into_string(), slug: String::new() }))
            .await
            .map_err(|s| ctx.fail(s))?;
        let p = one(&ctx, r.into_inner().project)?;
        let etag = Some(p.etag.clone());
        Ok(OneResponse::new(p, etag))
    }

    /// Create a project
    ///
    /// The caller becomes its owner.
    #[oai(path = "/projects", method = "post", operation_id = "createProject")]
    async fn create(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: Json<ProjectInput>,
    ) -> Result<CreatedResponse<Project>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let b = body.0;
        let r = self
            .client()
            .create_project(ctx.req(pb::CreateProjectRequest {
                slug: b.slug.map(String::from).unwrap_or_default(),
                name: b.name.map(String::from).unwrap_or_default(),
                description: b.description.map(String::from).unwrap_or_default(),
            }))
            .await
            .map_err(|s| ctx.fail(s))?;
        let p = one(&ctx, r.into_inner().project)?;
        let etag = Some(p.etag.clone());
        Ok(CreatedResponse::new(p, etag))
    }

    /// Update a project
    ///
    /// Owners only; not while archived. `version` (or `If-Match`) must be the current version.
    #[oai(path = "/projects/:id", method = "put", operation_id = "updateProject")]
    async fn update(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<Id>,
        /// Expected etag; takes precedence over the body's `version`.
        #[oai(name = "If-Match", validator(pattern = r#"^\s*(\*|(W/)?("\+?[0-9]{1,18}"|\+?[0-9]{1,18}))?\s*$"#))]
        if_match: Header<Option<String>>,
        body: Json<ProjectInput>,
    ) -> Result<OneResponse<Project>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let b = body.0;
        let etag = expected_etag(&ctx, if_match.0.as_deref(), b.version)?;
        let mut paths = Vec::new();
        for (name, present) in [
            ("slug", b.slug.is_some()),
            ("name", b.name.is_some()),
            ("description", b.description.is_some()),
            ("owner_id", b.owner_id.as_deref().is_some_and(|o| !o.is_empty())),
        ] {
            if present {
                paths.push(name.to_string());
            }
        }
        if paths.is_empty() {
            return Err(ApiError::invalid("body", "nothing to update", ctx.id()));
        }
        let r = self
            .client()
            .update_project(ctx.req(pb::UpdateProjectRequest {
                project: Some(pb::Project {
                    id: id.0.into_string(),
                    slug: b.slug.map(String::from).unwrap_or_default(),
                    name: b.name.map(String::from).unwrap_or_default(),
                    description: b.description.map(String::from).unwrap_or_default(),
                    owner_id: b.owner_id.map(String::from).unwrap_or_default(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask { paths }),
                etag,
            }))
            .await
            .map_err(|s| ctx.fail(s))?;
        let p = one(&ctx, r.into_inner().project)?;
        let etag = Some(p.etag.clone());
        Ok(OneResponse::new(p, etag))
    }

    /// Delete a project
    ///
    /// Owners only. Answers with the project as it was. `If-Match` makes it conditional.
    #[oai(path = "/projects/:id", method = "delete", operation_id = "deleteProject")]
    async fn delete(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<Id>,
        /// Expected etag.
        #[oai(name = "If-Match", validator(pattern = r#"^\s*(\*|(W/)?("\+?[0-9]{1,18}"|\+?[0-9]{1,18}))?\s*$"#))]
        if_match: Header<Option<String>>,
    ) -> Result<OneResponse<Project>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let etag = expected_etag(&ctx, if_match.0.as_deref(), None)?;
        let r = self
            .client()
            .delete_project(ctx.req(pb::DeleteProjectRequest { id: id.0.into_string(), etag }))
            .await
            .map_err(|s| ctx.fail(s))?;
        Ok(OneResponse::new(one(&ctx, r.into_inner().project)?, None))
    }

    /// Archive a project
    ///
    /// Makes it read-only (owners only).
    #[oai(path = "/projects/:id/archive", method = "post", operation_id = "archiveProject")]
    async fn archive(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<Id>,
        /// Expected etag.
        #[oai(name = "If-Match", validator(pattern = r#"^\s*(\*|(W/)?("\+?[0-9]{1,18}"|\+?[0-9]{1,18}))?\s*$"#))]
        if_match: Header<Option<String>>,
    ) -> Result<OneResponse<Project>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let etag = expected_etag(&ctx, if_match.0.as_deref(), None)?;
        let r = self
            .client()
            .archive_project(ctx.req(pb::ArchiveProjectRequest { id: id.0.into_string(), etag }))
            .await
            .map_err(|s| ctx.fail(s))?;
        let p = one(&ctx, r.into_inner().project)?;
        let etag = Some(p.etag.clone());
        Ok(OneResponse::new(p, etag))
    }

    /// Unarchive a project
    ///
    /// Makes an archived project writable again (owners only).
    #[oai(path = "/projects/:id/unarchive", method = "post", operation_id = "unarchiveProject")]
    async fn unarchive(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<Id>,
        /// Expected etag.
        #[oai(name = "If-Match", validator(pattern = r#"^\s*(\*|(W/)?("\+?[0-9]{1,18}"|\+?[0-9]{1,18}))?\s*$"#))]
        if_match: Header<Option<String>>,
    ) -> Result<OneResponse<Project>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let etag = expected_etag(&ctx, if_match.0.as_deref(), None)?;
        let r = self
            .client()
            .unarchive_project(ctx.req(pb::UnarchiveProjectRequest { id: id.0.into_string(), etag }))
            .await
            .map_err(|s| ctx.fail(s))?;
        let p = one(&ctx, r.into_inner().project)?;
        let etag = Some(p.etag.clone());
        Ok(OneResponse::new(p, etag))
    }
}
