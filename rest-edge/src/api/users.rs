//! `/users`: UserService.

use poem::Request;
use poem_openapi::{
    Enum, Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};
use proto::v1::{self as pb, user_service_client::UserServiceClient};

use super::{BearerAuth, CreatedResponse, Ctx, ListResponse, OneResponse, Tag, expected_etag, time};
use crate::types::{Id, Secret, Text};
use crate::{list::ListSpec, problem::ApiError};

pub const SPEC: ListSpec = ListSpec {
    resource: "users",
    filters: &[("id", "id"), ("email", "email"), ("name", "name"), ("role", "role"), ("status", "status")],
    sorts: &[
        ("id", "create_time"),
        ("email", "email"),
        ("name", "name"),
        ("role", "role"),
        ("status", "status"),
        ("created_at", "create_time"),
        ("updated_at", "update_time"),
        ("last_login_at", "last_login_time"),
    ],
    ids_by_get: false,
};

#[derive(Debug, Clone, Copy, Enum, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum UserRole {
    Admin,
    User,
}

#[derive(Debug, Clone, Copy, Enum, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum UserStatus {
    Active,
    Disabled,
}

/// A platform user (never with a password).
#[derive(Debug, Clone, Object)]
// Unset timestamps are left out rather than null: the schema says string.
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct User {
    #[oai(read_only)]
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Option<UserRole>,
    pub status: Option<UserStatus>,
    #[oai(read_only)]
    pub created_at: Option<String>,
    #[oai(read_only)]
    pub updated_at: Option<String>,
    #[oai(read_only)]
    pub last_login_at: Option<String>,
    pub version: i64,
    #[oai(read_only)]
    pub etag: String,
}

impl From<pb::User> for User {
    fn from(u: pb::User) -> Self {
        Self {
            role: match pb::UserRole::try_from(u.role) {
                Ok(pb::UserRole::Admin) => Some(UserRole::Admin),
                Ok(pb::UserRole::User) => Some(UserRole::User),
                _ => None,
            },
            status: match pb::UserStatus::try_from(u.status) {
                Ok(pb::UserStatus::Active) => Some(UserStatus::Active),
                Ok(pb::UserStatus::Disabled) => Some(UserStatus::Disabled),
                _ => None,
            },
            created_at: time(u.create_time.as_ref()),
            updated_at: time(u.update_time.as_ref()),
            last_login_at: time(u.last_login_time.as_ref()),
            id: u.id,
            email: u.email,
            name: u.name,
            version: u.version,
            etag: u.etag,
        }
    }
}

fn role(r: Option<UserRole>) -> i32 {
    let r = match r {
        None => pb::UserRole::Unspecified,
        Some(UserRole::Admin) => pb::UserRole::Admin,
        Some(UserRole::User) => pb::UserRole::User,
    };
    r as i32
}

fn status(s: Option<UserStatus>) -> i32 {
    let s = match s {
        None => pb::UserStatus::Unspecified,
        Some(UserStatus::Active) => pb::UserStatus::Active,
        Some(UserStatus::Disabled) => pb::UserStatus::Disabled,
    };
    s as i32
}

/// Create: `email`, `name`, `password` (≥ 10 characters), `role` (default user). Update (PUT):
/// the fields present among `email`, `name`, `role`, `status`, `password` are applied; `version`
/// is the expected version.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct UserInput {
    #[oai(nullable)]
    pub email: Option<Text>,
    #[oai(nullable)]
    pub name: Option<Text>,
    /// Write-only.
    #[oai(write_only)]
    #[oai(nullable)]
    pub password: Option<Secret>,
    #[oai(nullable)]
    pub role: Option<UserRole>,
    #[oai(nullable)]
    pub status: Option<UserStatus>,
    #[oai(nullable, validator(minimum(value = "0")))]
    pub version: Option<i64>,
}

pub struct UsersApi(pub super::Core);

impl UsersApi {
    fn client(&self) -> UserServiceClient<tonic::transport::Channel> {
        UserServiceClient::new(self.0.0.channel())
    }
}

fn one(ctx: &Ctx, u: Option<pb::User>) -> Result<OneResponse<User>, ApiError> {
    let u = u.map(User::from).ok_or_else(|| ctx.missing("user"))?;
    let etag = Some(u.etag.clone());
    Ok(OneResponse::new(u, etag))
}

#[OpenApi(tag = "Tag::Users")]
impl UsersApi {
    /// List users
    ///
    /// Admins see everyone; others see themself and the users they share a project with.
    /// Filters: `q`, `id`, `email`, `name`, `role`, `status`. Sort: `id`, `email`, `name`,
    /// `role`, `status`, `created_at`, `updated_at`, `last_login_at`.
    #[oai(path = "/users", method = "get", operation_id = "listUsers")]
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
            pattern = r#"^([ \t\n\r]*|[ \t\n\r]*\[[ \t\n\r]*"(id|email|name|role|status|created_at|updated_at|last_login_at)"([ \t\n\r]*,[ \t\n\r]*"([aA][sS][cC]|[dD][eE][sS][cC])")?[ \t\n\r]*\][ \t\n\r]*)$"#
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
    ) -> Result<ListResponse<User>, ApiError> {
        let _ = (filter, range, sort, start, end, sort_field, order);
        let ctx = Ctx::new(req, Some(&auth))?;
        let plan = ctx.plan(req, &SPEC)?;
        if plan.matches_nothing {
            return Ok(ListResponse::new(&SPEC, &plan, vec![], 0));
        }
        let r = self
            .client()
            .list_users(ctx.req(pb::ListUsersRequest {
                page_size: plan.page_size,
                filter: plan.filter.clone(),
                order_by: plan.order_by.clone(),
                skip: plan.skip,
                ..Default::default()
            }))
            .await
            .map_err(|s| ctx.fail(s))?
            .into_inner();
        Ok(ListResponse::new(&SPEC, &plan, r.users.into_iter().map(User::from).collect(), r.total_size))
    }

    /// Get a user
    #[oai(path = "/users/:id", method = "get", operation_id = "getUser")]
    async fn get(&self, req: &Request, auth: BearerAuth, id: Path<Id>) -> Result<OneResponse<User>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let r = self
            .client()
            .get_user(ctx.req(pb::GetUserRequest { id: id.0.into_string() }))
            .await
            .map_err(|s| ctx.fail(s))?;
        one(&ctx, r.into_inner().user)
    }

    /// Create a user
    ///
    /// Admins only.
    #[oai(path = "/users", method = "post", operation_id = "createUser")]
    async fn create(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: Json<UserInput>,
    ) -> Result<CreatedResponse<User>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let b = body.0;
        let r = self
            .client()
            .create_user(ctx.req(pb::CreateUserRequest {
                email: b.email.map(String::from).unwrap_or_default(),
                name: b.name.map(String::from).unwrap_or_default(),
                password: b.password.map(|p| p.expose().to_string()).unwrap_or_default(),
                role: role(b.role),
            }))
            .await
            .map_err(|s| ctx.fail(s))?;
        let u = r.into_inner().user.map(User::from).ok_or_else(|| ctx.missing("user"))?;
        let etag = Some(u.etag.clone());
        Ok(CreatedResponse::new(u, etag))
    }

    /// Update a user
    ///
    /// Users may change their own name (and password); admins everything. Setting `status` to
    /// `disabled` locks the user out at their next request.
    #[oai(path = "/users/:id", method = "put", operation_id = "updateUser")]
    async fn update(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<Id>,
        /// Expected etag; takes precedence over the body's `version`.
        #[oai(name = "If-Match", validator(pattern = r#"^\s*(\*|(W/)?("\+?[0-9]{1,18}"|\+?[0-9]{1,18}))?\s*$"#))]
        if_match: Header<Option<String>>,
        body: Json<UserInput>,
    ) -> Result<OneResponse<User>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let b = body.0;
        let etag = expected_etag(&ctx, if_match.0.as_deref(), b.version)?;
        let mut paths = Vec::new();
        for (name, present) in [
            ("email", b.email.is_some()),
            ("name", b.name.is_some()),
            ("role", b.role.is_some()),
            ("status", b.status.is_some()),
            ("password", b.password.as_ref().is_some_and(|p| !p.expose().is_empty())),
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
            .update_user(ctx.req(pb::UpdateUserRequest {
                user: Some(pb::User {
                    id: id.0.into_string(),
                    email: b.email.map(String::from).unwrap_or_default(),
                    name: b.name.map(String::from).unwrap_or_default(),
                    role: role(b.role),
                    status: status(b.status),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask { paths }),
                password: b.password.map(|p| p.expose().to_string()).unwrap_or_default(),
                etag,
            }))
            .await
            .map_err(|s| ctx.fail(s))?;
        one(&ctx, r.into_inner().user)
    }
}
