//! `/tasks` (TaskService, read-only but for `retry` and `cancel`), and the project export:
//! `POST /projects/{id}/export` queues it (ProjectService.ExportProject), `GET /tasks/{id}/export`
//! downloads its document (ProjectService.GetProjectExport).

use poem::Request;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use proto::v1::{self as pb, project_service_client::ProjectServiceClient, task_service_client::TaskServiceClient};
use serde_json::Value;

use super::{BearerAuth, Ctx, ListResponse, OneResponse, Tag, struct_to_json, time};
use crate::types::Id;
use crate::{list::ListSpec, problem::ApiError};

pub const SPEC: ListSpec = ListSpec {
    resource: "tasks",
    filters: &[
        ("id", "id"),
        ("kind", "kind"),
        ("status", "status"),
        ("project_id", "project_id"),
        ("created_by", "created_by"),
    ],
    sorts: &[
        ("id", "create_time"),
        ("created_at", "create_time"),
        ("updated_at", "update_time"),
        ("run_at", "run_time"),
    ],
    ids_by_get: false,
};

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, Enum, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum TaskStatus {
    /// Waiting to run (at `run_at`).
    Queued,
    Running,
    Succeeded,
    /// The last attempt failed; another is scheduled at `run_at`.
    Failed,
    /// Every attempt failed; retry by hand.
    Dead,
    Cancelled,
}

impl TaskStatus {
    fn from_proto(v: i32) -> Option<Self> {
        match pb::TaskStatus::try_from(v).ok()? {
            pb::TaskStatus::Queued => Some(Self::Queued),
            pb::TaskStatus::Running => Some(Self::Running),
            pb::TaskStatus::Succeeded => Some(Self::Succeeded),
            pb::TaskStatus::Failed => Some(Self::Failed),
            pb::TaskStatus::Dead => Some(Self::Dead),
            pb::TaskStatus::Cancelled => Some(Self::Cancelled),
            pb::TaskStatus::Unspecified => None,
        }
    }
}

/// A background task: a webhook delivery, a project export, periodic maintenance.
#[derive(Debug, Clone, Object)]
// Unset timestamps are left out rather than null: the schema says string.
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct Task {
    pub id: String,
    /// `project.export`, `webhook.deliver`, `maintenance.purge_tokens`, `maintenance.trim_events`.
    pub kind: String,
    pub status: Option<TaskStatus>,
    /// Attempts made so far.
    pub attempts: i32,
    pub max_attempts: i32,
    /// When the task runs next (or ran last).
    pub run_at: Option<String>,
    /// 0 to 100.
    pub progress: i32,
    /// What the task produced (e.g. an export's summary) once it succeeded; null before.
    pub result: Value,
    /// Empty unless an attempt failed.
    pub last_error: String,
    /// Empty for tasks core-svc scheduled itself.
    pub created_by: String,
    /// The project the task works on; empty if none.
    pub project_id: String,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    /// +1 per change of status or progress.
    pub version: i64,
}

impl From<pb::Task> for Task {
    fn from(t: pb::Task) -> Self {
        Self {
            status: TaskStatus::from_proto(t.status),
            run_at: time(t.run_time.as_ref()),
            result: t.result.as_ref().map_or(Value::Null, struct_to_json),
            created_at: time(t.create_time.as_ref()),
            updated_at: time(t.update_time.as_ref()),
            id: t.id,
            kind: t.kind,
            attempts: t.attempts,
            max_attempts: t.max_attempts,
            progress: t.progress,
            last_error: t.last_error,
            created_by: t.created_by,
            project_id: t.project_id,
            version: t.version,
        }
    }
}

/// A task that was just queued.
#[derive(ApiResponse)]
pub enum AcceptedResponse {
    /// The queued task; follow it at `Location` (`GET /tasks/{id}`) until it has succeeded.
    #[oai(status = 202)]
    Accepted(Json<Task>, #[oai(header = "Location")] String),
}

/// A document to save.
#[derive(ApiResponse)]
pub enum DownloadResponse {
    /// The document, as an attachment.
    #[oai(status = 200)]
    Ok(Json<Value>, #[oai(header = "Content-Disposition")] String),
}

pub struct TasksApi(pub super::Core);

impl TasksApi {
    fn client(&self) -> TaskServiceClient<tonic::transport::Channel> {
        TaskServiceClient::new(self.0.0.channel())
    }

    fn projects(&self) -> ProjectServiceClient<tonic::transport::Channel> {
        ProjectServiceClient::new(self.0.0.channel())
    }
}

fn one(ctx: &Ctx, t: Option<pb::Task>) -> Result<Task, ApiError> {
    t.map(Task::from).ok_or_else(|| ctx.missing("task"))
}

#[OpenApi(tag = "Tag::Tasks")]
impl TasksApi {
    /// List tasks
    ///
    /// Admins see every task; others the tasks they started and, as owners, those of their
    /// projects. Newest first by default. Filters: `id`, `kind` (a trailing `*` matches a
    /// prefix), `status`, `project_id`, `created_by`. Sort: `id` (= `created_at`), `created_at`,
    /// `updated_at`, `run_at`.
    #[oai(path = "/tasks", method = "get", operation_id = "listTasks")]
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
            pattern = r#"^([ \t\n\r]*|[ \t\n\r]*\[[ \t\n\r]*"(id|created_at|updated_at|run_at)"([ \t\n\r]*,[ \t\n\r]*"([aA][sS][cC]|[dD][eE][sS][cC])")?[ \t\n\r]*\][ \t\n\r]*)$"#
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
    ) -> Result<ListResponse<Task>, ApiError> {
        let _ = (filter, range, sort, start, end, sort_field, order);
        let ctx = Ctx::new(req, Some(&auth))?;
        let plan = ctx.plan(req, &SPEC)?;
        if plan.matches_nothing {
            return Ok(ListResponse::new(&SPEC, &plan, vec![], 0));
        }
        let r = self
            .client()
            .list_tasks(ctx.req(pb::ListTasksRequest {
                page_size: plan.page_size,
                filter: plan.filter.clone(),
                order_by: plan.order_by.clone(),
                skip: plan.skip,
                ..Default::default()
            }))
            .await
            .map_err(|s| ctx.fail(s))?
            .into_inner();
        Ok(ListResponse::new(&SPEC, &plan, r.tasks.into_iter().map(Task::from).collect(), r.total_size))
    }

    /// Get a task
    #[oai(path = "/tasks/:id", method = "get", operation_id = "getTask")]
    async fn get(&self, req: &Request, auth: BearerAuth, id: Path<Id>) -> Result<OneResponse<Task>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let r = self
            .client()
            .get_task(ctx.req(pb::GetTaskRequest { id: id.0.into_string() }))
            .await
            .map_err(|s| ctx.fail(s))?;
        Ok(OneResponse::new(one(&ctx, r.into_inner().task)?, None))
    }

    /// Retry a task
    ///
    /// Runs a dead, failed or cancelled task again with a fresh attempt budget (409 otherwise).
    #[oai(path = "/tasks/:id/retry", method = "post", operation_id = "retryTask")]
    async fn retry(&self, req: &Request, auth: BearerAuth, id: Path<Id>) -> Result<OneResponse<Task>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let r = self
            .client()
            .retry_task(ctx.req(pb::RetryTaskRequest { id: id.0.into_string() }))
            .await
            .map_err(|s| ctx.fail(s))?;
        Ok(OneResponse::new(one(&ctx, r.into_inner().task)?, None))
    }

    /// Cancel a task
    ///
    /// Cancels a queued task (or a failed one waiting for its retry); 409 for a running or
    /// finished task.
    #[oai(path = "/tasks/:id/cancel", method = "post", operation_id = "cancelTask")]
    async fn cancel(&self, req: &Request, auth: BearerAuth, id: Path<Id>) -> Result<OneResponse<Task>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let r = self
            .client()
            .cancel_task(ctx.req(pb::CancelTaskRequest { id: id.0.into_string() }))
            .await
            .map_err(|s| ctx.fail(s))?;
        Ok(OneResponse::new(one(&ctx, r.into_inner().task)?, None))
    }

    /// Export a project
    ///
    /// Owners only. Queues a `project.export` task and answers 202 with it; poll
    /// `GET /tasks/{id}` until `status` is `succeeded`, then download `GET /tasks/{id}/export`.
    #[oai(path = "/projects/:id/export", method = "post", operation_id = "exportProject")]
    async fn export(&self, req: &Request, auth: BearerAuth, id: Path<Id>) -> Result<AcceptedResponse, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let r = self
            .projects()
            .export_project(ctx.req(pb::ExportProjectRequest { id: id.0.into_string() }))
            .await
            .map_err(|s| ctx.fail(s))?;
        let task = one(&ctx, r.into_inner().task)?;
        let location = format!("{}/tasks/{}", crate::startup::BASE_PATH, task.id);
        Ok(AcceptedResponse::Accepted(Json(task), location))
    }

    /// Download a project export
    ///
    /// The document of a succeeded `project.export` task (409 while it has not succeeded):
    /// `{"format": "platform-sm.export/v1", "exported_at", "project", "members",
    /// "configs": [{…, "revisions": […]}]}`, as an attachment.
    #[oai(path = "/tasks/:id/export", method = "get", operation_id = "downloadProjectExport")]
    async fn download(&self, req: &Request, auth: BearerAuth, id: Path<Id>) -> Result<DownloadResponse, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let task_id = id.0.into_string();
        let r = self
            .projects()
            .get_project_export(ctx.req(pb::GetProjectExportRequest { task_id: task_id.clone() }))
            .await
            .map_err(|s| ctx.fail(s))?;
        let document = r.into_inner().document.as_ref().map_or(Value::Null, struct_to_json);
        if document.is_null() {
            return Err(ctx.missing("document"));
        }
        // The id is a UUID (checked by its type), so the name needs no quoting rules beyond these.
        let disposition = format!("attachment; filename=\"project-export-{task_id}.json\"");
        Ok(DownloadResponse::Ok(Json(document), disposition))
    }
}
