//! `Mutation`: each one core-svc call. `expectedVersion` becomes core's etag: a mismatch is
//! `CONFLICT` with reason `VERSION_MISMATCH`, and nothing is written.

use async_graphql::{Context, ID, InputObject, Json, Object, Result};
use chrono::{DateTime, Utc};
use proto::Services as _;
use proto::v1 as pb;
use serde_json::Value as JsonValue;

use super::types::{
    ApiToken, AuthPayload, ConfigEntry, ConfigEntryInput, CreatedApiToken, Member, MemberRole, Project, Setting, Task,
    User, UserRole, UserStatus, Webhook,
};
use crate::{
    context::core,
    convert::{self, from_json},
    error::{self, bad_input},
};

pub struct Mutation;

#[derive(InputObject)]
pub struct CreateProjectInput {
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
}

/// Fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateProjectInput {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Hands the project over to another member, who becomes an owner.
    pub owner_id: Option<ID>,
}

/// A new webhook is active.
/// What to change of a user; unset fields stay. Users change their own name; admins change
/// anything of anyone (core-svc decides).
#[derive(InputObject)]
pub struct UpdateUserInput {
    pub name: Option<String>,
    pub email: Option<String>,
    pub role: Option<UserRole>,
    pub status: Option<UserStatus>,
}

#[derive(InputObject)]
pub struct CreateWebhookInput {
    pub project_id: ID,
    /// `http` or `https` URL that receives the `POST`s.
    pub url: String,
    /// Globs over event types: `config.*`, `member.added`, `*` (at least one).
    pub event_types: Vec<String>,
    pub description: Option<String>,
    /// The signing key (`X-Platform-Signature`), generated when left out; shown in this answer
    /// only.
    pub secret: Option<String>,
}

/// Fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateWebhookInput {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub active: Option<bool>,
    pub description: Option<String>,
    /// A new signing key (an empty one: generate one); the answer shows it, once.
    pub secret: Option<String>,
}

fn etag(expected_version: Option<i64>) -> String {
    expected_version.map(proto::etag::format).unwrap_or_default()
}

#[Object]
impl Mutation {
    /// Exchanges email and password for tokens. Rate-limited per email and client address.
    async fn login(&self, ctx: &Context<'_>, email: String, password: String) -> Result<AuthPayload> {
        let core = core(ctx);
        let r = core.auth().login(core.req(pb::LoginRequest { email, password })).await.map_err(error::core)?;
        let r = r.into_inner();
        Ok(AuthPayload::new(r.tokens, r.user))
    }

    /// Rotates a refresh token: the old one stops working.
    async fn refresh_token(&self, ctx: &Context<'_>, refresh_token: String) -> Result<AuthPayload> {
        let core = core(ctx);
        let r = core
            .auth()
            .refresh_token(core.req(pb::RefreshTokenRequest { refresh_token }))
            .await
            .map_err(error::core)?
            .into_inner();
        Ok(AuthPayload::new(r.tokens, r.user))
    }

    /// Creates an account (role `USER`) when the platform allows sign-up (setting
    /// `auth.signup_enabled`; otherwise `CONFLICT` with reason `SIGNUP_DISABLED`). Rate-limited
    /// like `login`; sign in afterwards.
    async fn sign_up(&self, ctx: &Context<'_>, email: String, name: String, password: String) -> Result<User> {
        let core = core(ctx);
        let r =
            core.auth().sign_up(core.req(pb::SignUpRequest { email, name, password })).await.map_err(error::core)?;
        r.into_inner().user.map(User).ok_or_else(|| error::missing("a user"))
    }

    /// Changes the caller's password. The caller's other sessions end; this one stays.
    async fn change_password(&self, ctx: &Context<'_>, current_password: String, new_password: String) -> Result<bool> {
        let core = core(ctx);
        core.auth()
            .change_password(core.req(pb::ChangePasswordRequest { current_password, new_password }))
            .await
            .map_err(error::core)?;
        Ok(true)
    }

    /// Changes a user: users their own name, admins anything (`LAST_ADMIN` keeps one active admin).
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateUserInput,
        expected_version: Option<i64>,
    ) -> Result<User> {
        let mut paths = Vec::new();
        let mut user = pb::User { id: id.0, ..Default::default() };
        if let Some(v) = input.name {
            paths.push("name".to_string());
            user.name = v;
        }
        if let Some(v) = input.email {
            paths.push("email".to_string());
            user.email = v;
        }
        if let Some(v) = input.role {
            paths.push("role".to_string());
            user.role = v.to_pb() as i32;
        }
        if let Some(v) = input.status {
            paths.push("status".to_string());
            user.status = v.to_pb() as i32;
        }
        if paths.is_empty() {
            return Err(bad_input("input", "set at least one field"));
        }
        let core = core(ctx);
        let r = core
            .users()
            .update_user(core.req(pb::UpdateUserRequest {
                user: Some(user),
                update_mask: Some(prost_types::FieldMask { paths }),
                password: String::new(),
                etag: etag(expected_version),
            }))
            .await
            .map_err(error::core)?;
        r.into_inner().user.map(User).ok_or_else(|| error::missing("a user"))
    }

    /// Revokes the session of `refreshToken`, or of the caller's access token when omitted.
    async fn logout(&self, ctx: &Context<'_>, refresh_token: Option<String>) -> Result<bool> {
        let core = core(ctx);
        core.auth()
            .logout(core.req(pb::LogoutRequest { refresh_token: refresh_token.unwrap_or_default() }))
            .await
            .map_err(error::core)?;
        Ok(true)
    }

    /// Creates a project; the caller becomes its owner.
    async fn create_project(&self, ctx: &Context<'_>, input: CreateProjectInput) -> Result<Project> {
        let core = core(ctx);
        let r = core
            .projects()
            .create_project(core.req(pb::CreateProjectRequest {
                slug: input.slug,
                name: input.name,
                description: input.description.unwrap_or_default(),
            }))
            .await
            .map_err(error::core)?;
        r.into_inner().project.map(Project).ok_or_else(|| error::missing("a project"))
    }

    async fn update_project(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateProjectInput,
        expected_version: Option<i64>,
    ) -> Result<Project> {
        let mut paths = Vec::new();
        let mut project = pb::Project { id: id.0, ..Default::default() };
        if let Some(v) = input.slug {
            paths.push("slug".to_string());
            project.slug = v;
        }
        if let Some(v) = input.name {
            paths.push("name".to_string());
            project.name = v;
        }
        if let Some(v) = input.description {
            paths.push("description".to_string());
            project.description = v;
        }
        if let Some(v) = input.owner_id {
            paths.push("owner_id".to_string());
            project.owner_id = v.0;
        }
        if paths.is_empty() {
            return Err(bad_input("input", "set at least one field"));
        }
        let core = core(ctx);
        let r = core
            .projects()
            .update_project(core.req(pb::UpdateProjectRequest {
                project: Some(project),
                update_mask: Some(prost_types::FieldMask { paths }),
                etag: etag(expected_version),
            }))
            .await
            .map_err(error::core)?;
        r.into_inner().project.map(Project).ok_or_else(|| error::missing("a project"))
    }

    /// Makes a project read-only (owners).
    async fn archive_project(&self, ctx: &Context<'_>, id: ID, expected_version: Option<i64>) -> Result<Project> {
        let core = core(ctx);
        let r = core
            .projects()
            .archive_project(core.req(pb::ArchiveProjectRequest { id: id.0, etag: etag(expected_version) }))
            .await
            .map_err(error::core)?;
        r.into_inner().project.map(Project).ok_or_else(|| error::missing("a project"))
    }

    async fn unarchive_project(&self, ctx: &Context<'_>, id: ID, expected_version: Option<i64>) -> Result<Project> {
        let core = core(ctx);
        let r = core
            .projects()
            .unarchive_project(core.req(pb::UnarchiveProjectRequest { id: id.0, etag: etag(expected_version) }))
            .await
            .map_err(error::core)?;
        r.into_inner().project.map(Project).ok_or_else(|| error::missing("a project"))
    }

    /// Deletes a project with its members and configs; returns it as it was.
    async fn delete_project(&self, ctx: &Context<'_>, id: ID, expected_version: Option<i64>) -> Result<Project> {
        let core = core(ctx);
        let r = core
            .projects()
            .delete_project(core.req(pb::DeleteProjectRequest { id: id.0, etag: etag(expected_version) }))
            .await
            .map_err(error::core)?;
        r.into_inner().project.map(Project).ok_or_else(|| error::missing("a project"))
    }

    /// Adds a user, by `userId` or `email`, to a project (owners).
    async fn add_member(
        &self,
        ctx: &Context<'_>,
        project_id: ID,
        user_id: Option<ID>,
        email: Option<String>,
        role: MemberRole,
    ) -> Result<Member> {
        let core = core(ctx);
        let r = core
            .members()
            .add_member(core.req(pb::AddMemberRequest {
                project_id: project_id.0,
                user_id: user_id.map(|u| u.0).unwrap_or_default(),
                email: email.unwrap_or_default(),
                role: role.to_pb() as i32,
            }))
            .await
            .map_err(error::core)?;
        r.into_inner().member.map(Member).ok_or_else(|| error::missing("a member"))
    }

    async fn update_member(
        &self,
        ctx: &Context<'_>,
        id: ID,
        role: MemberRole,
        expected_version: Option<i64>,
    ) -> Result<Member> {
        let core = core(ctx);
        let r = core
            .members()
            .update_member(core.req(pb::UpdateMemberRequest {
                id: id.0,
                role: role.to_pb() as i32,
                etag: etag(expected_version),
            }))
            .await
            .map_err(error::core)?;
        r.into_inner().member.map(Member).ok_or_else(|| error::missing("a member"))
    }

    /// Removes a member (owners; members may also leave); returns the membership as it was.
    async fn remove_member(&self, ctx: &Context<'_>, id: ID, expected_version: Option<i64>) -> Result<Member> {
        let core = core(ctx);
        let r = core
            .members()
            .remove_member(core.req(pb::RemoveMemberRequest { id: id.0, etag: etag(expected_version) }))
            .await
            .map_err(error::core)?;
        r.into_inner().member.map(Member).ok_or_else(|| error::missing("a member"))
    }

    /// Creates or replaces a key's value (any JSON; null or omitted stores JSON null).
    /// `expectedVersion: 0` means "must not exist yet".
    async fn set_config(
        &self,
        ctx: &Context<'_>,
        project_id: ID,
        key: String,
        value: Option<Json<JsonValue>>,
        description: Option<String>,
        expected_version: Option<i64>,
    ) -> Result<ConfigEntry> {
        let core = core(ctx);
        let r = core
            .configs()
            .set_config(core.req(pb::SetConfigRequest {
                project_id: project_id.0,
                key,
                value: Some(from_json(value.map_or(JsonValue::Null, |v| v.0))),
                description: description.unwrap_or_default(),
                etag: etag(expected_version),
            }))
            .await
            .map_err(error::core)?;
        r.into_inner().config.map(ConfigEntry).ok_or_else(|| error::missing("a config"))
    }

    /// Deletes a key; its history is kept.
    async fn delete_config(&self, ctx: &Context<'_>, id: ID, expected_version: Option<i64>) -> Result<ConfigEntry> {
        let core = core(ctx);
        let r = core
            .configs()
            .delete_config(core.req(pb::DeleteConfigRequest { id: id.0, etag: etag(expected_version) }))
            .await
            .map_err(error::core)?;
        r.into_inner().config.map(ConfigEntry).ok_or_else(|| error::missing("a config"))
    }

    /// Writes a new revision with the value of `version`.
    async fn rollback_config(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i64,
        expected_version: Option<i64>,
    ) -> Result<ConfigEntry> {
        let core = core(ctx);
        let r = core
            .configs()
            .rollback_config(core.req(pb::RollbackConfigRequest { id: id.0, version, etag: etag(expected_version) }))
            .await
            .map_err(error::core)?;
        r.into_inner().config.map(ConfigEntry).ok_or_else(|| error::missing("a config"))
    }

    /// Sets many keys in one transaction: all or nothing.
    async fn import_configs(
        &self,
        ctx: &Context<'_>,
        project_id: ID,
        entries: Vec<ConfigEntryInput>,
    ) -> Result<Vec<ConfigEntry>> {
        let core = core(ctx);
        let entries = entries
            .into_iter()
            .map(|e| pb::import_configs_request::Entry {
                key: e.key,
                value: Some(from_json(e.value.map_or(JsonValue::Null, |v| v.0))),
                description: e.description.unwrap_or_default(),
            })
            .collect();
        let r = core
            .configs()
            .import_configs(core.req(pb::ImportConfigsRequest { project_id: project_id.0, entries }))
            .await
            .map_err(error::core)?;
        Ok(r.into_inner().configs.into_iter().map(ConfigEntry).collect())
    }

    /// Sets a system setting (admins).
    async fn set_setting(
        &self,
        ctx: &Context<'_>,
        key: String,
        value: Option<Json<JsonValue>>,
        description: Option<String>,
        expected_version: Option<i64>,
    ) -> Result<Setting> {
        let core = core(ctx);
        let r = core
            .settings()
            .set_setting(core.req(pb::SetSettingRequest {
                key,
                value: Some(from_json(value.map_or(JsonValue::Null, |v| v.0))),
                description: description.unwrap_or_default(),
                etag: etag(expected_version),
            }))
            .await
            .map_err(error::core)?;
        r.into_inner().setting.map(Setting).ok_or_else(|| error::missing("a setting"))
    }

    /// Queues an export of the project (owners): its members and configs with their history, as
    /// one JSON document. Follow the task with `task(id)`; once it has succeeded, the document is
    /// `projectExport(taskId)`.
    async fn export_project(&self, ctx: &Context<'_>, project_id: ID) -> Result<Task> {
        let core = core(ctx);
        let r = core
            .projects()
            .export_project(core.req(pb::ExportProjectRequest { id: project_id.0 }))
            .await
            .map_err(error::core)?;
        r.into_inner().task.map(Task).ok_or_else(|| error::missing("a task"))
    }

    /// Runs a dead, failed or cancelled task again, with a fresh attempt budget.
    async fn retry_task(&self, ctx: &Context<'_>, id: ID) -> Result<Task> {
        let core = core(ctx);
        let r = core.tasks().retry_task(core.req(pb::RetryTaskRequest { id: id.0 })).await.map_err(error::core)?;
        r.into_inner().task.map(Task).ok_or_else(|| error::missing("a task"))
    }

    /// Cancels a queued task (or a failed one waiting for its retry); running and finished tasks
    /// cannot be cancelled (`CONFLICT`).
    async fn cancel_task(&self, ctx: &Context<'_>, id: ID) -> Result<Task> {
        let core = core(ctx);
        let r = core.tasks().cancel_task(core.req(pb::CancelTaskRequest { id: id.0 })).await.map_err(error::core)?;
        r.into_inner().task.map(Task).ok_or_else(|| error::missing("a task"))
    }

    /// Registers a webhook on a project (owners); it starts active (`updateWebhook` deactivates
    /// it). The answer carries the secret, once.
    async fn create_webhook(&self, ctx: &Context<'_>, input: CreateWebhookInput) -> Result<Webhook> {
        let core = core(ctx);
        let r = core
            .webhooks()
            .create_webhook(core.req(pb::CreateWebhookRequest {
                project_id: input.project_id.0,
                webhook: Some(pb::Webhook {
                    url: input.url,
                    event_types: input.event_types,
                    description: input.description.unwrap_or_default(),
                    secret: input.secret.unwrap_or_default(),
                    ..Default::default()
                }),
            }))
            .await
            .map_err(error::core)?;
        r.into_inner().webhook.map(Webhook).ok_or_else(|| error::missing("a webhook"))
    }

    /// Changes a webhook (owners).
    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateWebhookInput,
        expected_version: Option<i64>,
    ) -> Result<Webhook> {
        let mut paths = Vec::new();
        let mut webhook = pb::Webhook { id: id.0, ..Default::default() };
        if let Some(v) = input.url {
            paths.push("url".to_string());
            webhook.url = v;
        }
        if let Some(v) = input.event_types {
            paths.push("event_types".to_string());
            webhook.event_types = v;
        }
        if let Some(v) = input.active {
            paths.push("active".to_string());
            webhook.active = v;
        }
        if let Some(v) = input.description {
            paths.push("description".to_string());
            webhook.description = v;
        }
        if let Some(v) = input.secret {
            paths.push("secret".to_string());
            webhook.secret = v;
        }
        if paths.is_empty() {
            return Err(bad_input("input", "set at least one field"));
        }
        let core = core(ctx);
        let r = core
            .webhooks()
            .update_webhook(core.req(pb::UpdateWebhookRequest {
                webhook: Some(webhook),
                update_mask: Some(prost_types::FieldMask { paths }),
                etag: etag(expected_version),
            }))
            .await
            .map_err(error::core)?;
        r.into_inner().webhook.map(Webhook).ok_or_else(|| error::missing("a webhook"))
    }

    /// Deletes a webhook with its delivery log (owners); returns it as it was.
    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID, expected_version: Option<i64>) -> Result<Webhook> {
        let core = core(ctx);
        let r = core
            .webhooks()
            .delete_webhook(core.req(pb::DeleteWebhookRequest { id: id.0, etag: etag(expected_version) }))
            .await
            .map_err(error::core)?;
        r.into_inner().webhook.map(Webhook).ok_or_else(|| error::missing("a webhook"))
    }

    /// Creates an API token acting as the caller. The secret is in the answer, and only there.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        name: String,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<CreatedApiToken> {
        let core = core(ctx);
        let r = core
            .auth()
            .create_api_token(
                core.req(pb::CreateApiTokenRequest { name, expire_time: expires_at.map(convert::timestamp) }),
            )
            .await
            .map_err(error::core)?
            .into_inner();
        let api_token = r.api_token.map(ApiToken).ok_or_else(|| error::missing("an api token"))?;
        Ok(CreatedApiToken { token: r.token, api_token })
    }

    /// Revokes an API token; it stops working at once.
    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> Result<ApiToken> {
        let core = core(ctx);
        let r = core
            .auth()
            .revoke_api_token(core.req(pb::RevokeApiTokenRequest { id: id.0 }))
            .await
            .map_err(error::core)?;
        r.into_inner().api_token.map(ApiToken).ok_or_else(|| error::missing("an api token"))
    }
}
