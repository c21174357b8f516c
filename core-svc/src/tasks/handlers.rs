//! What each task kind does. Every handler is idempotent: an attempt may run again after a
//! crash (at least once), so running it twice must leave the same result.

use std::collections::BTreeMap;

use anyhow::{Context, anyhow};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{HandlerResult, KIND_EXPORT, KIND_PURGE_TOKENS, KIND_TRIM_EVENTS, KIND_WEBHOOK, TaskConfig, webhook};
use crate::{
    domain::{DeliveryStatus, RequestMeta, Task},
    error::Result,
    events,
    service::Core,
    store::{
        configs, events as event_store, members, projects, tasks,
        tasks::NewTask,
        tokens,
        webhooks::{self, Attempt},
    },
};

/// Log cursor of the webhook dispatcher.
const DISPATCH_CURSOR: &str = "webhooks";

pub(super) async fn run(core: &Core, config: &TaskConfig, worker: &str, task: &Task) -> HandlerResult {
    match task.kind.as_str() {
        KIND_WEBHOOK => deliver(core, config, task).await,
        KIND_EXPORT => export(core, worker, task).await,
        KIND_PURGE_TOKENS => {
            let mut conn = core.db.acquire().await?;
            let (sessions, api_tokens) = tokens::purge_ended(&mut conn).await?;
            Ok(json!({ "sessions_deleted": sessions, "api_tokens_deleted": api_tokens }))
        }
        KIND_TRIM_EVENTS => {
            let days = core.setting_i64("events.retention_days").await?.unwrap_or(30).clamp(1, 36_500);
            let mut conn = core.db.acquire().await?;
            let deleted = event_store::trim_older_than(&mut conn, days).await?;
            Ok(json!({ "retention_days": days, "events_deleted": deleted }))
        }
        other => Err(anyhow!("no handler for task kind {other:?}")),
    }
}

/// Posts one event to one webhook and records the attempt in the delivery log.
async fn deliver(core: &Core, config: &TaskConfig, task: &Task) -> HandlerResult {
    let id: Uuid = task.payload["delivery_id"].as_str().and_then(|s| s.parse().ok()).context("delivery_id")?;
    let mut conn = core.db.acquire().await?;
    let Some(delivery) = webhooks::get_delivery(&mut conn, id).await? else {
        // The webhook (and with it its log) was deleted: nothing to deliver.
        return Ok(json!({ "skipped": "the webhook was deleted" }));
    };
    let Some(hook) = webhooks::get(&mut conn, delivery.webhook_id, false).await? else {
        return Ok(json!({ "skipped": "the webhook was deleted" }));
    };
    let event = event_store::by_id(&mut conn, delivery.event_id).await?.context("the event left the log")?;
    drop(conn);
    let body = serde_json::to_vec(&json!({
        "id": event.id,
        "seq": event.seq,
        "type": event.event_type,
        "channel": event.channels.first(),
        "actor_id": event.actor_id,
        "resource": { "type": event.resource_type, "id": event.resource_id },
        "payload": event.payload,
        "occurred_at": event.occurred_at,
        "request_id": event.request_id,
        "webhook_id": hook.id,
        "delivery_id": delivery.id,
    }))?;
    let sent = if hook.active {
        webhook::send(
            &hook.url,
            &hook.secret,
            &event.event_type,
            &delivery.id.to_string(),
            body,
            config.webhook_timeout,
            config.webhook_allow_private,
        )
        .await
    } else {
        webhook::Sent {
            status: 0,
            body: String::new(),
            error: "the webhook is inactive".into(),
            duration: Default::default(),
        }
    };
    let last_attempt = task.attempts >= task.max_attempts;
    let status = match (sent.ok(), last_attempt) {
        (true, _) => DeliveryStatus::Delivered,
        (false, false) => DeliveryStatus::Pending,
        (false, true) => DeliveryStatus::Dead,
    };
    let mut conn = core.db.acquire().await?;
    webhooks::record_attempt(
        &mut conn,
        delivery.id,
        Attempt {
            status,
            attempts: task.attempts,
            response_status: i32::from(sent.status),
            response_body: &sent.body,
            last_error: &sent.error,
            duration_ms: sent.duration.as_millis() as i64,
        },
    )
    .await?;
    if sent.ok() {
        Ok(json!({ "delivery_id": delivery.id, "response_status": sent.status }))
    } else {
        Err(anyhow!(sent.error))
    }
}

/// A delivery whose attempt was lost with its worker: recorded like a failed attempt.
pub(super) async fn delivery_lost(conn: &mut PgConnection, task: &Task) -> Result<()> {
    let Some(id) = task.payload["delivery_id"].as_str().and_then(|s| s.parse().ok()) else { return Ok(()) };
    let Some(d) = webhooks::get_delivery(conn, id).await? else { return Ok(()) };
    let status =
        if task.status == crate::domain::TaskStatus::Dead { DeliveryStatus::Dead } else { DeliveryStatus::Pending };
    webhooks::record_attempt(
        conn,
        id,
        Attempt {
            status,
            attempts: task.attempts,
            response_status: d.response_status,
            response_body: &d.response_body,
            last_error: task.last_error.as_deref().unwrap_or_default(),
            duration_ms: d.duration_ms,
        },
    )
    .await
}

/// Turns new events of projects with webhooks into deliveries (one `webhook.deliver` task
/// each), in the same transaction as the cursor moves: each event is considered exactly once.
pub(super) async fn create_deliveries(core: &Core, config: &TaskConfig) -> Result<()> {
    let mut queued = Vec::new();
    let mut tx = core.begin().await?;
    let start = core.feed.head();
    let cursor = webhooks::cursor(&mut tx, DISPATCH_CURSOR, start).await?;
    let batch = events::read_after(&core.db, cursor, i64::MAX, None).await?;
    let Some(last) = batch.last().and_then(|e| e.seq) else {
        // Keep the cursor even when there is nothing new: created lazily at the head, it must
        // not move past events that arrive after this.
        core.commit(tx).await?;
        return Ok(());
    };
    // One query for the whole batch: which of its projects have webhooks at all.
    let project_of = |e: &crate::domain::Event| {
        e.channels.iter().find_map(|c| c.strip_prefix("project:")).and_then(|id| id.parse::<Uuid>().ok())
    };
    let mut projects: Vec<Uuid> = batch.iter().filter_map(project_of).collect();
    projects.sort();
    projects.dedup();
    let hooked = webhooks::projects_with_hooks(&mut tx, &projects).await?;
    let hooks = webhooks::of_projects(&mut tx, &hooked).await?;
    let ids: Vec<Uuid> = hooks.iter().map(|h| h.id).collect();
    let timeline = Timeline::new(webhooks::logged_states(&mut tx, &ids, cursor).await?);
    for e in &batch {
        let Some(project) = project_of(e).filter(|p| hooked.contains(p)) else { continue };
        let seq = e.seq.unwrap_or_default();
        for hook in hooks.iter().filter(|h| h.project_id == project && timeline.accepts(h, seq, &e.event_type)) {
            let delivery_id = crate::domain::new_id();
            let task = core
                .enqueue(
                    &mut tx,
                    NewTask {
                        kind: KIND_WEBHOOK,
                        project_id: Some(project),
                        payload: json!({ "delivery_id": delivery_id }),
                        max_attempts: config.webhook_max_attempts.max(1),
                        created_by: None,
                    },
                    &RequestMeta::default(),
                )
                .await?;
            if webhooks::insert_delivery(&mut tx, delivery_id, hook, e, task.id).await? {
                queued.push(task.id);
            }
        }
    }
    webhooks::set_cursor(&mut tx, DISPATCH_CURSOR, last).await?;
    core.commit(tx).await?;
    core.dispatch(&queued).await;
    Ok(())
}

/// What each webhook was set to when each event happened, as the log recorded it.
///
/// The dispatcher may run well behind the log, so a webhook's settings *now* say nothing about
/// an older event: one created after the event must not receive it, nor one that was inactive
/// then, nor one whose globs did not match then. Its `webhook.created` / `webhook.updated`
/// events record every state with the seq it began at; an event is delivered to the state in
/// force strictly before the event's seq.
struct Timeline {
    states: std::collections::HashMap<Uuid, Vec<webhooks::LoggedState>>,
}

impl Timeline {
    fn new(states: Vec<webhooks::LoggedState>) -> Self {
        let mut by_hook: std::collections::HashMap<Uuid, Vec<webhooks::LoggedState>> = Default::default();
        for s in states {
            by_hook.entry(s.webhook_id).or_default().push(s);
        }
        for v in by_hook.values_mut() {
            // Not yet numbered comes last: it will be numbered after everything numbered now.
            v.sort_by_key(|s| s.seq.unwrap_or(i64::MAX));
        }
        Self { states: by_hook }
    }

    fn accepts(&self, hook: &crate::domain::Webhook, seq: i64, event_type: &str) -> bool {
        let matches = |globs: &[String]| globs.iter().any(|g| crate::domain::glob_matches(g, event_type));
        match self.states.get(&hook.id) {
            Some(states) => states
                .iter()
                .rev()
                .find(|s| s.seq.is_some_and(|at| at < seq))
                .is_some_and(|s| s.active && matches(&s.event_types)),
            // No record at all: its events are older than the retained log, and so is it.
            None => hook.active && matches(&hook.event_types),
        }
    }
}

/// Writes the project, its members and its configs with their whole history as one JSON
/// document, reporting progress as it goes.
async fn export(core: &Core, worker: &str, task: &Task) -> HandlerResult {
    let project_id = task.project_id.context("the project was deleted")?;
    let mut conn = core.db.acquire().await?;
    let project = projects::get_with_role(&mut conn, Some(project_id), None, Uuid::nil(), projects::Lock::None)
        .await?
        .context("the project was deleted")?
        .project;
    let members = members::all_of_project(&mut conn, project_id).await?;
    let configs = configs::all_of_project(&mut conn, project_id).await?;
    drop(conn);
    core.report_progress(task, worker, 10).await?;

    let mut history: BTreeMap<Uuid, Vec<serde_json::Value>> = BTreeMap::new();
    let chunks: Vec<&[crate::domain::Config]> = configs.chunks(100).collect();
    let mut revisions = 0usize;
    for (i, chunk) in chunks.iter().enumerate() {
        let ids: Vec<Uuid> = chunk.iter().map(|c| c.id).collect();
        let mut conn = core.db.acquire().await?;
        for r in configs::revisions_of(&mut conn, &ids).await? {
            revisions += 1;
            history.entry(r.config_id).or_default().push(json!({
                "version": r.version,
                "op": r.op,
                "value": r.value,
                "description": r.description,
                "author_id": r.author_id,
                "created_at": r.created_at,
            }));
        }
        drop(conn);
        let progress = 10 + (80 * (i + 1) / chunks.len().max(1)) as i32;
        core.report_progress(task, worker, progress).await?;
    }
    let configs: Vec<serde_json::Value> = configs
        .into_iter()
        .map(|c| {
            json!({
                "id": c.id,
                "key": c.key,
                "value": c.value,
                "description": c.description,
                "version": c.version,
                "created_at": c.created_at,
                "updated_at": c.updated_at,
                "updated_by": c.updated_by,
                "deleted_at": c.deleted_at,
                "revisions": history.remove(&c.id).unwrap_or_default(),
            })
        })
        .collect();
    let summary = json!({ "members": members.len(), "configs": configs.len(), "revisions": revisions });
    let document = json!({
        "format": "platform-sm.export/v1",
        "exported_at": chrono::Utc::now(),
        "task_id": task.id,
        "project": project,
        "members": members,
        "configs": configs,
    });
    let bytes = serde_json::to_vec(&document)?.len();
    let mut conn = core.db.acquire().await?;
    tasks::save_output(&mut conn, task.id, &document).await?;
    let mut summary = summary;
    summary["bytes"] = json!(bytes);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::Webhook;

    fn hook(active: bool, globs: &[&str]) -> Webhook {
        Webhook {
            id: Uuid::nil(),
            project_id: Uuid::nil(),
            url: "https://example.com".into(),
            secret: String::new().into(),
            event_types: globs.iter().map(|g| g.to_string()).collect(),
            active,
            description: String::new(),
            created_by: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn state(seq: Option<i64>, active: bool, globs: &[&str]) -> webhooks::LoggedState {
        webhooks::LoggedState {
            webhook_id: Uuid::nil(),
            seq,
            active,
            event_types: globs.iter().map(|g| g.to_string()).collect(),
        }
    }

    #[test]
    fn events_are_judged_by_the_webhook_as_it_was_then() {
        let h = hook(true, &["*"]);
        // Created at 10, deactivated at 20, reactivated with narrower globs at 30.
        let t = Timeline::new(vec![
            state(Some(30), true, &["config.*"]),
            state(Some(10), true, &["*"]),
            state(Some(20), false, &["*"]),
        ]);
        assert!(!t.accepts(&h, 5, "config.set"), "before it existed");
        assert!(!t.accepts(&h, 10, "config.set"), "its own creation");
        assert!(t.accepts(&h, 11, "member.added"));
        assert!(t.accepts(&h, 20, "config.set"), "the deactivating change happened while active");
        assert!(!t.accepts(&h, 25, "config.set"), "while inactive");
        assert!(!t.accepts(&h, 31, "member.added"), "globs as they were then");
        assert!(t.accepts(&h, 31, "config.deleted"));
    }

    #[test]
    fn a_webhooks_secret_never_shows_in_debug() {
        let mut h = hook(true, &["*"]);
        h.secret = "whsec-do-not-log-me".to_string().into();
        assert!(!format!("{h:?}").contains("whsec-do-not-log-me"));
    }

    #[test]
    fn a_webhook_the_relay_has_not_numbered_yet_gets_nothing_older() {
        let t = Timeline::new(vec![state(None, true, &["*"])]);
        assert!(!t.accepts(&hook(true, &["*"]), 1_000_000, "config.set"));
    }

    #[test]
    fn a_webhook_older_than_the_retained_log_follows_its_current_settings() {
        let t = Timeline::new(vec![]);
        assert!(t.accepts(&hook(true, &["config.*"]), 7, "config.set"));
        assert!(!t.accepts(&hook(false, &["config.*"]), 7, "config.set"));
        assert!(!t.accepts(&hook(true, &["member.*"]), 7, "config.set"));
    }
}
