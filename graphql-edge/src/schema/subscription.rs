//! `Subscription`: live events over the `/graphql` WebSocket (`graphql-transport-ws`, and the
//! legacy `graphql-ws`). Each field follows its channels in one seq order, replays the log after
//! `after` first, and ends with an error (`extensions.code` FORBIDDEN, NOT_FOUND or
//! UNAUTHENTICATED) when the caller loses access — core-svc decides, as for reads.

use async_graphql::{Context, ID, Result, SimpleObject};
use futures::{Stream, StreamExt};
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
    ) -> Result<impl Stream<Item = Result<Event>> + use<>> {
        if channels.is_empty() || channels.len() > MAX_CHANNELS {
            return Err(bad_input("channels", format!("give 1 to {MAX_CHANNELS} channels")));
        }
        let after = after_seq(after.as_ref())?;
        let stream = live::events(live(ctx)?, channels, after);
        Ok(stream.map(|r| r.map(|e| Event(e.event.clone())).map_err(error::from_core_error)))
    }

    /// The project after each change to it, as the subscriber sees it.
    async fn project_changed(
        &self,
        ctx: &Context<'_>,
        id: ID,
        after: Option<ID>,
    ) -> Result<impl Stream<Item = Result<ProjectChange>> + use<>> {
        let after = after_seq(after.as_ref())?;
        let core = core(ctx).clone();
        let project_id = id.to_string();
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
    ) -> Result<impl Stream<Item = Result<ConfigChange>> + use<>> {
        let after = after_seq(after.as_ref())?;
        let stream = live::events(live(ctx)?, vec![format!("project:{}", project_id.as_str())], after);
        Ok(stream.flat_map(move |r| {
            let changes: Vec<Result<ConfigChange>> = match r {
                Err(err) => vec![Err(error::from_core_error(err))],
                Ok(e) => convert::config_changes(&e.event)
                    .into_iter()
                    .filter(|c| key.as_deref().is_none_or(|k| c.key == k))
                    .map(|c| {
                        Ok(ConfigChange { seq: e.seq, event_type: e.event.r#type.clone(), config: ConfigEntry(c) })
                    })
                    .collect(),
            };
            futures::stream::iter(changes)
        }))
    }
}
