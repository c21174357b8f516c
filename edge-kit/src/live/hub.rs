//! Shared upstreams: one `EventService.Subscribe` stream per channel per edge instance, fanned out
//! to every local subscriber of that channel — WebSocket clients of realtime-edge, GraphQL
//! subscriptions of graphql-edge.
//!
//! Each channel in use has one task ([`ChannelTask`]) that owns the channel's subscribers and its
//! upstream stream, so nothing about a channel is shared between threads:
//!
//! - **Carrier.** The upstream is opened with the credentials of one current subscriber. Every
//!   subscriber was authorized by core-svc itself (`CheckSubscription` with its own credentials)
//!   before it was attached here. If the upstream ends with an access error while its carrier
//!   still presents the same credentials, the carrier's access ended: its subscription ends with
//!   an error, and the upstream reopens with another subscriber's credentials.
//! - **No gap, no duplicate.** The task remembers the last seq it saw (event or checkpoint) and
//!   reopens with `after_seq` = that seq, after an access error or any failure (core-svc
//!   restarting: exponential backoff up to [`MAX_BACKOFF`]). Events at or below it are dropped.
//! - **Access changes.** `access_change` arrives on every stream; the subscribers it concerns
//!   (matched on the user id `CheckSubscription` returned; empty = everyone) are re-checked with
//!   their own credentials. Until the answer, their feed is held back, so someone removed from
//!   a project gets nothing committed after the removal; if they lost access, their
//!   subscription ends with `not_found`/`forbidden`/`unauthenticated`.
//! - **Lifetime.** The upstream closes when the last subscriber leaves, and the task retires.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use metrics::Gauge;
use proto::v1::{self as pb, event_service_client::EventServiceClient, subscribe_response::Message as UpstreamMessage};
use secrecy::{ExposeSecret, SecretString};
use tokio::{
    sync::{Semaphore, mpsc},
    task::JoinHandle,
    time::Instant,
};

use crate::{CallContext, CoreClient, CoreError};

/// Identifies one subscription of one client (unique per edge process: [`next_key`]).
pub type SubKey = u64;

/// A fresh [`SubKey`].
pub fn next_key() -> SubKey {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// First delay before reopening a failed upstream; doubles up to [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Longest delay between two attempts to reopen an upstream.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// core-svc sends a checkpoint at least every 15 s; an upstream silent for this long is dead.
pub const UPSTREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Concurrent `CheckSubscription` re-checks after an access change, per edge instance.
const MAX_CONCURRENT_RECHECKS: usize = 32;

/// A connection's credentials, shared by its subscriptions: an `auth` frame that refreshes the
/// token updates them everywhere at once.
#[derive(Debug, Clone)]
pub struct Credentials(Arc<RwLock<CallContext>>);

impl Credentials {
    pub fn new(ctx: CallContext) -> Self {
        Self(Arc::new(RwLock::new(ctx)))
    }

    /// The context to put on the next call.
    pub fn snapshot(&self) -> CallContext {
        self.0.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn set_bearer(&self, token: SecretString) {
        self.0.write().unwrap_or_else(PoisonError::into_inner).bearer = Some(token);
    }
}

/// One event as received from core-svc, shared by every client that gets it.
#[derive(Debug)]
pub struct SharedEvent {
    pub seq: i64,
    pub event: pb::Event,
    /// The edge's rendering of the event, made once for all its clients (realtime-edge's JSON
    /// frame body), see [`SharedEvent::rendered`].
    rendered: std::sync::OnceLock<String>,
    /// The payload as JSON, converted once for all clients (graphql-edge's `payload` field),
    /// see [`SharedEvent::payload_json`].
    payload_json: std::sync::OnceLock<serde_json::Value>,
}

impl SharedEvent {
    pub fn new(event: pb::Event) -> Self {
        Self { seq: event.seq, event, rendered: std::sync::OnceLock::new(), payload_json: std::sync::OnceLock::new() }
    }

    /// `render(event)`, computed by the first client that asks and shared with the others.
    pub fn rendered(&self, render: impl FnOnce(&pb::Event) -> String) -> &str {
        self.rendered.get_or_init(|| render(&self.event))
    }

    /// `convert(event)` (the payload as JSON), computed by the first client that asks and
    /// shared with the others.
    pub fn payload_json(&self, convert: impl FnOnce(&pb::Event) -> serde_json::Value) -> &serde_json::Value {
        self.payload_json.get_or_init(|| convert(&self.event))
    }
}

/// Where a channel delivers its feed to one client (its inbox). False: the client is gone.
pub trait FeedSink: Send + Sync {
    fn feed(&self, key: SubKey, feed: Feed) -> bool;
}

/// What a channel sends to one of its subscribers (through its [`FeedSink`]).
#[derive(Debug)]
pub enum Feed {
    /// Attached: events with seq > `start` follow. Always the first feed of a subscription.
    Attached {
        start: i64,
    },
    Event(Arc<SharedEvent>),
    /// Every event of the channel up to this seq has been sent.
    Checkpoint(i64),
    /// The subscription is over (access lost); nothing follows.
    Ended(CoreError),
}

/// A connection's request to follow a channel, after core-svc authorized it.
pub struct Subscriber {
    pub key: SubKey,
    /// The caller, as `CheckSubscription` named it (matched against `AccessChange.user_id`).
    pub user_id: String,
    pub creds: Credentials,
    /// The client's inbox.
    pub tx: Arc<dyn FeedSink>,
    /// `CheckSubscription.latest_seq`: the subscription starts no earlier than this.
    pub min_start: i64,
}

enum Command {
    Attach(Subscriber),
    Detach(SubKey),
}

struct ChannelHandle {
    generation: u64,
    tx: mpsc::UnboundedSender<Command>,
}

struct HubInner {
    core: CoreClient,
    /// Open upstream streams (one per channel in use).
    upstream_streams: Gauge,
    channels: Mutex<HashMap<String, ChannelHandle>>,
    generations: AtomicU64,
    rechecks: Arc<Semaphore>,
}

/// The registry of channels in use on this edge instance. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

impl Hub {
    /// `upstream_streams` counts the open upstream streams (the edge's own metric).
    pub fn new(core: CoreClient, upstream_streams: Gauge) -> Self {
        Self {
            inner: Arc::new(HubInner {
                core,
                upstream_streams,
                channels: Mutex::new(HashMap::new()),
                generations: AtomicU64::new(0),
                rechecks: Arc::new(Semaphore::new(MAX_CONCURRENT_RECHECKS)),
            }),
        }
    }

    /// Attaches `sub` to `channel`, starting the channel's task (and upstream) if needed. The
    /// subscriber then gets [`Feed::Attached`] first.
    pub fn attach(&self, channel: &str, sub: Subscriber) {
        let mut channels = self.inner.channels.lock().unwrap_or_else(PoisonError::into_inner);
        let mut sub = sub;
        if let Some(handle) = channels.get(channel) {
            match handle.tx.send(Command::Attach(sub)) {
                Ok(()) => return,
                // The task is gone (it only ends after removing itself, so this is a leftover).
                Err(mpsc::error::SendError(Command::Attach(back))) => sub = back,
                Err(_) => unreachable!("sent an Attach"),
            }
        }
        let generation = self.inner.generations.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(Command::Attach(sub));
        channels.insert(channel.to_owned(), ChannelHandle { generation, tx });
        tokio::spawn(ChannelTask::new(self.inner.clone(), channel.to_owned(), generation, rx).run());
    }

    /// Detaches a subscription (unsubscribe, disconnect). Nothing more is sent to it.
    pub fn detach(&self, channel: &str, key: SubKey) {
        let channels = self.inner.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(handle) = channels.get(channel) {
            let _ = handle.tx.send(Command::Detach(key));
        }
    }
}

struct Sub {
    user_id: String,
    creds: Credentials,
    tx: Arc<dyn FeedSink>,
    start: i64,
    /// While an access re-check runs: the feed held back until the answer.
    held: Option<Vec<Feed>>,
    recheck_generation: u64,
}

fn same_secret(a: &Option<SecretString>, b: &Option<SecretString>) -> bool {
    a.as_ref().map(ExposeSecret::expose_secret) == b.as_ref().map(ExposeSecret::expose_secret)
}

struct Upstream {
    generation: u64,
    carrier: SubKey,
    /// The carrier's credential when the stream was opened.
    bearer: Option<SecretString>,
    task: JoinHandle<()>,
}

enum UpstreamEvent {
    Message(Box<UpstreamMessage>),
    /// The stream ended: with a status, or cleanly (`None`).
    End(Option<tonic::Status>),
}

struct Recheck {
    key: SubKey,
    generation: u64,
    result: Result<pb::CheckSubscriptionResponse, CoreError>,
}

struct ChannelTask {
    hub: Arc<HubInner>,
    name: String,
    generation: u64,
    commands: mpsc::UnboundedReceiver<Command>,
    subs: HashMap<SubKey, Sub>,
    /// Highest seq seen on the upstream (event or checkpoint); reopening resumes after it.
    last_seq: i64,
    upstream: Option<Upstream>,
    upstream_generation: u64,
    upstream_tx: mpsc::Sender<(u64, UpstreamEvent)>,
    upstream_rx: mpsc::Receiver<(u64, UpstreamEvent)>,
    recheck_tx: mpsc::UnboundedSender<Recheck>,
    recheck_rx: mpsc::UnboundedReceiver<Recheck>,
    retry_at: Option<Instant>,
    backoff: Duration,
    last_activity: Instant,
}

impl ChannelTask {
    fn new(hub: Arc<HubInner>, name: String, generation: u64, commands: mpsc::UnboundedReceiver<Command>) -> Self {
        let (upstream_tx, upstream_rx) = mpsc::channel(256);
        let (recheck_tx, recheck_rx) = mpsc::unbounded_channel();
        Self {
            hub,
            name,
            generation,
            commands,
            subs: HashMap::new(),
            last_seq: 0,
            upstream: None,
            upstream_generation: 0,
            upstream_tx,
            upstream_rx,
            recheck_tx,
            recheck_rx,
            retry_at: None,
            backoff: MIN_BACKOFF,
            last_activity: Instant::now(),
        }
    }

    async fn run(mut self) {
        loop {
            if self.subs.is_empty() {
                self.close_upstream();
                if self.try_retire() {
                    return;
                }
            } else if self.upstream.is_none() && self.retry_at.is_none_or(|at| at <= Instant::now()) {
                self.retry_at = None;
                self.open_upstream();
            }
            let retry_at = self.retry_at.filter(|_| self.upstream.is_none());
            let idle_deadline = self.upstream.as_ref().map(|_| self.last_activity + UPSTREAM_IDLE_TIMEOUT);
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(Command::Attach(sub)) => self.attach(sub),
                    Some(Command::Detach(key)) => {
                        if self.subs.remove(&key).is_some() {
                            tracing::debug!(channel = %self.name, key, "subscriber detached");
                        }
                    }
                    None => {
                        self.close_upstream();
                        return;
                    }
                },
                Some((generation, event)) = self.upstream_rx.recv() => {
                    if generation == self.upstream_generation {
                        self.on_upstream(event);
                    }
                }
                Some(recheck) = self.recheck_rx.recv() => self.on_recheck(recheck),
                () = sleep_until(retry_at), if retry_at.is_some() => self.retry_at = None,
                () = sleep_until(idle_deadline), if idle_deadline.is_some() => {
                    tracing::warn!(channel = %self.name, "upstream silent too long; reopening");
                    self.close_upstream();
                    self.schedule_retry();
                }
            }
        }
    }

    /// Leaves the hub if no command is pending (checked under the hub's lock, which every sender
    /// holds while sending, so no Attach can be lost).
    fn try_retire(&mut self) -> bool {
        let mut channels = self.hub.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if !self.commands.is_empty() {
            return false;
        }
        if channels.get(&self.name).is_some_and(|h| h.generation == self.generation) {
            channels.remove(&self.name);
        }
        true
    }

    fn attach(&mut self, sub: Subscriber) {
        if self.subs.is_empty() && self.upstream.is_none() {
            // Nothing is streaming yet: the first subscriber's view of "now" is where the
            // upstream starts.
            self.last_seq = self.last_seq.max(sub.min_start);
        }
        let start = self.last_seq.max(sub.min_start);
        if !sub.tx.feed(sub.key, Feed::Attached { start }) {
            return;
        }
        self.subs.insert(
            sub.key,
            Sub { user_id: sub.user_id, creds: sub.creds, tx: sub.tx, start, held: None, recheck_generation: 0 },
        );
    }

    fn open_upstream(&mut self) {
        let carrier = self
            .upstream
            .as_ref()
            .map(|u| u.carrier)
            .filter(|k| self.subs.get(k).is_some_and(|s| s.held.is_none()))
            .or_else(|| self.subs.iter().find(|(_, s)| s.held.is_none()).map(|(k, _)| *k))
            .or_else(|| self.subs.keys().next().copied());
        let Some(carrier) = carrier else { return };
        let ctx = self.subs[&carrier].creds.snapshot();
        self.upstream_generation += 1;
        let generation = self.upstream_generation;
        let bearer = ctx.bearer.clone();
        let request = pb::SubscribeRequest { channels: vec![self.name.clone()], after_seq: Some(self.last_seq) };
        let task = tokio::spawn(run_upstream(
            self.hub.core.clone(),
            ctx,
            request,
            generation,
            self.upstream_tx.clone(),
            self.hub.upstream_streams.clone(),
        ));
        tracing::debug!(channel = %self.name, after_seq = self.last_seq, carrier, "opening upstream");
        self.last_activity = Instant::now();
        self.upstream = Some(Upstream { generation, carrier, bearer, task });
    }

    fn close_upstream(&mut self) {
        if let Some(upstream) = self.upstream.take() {
            upstream.task.abort();
            // Stale messages of that stream are ignored from now on.
            self.upstream_generation = self.upstream_generation.max(upstream.generation) + 1;
        }
    }

    fn schedule_retry(&mut self) {
        self.retry_at = Some(Instant::now() + self.backoff);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }

    fn on_upstream(&mut self, event: UpstreamEvent) {
        self.last_activity = Instant::now();
        let message = match event {
            UpstreamEvent::Message(message) => *message,
            UpstreamEvent::End(status) => return self.on_upstream_end(status),
        };
        match message {
            UpstreamMessage::Ready(_) => self.backoff = MIN_BACKOFF,
            UpstreamMessage::Event(e) => {
                if e.seq <= self.last_seq {
                    return;
                }
                self.last_seq = e.seq;
                let shared = Arc::new(SharedEvent::new(e));
                self.broadcast(|sub| (shared.seq > sub.start).then(|| Feed::Event(shared.clone())));
            }
            UpstreamMessage::Checkpoint(c) => {
                self.last_seq = self.last_seq.max(c.seq);
                let seq = self.last_seq;
                self.broadcast(|_| Some(Feed::Checkpoint(seq)));
            }
            UpstreamMessage::AccessChange(change) => self.on_access_change(&change),
        }
    }

    /// Sends each subscriber what `feed` makes for it (held back during a re-check); drops the
    /// subscribers whose connection is gone.
    fn broadcast(&mut self, feed: impl Fn(&Sub) -> Option<Feed>) {
        let mut gone = Vec::new();
        for (key, sub) in &mut self.subs {
            let Some(f) = feed(sub) else { continue };
            match &mut sub.held {
                Some(held) => held.push(f),
                None => {
                    if !sub.tx.feed(*key, f) {
                        gone.push(*key);
                    }
                }
            }
        }
        for key in gone {
            self.subs.remove(&key);
        }
    }

    fn on_upstream_end(&mut self, status: Option<tonic::Status>) {
        let Some(upstream) = self.upstream.take() else { return };
        self.upstream_generation += 1;
        match status {
            Some(status) if CoreError::is_access_denied_code(status.code()) => {
                let carrier = upstream.carrier;
                let same_credentials =
                    self.subs.get(&carrier).is_some_and(|s| same_secret(&s.creds.snapshot().bearer, &upstream.bearer));
                tracing::info!(channel = %self.name, code = ?status.code(), carrier, same_credentials,
                    "upstream refused its carrier; reopening with another subscriber");
                if same_credentials {
                    self.end_subscription(carrier, CoreError::from(status));
                }
                // Reopen at once with the next carrier (the loop does it).
                self.retry_at = None;
            }
            status => {
                tracing::warn!(channel = %self.name, status = ?status.as_ref().map(|s| (s.code(), s.message().to_owned())),
                    after_seq = self.last_seq, "upstream ended; reopening after a backoff");
                self.schedule_retry();
            }
        }
    }

    fn end_subscription(&mut self, key: SubKey, err: CoreError) {
        if let Some(sub) = self.subs.remove(&key) {
            let _ = sub.tx.feed(key, Feed::Ended(err));
        }
    }

    fn on_access_change(&mut self, change: &pb::AccessChange) {
        if !(change.channel.is_empty() || change.channel == self.name) {
            return;
        }
        for (key, sub) in &mut self.subs {
            if !(change.user_id.is_empty() || change.user_id == sub.user_id) {
                continue;
            }
            sub.recheck_generation += 1;
            sub.held.get_or_insert_with(Vec::new);
            let (core, ctx, channel) = (self.hub.core.clone(), sub.creds.snapshot(), self.name.clone());
            let (key, generation, tx, permits) =
                (*key, sub.recheck_generation, self.recheck_tx.clone(), self.hub.rechecks.clone());
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
                let result = check_subscription(&core, &ctx, &channel, None).await;
                let _ = tx.send(Recheck { key, generation, result });
            });
        }
    }

    fn on_recheck(&mut self, recheck: Recheck) {
        let Some(sub) = self.subs.get_mut(&recheck.key) else { return };
        if sub.recheck_generation != recheck.generation {
            return;
        }
        match recheck.result {
            Err(err) if CoreError::is_access_denied_code(err.code) => {
                tracing::info!(channel = %self.name, key = recheck.key, code = ?err.code, "subscriber lost access");
                self.end_subscription(recheck.key, err);
            }
            result => {
                if let Err(err) = &result {
                    // Transient: keep the subscriber; core-svc ends it later if it must.
                    tracing::warn!(channel = %self.name, code = ?err.code, "access re-check failed; keeping");
                }
                if let Ok(answer) = result
                    && !answer.user_id.is_empty()
                {
                    sub.user_id = answer.user_id;
                }
                let held = sub.held.take().unwrap_or_default();
                for feed in held {
                    if !sub.tx.feed(recheck.key, feed) {
                        self.subs.remove(&recheck.key);
                        break;
                    }
                }
            }
        }
    }
}

impl Drop for ChannelTask {
    fn drop(&mut self) {
        self.close_upstream();
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Decrements the upstream gauge when the upstream task ends or is aborted.
struct UpstreamGauge(Gauge);

impl Drop for UpstreamGauge {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

async fn run_upstream(
    core: CoreClient,
    ctx: CallContext,
    request: pb::SubscribeRequest,
    generation: u64,
    tx: mpsc::Sender<(u64, UpstreamEvent)>,
    upstream_streams: Gauge,
) {
    upstream_streams.increment(1.0);
    let _gauge = UpstreamGauge(upstream_streams);
    // One event is at most a few hundred KiB (before/after state); tonic's 4 MiB default is
    // plenty, but a stream must never fail on its size.
    let mut client = EventServiceClient::new(core.channel()).max_decoding_message_size(16 * 1024 * 1024);
    let mut stream = match client.subscribe(ctx.request(request)).await {
        Ok(response) => response.into_inner(),
        Err(status) => {
            let _ = tx.send((generation, UpstreamEvent::End(Some(status)))).await;
            return;
        }
    };
    loop {
        let event = match stream.message().await {
            Ok(Some(pb::SubscribeResponse { message: Some(message) })) => UpstreamEvent::Message(Box::new(message)),
            Ok(Some(_)) => continue,
            Ok(None) => UpstreamEvent::End(None),
            Err(status) => UpstreamEvent::End(Some(status)),
        };
        let end = matches!(event, UpstreamEvent::End(_));
        if tx.send((generation, event)).await.is_err() || end {
            return;
        }
    }
}

/// Asks core-svc whether `ctx`'s caller may subscribe to `channel`, resuming after `after`
/// (OUT_OF_RANGE when the log no longer holds what follows it).
pub async fn check_subscription(
    core: &CoreClient,
    ctx: &CallContext,
    channel: &str,
    after: Option<i64>,
) -> Result<pb::CheckSubscriptionResponse, CoreError> {
    EventServiceClient::new(core.channel())
        .check_subscription(
            ctx.request(pb::CheckSubscriptionRequest { channels: vec![channel.to_owned()], after_seq: after }),
        )
        .await
        .map(tonic::Response::into_inner)
        .map_err(CoreError::from)
}
