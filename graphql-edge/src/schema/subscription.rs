//! `Subscription`: live events over the `/graphql` WebSocket (`graphql-transport-ws`, and the
//! legacy `graphql-ws`). Each field follows its channels in one seq order, replays the log after
//! `after` first, and ends with an error (`extensions.code` FORBIDDEN, NOT_FOUND or
//! UNAUTHENTICATED) when the caller loses access — core-svc decides, as for reads.

use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::{Context, ID, Result, SimpleObject};
use edge_kit::{CoreError, live::SharedEvent};
use futures::{StreamExt, stream::BoxStream};
use proto::Services as _;
use proto::v1 as pb;

use super::types::{ConfigEntry, Event, Project};
use crate::{
    context::core,
    convert,
    error::{self, bad_input},
    live::{self, Live},
};

/// Most channels one `events` subscription follows.
pub const MAX_CHANNELS: usize = 20;

pub struct Subscription;

/// A project after a change.
#[derive(SimpleObject)]
pub struct ProjectChange {
    /// The event's seq: resume with `after: <seq>`.
    pub seq: i64,
    /// `project.updated`, `project.archived`, `project.unarchived`, …
    #[graphql(name = "type")]
    pub event_type: String,
    /// The project as the subscriber sees it now (its role included).
    pub project: Project,
}

/// A config entry after a change (set, deleted, rolled back, imported).
#[derive(SimpleObject)]
pub struct ConfigChange {
    /// The event's seq: resume with `after: <seq>`.
    pub seq: i64,
    /// `config.set`, `config.deleted`, `config.rolled_back` or `config.imported`.
    #[graphql(name = "type")]
    pub event_type: String,
    /// The entry after the change (`deletedAt` set for a deletion).
    pub config: ConfigEntry,
}

/// In a request's data: the subscription field runs on this one item instead of its live stream
/// and yields what it would have yielded for it. The edge renders an event this way once for
/// every socket running the same operation (see `crate::mux`), through the real schema, so
/// aliases, fragments, directives, `__typename` and error shapes stay async-graphql's.
pub enum One {
    Event(Arc<SharedEvent>),
    /// The subscription's end (access lost, client too slow), rendered for one subscriber.
    End(CoreError),
}

/// In a request's data: each subscription field reports its coerced, validated arguments and
/// whether its result depends only on the event (so one rendering serves every subscriber), and
/// yields nothing.
#[derive(Default, Clone)]
pub struct Probe(Arc<Mutex<Vec<Probed>>>);

/// What [`Probe`] learnt of one subscription field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    pub channels: Vec<String>,
    pub after: Option<i64>,
    /// The result depends only on the event: no field under it calls core-svc.
    pub shareable: bool,
}

impl Probe {
    fn report(&self, probed: Probed) -> BoxStream<'static, Result<Nothing>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(probed);
        futures::stream::empty().boxed()
    }

    /// The fields the operation subscribes to.
    pub fn fields(&self) -> Vec<Probed> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// An item of a stream that yields none.
enum Nothing {}

fn cast<T: Send + 'static>(s: BoxStream<'static, Result<Nothing>>) -> BoxStream<'static, Result<T>> {
    s.map(|r| r.map(|n| match n {})).boxed()
}

fn live<'a>(ctx: &Context<'a>) -> Result<&'a Live> {
    ctx.data_opt::<Live>()
        .ok_or_else(|| bad_input("subscription", "subscriptions are served over the WebSocket of /graphql"))
}

fn after_seq(after: Option<&ID>) -> Result<Option<i64>> {
    after
        .map(|a| a.trim().parse::<i64>().ok().filter(|s| *s >= 0).ok_or_else(|| bad_input("after", "must be a seq")))
        .transpose()
}

#[async_graphql::Subscription]
impl Subscription {
    /// Events of `channels` (`project:<id>`, `user:<id>`, `system`, `admin`; at most 20) in one
    /// `seq` order, each once: the log after `after` first (when given), then live.
    async fn events(
        &self,
        ctx: &Context<'_>,
        channels: Vec<String>,
        after: Option<ID>,
    ) -> Result<BoxStream<'static, Result<Event>>> {
        if channels.is_empty() || channels.len() > MAX_CHANNELS {
            return Err(bad_input("channels", format!("give 1 to {MAX_CHANNELS} channels")));
        }
        let after = after_seq(after.as_ref())?;
        // Every field of `Event` is plain data: one rendering serves every subscriber.
        if let Some(probe) = ctx.data_opt::<Probe>() {
            return Ok(cast(probe.report(Probed { channels, after, shareable: true })));
        }
        if let Some(one) = ctx.data_opt::<One>() {
            let item = match one {
                One::Event(e) => Ok(Event(e.clone())),
                One::End(err) => Err(error::from_core_error(err.clone())),
            };
            return Ok(futures::stream::iter([item]).boxed());
        }
        let stream = live::events(live(ctx)?, channels, after);
        Ok(stream.map(|r| r.map(Event).map_err(error::from_core_error)).boxed())
    }

    /// The project after each change to it, as the subscriber sees it.
    async fn project_changed(
        &self,
        ctx: &Context<'_>,
        id: ID,
        after: Option<ID>,
    ) -> Result<BoxStream<'static, Result<ProjectChange>>> {
        let after = after_seq(after.as_ref())?;
        let project_id = id.to_string();
        // The project is read with each subscriber's credentials: never shared.
        if let Some(probe) = ctx.data_opt::<Probe>() {
            let channels = vec![format!("project:{project_id}")];
            return Ok(cast(probe.report(Probed { channels, after, shareable: false })));
        }
        let core = core(ctx).clone();
        let stream = live::events(live(ctx)?, vec![format!("project:{project_id}")], after);
        Ok(stream
            .filter_map(move |r| {
                let (core, project_id) = (core.clone(), project_id.clone());
                async move {
                    let e = match r {
                        Ok(e) => e,
                        Err(err) => return Some(Err(error::from_core_error(err))),
                    };
                    let resource = e.event.resource.as_ref()?;
                    if resource.r#type != "project" || resource.id != project_id {
                        return None;
                    }
                    // Read again with the subscriber's credentials: the project as it sees it.
                    let got = core
                        .projects()
                        .get_project(core.req(pb::GetProjectRequest { id: project_id, slug: String::new() }))
                        .await;
                    Some(match got {
                        Ok(r) => r
                            .into_inner()
                            .project
                            .map(|p| ProjectChange {
                                seq: e.seq,
                                event_type: e.event.r#type.clone(),
                                project: Project(p),
                            })
                            .ok_or_else(|| error::missing("a project")),
                        Err(status) => Err(error::core(status)),
                    })
                }
            })
            .boxed())
    }

    /// Config entries of a project (or one `key`) after each change: the changed entries
    /// themselves, for a client cache to merge.
    async fn config_changed(
        &self,
        ctx: &Context<'_>,
        project_id: ID,
        key: Option<String>,
        after: Option<ID>,
    ) -> Result<BoxStream<'static, Result<ConfigChange>>> {
        let after = after_seq(after.as_ref())?;
        let channels = vec![format!("project:{}", project_id.as_str())];
        // Only `config { history }` calls core-svc (with the subscriber's credentials); without
        // it the result depends only on the event.
        if let Some(probe) = ctx.data_opt::<Probe>() {
            let shareable = !ctx.look_ahead().field("config").field("history").exists();
            return Ok(cast(probe.report(Probed { channels, after, shareable })));
        }
        let changes = move |r: Result<Arc<SharedEvent>, CoreError>| -> Vec<Result<ConfigChange>> {
            match r {
                Err(err) => vec![Err(error::from_core_error(err))],
                Ok(e) => convert::config_changes(&e.event)
                    .into_iter()
                    .filter(|c| key.as_deref().is_none_or(|k| c.key == k))
                    .map(|c| {
                        Ok(ConfigChange { seq: e.seq, event_type: e.event.r#type.clone(), config: ConfigEntry(c) })
                    })
                    .collect(),
            }
        };
        if let Some(one) = ctx.data_opt::<One>() {
            let item = match one {
                One::Event(e) => Ok(e.clone()),
                One::End(err) => Err(err.clone()),
            };
            return Ok(futures::stream::iter(changes(item)).boxed());
        }
        let stream = live::events(live(ctx)?, channels, after);
        Ok(stream.flat_map(move |r| futures::stream::iter(changes(r))).boxed())
    }
}
