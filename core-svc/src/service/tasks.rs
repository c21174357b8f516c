//! Tasks as clients see them (get, list, retry, cancel) and the export use case.
//!
//! Visibility: admins see every task; others the tasks they created and the tasks of projects
//! they own. Anything else is NOT_FOUND.

use crate::error::Reason;
use serde_json::{Value as Json, json};

use super::{
    Core,
    access::{self, Need},
};
use crate::{
    domain::{self, Caller, MemberRole, RequestMeta, Task, TaskStatus},
    error::{Error, Result},
    list::{ListParams, Page},
    store::{
        projects::Lock,
        tasks::{self, NewTask},
        webhooks,
    },
    tasks::{KIND_EXPORT, KIND_WEBHOOK},
};

impl Core {
    /// The task, if the caller may see it.
    async fn visible_task(&self, caller: &Caller, id: &str) -> Result<Task> {
        let id = domain::parse_id("id", id)?;
        let mut conn = self.conn().await?;
        let task = tasks::get(&mut conn, id).await?.ok_or(Error::not_found("task"))?;
        if caller.is_admin() || task.created_by == Some(caller.user_id) {
            return Ok(task);
        }
        if let Some(p) = task.project_id {
            let owner = access::project(&mut conn, caller, Some(p), None, Need::Read, Lock::None)
                .await
                .is_ok_and(|v| v.caller_role == MemberRole::Owner);
            if owner {
                return Ok(task);
            }
        }
        Err(Error::not_found("task"))
    }

    pub async fn get_task(&self, caller: &Caller, id: &str) -> Result<Task> {
        self.visible_task(caller, id).await
    }

    pub async fn list_tasks(&self, caller: &Caller, params: ListParams<'_>) -> Result<Page<Task>> {
        let mut conn = self.conn().await?;
        tasks::list(&mut conn, caller.user_id, caller.is_admin(), params).await
    }

    /// Queues a dead, failed or cancelled task again with a fresh attempt budget.
    pub async fn retry_task(&self, caller: &Caller, meta: &RequestMeta, id: &str) -> Result<Task> {
        let task = self.visible_task(caller, id).await?;
        let mut tx = self.begin().await?;
        let retried = tasks::retry(&mut tx, task.id).await?.ok_or_else(|| {
            Error::failed_precondition(
                Reason::TaskNotRetryable,
                format!("a {} task cannot be retried; only dead, failed or cancelled ones", task.status),
            )
        })?;
        if retried.kind == KIND_WEBHOOK {
            webhooks::reopen_delivery_of_task(&mut tx, retried.id).await?;
        } else {
            crate::events::record(&mut tx, crate::tasks::task_event("task.queued", &retried, meta)).await?;
        }
        self.commit(tx).await?;
        self.dispatch(&[retried.id]).await;
        Ok(retried)
    }

    /// Cancels a queued task (or a failed one waiting for its retry).
    pub async fn cancel_task(&self, caller: &Caller, id: &str) -> Result<Task> {
        let task = self.visible_task(caller, id).await?;
        let mut conn = self.conn().await?;
        tasks::cancel(&mut conn, task.id).await?.ok_or_else(|| {
            Error::failed_precondition(
                Reason::TaskNotCancellable,
                format!("a {} task cannot be cancelled; only queued or failed ones", task.status),
            )
        })
    }

    /// Queues the export of a project (owners only).
    pub async fn export_project(&self, caller: &Caller, meta: &RequestMeta, id: &str) -> Result<Task> {
        let id = domain::parse_id("id", id)?;
        let mut tx = self.begin().await?;
        access::project(&mut tx, caller, Some(id), None, Need::Manage, Lock::None).await?;
        let task = self
            .enqueue(
                &mut tx,
                NewTask {
                    kind: KIND_EXPORT,
                    project_id: Some(id),
                    payload: json!({}),
                    max_attempts: 3,
                    created_by: Some(caller.user_id),
                },
                meta,
            )
            .await?;
        self.commit(tx).await?;
        self.dispatch(&[task.id]).await;
        Ok(task)
    }

    /// The document of a succeeded export.
    pub async fn get_project_export(&self, caller: &Caller, task_id: &str) -> Result<Json> {
        let task = self.visible_task(caller, task_id).await.map_err(|e| match e {
            Error::InvalidArgument { .. } => Error::invalid("task_id", "must be a UUID"),
            other => other,
        })?;
        if task.kind != KIND_EXPORT {
            return Err(Error::invalid("task_id", "is not a project.export task"));
        }
        if task.status != TaskStatus::Succeeded {
            return Err(Error::failed_precondition(
                Reason::ExportNotReady,
                format!("the export is {}; download it once it has succeeded", task.status),
            ));
        }
        let mut conn = self.conn().await?;
        tasks::output(&mut conn, task.id).await?.ok_or(Error::not_found("export"))
    }
}
