//! `/events`: the audit log (EventService), read-only.

use poem::Request;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
};
use proto::v1::{self as pb, event_service_client::EventServiceClient};
use serde_json::Value;

use super::{BearerAuth, Ctx, ListResponse, OneResponse, Tag, struct_to_json, time};
use crate::types::Id;
use crate::{list::ListSpec, problem::ApiError};

pub const SPEC: ListSpec = ListSpec {
    resource: "events",
    filters: &[
        ("id", "id"),
        ("channel", "channel"),
        // A project's events are those on its channel (React Admin: ReferenceManyField
        // reference="events" target="project_id").
        ("project_id", "channel=project:{}"),
        ("type", "type"),
        ("actor_id", "actor_id"),
        ("resource_type", "resource_type"),
        ("resource_id", "resource_id"),
        ("seq", "seq"),
        ("occurred_at", "occur_time"),
    ],
    sorts: &[("id", "seq"), ("seq", "seq"), ("occurred_at", "occur_time")],
    ids_by_get: true,
};

/// One entry of the audit log.
#[derive(Debug, Clone, Object)]
// Unset timestamps are left out rather than null: the schema says string.
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct Event {
    pub id: String,
    /// Total order of committed events, without gaps.
    pub seq: i64,
    /// e.g. `config.set`, `project.archived`.
    #[oai(rename = "type")]
    pub kind: String,
    /// The main channel: `project:<id>`, `user:<id>` or `system`.
    pub channel: String,
    pub channels: Vec<String>,
    pub actor_id: String,
    pub resource_type: String,
    pub resource_id: String,
    /// The resource after the change (the before-state for deletes).
    pub payload: Value,
    pub occurred_at: Option<String>,
    pub request_id: String,
}

impl From<pb::Event> for Event {
    fn from(e: pb::Event) -> Self {
        let (resource_type, resource_id) = e.resource.map(|r| (r.r#type, r.id)).unwrap_or_default();
        Self {
            payload: e.payload.as_ref().map_or(Value::Null, struct_to_json),
            occurred_at: time(e.occur_time.as_ref()),
            id: e.id,
            seq: e.seq,
            kind: e.r#type,
            channel: e.channel,
            channels: e.channels,
            actor_id: e.actor_id,
            resource_type,
            resource_id,
            request_id: e.request_id,
        }
    }
}

pub struct EventsApi(pub super::Core);

impl EventsApi {
    fn client(&self) -> EventServiceClient<tonic::transport::Channel> {
        EventServiceClient::new(self.0.0.channel())
    }
}

#[OpenApi(tag = "Tag::Events")]
impl EventsApi {
    /// List events
    ///
    /// The channels the caller may read. Filters: `id` (alone: getMany), `channel`, `project_id`
    /// (the channel `project:<id>`), `type` (a trailing `*` matches a prefix), `actor_id`,
    /// `resource_type`, `resource_id`, `seq` and `occurred_at` (RFC 3339; both also with `_gt`,
    /// `_gte`, `_lt`, `_lte`). Sort: `id` (= `seq`), `seq`, `occurred_at`.
    #[oai(path = "/events", method = "get", operation_id = "listEvents")]
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
            pattern = r#"^([ \t\n\r]*|[ \t\n\r]*\[[ \t\n\r]*"(id|seq|occurred_at)"([ \t\n\r]*,[ \t\n\r]*"([aA][sS][cC]|[dD][eE][sS][cC])")?[ \t\n\r]*\][ \t\n\r]*)$"#
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
    ) -> Result<ListResponse<Event>, ApiError> {
        let _ = (filter, range, sort, start, end, sort_field, order);
        let ctx = Ctx::new(req, Some(&auth))?;
        let plan = ctx.plan(req, &SPEC)?;
        if plan.matches_nothing {
            return Ok(ListResponse::new(&SPEC, &plan, vec![], 0));
        }
        if let Some(ids) = &plan.ids {
            let mut found = Vec::new();
            for id in ids {
                match self.client().get_event(ctx.req(pb::GetEventRequest { id: id.clone() })).await {
                    Ok(r) => found.extend(r.into_inner().event.map(Event::from)),
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
            .list_events(ctx.req(pb::ListEventsRequest {
                page_size: plan.page_size,
                filter: plan.filter.clone(),
                order_by: plan.order_by.clone(),
                skip: plan.skip,
                ..Default::default()
            }))
            .await
            .map_err(|s| ctx.fail(s))?
            .into_inner();
        Ok(ListResponse::new(&SPEC, &plan, r.events.into_iter().map(Event::from).collect(), r.total_size))
    }

    /// Get an event
    #[oai(path = "/events/:id", method = "get", operation_id = "getEvent")]
    async fn get(&self, req: &Request, auth: BearerAuth, id: Path<Id>) -> Result<OneResponse<Event>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let r = self
            .client()
            .get_event(ctx.req(pb::GetEventRequest { id: id.0.into_string() }))
            .await
            .map_err(|s| ctx.fail(s))?;
        let e = r.into_inner().event.map(Event::from).ok_or_else(|| ctx.missing("event"))?;
        Ok(OneResponse::new(e, None))
    }
}
