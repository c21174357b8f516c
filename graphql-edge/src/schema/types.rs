//! GraphQL object types: thin views over platform.v1 messages, plus the connection shape.

use proto::Services as _;
use std::sync::Arc;

use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, Json, Object, OutputType, Result, SimpleObject,
    connection::{Connection, Edge},
    dataloader::DataLoader,
};
use chrono::{DateTime, Utc};
use edge_kit::live::SharedEvent;
use proto::v1 as pb;
use serde_json::Value as JsonValue;

use crate::{
    context::core,
    convert::{self, Page, encode_cursor, list_complexity},
    error,
    loaders::{MembersByProject, UserById},
};

/// Relay connection of `T` with `totalCount`.
pub type Conn<T> = Connection<String, T, Totals>;

/// Extra connection fields.
#[derive(SimpleObject)]
pub struct Totals {
    /// Number of items in the whole list (all pages).
    pub total_count: i32,
}

/// One page of an offset-addressed list as a connection.
pub fn connection<T: OutputType>(page: Page, items: Vec<T>, total: i32) -> Conn<T> {
    let len = i32::try_from(items.len()).unwrap_or(i32::MAX);
    let mut conn = Connection::with_additional_fields(
        page.offset > 0,
        page.offset.saturating_add(len) < total,
        Totals { total_count: total },
    );
    conn.edges
        .extend(items.into_iter().zip(page.offset..).map(|(node, position)| Edge::new(encode_cursor(position), node)));
    conn
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SortDirection {
    Asc,
    Desc,
}

impl SortDirection {
    pub fn sql(self) -> &'static str {
        match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum UserRole {
    Admin,
    User,
}

impl UserRole {
    fn from_pb(v: i32) -> Option<Self> {
        match pb::UserRole::try_from(v).ok()? {
            pb::UserRole::Admin => Some(Self::Admin),
            pb::UserRole::User => Some(Self::User),
            pb::UserRole::Unspecified => None,
        }
    }
    pub fn word(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::User => "user",
        }
    }
    pub fn to_pb(self) -> pb::UserRole {
        match self {
            Self::Admin => pb::UserRole::Admin,
            Self::User => pb::UserRole::User,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum UserStatus {
    Active,
    Disabled,
}

impl UserStatus {
    fn from_pb(v: i32) -> Option<Self> {
        match pb::UserStatus::try_from(v).ok()? {
            pb::UserStatus::Active => Some(Self::Active),
            pb::UserStatus::Disabled => Some(Self::Disabled),
            pb::UserStatus::Unspecified => None,
        }
    }
    pub fn word(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
    pub fn to_pb(self) -> pb::UserStatus {
        match self {
            Self::Active => pb::UserStatus::Active,
            Self::Disabled => pb::UserStatus::Disabled,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ProjectStatus {
    Active,
    Archived,
}

impl ProjectStatus {
    fn from_pb(v: i32) -> Option<Self> {
        match pb::ProjectStatus::try_from(v).ok()? {
            pb::ProjectStatus::Active => Some(Self::Active),
            pb::ProjectStatus::Archived => Some(Self::Archived),
            pb::ProjectStatus::Unspecified => None,
        }
    }
    pub fn word(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Archived => "archived",
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum MemberRole {
    Owner,
    Editor,
    Viewer,
}

impl MemberRole {
    fn from_pb(v: i32) -> Option<Self> {
        match pb::MemberRole::try_from(v).ok()? {
            pb::MemberRole::Owner => Some(Self::Owner),
            pb::MemberRole::Editor => Some(Self::Editor),
            pb::MemberRole::Viewer => Some(Self::Viewer),
            pb::MemberRole::Unspecified => None,
        }
    }
    pub fn to_pb(self) -> pb::MemberRole {
        match self {
            Self::Owner => pb::MemberRole::Owner,
            Self::Editor => pb::MemberRole::Editor,
            Self::Viewer => pb::MemberRole::Viewer,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ConfigOp {
    Set,
    Delete,
    Rollback,
}

impl ConfigOp {
    fn from_pb(v: i32) -> Option<Self> {
        match pb::ConfigOp::try_from(v).ok()? {
            pb::ConfigOp::Set => Some(Self::Set),
            pb::ConfigOp::Delete => Some(Self::Delete),
            pb::ConfigOp::Rollback => Some(Self::Rollback),
            pb::ConfigOp::Unspecified => None,
        }
    }
}

/// A person who signs in.
pub struct User(pub pb::User);

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn role(&self) -> Option<UserRole> {
        UserRole::from_pb(self.0.role)
    }
    async fn status(&self) -> Option<UserStatus> {
        UserStatus::from_pb(self.0.status)
    }
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.create_time)
    }
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.update_time)
    }
    async fn last_login_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.last_login_time)
    }
    async fn version(&self) -> i64 {
        self.0.version
    }
    async fn etag(&self) -> &str {
        &self.0.etag
    }
}

/// Loads a user through the request's batching loader (one BatchGetUsers per batch).
async fn load_user(ctx: &Context<'_>, id: &str) -> Result<Option<User>> {
    if id.is_empty() {
        return Ok(None);
    }
    let loader = ctx.data_unchecked::<Arc<DataLoader<UserById>>>();
    Ok(loader.load_one(id.to_string()).await.map_err(error::from_core_error)?.map(User))
}

/// A project: members, configs and their history live under it.
pub struct Project(pub pb::Project);

#[Object]
impl Project {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn status(&self) -> Option<ProjectStatus> {
        ProjectStatus::from_pb(self.0.status)
    }
    async fn owner_id(&self) -> ID {
        ID(self.0.owner_id.clone())
    }
    /// The owning user (null when not visible to the caller).
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        load_user(ctx, &self.0.owner_id).await
    }
    /// The caller's role in this project (OWNER for admins who are not members).
    async fn my_role(&self) -> Option<MemberRole> {
        MemberRole::from_pb(self.0.caller_role)
    }
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.create_time)
    }
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.update_time)
    }
    async fn version(&self) -> i64 {
        self.0.version
    }
    async fn etag(&self) -> &str {
        &self.0.etag
    }

    /// Members, oldest first. Without `after`, members of every project in the response are
    /// fetched together (one ListMembers per ~70 projects).
    #[graphql(complexity = "list_complexity(first, child_complexity)")]
    async fn members(&self, ctx: &Context<'_>, first: Option<i32>, after: Option<String>) -> Result<Conn<Member>> {
        let page = Page::new(first, after.as_deref())?;
        if page.offset == 0 {
            let loader = ctx.data_unchecked::<Arc<DataLoader<MembersByProject>>>();
            let all = loader.load_one(self.0.id.clone()).await.map_err(error::from_core_error)?.unwrap_or_default();
            let total = i32::try_from(all.len()).unwrap_or(i32::MAX);
            let items = all.iter().take(usize::try_from(page.size).unwrap_or(0)).cloned().map(Member).collect();
            return Ok(connection(page, items, total));
        }
        let core = core(ctx);
        let r = core
            .members()
            .list_members(core.req(pb::ListMembersRequest {
                project_id: self.0.id.clone(),
                page_size: page.size.max(1),
                skip: page.offset,
                order_by: crate::loaders::MEMBER_ORDER.into(),
                ..Default::default()
            }))
            .await
            .map_err(error::core)?
            .into_inner();
        let items = r.members.into_iter().take(usize::try_from(page.size).unwrap_or(0)).map(Member).collect();
        Ok(connection(page, items, r.total_size))
    }

    /// Config entries (not deleted ones), by key.
    #[graphql(complexity = "list_complexity(first, child_complexity)")]
    async fn configs(&self, ctx: &Context<'_>, first: Option<i32>, after: Option<String>) -> Result<Conn<ConfigEntry>> {
        let page = Page::new(first, after.as_deref())?;
        let core = core(ctx);
        let r = core
            .configs()
            .list_configs(core.req(pb::ListConfigsRequest {
                project_id: self.0.id.clone(),
                page_size: page.size.max(1),
                skip: page.offset,
                order_by: "key".into(),
                ..Default::default()
            }))
            .await
            .map_err(error::core)?
            .into_inner();
        let items = r.configs.into_iter().take(usize::try_from(page.size).unwrap_or(0)).map(ConfigEntry).collect();
        Ok(connection(page, items, r.total_size))
    }

    /// One config entry by key (deleted entries too, with `deletedAt`, so their history stays
    /// reachable).
    async fn config(&self, ctx: &Context<'_>, key: String) -> Result<ConfigEntry> {
        let core = core(ctx);
        let r = core
            .configs()
            .get_config(core.req(pb::GetConfigRequest { project_id: self.0.id.clone(), key, ..Default::default() }))
            .await
            .map_err(error::core)?
            .into_inner();
        r.config.map(ConfigEntry).ok_or_else(|| error::missing("a GetConfig answer"))
    }

    /// The effective config: every live key and its value as one JSON object.
    async fn config_values(&self, ctx: &Context<'_>) -> Result<Json<JsonValue>> {
        let core = core(ctx);
        let r = core
            .configs()
            .get_effective_config(core.req(pb::GetEffectiveConfigRequest { project_id: self.0.id.clone() }))
            .await
            .map_err(error::core)?
            .into_inner();
        Ok(Json(r.values.map_or_else(|| JsonValue::Object(Default::default()), convert::struct_to_json)))
    }

    /// Webhooks, oldest first (owners only: other members get `FORBIDDEN`).
    #[graphql(complexity = "list_complexity(first, child_complexity)")]
    async fn webhooks(&self, ctx: &Context<'_>, first: Option<i32>, after: Option<String>) -> Result<Conn<Webhook>> {
        let page = Page::new(first, after.as_deref())?;
        let core = core(ctx);
        let r = core
            .webhooks()
            .list_webhooks(core.req(pb::ListWebhooksRequest {
                project_id: self.0.id.clone(),
                page_size: page.size.max(1),
                skip: page.offset,
                order_by: "create_time asc".into(),
                ..Default::default()
            }))
            .await
            .map_err(error::core)?
            .into_inner();
        let items = r.webhooks.into_iter().take(usize::try_from(page.size).unwrap_or(0)).map(Webhook).collect();
        Ok(connection(page, items, r.total_size))
    }
}

/// A user's membership in a project.
#[derive(Clone)]
pub struct Member(pub pb::Member);

#[Object]
impl Member {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn project_id(&self) -> ID {
        ID(self.0.project_id.clone())
    }
    async fn user_id(&self) -> ID {
        ID(self.0.user_id.clone())
    }
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        load_user(ctx, &self.0.user_id).await
    }
    async fn role(&self) -> Option<MemberRole> {
        MemberRole::from_pb(self.0.role)
    }
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.create_time)
    }
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.update_time)
    }
    async fn version(&self) -> i64 {
        self.0.version
    }
    async fn etag(&self) -> &str {
        &self.0.etag
    }
}

/// A versioned key/value entry of a project's config.
pub struct ConfigEntry(pub pb::Config);

#[Object]
impl ConfigEntry {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn project_id(&self) -> ID {
        ID(self.0.project_id.clone())
    }
    async fn key(&self) -> &str {
        &self.0.key
    }
    async fn value(&self) -> Json<JsonValue> {
        Json(convert::to_json(self.0.value.clone()))
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn version(&self) -> i64 {
        self.0.version
    }
    async fn etag(&self) -> &str {
        &self.0.etag
    }
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.create_time)
    }
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.update_time)
    }
    async fn updated_by(&self) -> ID {
        ID(self.0.updated_by.clone())
    }
    /// Set when the key is deleted.
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.delete_time)
    }

    /// Revisions, newest first.
    #[graphql(complexity = "list_complexity(first, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<ConfigRevision>> {
        let page = Page::new(first, after.as_deref())?;
        let core = core(ctx);
        let r = core
            .configs()
            .list_config_revisions(core.req(pb::ListConfigRevisionsRequest {
                config_id: self.0.id.clone(),
                page_size: page.size.max(1),
                skip: page.offset,
                order_by: "version desc".into(),
                ..Default::default()
            }))
            .await
            .map_err(error::core)?
            .into_inner();
        let items = r.revisions.into_iter().take(usize::try_from(page.size).unwrap_or(0)).map(ConfigRevision).collect();
        Ok(connection(page, items, r.total_size))
    }
}

/// One write of a config entry.
pub struct ConfigRevision(pub pb::ConfigRevision);

#[Object]
impl ConfigRevision {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn config_id(&self) -> ID {
        ID(self.0.config_id.clone())
    }
    async fn key(&self) -> &str {
        &self.0.key
    }
    async fn version(&self) -> i64 {
        self.0.version
    }
    async fn value(&self) -> Json<JsonValue> {
        Json(convert::to_json(self.0.value.clone()))
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn op(&self) -> Option<ConfigOp> {
        ConfigOp::from_pb(self.0.op)
    }
    async fn author_id(&self) -> ID {
        ID(self.0.author_id.clone())
    }
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.create_time)
    }
}

/// A system-wide setting.
pub struct Setting(pub pb::Setting);

#[Object]
impl Setting {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn key(&self) -> &str {
        &self.0.key
    }
    async fn value(&self) -> Json<JsonValue> {
        Json(convert::to_json(self.0.value.clone()))
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn version(&self) -> i64 {
        self.0.version
    }
    async fn etag(&self) -> &str {
        &self.0.etag
    }
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.create_time)
    }
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.update_time)
    }
    async fn updated_by(&self) -> ID {
        ID(self.0.updated_by.clone())
    }
}

/// An entry of the event log: shared, not copied, by every subscriber that receives it.
pub struct Event(pub Arc<SharedEvent>);

impl Event {
    pub fn new(event: pb::Event) -> Self {
        Self(Arc::new(SharedEvent::new(event)))
    }
}

#[Object]
impl Event {
    /// Position in the total order of events; resume with `events(after: <seq>)`.
    async fn seq(&self) -> i64 {
        self.0.event.seq
    }
    async fn id(&self) -> ID {
        ID(self.0.event.id.clone())
    }
    #[graphql(name = "type")]
    async fn event_type(&self) -> &str {
        &self.0.event.r#type
    }
    async fn channel(&self) -> &str {
        &self.0.event.channel
    }
    async fn channels(&self) -> &[String] {
        &self.0.event.channels
    }
    async fn actor_id(&self) -> ID {
        ID(self.0.event.actor_id.clone())
    }
    async fn resource_type(&self) -> &str {
        self.0.event.resource.as_ref().map_or("", |r| r.r#type.as_str())
    }
    async fn resource_id(&self) -> ID {
        ID(self.0.event.resource.as_ref().map(|r| r.id.clone()).unwrap_or_default())
    }
    async fn payload(&self) -> Json<JsonValue> {
        // Converted once per event, whatever the number of subscribers.
        Json(self.0.payload_json(|e| e.payload.clone().map_or(JsonValue::Null, convert::struct_to_json)).clone())
    }
    async fn occurred_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.event.occur_time)
    }
    async fn request_id(&self) -> &str {
        &self.0.event.request_id
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TaskStatus {
    /// Waiting to run (at `runAt`).
    Queued,
    Running,
    Succeeded,
    /// The last attempt failed; another is scheduled at `runAt`.
    Failed,
    /// Every attempt failed; `retryTask` runs it again.
    Dead,
    Cancelled,
}

impl TaskStatus {
    fn from_pb(v: i32) -> Option<Self> {
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
    pub fn word(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Dead => "dead",
            Self::Cancelled => "cancelled",
        }
    }
}

/// A background task: a project export, a webhook delivery, periodic maintenance.
pub struct Task(pub pb::Task);

#[Object]
impl Task {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// `project.export`, `webhook.deliver`, `maintenance.purge_tokens`, `maintenance.trim_events`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn status(&self) -> Option<TaskStatus> {
        TaskStatus::from_pb(self.0.status)
    }
    /// Attempts made so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn max_attempts(&self) -> i32 {
        self.0.max_attempts
    }
    /// When the task runs next (or ran last).
    async fn run_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.run_time)
    }
    /// 0 to 100.
    async fn progress(&self) -> i32 {
        self.0.progress
    }
    /// What the task produced (e.g. an export's summary), once it succeeded.
    async fn result(&self) -> Option<Json<JsonValue>> {
        self.0.result.clone().map(|r| Json(convert::struct_to_json(r)))
    }
    /// Why the last attempt failed, if it did.
    async fn last_error(&self) -> Option<&str> {
        Some(self.0.last_error.as_str()).filter(|e| !e.is_empty())
    }
    /// Null for tasks core-svc scheduled itself.
    async fn created_by(&self) -> Option<ID> {
        Some(&self.0.created_by).filter(|c| !c.is_empty()).map(|c| ID(c.clone()))
    }
    /// The project the task works on, if any.
    async fn project_id(&self) -> Option<ID> {
        Some(&self.0.project_id).filter(|p| !p.is_empty()).map(|p| ID(p.clone()))
    }
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.create_time)
    }
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.update_time)
    }
    async fn version(&self) -> i64 {
        self.0.version
    }
}

/// A project's webhook: events whose type matches `eventTypes` are POSTed to `url`, signed.
pub struct Webhook(pub pb::Webhook);

#[Object]
impl Webhook {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn project_id(&self) -> ID {
        ID(self.0.project_id.clone())
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// Globs over event types: `config.*`, `member.added`, `*`.
    async fn event_types(&self) -> &[String] {
        &self.0.event_types
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// The signing key: only in the answer of `createWebhook`, and of an `updateWebhook` that
    /// changed it; null everywhere else.
    async fn secret(&self) -> Option<&str> {
        Some(self.0.secret.as_str()).filter(|s| !s.is_empty())
    }
    async fn created_by(&self) -> Option<ID> {
        Some(&self.0.created_by).filter(|c| !c.is_empty()).map(|c| ID(c.clone()))
    }
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.create_time)
    }
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.update_time)
    }
    async fn version(&self) -> i64 {
        self.0.version
    }
    async fn etag(&self) -> &str {
        &self.0.etag
    }

    /// The delivery log, newest first.
    #[graphql(complexity = "list_complexity(first, child_complexity)")]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<WebhookDelivery>> {
        let page = Page::new(first, after.as_deref())?;
        let core = core(ctx);
        let r = core
            .webhooks()
            .list_webhook_deliveries(core.req(pb::ListWebhookDeliveriesRequest {
                webhook_id: self.0.id.clone(),
                page_size: page.size.max(1),
                skip: page.offset,
                order_by: "create_time desc".into(),
                ..Default::default()
            }))
            .await
            .map_err(error::core)?
            .into_inner();
        let items =
            r.deliveries.into_iter().take(usize::try_from(page.size).unwrap_or(0)).map(WebhookDelivery).collect();
        Ok(connection(page, items, r.total_size))
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum DeliveryStatus {
    /// Not delivered yet; attempts are scheduled.
    Pending,
    Delivered,
    /// Every attempt failed (`retryTask(id: taskId)` tries again).
    Dead,
}

impl DeliveryStatus {
    fn from_pb(v: i32) -> Option<Self> {
        match pb::DeliveryStatus::try_from(v).ok()? {
            pb::DeliveryStatus::Pending => Some(Self::Pending),
            pb::DeliveryStatus::Delivered => Some(Self::Delivered),
            pb::DeliveryStatus::Dead => Some(Self::Dead),
            pb::DeliveryStatus::Unspecified => None,
        }
    }
}

/// One event sent (or being sent) to one webhook.
pub struct WebhookDelivery(pub pb::WebhookDelivery);

#[Object]
impl WebhookDelivery {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn webhook_id(&self) -> ID {
        ID(self.0.webhook_id.clone())
    }
    async fn project_id(&self) -> ID {
        ID(self.0.project_id.clone())
    }
    async fn event_id(&self) -> ID {
        ID(self.0.event_id.clone())
    }
    async fn event_seq(&self) -> i64 {
        self.0.event_seq
    }
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    async fn status(&self) -> Option<DeliveryStatus> {
        DeliveryStatus::from_pb(self.0.status)
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// HTTP status of the last attempt (0: no answer).
    async fn response_status(&self) -> i32 {
        self.0.response_status
    }
    /// Start of the last answer's body (at most 1 KiB).
    async fn response_body(&self) -> &str {
        &self.0.response_body
    }
    async fn last_error(&self) -> Option<&str> {
        Some(self.0.last_error.as_str()).filter(|e| !e.is_empty())
    }
    /// Duration of the last attempt.
    async fn duration_ms(&self) -> i64 {
        self.0.duration_ms
    }
    /// The task that delivers it.
    async fn task_id(&self) -> ID {
        ID(self.0.task_id.clone())
    }
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.create_time)
    }
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.update_time)
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.deliver_time)
    }
}

/// A long-lived credential acting as its user.
pub struct ApiToken(pub pb::ApiToken);

#[Object]
impl ApiToken {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn user_id(&self) -> ID {
        ID(self.0.user_id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The first characters of the secret, to recognise it.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.create_time)
    }
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.expire_time)
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.revoke_time)
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        convert::time(self.0.last_use_time)
    }
}

/// Tokens from `login` and `refreshToken`.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AuthPayload {
    pub access_token: String,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub refresh_token: String,
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    /// Always `Bearer`.
    pub token_type: String,
    #[graphql(skip)]
    pub user: Option<pb::User>,
}

#[ComplexObject]
impl AuthPayload {
    async fn user(&self) -> Option<User> {
        self.user.clone().map(User)
    }
}

impl AuthPayload {
    pub fn new(tokens: Option<pb::TokenPair>, user: Option<pb::User>) -> Self {
        let t = tokens.unwrap_or_default();
        Self {
            access_token: t.access_token,
            access_token_expires_at: convert::time(t.access_token_expire_time),
            refresh_token: t.refresh_token,
            refresh_token_expires_at: convert::time(t.refresh_token_expire_time),
            token_type: t.token_type,
            user,
        }
    }
}

/// `createApiToken`'s answer: the secret is shown only here.
#[derive(SimpleObject)]
pub struct CreatedApiToken {
    pub token: String,
    pub api_token: ApiToken,
}

/// One entry of `importConfigs`.
#[derive(InputObject)]
pub struct ConfigEntryInput {
    pub key: String,
    /// Any JSON; null (or omitted) stores JSON null.
    pub value: Option<Json<JsonValue>>,
    pub description: Option<String>,
}
