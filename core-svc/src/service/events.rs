//! The audit log (`ListEvents`, `GetEvent`) and live subscriptions (`Subscribe`).

use crate::error::Reason;
use std::{sync::Arc, time::Duration};

use tokio::sync::{broadcast, mpsc, watch};
use uuid::Uuid;

use super::{
    Core,
    access::{self, Need},
};
use crate::{
    domain::{self, Caller, Event, UserStatus, Violations, channel},
    error::{Error, Result},
    events::{self, Batch},
    list::{ListParams, Page},
    store::{events as store, projects::Lock, tokens},
};

impl Core {
    /// The audit log as the caller may see it: admins everything; others the `system`
    /// channel, their own `user:` channel and the channels of their projects.
    pub async fn list_events(&self, caller: &Caller, params: ListParams<'_>) -> Result<Page<Event>> {
        let mut conn = self.conn().await?;
        store::list(&mut conn, caller.user_id, caller.is_admin(), params).await
    }

    pub async fn get_event(&self, caller: &Caller, id: &str) -> Result<Event> {
        let id = domain::parse_id("id", id)?;
        let mut conn = self.conn().await?;
        store::get(&mut conn, caller.user_id, caller.is_admin(), id).await?.ok_or(Error::not_found("event"))
    }
}

/// Event types after which someone may have lost (or gained) access to a channel.
const ACCESS_TYPES: &[&str] =
    &["member.removed", "member.updated", "project.deleted", "user.updated", "user.disabled", "session.revoked"];
/// Most channels one stream may follow.
const MAX_CHANNELS: usize = 100;
/// Messages buffered per stream. A client that reads slower than events arrive makes its
/// stream fall behind the broadcast; it then catches up from the log, so nothing is lost and
/// nothing grows without bound.
const STREAM_BUFFER: usize = 64;
/// How often an idle stream gets a checkpoint (a heartbeat with the position).
const IDLE_CHECKPOINT: Duration = Duration::from_secs(15);

/// What a subscription stream carries after `ready`.
#[derive(Debug, Clone)]
pub enum FeedItem {
    Event(Arc<Event>),
    Checkpoint(i64),
    AccessChange(AccessChange),
}

/// Someone's access to `channel` (None: every channel) may have changed; `user_id` None: everyone's.
#[derive(Debug, Clone)]
pub struct AccessChange {
    pub seq: i64,
    pub channel: Option<String>,
    pub user_id: Option<Uuid>,
}

impl AccessChange {
    fn of(e: &Event) -> Option<Self> {
        let seq = e.seq?;
        let uuid = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).and_then(|s| s.parse::<Uuid>().ok());
        let (channel, user_id) = match e.event_type.as_str() {
            "member.removed" | "member.updated" => {
                (uuid(e.payload.get("project_id")).map(channel::project), Some(uuid(e.payload.get("user_id"))?))
            }
            "project.deleted" => (Some(format!("project:{}", e.resource_id)), None),
            "user.updated" | "user.disabled" | "session.revoked" => (None, Some(e.resource_id.parse().ok()?)),
            _ => return None,
        };
        Some(Self { seq, channel, user_id })
    }

    fn concerns(&self, caller: &Caller, channels: &[String]) -> bool {
        self.user_id.is_none_or(|u| u == caller.user_id) && self.channel.as_ref().is_none_or(|c| channels.contains(c))
    }
}

/// An open subscription: the latest seq at subscribe time, then the stream.
pub struct Subscription {
    pub latest_seq: i64,
    pub items: mpsc::Receiver<Result<FeedItem>>,
}

impl Core {
    /// Checks that the caller may follow every channel (as for reading what it carries) and
    /// returns them deduplicated.
    pub async fn check_channels(&self, caller: &Caller, channels: &[String]) -> Result<Vec<String>> {
        let mut v = Violations::new();
        if channels.is_empty() {
            v.push("channels", "give at least one channel");
        }
        if channels.len() > MAX_CHANNELS {
            v.push("channels", format!("at most {MAX_CHANNELS} channels per subscription"));
        }
        let mut parsed = Vec::new();
        for (i, c) in channels.iter().enumerate() {
            match Channel::parse(c) {
                Some(ch) => parsed.push(ch),
                None => {
                    v.push(format!("channels[{i}]"), "must be project:<id>, user:<id>, system or admin".to_string())
                }
            }
        }
        v.finish()?;
        let mut conn = self.conn().await?;
        for ch in &parsed {
            match ch {
                Channel::Project(id) => {
                    access::project(&mut conn, caller, Some(*id), None, Need::Read, Lock::None).await?;
                }
                Channel::User(id) if *id != caller.user_id && !caller.is_admin() => {
                    return Err(Error::permission_denied("only the user and admins may follow a user's channel"));
                }
                Channel::Admin if !caller.is_admin() => {
                    return Err(Error::permission_denied("the admin channel needs the admin role"));
                }
                _ => {}
            }
        }
        let mut names: Vec<String> = parsed.iter().map(Channel::name).collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// `CheckSubscription`: may the caller follow `channels`, resuming after `after`? Returns
    /// the latest seq.
    pub async fn check_subscription(&self, caller: &Caller, channels: &[String], after: Option<i64>) -> Result<i64> {
        self.check_channels(caller, channels).await?;
        let latest = self.latest_seq().await?;
        self.check_resumable(after, latest).await?;
        Ok(latest)
    }

    /// A resume point is fine when the log still holds every event after it. `seq` has no
    /// gaps, so the events after `after` are all there exactly when the oldest one retained is
    /// `after + 1` or older; 0 means "whatever is retained".
    async fn check_resumable(&self, after: Option<i64>, latest: i64) -> Result<()> {
        let Some(after) = after.filter(|a| *a > 0 && *a < latest) else { return Ok(()) };
        let oldest = events::min_seq(&self.db).await?.unwrap_or(latest + 1);
        if after + 1 < oldest {
            return Err(Error::EventsExpired { after, oldest_seq: oldest });
        }
        Ok(())
    }

    /// The latest sequenced seq: the log's, which this replica's feed may not have read yet.
    async fn latest_seq(&self) -> Result<i64> {
        Ok(events::max_seq(&self.db).await?.max(self.feed.head()))
    }

    /// `Subscribe`: replays the log after `after` (when given), then follows the live feed, in
    /// seq order with no gap and no duplicate.
    pub async fn subscribe(&self, caller: Caller, channels: &[String], after: Option<i64>) -> Result<Subscription> {
        if let Some(a) = after
            && a < 0
        {
            return Err(Error::invalid("after_seq", "must be 0 or more"));
        }
        let channels = self.check_channels(&caller, channels).await?;
        // Receiver first, then the head: whatever is sequenced after the head read arrives
        // through the receiver, or as a hole that `Stream` fills from the log.
        let live = self.feed.subscribe();
        let latest_seq = self.latest_seq().await?;
        self.check_resumable(after, latest_seq).await?;
        let (tx, items) = mpsc::channel(STREAM_BUFFER);
        let stream = Stream { core: self.clone(), caller, channels, cursor: after.unwrap_or(latest_seq), tx };
        let stopping = self.feed.stopping();
        tokio::spawn(stream.run(live, latest_seq, stopping));
        Ok(Subscription { latest_seq, items })
    }

    /// Reloads what the caller may do (role, status, session) without re-verifying the token's
    /// expiry: a stream, once opened, outlives its access token unless access is taken away.
    async fn recheck_caller(&self, caller: &Caller) -> Result<Caller> {
        let mut conn = self.conn().await?;
        let p = tokens::principal(&mut conn, caller.user_id, caller.session_id)
            .await?
            .ok_or_else(|| Error::unauthenticated(Reason::SessionRevoked, "the session has ended; sign in again"))?;
        if p.status != UserStatus::Active {
            return Err(Error::unauthenticated(Reason::UserDisabled, "the user is disabled"));
        }
        Ok(Caller { user_id: p.user_id, role: p.role, session_id: caller.session_id, expires_at: caller.expires_at })
    }
}

/// A parsed channel name (docs/PRODUCT.md §6 "Channels").
enum Channel {
    Project(Uuid),
    User(Uuid),
    System,
    Admin,
}

impl Channel {
    fn parse(s: &str) -> Option<Self> {
        match s {
            channel::SYSTEM => Some(Self::System),
            channel::ADMIN => Some(Self::Admin),
            _ => match s.split_once(':')? {
                ("project", id) => Some(Self::Project(id.parse().ok()?)),
                ("user", id) => Some(Self::User(id.parse().ok()?)),
                _ => None,
            },
        }
    }

    fn name(&self) -> String {
        match self {
            Self::Project(id) => channel::project(*id),
            Self::User(id) => channel::user(*id),
            Self::System => channel::SYSTEM.into(),
            Self::Admin => channel::ADMIN.into(),
        }
    }
}

/// One subscription's state: everything with seq ≤ `cursor` has been dealt with.
struct Stream {
    core: Core,
    caller: Caller,
    channels: Vec<String>,
    cursor: i64,
    tx: mpsc::Sender<Result<FeedItem>>,
}

/// Completes when a credential expiring at `at` has expired; never for one without expiry.
async fn expiry(at: Option<chrono::DateTime<chrono::Utc>>) {
    match at {
        Some(at) => tokio::time::sleep((at - chrono::Utc::now()).to_std().unwrap_or_default()).await,
        None => std::future::pending().await,
    }
}

/// Why a stream stops: the client left, or it has been told why (an error was sent).
struct Ended;

impl Stream {
    async fn run(mut self, mut live: broadcast::Receiver<Arc<Batch>>, head: i64, mut stopping: watch::Receiver<bool>) {
        metrics::gauge!("core_subscriptions_active").increment(1.0);
        let result = async {
            if self.cursor < head {
                self.catch_up(head).await?;
            }
            loop {
                let next = tokio::select! {
                    r = live.recv() => r,
                    _ = self.tx.closed() => return Err(Ended),
                    () = expiry(self.caller.expires_at) => {
                        return self.fail(Error::unauthenticated(
                            Reason::TokenExpired,
                            "the credential expired: subscribe again with a fresh one, after the last seq seen",
                        )).await;
                    }
                    _ = async { stopping.wait_for(|s| *s).await.is_ok() } => {
                        return self.fail(Error::Unavailable("the server is shutting down; resume on another replica".into())).await;
                    }
                    _ = tokio::time::sleep(IDLE_CHECKPOINT) => {
                        self.send(FeedItem::Checkpoint(self.cursor)).await?;
                        continue;
                    }
                };
                match next {
                    Ok(batch) => self.on_batch(&batch).await?,
                    // Fell behind the broadcast buffer: the log has everything.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let head = self.core.feed.head();
                        self.catch_up(head).await?;
                    }
                    Err(broadcast::error::RecvError::Closed) => return Err(Ended),
                }
            }
        }
        .await;
        let _: std::result::Result<(), Ended> = result;
        metrics::gauge!("core_subscriptions_active").decrement(1.0);
    }

    async fn on_batch(&mut self, batch: &Batch) -> std::result::Result<(), Ended> {
        if batch.last <= self.cursor {
            return Ok(());
        }
        if batch.after > self.cursor {
            // A hole between what this stream has seen and this batch.
            self.catch_up(batch.after).await?;
        }
        for e in &batch.events {
            if e.seq.is_some_and(|s| s > self.cursor) {
                self.on_event(e).await?;
            }
        }
        self.cursor = batch.last;
        // After every batch, even one with nothing for this stream: a client merging several
        // streams can release what it holds only when each stream has got this far.
        self.send(FeedItem::Checkpoint(self.cursor)).await
    }

    /// Sends what the log holds in `(cursor, upto]` for this stream.
    async fn catch_up(&mut self, upto: i64) -> std::result::Result<(), Ended> {
        metrics::counter!("core_subscription_catch_ups_total").increment(1);
        while self.cursor < upto {
            let page = match events::read_after(&self.core.db, self.cursor, upto, Some((&self.channels, ACCESS_TYPES)))
                .await
            {
                Ok(p) => p,
                Err(e) => return self.fail(e.into()).await,
            };
            let full = page.len() as i64 == events::BATCH;
            for e in page {
                self.on_event(&Arc::new(e)).await?;
            }
            if !full {
                self.cursor = upto;
            }
        }
        self.send(FeedItem::Checkpoint(self.cursor)).await
    }

    /// Sends one event if it is on this stream's channels, and acts on access changes.
    async fn on_event(&mut self, e: &Arc<Event>) -> std::result::Result<(), Ended> {
        let seq = e.seq.unwrap_or(self.cursor);
        if e.channels.iter().any(|c| self.channels.contains(c)) {
            self.send(FeedItem::Event(e.clone())).await?;
        }
        if let Some(change) = AccessChange::of(e) {
            let mine = change.concerns(&self.caller, &self.channels);
            self.send(FeedItem::AccessChange(change)).await?;
            if mine {
                self.cursor = seq;
                let checked = match self.core.recheck_caller(&self.caller).await {
                    Ok(caller) => self.core.check_channels(&caller, &self.channels).await.map(|_| caller),
                    Err(e) => Err(e),
                };
                match checked {
                    Ok(caller) => self.caller = caller,
                    Err(e) => return self.fail(e).await,
                }
            }
        }
        self.cursor = self.cursor.max(seq);
        Ok(())
    }

    async fn send(&self, item: FeedItem) -> std::result::Result<(), Ended> {
        self.tx.send(Ok(item)).await.map_err(|_| Ended)
    }

    async fn fail<T>(&self, e: Error) -> std::result::Result<T, Ended> {
        let _ = self.tx.send(Err(e)).await;
        Err(Ended)
    }
}
