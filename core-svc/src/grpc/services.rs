//! One `impl` per generated service trait.

use std::pin::Pin;

use proto::v1::{
    self as pb, auth_service_server::AuthService, config_service_server::ConfigService,
    event_service_server::EventService, member_service_server::MemberService, project_service_server::ProjectService,
    setting_service_server::SettingService, task_service_server::TaskService, user_service_server::UserService,
    webhook_service_server::WebhookService,
};
use secrecy::ExposeSecret;

use pb::subscribe_response::Message;
use tokio_stream::{Stream, StreamExt, wrappers::ReceiverStream};
use tonic::{Request, Response, Status, service::Routes};

use super::{Rpc, convert};
use crate::{
    domain::{self, Event, ProjectStatus},
    error::Error,
    list::ListParams,
    service::{
        auth::TokenPair, configs::ImportEntry, events::FeedItem, projects::ProjectPatch, users::UserPatch,
        webhooks::WebhookPatch,
    },
};

type R<T> = Result<Response<T>, Status>;

fn ok<T>(t: T) -> R<T> {
    Ok(Response::new(t))
}

fn etag(field: &str, s: &str) -> Result<Option<i64>, Status> {
    Ok(domain::expected_version(field, s)?)
}

/// Checks that every update-mask path is known; an empty mask means `default`.
fn mask_paths<'a>(
    mask: &'a Option<prost_types::FieldMask>,
    known: &[&str],
    default: &[&'a str],
) -> Result<Vec<&'a str>, Status> {
    let paths: Vec<&str> = mask.as_ref().map(|m| m.paths.iter().map(String::as_str).collect()).unwrap_or_default();
    if paths.is_empty() {
        return Ok(default.to_vec());
    }
    for p in &paths {
        if !known.contains(p) {
            return Err(
                Error::invalid("update_mask", format!("unknown path {p:?}; known: {}", known.join(", "))).into()
            );
        }
    }
    Ok(paths)
}

fn tokens(t: TokenPair) -> Option<pb::TokenPair> {
    Some(pb::TokenPair {
        // The wire is the one place a token leaves its secret type.
        access_token: t.access_token.expose_secret().to_string(),
        access_token_expire_time: convert::ts(t.access_expires_at),
        refresh_token: t.refresh_token.expose_secret().to_string(),
        refresh_token_expire_time: convert::ts(t.refresh_expires_at),
        token_type: "Bearer".into(),
    })
}

macro_rules! list_params {
    ($r:expr) => {
        ListParams {
            page_size: $r.page_size,
            page_token: &$r.page_token,
            filter: &$r.filter,
            order_by: &$r.order_by,
            skip: $r.skip,
        }
    };
}

#[tonic::async_trait]
impl AuthService for Rpc {
    async fn login(&self, req: Request<pb::LoginRequest>) -> R<pb::LoginResponse> {
        let meta = self.meta(&req);
        let r = req.into_inner();
        let (t, user) = self.core.login(&meta, &r.email, r.password.into()).await?;
        ok(pb::LoginResponse { tokens: tokens(t), user: Some(convert::user(user)) })
    }

    async fn refresh_token(&self, req: Request<pb::RefreshTokenRequest>) -> R<pb::RefreshTokenResponse> {
        let meta = self.meta(&req);
        let (t, user) = self.core.refresh(&meta, &req.into_inner().refresh_token.into()).await?;
        ok(pb::RefreshTokenResponse { tokens: tokens(t), user: Some(convert::user(user)) })
    }

    async fn logout(&self, req: Request<pb::LogoutRequest>) -> R<pb::LogoutResponse> {
        let caller = self.auth_optional(&req).await?;
        let meta = self.meta(&req);
        self.core.logout(&meta, caller.as_ref(), &req.into_inner().refresh_token.into()).await?;
        ok(pb::LogoutResponse {})
    }

    async fn sign_up(&self, req: Request<pb::SignUpRequest>) -> R<pb::SignUpResponse> {
        let meta = self.meta(&req);
        let r = req.into_inner();
        let user = self.core.sign_up(&meta, &r.email, &r.name, &r.password.into()).await?;
        ok(pb::SignUpResponse { user: Some(convert::user(user)) })
    }

    async fn get_me(&self, req: Request<pb::GetMeRequest>) -> R<pb::GetMeResponse> {
        let (caller, _) = self.auth(&req).await?;
        ok(pb::GetMeResponse {
            user: Some(convert::user(self.core.me(&caller).await?)),
            credential_expire_time: convert::opt_ts(caller.expires_at),
        })
    }

    async fn change_password(&self, req: Request<pb::ChangePasswordRequest>) -> R<pb::ChangePasswordResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let r = req.into_inner();
        self.core.change_password(&meta, &caller, r.current_password.into(), &r.new_password.into()).await?;
        ok(pb::ChangePasswordResponse {})
    }

    async fn create_api_token(&self, req: Request<pb::CreateApiTokenRequest>) -> R<pb::CreateApiTokenResponse> {
        let (caller, _) = self.auth(&req).await?;
        let r = req.into_inner();
        let expires = convert::from_ts("expire_time", r.expire_time)?;
        let (t, secret) = self.core.create_api_token(&caller, &r.name, expires).await?;
        ok(pb::CreateApiTokenResponse { api_token: Some(convert::api_token(t)), token: secret.expose_secret().into() })
    }

    async fn list_api_tokens(&self, req: Request<pb::ListApiTokensRequest>) -> R<pb::ListApiTokensResponse> {
        let (caller, _) = self.auth(&req).await?;
        let r = req.into_inner();
        let page = self.core.list_api_tokens(&caller, list_params!(r)).await?;
        ok(pb::ListApiTokensResponse {
            api_tokens: page.items.into_iter().map(convert::api_token).collect(),
            next_page_token: page.next_page_token,
            total_size: page.total_size,
        })
    }

    async fn get_api_token(&self, req: Request<pb::GetApiTokenRequest>) -> R<pb::GetApiTokenResponse> {
        let (caller, _) = self.auth(&req).await?;
        let t = self.core.get_api_token(&caller, &req.into_inner().id).await?;
        ok(pb::GetApiTokenResponse { api_token: Some(convert::api_token(t)) })
    }

    async fn revoke_api_token(&self, req: Request<pb::RevokeApiTokenRequest>) -> R<pb::RevokeApiTokenResponse> {
        let (caller, _) = self.auth(&req).await?;
        let t = self.core.revoke_api_token(&caller, &req.into_inner().id).await?;
        ok(pb::RevokeApiTokenResponse { api_token: Some(convert::api_token(t)) })
    }
}

#[tonic::async_trait]
impl UserService for Rpc {
    async fn create_user(&self, req: Request<pb::CreateUserRequest>) -> R<pb::CreateUserResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let r = req.into_inner();
        let role = convert::parse_user_role("role", r.role)?;
        let user = self.core.create_user(&caller, &meta, &r.email, &r.name, &r.password.into(), role).await?;
        ok(pb::CreateUserResponse { user: Some(convert::user(user)) })
    }

    async fn get_user(&self, req: Request<pb::GetUserRequest>) -> R<pb::GetUserResponse> {
        let (caller, _) = self.auth(&req).await?;
        ok(pb::GetUserResponse { user: Some(convert::user(self.core.get_user(&caller, &req.into_inner().id).await?)) })
    }

    async fn batch_get_users(&self, req: Request<pb::BatchGetUsersRequest>) -> R<pb::BatchGetUsersResponse> {
        let (caller, _) = self.auth(&req).await?;
        let users = self.core.batch_get_users(&caller, &req.into_inner().ids).await?;
        ok(pb::BatchGetUsersResponse { users: users.into_iter().map(convert::user).collect() })
    }

    async fn list_users(&self, req: Request<pb::ListUsersRequest>) -> R<pb::ListUsersResponse> {
        let (caller, _) = self.auth(&req).await?;
        let r = req.into_inner();
        let page = self.core.list_users(&caller, list_params!(r)).await?;
        ok(pb::ListUsersResponse {
            users: page.items.into_iter().map(convert::user).collect(),
            next_page_token: page.next_page_token,
            total_size: page.total_size,
        })
    }

    async fn update_user(&self, req: Request<pb::UpdateUserRequest>) -> R<pb::UpdateUserResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let r = req.into_inner();
        let u = r.user.clone().ok_or_else(|| Status::from(Error::invalid("user", "is required")))?;
        let paths = mask_paths(
            &r.update_mask,
            &["email", "name", "role", "status", "password"],
            &["email", "name", "role", "status"],
        )?;
        let mut patch = UserPatch::default();
        for p in paths {
            match p {
                "email" => patch.email = Some(u.email.clone()),
                "name" => patch.name = Some(u.name.clone()),
                "role" => patch.role = convert::parse_user_role("user.role", u.role)?,
                "status" => patch.status = convert::parse_user_status("user.status", u.status)?,
                _ => patch.password = Some(r.password.clone().into()),
            }
        }
        let expected = etag("etag", &r.etag)?;
        let user = self.core.update_user(&caller, &meta, &u.id, patch, expected).await?;
        ok(pb::UpdateUserResponse { user: Some(convert::user(user)) })
    }
}

#[tonic::async_trait]
impl ProjectService for Rpc {
    async fn create_project(&self, req: Request<pb::CreateProjectRequest>) -> R<pb::CreateProjectResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let r = req.into_inner();
        let p = self.core.create_project(&caller, &meta, &r.slug, &r.name, &r.description).await?;
        ok(pb::CreateProjectResponse { project: Some(convert::project(p)) })
    }

    async fn get_project(&self, req: Request<pb::GetProjectRequest>) -> R<pb::GetProjectResponse> {
        let (caller, _) = self.auth(&req).await?;
        let r = req.into_inner();
        ok(pb::GetProjectResponse {
            project: Some(convert::project(self.core.get_project(&caller, &r.id, &r.slug).await?)),
        })
    }

    async fn batch_get_projects(&self, req: Request<pb::BatchGetProjectsRequest>) -> R<pb::BatchGetProjectsResponse> {
        let (caller, _) = self.auth(&req).await?;
        let ps = self.core.batch_get_projects(&caller, &req.into_inner().ids).await?;
        ok(pb::BatchGetProjectsResponse { projects: ps.into_iter().map(convert::project).collect() })
    }

    async fn list_projects(&self, req: Request<pb::ListProjectsRequest>) -> R<pb::ListProjectsResponse> {
        let (caller, _) = self.auth(&req).await?;
        let r = req.into_inner();
        let page = self.core.list_projects(&caller, list_params!(r)).await?;
        ok(pb::ListProjectsResponse {
            projects: page.items.into_iter().map(convert::project).collect(),
            next_page_token: page.next_page_token,
            total_size: page.total_size,
        })
    }

    async fn update_project(&self, req: Request<pb::UpdateProjectRequest>) -> R<pb::UpdateProjectResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let r = req.into_inner();
        let p = r.project.clone().ok_or_else(|| Status::from(Error::invalid("project", "is required")))?;
        let paths =
            mask_paths(&r.update_mask, &["slug", "name", "description", "owner_id"], &["slug", "name", "description"])?;
        let mut patch = ProjectPatch::default();
        for path in paths {
            match path {
                "slug" => patch.slug = Some(p.slug.clone()),
                "name" => patch.name = Some(p.name.clone()),
                "description" => patch.description = Some(p.description.clone()),
                _ => patch.owner_id = Some(p.owner_id.clone()),
            }
        }
        let expected = etag("etag", &r.etag)?;
        let view = self.core.update_project(&caller, &meta, &p.id, patch, expected).await?;
        ok(pb::UpdateProjectResponse { project: Some(convert::project(view)) })
    }

    async fn archive_project(&self, req: Request<pb::ArchiveProjectRequest>) -> R<pb::ArchiveProjectResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let r = req.into_inner();
        let v = self
            .core
            .set_project_status(&caller, &meta, &r.id, ProjectStatus::Archived, etag("etag", &r.etag)?)
            .await?;
        ok(pb::ArchiveProjectResponse { project: Some(convert::project(v)) })
    }

    async fn unarchive_project(&self, req: Request<pb::UnarchiveProjectRequest>) -> R<pb::UnarchiveProjectResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let r = req.into_inner();
        let v =
            self.core.set_project_status(&caller, &meta, &r.id, ProjectStatus::Active, etag("etag", &r.etag)?).await?;
        ok(pb::UnarchiveProjectResponse { project: Some(convert::project(v)) })
    }

    async fn delete_project(&self, req: Request<pb::DeleteProjectRequest>) -> R<pb::DeleteProjectResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let r = req.into_inner();
        let v = self.core.delete_project(&caller, &meta, &r.id, etag("etag", &r.etag)?).await?;
        ok(pb::DeleteProjectResponse { project: Some(convert::project(v)) })
    }

    async fn export_project(&self, req: Request<pb::ExportProjectRequest>) -> R<pb::ExportProjectResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let t = self.core.export_project(&caller, &meta, &req.into_inner().id).await?;
        ok(pb::ExportProjectResponse { task: Some(convert::task(t)) })
    }

    async fn get_project_export(&self, req: Request<pb::GetProjectExportRequest>) -> R<pb::GetProjectExportResponse> {
        let (caller, _) = self.auth(&req).await?;
        let doc = self.core.get_project_export(&caller, &req.into_inner().task_id).await?;
        ok(pb::GetProjectExportResponse { document: convert::document(doc) })
    }
}

#[tonic::async_trait]
impl MemberService for Rpc {
    async fn add_member(&self, req: Request<pb::AddMemberRequest>) -> R<pb::AddMemberResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let r = req.into_inner();
        let role = convert::parse_member_role("role", r.role)?;
        let m = self.core.add_member(&caller, &meta, &r.project_id, &r.user_id, &r.email, role).await?;
        ok(pb::AddMemberResponse { member: Some(convert::member(m)) })
    }

    async fn get_member(&self, req: Request<pb::GetMemberRequest>) -> R<pb::GetMemberResponse> {
        let (caller, _) = self.auth(&req).await?;
        ok(pb::GetMemberResponse {
            member: Some(convert::member(self.core.get_member(&caller, &req.into_inner().id).await?)),
        })
    }

    async fn list_members(&self, req: Request<pb::ListMembersRequest>) -> R<pb::ListMembersResponse> {
        let (caller, _) = self.auth(&req).await?;
        let r = req.into_inner();
        let page = self.core.list_members(&caller, &r.project_id, list_params!(r)).await?;
        ok(pb::ListMembersResponse {
            members: page.items.into_iter().map(convert::member).collect(),
            next_page_token: page.next_page_token,
            total_size: page.total_size,
        })
    }

    async fn update_member(&self, req: Request<pb::UpdateMemberRequest>) -> R<pb::UpdateMemberResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let r = req.into_inner();
        let role = convert::parse_member_role("role", r.role)?;
        let m = self.core.update_member(&caller, &meta, &r.id, role, etag("etag", &r.etag)?).await?;
        ok(pb::UpdateMemberResponse { member: Some(convert::member(m)) })
    }

    async fn remove_member(&self, req: Request<pb::RemoveMemberRequest>) -> R<pb::RemoveMemberResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let r = req.into_inner();
        let m = self.core.remove_member(&caller, &meta, &r.id, etag("etag", &r.etag)?).await?;
        ok(pb::RemoveMemberResponse { member: Some(convert::member(m)) })
    }
}

#[tonic::async_trait]
impl ConfigService for Rpc {
    async fn set_config(&self, req: Request<pb::SetConfigRequest>) -> R<pb::SetConfigResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let r = req.into_inner();
        let value = convert::from_value("value", r.value)?;
        let c = self
            .core
            .set_config(&caller, &meta, &r.project_id, &r.key, value, &r.description, etag("etag", &r.etag)?)
            .await?;
        ok(pb::SetConfigResponse { config: Some(convert::config(c)) })
    }

    async fn get_config(&self, req: Request<pb::GetConfigRequest>) -> R<pb::GetConfigResponse> {
        let (caller, _) = self.auth(&req).await?;
        let r = req.into_inner();
        ok(pb::GetConfigResponse {
            config: Some(convert::config(self.core.get_config(&caller, &r.id, &r.project_id, &r.key).await?)),
        })
    }

    async fn list_configs(&self, req: Request<pb::ListConfigsRequest>) -> R<pb::ListConfigsResponse> {
        let (caller, _) = self.auth(&req).await?;
        let r = req.into_inner();
        let page = self.core.list_configs(&caller, &r.project_id, list_params!(r)).await?;
        ok(pb::ListConfigsResponse {
            configs: page.items.into_iter().map(convert::config).collect(),
            next_page_token: page.next_page_token,
            total_size: page.total_size,
        })
    }

    async fn delete_config(&self, req: Request<pb::DeleteConfigRequest>) -> R<pb::DeleteConfigResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let r = req.into_inner();
        let c = self.core.delete_config(&caller, &meta, &r.id, etag("etag", &r.etag)?).await?;
        ok(pb::DeleteConfigResponse { config: Some(convert::config(c)) })
    }

    async fn rollback_config(&self, req: Request<pb::RollbackConfigRequest>) -> R<pb::RollbackConfigResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let r = req.into_inner();
        let c = self.core.rollback_config(&caller, &meta, &r.id, r.version, etag("etag", &r.etag)?).await?;
        ok(pb::RollbackConfigResponse { config: Some(convert::config(c)) })
    }

    async fn import_configs(&self, req: Request<pb::ImportConfigsRequest>) -> R<pb::ImportConfigsResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let r = req.into_inner();
        let entries = r
            .entries
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                Ok(ImportEntry {
                    key: e.key,
                    value: convert::from_value(&format!("entries[{i}].value"), e.value)?,
                    description: e.description,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let cs = self.core.import_configs(&caller, &meta, &r.project_id, entries).await?;
        ok(pb::ImportConfigsResponse { configs: cs.into_iter().map(convert::config).collect() })
    }

    async fn get_effective_config(
        &self,
        req: Request<pb::GetEffectiveConfigRequest>,
    ) -> R<pb::GetEffectiveConfigResponse> {
        let (caller, _) = self.auth(&req).await?;
        let e = self.core.effective_config(&caller, &req.into_inner().project_id).await?;
        ok(pb::GetEffectiveConfigResponse { values: Some(convert::to_struct(e.values)), etag: e.etag })
    }

    async fn list_config_revisions(
        &self,
        req: Request<pb::ListConfigRevisionsRequest>,
    ) -> R<pb::ListConfigRevisionsResponse> {
        let (caller, _) = self.auth(&req).await?;
        let r = req.into_inner();
        let page = self.core.list_config_revisions(&caller, &r.config_id, &r.project_id, list_params!(r)).await?;
        ok(pb::ListConfigRevisionsResponse {
            revisions: page.items.into_iter().map(convert::revision).collect(),
            next_page_token: page.next_page_token,
            total_size: page.total_size,
        })
    }

    async fn get_config_revision(
        &self,
        req: Request<pb::GetConfigRevisionRequest>,
    ) -> R<pb::GetConfigRevisionResponse> {
        let (caller, _) = self.auth(&req).await?;
        let rev = self.core.get_config_revision(&caller, &req.into_inner().id).await?;
        ok(pb::GetConfigRevisionResponse { revision: Some(convert::revision(rev)) })
    }
}

#[tonic::async_trait]
impl SettingService for Rpc {
    async fn get_setting(&self, req: Request<pb::GetSettingRequest>) -> R<pb::GetSettingResponse> {
        let (caller, _) = self.auth(&req).await?;
        ok(pb::GetSettingResponse {
            setting: Some(convert::setting(self.core.get_setting(&caller, &req.into_inner().key).await?)),
        })
    }

    async fn list_settings(&self, req: Request<pb::ListSettingsRequest>) -> R<pb::ListSettingsResponse> {
        let (caller, _) = self.auth(&req).await?;
        let r = req.into_inner();
        let page = self.core.list_settings(&caller, list_params!(r)).await?;
        ok(pb::ListSettingsResponse {
            settings: page.items.into_iter().map(convert::setting).collect(),
            next_page_token: page.next_page_token,
            total_size: page.total_size,
        })
    }

    async fn set_setting(&self, req: Request<pb::SetSettingRequest>) -> R<pb::SetSettingResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let r = req.into_inner();
        let value = convert::from_value("value", r.value)?;
        let s = self.core.set_setting(&caller, &meta, &r.key, value, &r.description, etag("etag", &r.etag)?).await?;
        ok(pb::SetSettingResponse { setting: Some(convert::setting(s)) })
    }

    async fn delete_setting(&self, req: Request<pb::DeleteSettingRequest>) -> R<pb::DeleteSettingResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let r = req.into_inner();
        let s = self.core.delete_setting(&caller, &meta, &r.key, etag("etag", &r.etag)?).await?;
        ok(pb::DeleteSettingResponse { setting: Some(convert::setting(s)) })
    }
}

#[tonic::async_trait]
impl EventService for Rpc {
    async fn list_events(&self, req: Request<pb::ListEventsRequest>) -> R<pb::ListEventsResponse> {
        let (caller, _) = self.auth(&req).await?;
        let r = req.into_inner();
        let page = self.core.list_events(&caller, list_params!(r)).await?;
        ok(pb::ListEventsResponse {
            events: page.items.into_iter().map(convert::event).collect(),
            next_page_token: page.next_page_token,
            total_size: page.total_size,
        })
    }

    async fn get_event(&self, req: Request<pb::GetEventRequest>) -> R<pb::GetEventResponse> {
        let (caller, _) = self.auth(&req).await?;
        ok(pb::GetEventResponse {
            event: Some(convert::event(self.core.get_event(&caller, &req.into_inner().id).await?)),
        })
    }

    type SubscribeStream = Pin<Box<dyn Stream<Item = Result<pb::SubscribeResponse, Status>> + Send>>;

    async fn subscribe(&self, req: Request<pb::SubscribeRequest>) -> R<Self::SubscribeStream> {
        let (caller, _) = self.auth(&req).await?;
        let r = req.into_inner();
        let sub = self.core.subscribe(caller, &r.channels, r.after_seq).await?;
        let ready = pb::SubscribeResponse {
            message: Some(Message::Ready(pb::SubscriptionReady { latest_seq: sub.latest_seq })),
        };
        let items = ReceiverStream::new(sub.items).map(|item| {
            let message = match item? {
                FeedItem::Event(e) => Message::Event(convert::event(Event::clone(&e))),
                FeedItem::Checkpoint(seq) => Message::Checkpoint(pb::Checkpoint { seq }),
                FeedItem::AccessChange(c) => Message::AccessChange(pb::AccessChange {
                    seq: c.seq,
                    channel: c.channel.unwrap_or_default(),
                    user_id: c.user_id.map(|u| u.to_string()).unwrap_or_default(),
                }),
            };
            Ok(pb::SubscribeResponse { message: Some(message) })
        });
        ok(Box::pin(tokio_stream::once(Ok(ready)).chain(items)))
    }

    async fn check_subscription(&self, req: Request<pb::CheckSubscriptionRequest>) -> R<pb::CheckSubscriptionResponse> {
        let (caller, _) = self.auth(&req).await?;
        let r = req.into_inner();
        let latest_seq = self.core.check_subscription(&caller, &r.channels, r.after_seq).await?;
        ok(pb::CheckSubscriptionResponse { latest_seq, user_id: caller.user_id.to_string() })
    }
}

#[tonic::async_trait]
impl TaskService for Rpc {
    async fn get_task(&self, req: Request<pb::GetTaskRequest>) -> R<pb::GetTaskResponse> {
        let (caller, _) = self.auth(&req).await?;
        ok(pb::GetTaskResponse { task: Some(convert::task(self.core.get_task(&caller, &req.into_inner().id).await?)) })
    }

    async fn list_tasks(&self, req: Request<pb::ListTasksRequest>) -> R<pb::ListTasksResponse> {
        let (caller, _) = self.auth(&req).await?;
        let r = req.into_inner();
        let page = self.core.list_tasks(&caller, list_params!(r)).await?;
        ok(pb::ListTasksResponse {
            tasks: page.items.into_iter().map(convert::task).collect(),
            next_page_token: page.next_page_token,
            total_size: page.total_size,
        })
    }

    async fn retry_task(&self, req: Request<pb::RetryTaskRequest>) -> R<pb::RetryTaskResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let t = self.core.retry_task(&caller, &meta, &req.into_inner().id).await?;
        ok(pb::RetryTaskResponse { task: Some(convert::task(t)) })
    }

    async fn cancel_task(&self, req: Request<pb::CancelTaskRequest>) -> R<pb::CancelTaskResponse> {
        let (caller, _) = self.auth(&req).await?;
        let t = self.core.cancel_task(&caller, &req.into_inner().id).await?;
        ok(pb::CancelTaskResponse { task: Some(convert::task(t)) })
    }
}

/// The fields of `w` named by `paths`.
fn webhook_patch(w: &pb::Webhook, paths: &[&str]) -> WebhookPatch {
    let mut patch = WebhookPatch::default();
    for p in paths {
        match *p {
            "url" => patch.url = Some(w.url.clone()),
            "event_types" => patch.event_types = Some(w.event_types.clone()),
            "active" => patch.active = Some(w.active),
            "description" => patch.description = Some(w.description.clone()),
            "secret" => patch.secret = Some(w.secret.clone()),
            _ => {}
        }
    }
    patch
}

#[tonic::async_trait]
impl WebhookService for Rpc {
    async fn create_webhook(&self, req: Request<pb::CreateWebhookRequest>) -> R<pb::CreateWebhookResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let r = req.into_inner();
        let w = r.webhook.ok_or_else(|| Status::from(Error::invalid("webhook", "is required")))?;
        // proto3 cannot tell "active: false" from "not given"; a new webhook is active unless
        // asked otherwise, which needs UpdateWebhook.
        let mut patch = webhook_patch(&w, &["url", "event_types", "description", "secret"]);
        patch.active = Some(true);
        let hook = self.core.create_webhook(&caller, &meta, &r.project_id, patch).await?;
        ok(pb::CreateWebhookResponse { webhook: Some(convert::webhook(hook, true)) })
    }

    async fn get_webhook(&self, req: Request<pb::GetWebhookRequest>) -> R<pb::GetWebhookResponse> {
        let (caller, _) = self.auth(&req).await?;
        let hook = self.core.get_webhook(&caller, &req.into_inner().id).await?;
        ok(pb::GetWebhookResponse { webhook: Some(convert::webhook(hook, false)) })
    }

    async fn list_webhooks(&self, req: Request<pb::ListWebhooksRequest>) -> R<pb::ListWebhooksResponse> {
        let (caller, _) = self.auth(&req).await?;
        let r = req.into_inner();
        let page = self.core.list_webhooks(&caller, &r.project_id, list_params!(r)).await?;
        ok(pb::ListWebhooksResponse {
            webhooks: page.items.into_iter().map(|w| convert::webhook(w, false)).collect(),
            next_page_token: page.next_page_token,
            total_size: page.total_size,
        })
    }

    async fn update_webhook(&self, req: Request<pb::UpdateWebhookRequest>) -> R<pb::UpdateWebhookResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let r = req.into_inner();
        let w = r.webhook.ok_or_else(|| Status::from(Error::invalid("webhook", "is required")))?;
        let known = ["url", "event_types", "active", "description", "secret"];
        let paths = mask_paths(&r.update_mask, &known, &known[..4])?;
        let patch = webhook_patch(&w, &paths);
        let (hook, secret_changed) =
            self.core.update_webhook(&caller, &meta, &w.id, patch, etag("etag", &r.etag)?).await?;
        ok(pb::UpdateWebhookResponse { webhook: Some(convert::webhook(hook, secret_changed)) })
    }

    async fn delete_webhook(&self, req: Request<pb::DeleteWebhookRequest>) -> R<pb::DeleteWebhookResponse> {
        let (caller, meta) = self.auth(&req).await?;
        let r = req.into_inner();
        let hook = self.core.delete_webhook(&caller, &meta, &r.id, etag("etag", &r.etag)?).await?;
        ok(pb::DeleteWebhookResponse { webhook: Some(convert::webhook(hook, false)) })
    }

    async fn list_webhook_deliveries(
        &self,
        req: Request<pb::ListWebhookDeliveriesRequest>,
    ) -> R<pb::ListWebhookDeliveriesResponse> {
        let (caller, _) = self.auth(&req).await?;
        let r = req.into_inner();
        let page = self.core.list_webhook_deliveries(&caller, &r.webhook_id, list_params!(r)).await?;
        ok(pb::ListWebhookDeliveriesResponse {
            deliveries: page.items.into_iter().map(convert::delivery).collect(),
            next_page_token: page.next_page_token,
            total_size: page.total_size,
        })
    }

    async fn get_webhook_delivery(
        &self,
        req: Request<pb::GetWebhookDeliveryRequest>,
    ) -> R<pb::GetWebhookDeliveryResponse> {
        let (caller, _) = self.auth(&req).await?;
        let d = self.core.get_webhook_delivery(&caller, &req.into_inner().id).await?;
        ok(pb::GetWebhookDeliveryResponse { delivery: Some(convert::delivery(d)) })
    }
}

/// Every platform.v1 service, ready to serve; messages above `max_message_bytes` are refused.
pub fn router(rpc: Rpc, max_message_bytes: usize) -> Routes {
    use pb::{
        auth_service_server::AuthServiceServer, config_service_server::ConfigServiceServer,
        event_service_server::EventServiceServer, member_service_server::MemberServiceServer,
        project_service_server::ProjectServiceServer, setting_service_server::SettingServiceServer,
        task_service_server::TaskServiceServer, user_service_server::UserServiceServer,
        webhook_service_server::WebhookServiceServer,
    };
    let m = max_message_bytes;
    Routes::new(AuthServiceServer::new(rpc.clone()).max_decoding_message_size(m))
        .add_service(UserServiceServer::new(rpc.clone()).max_decoding_message_size(m))
        .add_service(ProjectServiceServer::new(rpc.clone()).max_decoding_message_size(m))
        .add_service(MemberServiceServer::new(rpc.clone()).max_decoding_message_size(m))
        .add_service(ConfigServiceServer::new(rpc.clone()).max_decoding_message_size(m))
        .add_service(SettingServiceServer::new(rpc.clone()).max_decoding_message_size(m))
        .add_service(EventServiceServer::new(rpc.clone()).max_decoding_message_size(m))
        .add_service(TaskServiceServer::new(rpc.clone()).max_decoding_message_size(m))
        .add_service(WebhookServiceServer::new(rpc).max_decoding_message_size(m))
}
