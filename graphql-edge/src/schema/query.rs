//! `Query`: reads, each one or a few core-svc calls.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, Result};
use proto::Services as _;
use proto::v1 as pb;
use serde_json::Value as JsonValue;

use super::types::{
    Conn, Event, Project, ProjectStatus, Setting, SortDirection, Task, TaskStatus, User, UserRole, UserStatus,
    connection,
};
use crate::{
    context::core,
    convert::{Filter, MAX_FIRST, Page, list_complexity},
    error::{self, bad_input},
};

pub struct Query;

#[derive(InputObject, Default)]
pub struct UserFilter {
    pub role: Option<UserRole>,
    pub status: Option<UserStatus>,
    /// Free text over email and name.
    pub search: Option<String>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum UserOrderField {
    Email,
    Name,
    Role,
    Status,
    CreatedAt,
    UpdatedAt,
    LastLoginAt,
}

#[derive(InputObject)]
pub struct UserOrder {
    pub field: UserOrderField,
    #[graphql(default_with = "SortDirection::Asc")]
    pub direction: SortDirection,
}

#[derive(InputObject, Default)]
pub struct ProjectFilter {
    pub status: Option<ProjectStatus>,
    pub owner_id: Option<ID>,
    /// Projects this user is a member of.
    pub member_id: Option<ID>,
    pub slug: Option<String>,
    /// Free text over slug, name and description.
    pub search: Option<String>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ProjectOrderField {
    Slug,
    Name,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(InputObject)]
pub struct ProjectOrder {
    pub field: ProjectOrderField,
    #[graphql(default_with = "SortDirection::Asc")]
    pub direction: SortDirection,
}

#[derive(InputObject, Default)]
pub struct TaskFilter {
    /// Any of these statuses.
    pub status: Option<Vec<TaskStatus>>,
    /// A kind, e.g. `project.export`; a trailing `*` matches a prefix (`webhook.*`).
    pub kind: Option<String>,
    pub project_id: Option<ID>,
    pub created_by: Option<ID>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum TaskOrderField {
    CreatedAt,
    UpdatedAt,
    RunAt,
}

#[derive(InputObject)]
pub struct TaskOrder {
    pub field: TaskOrderField,
    #[graphql(default_with = "SortDirection::Asc")]
    pub direction: SortDirection,
}

fn task_order(o: Option<TaskOrder>) -> String {
    o.map(|o| {
        let f = match o.field {
            TaskOrderField::CreatedAt => "create_time",
            TaskOrderField::UpdatedAt => "update_time",
            TaskOrderField::RunAt => "run_time",
        };
        format!("{f} {}", o.direction.sql())
    })
    .unwrap_or_default()
}

fn task_filter(f: Option<TaskFilter>) -> String {
    let f = f.unwrap_or_default();
    let mut filter = Filter::default()
        .eq("kind", f.kind.as_deref())
        .eq("project_id", f.project_id.as_ref().map(|i| i.as_str()))
        .eq("created_by", f.created_by.as_ref().map(|i| i.as_str()));
    if let Some(statuses) = f.status {
        filter = filter.any("status", statuses.iter().map(|s| s.word()));
    }
    filter.build()
}

fn user_order(o: Option<UserOrder>) -> String {
    o.map(|o| {
        let f = match o.field {
            UserOrderField::Email => "email",
            UserOrderField::Name => "name",
            UserOrderField::Role => "role",
            UserOrderField::Status => "status",
            UserOrderField::CreatedAt => "create_time",
            UserOrderField::UpdatedAt => "update_time",
            UserOrderField::LastLoginAt => "last_login_time",
        };
        format!("{f} {}", o.direction.sql())
    })
    .unwrap_or_default()
}

fn project_order(o: Option<ProjectOrder>) -> String {
    o.map(|o| {
        let f = match o.field {
            ProjectOrderField::Slug => "slug",
            ProjectOrderField::Name => "name",
            ProjectOrderField::Status => "status",
            ProjectOrderField::CreatedAt => "create_time",
            ProjectOrderField::UpdatedAt => "update_time",
        };
        format!("{f} {}", o.direction.sql())
    })
    .unwrap_or_default()
}

fn user_filter(f: Option<UserFilter>) -> String {
    let f = f.unwrap_or_default();
    Filter::default()
        .eq("role", f.role.map(UserRole::word))
        .eq("status", f.status.map(UserStatus::word))
        .text(f.search.as_deref())
        .build()
}

fn project_filter(f: Option<ProjectFilter>) -> String {
    let f = f.unwrap_or_default();
    Filter::default()
        .eq("status", f.status.map(ProjectStatus::word))
        .eq("owner_id", f.owner_id.as_ref().map(|i| i.as_str()))
        .eq("member_id", f.member_id.as_ref().map(|i| i.as_str()))
        .eq("slug", f.slug.as_deref())
        .text(f.search.as_deref())
        .build()
}

fn take<T>(items: Vec<T>, page: Page) -> impl Iterator<Item = T> {
    items.into_iter().take(usize::try_from(page.size).unwrap_or(0))
}

#[Object]
impl Query {
    /// The signed-in caller.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        let core = core(ctx);
        let r = core.auth().get_me(core.req(pb::GetMeRequest {})).await.map_err(error::core)?.into_inner();
        r.user.map(User).ok_or_else(|| error::missing("a GetMe answer"))
    }

    async fn user(&self, ctx: &Context<'_>, id: ID) -> Result<User> {
        let core = core(ctx);
        let r = core.users().get_user(core.req(pb::GetUserRequest { id: id.0 })).await.map_err(error::core)?;
        r.into_inner().user.map(User).ok_or_else(|| error::missing("a GetUser answer"))
    }

    /// Users visible to the caller (everyone for admins; otherwise themself and the people they
    /// share a project with).
    #[graphql(complexity = "list_complexity(first, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<UserFilter>,
        order_by: Option<UserOrder>,
    ) -> Result<Conn<User>> {
        let page = Page::new(first, after.as_deref())?;
        let core = core(ctx);
        let r = core
            .users()
            .list_users(core.req(pb::ListUsersRequest {
                page_size: page.size.max(1),
                skip: page.offset,
                filter: user_filter(filter),
                order_by: user_order(order_by),
                ..Default::default()
            }))
            .await
            .map_err(error::core)?
            .into_inner();
        Ok(connection(page, take(r.users, page).map(User).collect(), r.total_size))
    }

    /// A project by `id` or by `slug` (exactly one).
    async fn project(&self, ctx: &Context<'_>, id: Option<ID>, slug: Option<String>) -> Result<Project> {
        let (id, slug) = match (id, slug) {
            (Some(id), None) => (id.0, String::new()),
            (None, Some(slug)) => (String::new(), slug),
            _ => return Err(bad_input("id", "give exactly one of id and slug")),
        };
        let core = core(ctx);
        let r = core
            .projects()
            .get_project(core.req(pb::GetProjectRequest { id, slug }))
            .await
            .map_err(error::core)?
            .into_inner();
        r.project.map(Project).ok_or_else(|| error::missing("a GetProject answer"))
    }

    /// The caller's projects (every project for admins).
    #[graphql(complexity = "list_complexity(first, child_complexity)")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<ProjectFilter>,
        order_by: Option<ProjectOrder>,
    ) -> Result<Conn<Project>> {
        let page = Page::new(first, after.as_deref())?;
        let core = core(ctx);
        let r = core
            .projects()
            .list_projects(core.req(pb::ListProjectsRequest {
                page_size: page.size.max(1),
                skip: page.offset,
                filter: project_filter(filter),
                order_by: project_order(order_by),
                ..Default::default()
            }))
            .await
            .map_err(error::core)?
            .into_inner();
        Ok(connection(page, take(r.projects, page).map(Project).collect(), r.total_size))
    }

    /// System settings, by key.
    #[graphql(complexity = "list_complexity(first, child_complexity)")]
    async fn settings(&self, ctx: &Context<'_>, first: Option<i32>, after: Option<String>) -> Result<Conn<Setting>> {
        let page = Page::new(first, after.as_deref())?;
        let core = core(ctx);
        let r = core
            .settings()
            .list_settings(core.req(pb::ListSettingsRequest {
                page_size: page.size.max(1),
                skip: page.offset,
                order_by: "key".into(),
                ..Default::default()
            }))
            .await
            .map_err(error::core)?
            .into_inner();
        Ok(connection(page, take(r.settings, page).map(Setting).collect(), r.total_size))
    }

    async fn setting(&self, ctx: &Context<'_>, key: String) -> Result<Setting> {
        let core = core(ctx);
        let r = core.settings().get_setting(core.req(pb::GetSettingRequest { key })).await.map_err(error::core)?;
        r.into_inner().setting.map(Setting).ok_or_else(|| error::missing("a GetSetting answer"))
    }

    /// A task the caller may see (admins: every task; others: the tasks they started and, as
    /// owners, those of their projects).
    async fn task(&self, ctx: &Context<'_>, id: ID) -> Result<Task> {
        let core = core(ctx);
        let r = core.tasks().get_task(core.req(pb::GetTaskRequest { id: id.0 })).await.map_err(error::core)?;
        r.into_inner().task.map(Task).ok_or_else(|| error::missing("a GetTask answer"))
    }

    /// Tasks the caller may see, newest first unless `orderBy` says otherwise.
    #[graphql(complexity = "list_complexity(first, child_complexity)")]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<TaskFilter>,
        order_by: Option<TaskOrder>,
    ) -> Result<Conn<Task>> {
        let page = Page::new(first, after.as_deref())?;
        let core = core(ctx);
        let r = core
            .tasks()
            .list_tasks(core.req(pb::ListTasksRequest {
                page_size: page.size.max(1),
                skip: page.offset,
                filter: task_filter(filter),
                order_by: task_order(order_by),
                ..Default::default()
            }))
            .await
            .map_err(error::core)?
            .into_inner();
        Ok(connection(page, take(r.tasks, page).map(Task).collect(), r.total_size))
    }

    /// The document of a succeeded `exportProject` task: `{format, exported_at, project, members,
    /// configs: [{…, revisions}]}` (`CONFLICT` while the task has not succeeded).
    async fn project_export(&self, ctx: &Context<'_>, task_id: ID) -> Result<Json<JsonValue>> {
        let core = core(ctx);
        let r = core
            .projects()
            .get_project_export(core.req(pb::GetProjectExportRequest { task_id: task_id.0 }))
            .await
            .map_err(error::core)?
            .into_inner();
        r.document
            .map(|d| Json(crate::convert::struct_to_json(d)))
            .ok_or_else(|| error::missing("a GetProjectExport answer"))
    }

    /// Events of one channel (`project:<id>`, `user:<id>`, `system`, `admin`) in `seq` order,
    /// after the given `seq` (its cursor is the `seq` too). Resume with the last cursor seen.
    #[graphql(complexity = "list_complexity(first, child_complexity)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        channel: String,
        after: Option<String>,
        first: Option<i32>,
    ) -> Result<Conn<Event>> {
        let size = first.unwrap_or(crate::convert::DEFAULT_FIRST);
        if !(0..=MAX_FIRST).contains(&size) {
            return Err(bad_input("first", format!("must be between 0 and {MAX_FIRST}")));
        }
        let after_seq = match after.as_deref() {
            None => None,
            Some(a) => Some(
                a.trim().parse::<i64>().ok().filter(|s| *s >= 0).ok_or_else(|| bad_input("after", "must be a seq"))?,
            ),
        };
        let core = core(ctx);
        if let Some(seq) = after_seq.filter(|s| *s > 0) {
            // Resuming: OUT_OF_RANGE when the log no longer holds what follows `after`, rather
            // than a page that silently starts later.
            core.events()
                .check_subscription(
                    core.req(pb::CheckSubscriptionRequest { channels: vec![channel.clone()], after_seq: Some(seq) }),
                )
                .await
                .map_err(error::core)?;
        }
        let mut filter = Filter::default().eq("channel", Some(&channel));
        if let Some(seq) = after_seq {
            filter = filter.raw(format!("seq > {seq}"));
        }
        let r = core
            .events()
            .list_events(core.req(pb::ListEventsRequest {
                page_size: size.max(1),
                filter: filter.build(),
                order_by: "seq asc".into(),
                ..Default::default()
            }))
            .await
            .map_err(error::core)?
            .into_inner();
        let events: Vec<_> = r.events.into_iter().take(usize::try_from(size).unwrap_or(0)).collect();
        let has_next = r.total_size > i32::try_from(events.len()).unwrap_or(i32::MAX);
        let mut conn = async_graphql::connection::Connection::with_additional_fields(
            after_seq.is_some(),
            has_next,
            super::types::Totals { total_count: r.total_size },
        );
        conn.edges
            .extend(events.into_iter().map(|e| async_graphql::connection::Edge::new(e.seq.to_string(), Event::new(e))));
        Ok(conn)
    }
}
