//! One WebSocket connection: authentication, the client's frames, its subscriptions, the
//! per-connection merge of its channels into one seq order, and its bounded outbound queue.
//!
//! Tasks per connection: this one (reads frames, handles the inbox, decides what to send) and a
//! writer that owns the socket's sending half. They talk through a bounded queue of
//! [`Config::send_queue`](crate::config::Config) frames, so a client that stops reading costs
//! bounded memory: once the queue is full, events wait in the per-channel queues; when more than
//! twice the queue's size waits there too, the client is closed with 1013 and resumes with `after`.
//!
//! **Order across channels.** Each subscription has a queue of events not yet sent and a
//! watermark: every event of its channel up to the watermark is known (in the queue or sent),
//! from events and core-svc's checkpoints. An event leaves for the client once its seq is at or
//! below every subscription's watermark, smallest seq first, and an event on two subscribed
//! channels goes out once. With one subscription that is at once. A subscription still being
//! authorized holds the others back (briefly); one replaying `after` holds them at its replay's
//! progress, so several channels resumed together still merge into one order.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use edge_kit::{CallContext, CoreClient, CoreError};
use futures::{SinkExt, StreamExt, stream::SplitSink};
use poem::web::websocket::{CloseCode, Message, WebSocketStream};
use proto::v1::{self as pb, auth_service_client::AuthServiceClient, event_service_client::EventServiceClient};
use secrecy::{ExposeSecret, SecretString};
use tokio::{
    sync::{mpsc, oneshot, watch},
    task::AbortHandle,
    time::Instant,
};

use crate::{
    hub::{self, Credentials, Feed, Hub, SharedEvent, SubKey, Subscriber},
    metrics::RealtimeMetrics,
    protocol::{self, ClientFrame, ErrorCode, close},
};

/// How long the writer may take to deliver a closing frame before the socket is dropped.
pub const CLOSE_GRACE: Duration = Duration::from_secs(10);
/// Largest `ListEvents` page asked for when replaying `after`: events carry their resource's
/// before/after state (configs up to 64 KiB each), so pages stay well under
/// [`MAX_REPLAY_RESPONSE_BYTES`].
const MAX_REPLAY_PAGE: usize = 100;
/// Largest `ListEvents` answer decoded (tonic's default, 4 MiB, is 30 large events).
const MAX_REPLAY_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// Seqs remembered, by a connection with several subscriptions, to send an event on several of
/// its channels only once even when a later subscription replays from before what was sent.
const RECENT_SEQS: usize = 512;

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// Limits and timings of every connection (from [`crate::config::Config`]).
#[derive(Debug, Clone)]
pub struct Limits {
    pub auth_timeout: Duration,
    pub ping_interval: Duration,
    pub send_queue: usize,
    pub max_subscriptions: usize,
    pub max_frames_per_sec: u32,
}

/// What every connection shares.
pub struct Shared {
    pub core: CoreClient,
    pub hub: Hub,
    pub metrics: RealtimeMetrics,
    pub limits: Limits,
    /// Becomes `true` on shutdown: every connection closes with 1001.
    pub shutdown: watch::Receiver<bool>,
}

/// What the connection's task receives besides client frames.
#[derive(Debug)]
pub enum Inbound {
    /// From the subscription's channel (see [`Feed`]).
    Feed(SubKey, Feed),
    /// core-svc's answer to `CheckSubscription` for a new subscription.
    Authorized(SubKey, Result<pb::CheckSubscriptionResponse, CoreError>),
    /// A page of an `after` replay.
    Replay(SubKey, Result<ReplayPage, CoreError>),
}

#[derive(Debug)]
pub struct ReplayPage {
    events: Vec<Arc<SharedEvent>>,
    done: bool,
}

/// To the writer task.
#[derive(Debug)]
enum Out {
    Text(String),
    Ping,
    /// Send this close frame after everything queued before it, then stop.
    Close(u16, String),
}

/// How the connection ends.
#[derive(Debug)]
enum End {
    /// The peer closed or vanished: nothing more to send.
    Drop,
    /// Close after the frames already queued (e.g. after an error frame).
    Close(u16, String),
    /// Close now, skipping what is queued (shutdown, slow consumer).
    Urgent(u16, String),
}

#[derive(Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for core-svc's `CheckSubscription`, then for the channel to attach it.
    Authorizing,
    /// Fetching `after` from the log; live feed buffered meanwhile.
    Replaying,
    Live,
}

struct Subscription {
    key: SubKey,
    id: Option<String>,
    phase: Phase,
    after: Option<i64>,
    /// Where the live feed starts (`subscribed.seq`).
    start: i64,
    /// Every event of the channel up to here is known (queued or sent).
    watermark: i64,
    /// Highest seq queued or sent on this subscription.
    high: i64,
    queue: VecDeque<Arc<SharedEvent>>,
    /// This subscription's queue length, read by its replay task for back-pressure.
    queued: Arc<AtomicUsize>,
    live_buffer: Vec<Feed>,
    replay: Option<AbortHandle>,
    counted: bool,
}

impl Subscription {
    fn push(&mut self, e: Arc<SharedEvent>) {
        if e.seq > self.high {
            self.high = e.seq;
            self.watermark = self.watermark.max(e.seq);
            self.queue.push_back(e);
            self.queued.store(self.queue.len(), Ordering::Relaxed);
        }
    }

    /// Where this subscription holds the others back.
    fn hold_point(&self) -> i64 {
        match (&self.phase, self.after) {
            (Phase::Authorizing, Some(after)) => after,
            (Phase::Authorizing, None) => i64::MIN,
            _ => self.watermark,
        }
    }
}

/// Credentials presented at the upgrade (`Authorization: Bearer`, then `?access_token=`).
pub struct Handshake {
    pub token: Option<SecretString>,
    /// Request id and client address; the bearer is set once validated.
    pub ctx: CallContext,
}

/// Keeps the connections gauge (and the app's count of live connections) right however the
/// connection task ends.
pub struct ConnectionGuard {
    metrics: RealtimeMetrics,
    live: Arc<(AtomicUsize, tokio::sync::Notify)>,
}

impl ConnectionGuard {
    pub fn new(metrics: RealtimeMetrics, live: Arc<(AtomicUsize, tokio::sync::Notify)>) -> Self {
        metrics.connections.increment(1.0);
        live.0.fetch_add(1, Ordering::SeqCst);
        Self { metrics, live }
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.metrics.connections.decrement(1.0);
        self.live.0.fetch_sub(1, Ordering::SeqCst);
        self.live.1.notify_waiters();
    }
}

/// Serves one upgraded WebSocket until it closes.
pub async fn run(socket: WebSocketStream, shared: Arc<Shared>, handshake: Handshake, guard: ConnectionGuard) {
    let (sink, mut stream) = socket.split();
    let (out, out_rx) = mpsc::channel(shared.limits.send_queue);
    let (urgent_tx, urgent_rx) = oneshot::channel();
    let writer = tokio::spawn(write_loop(sink, out_rx, urgent_rx));
    let (inbox, mut inbox_rx) = mpsc::unbounded_channel();
    let mut conn = Connection {
        creds: Credentials::new(handshake.ctx),
        user_id: String::new(),
        subs: HashMap::new(),
        by_key: HashMap::new(),
        last_sent: i64::MIN,
        recent: VecDeque::new(),
        out,
        inbox,
        bucket: TokenBucket::new(shared.limits.max_frames_per_sec),
        awaiting_pong: false,
        expires: None,
        shared,
    };
    let end = conn.serve(&mut stream, &mut inbox_rx, handshake.token).await;
    conn.leave_all();
    tracing::debug!(?end, "websocket connection ends");
    match end {
        End::Drop => {}
        End::Close(code, reason) => {
            if let Err(err) = conn.out.try_send(Out::Close(code, reason)) {
                let Out::Close(code, reason) = err.into_inner() else { unreachable!("sent a Close") };
                let _ = urgent_tx.send((code, reason));
            }
        }
        End::Urgent(code, reason) => {
            let _ = urgent_tx.send((code, reason));
        }
    }
    drop(conn);
    drop(stream);
    let abort = writer.abort_handle();
    if tokio::time::timeout(CLOSE_GRACE, writer).await.is_err() {
        abort.abort();
    }
    drop(guard);
}

/// Owns the sending half: writes queued frames; on an urgent close, skips the rest.
async fn write_loop(
    mut sink: SplitSink<WebSocketStream, Message>,
    mut rx: mpsc::Receiver<Out>,
    mut urgent: oneshot::Receiver<(u16, String)>,
) {
    async fn close(sink: &mut SplitSink<WebSocketStream, Message>, code: u16, reason: String) {
        let _ = tokio::time::timeout(CLOSE_GRACE, sink.send(Message::close_with(CloseCode::from(code), reason))).await;
        let _ = tokio::time::timeout(CLOSE_GRACE, sink.close()).await;
    }
    loop {
        let next = tokio::select! {
            biased;
            urgent_close = &mut urgent => {
                if let Ok((code, reason)) = urgent_close {
                    close(&mut sink, code, reason).await;
                }
                return;
            }
            next = rx.recv() => next,
        };
        let message = match next {
            None => {
                let _ = tokio::time::timeout(CLOSE_GRACE, sink.close()).await;
                return;
            }
            Some(Out::Close(code, reason)) => return close(&mut sink, code, reason).await,
            Some(Out::Text(text)) => Message::Text(text),
            Some(Out::Ping) => Message::Ping(Vec::new()),
        };
        tokio::select! {
            biased;
            urgent_close = &mut urgent => {
                // A send blocked on a client that stopped reading: the close frame goes after
                // the bytes already in flight.
                if let Ok((code, reason)) = urgent_close {
                    close(&mut sink, code, reason).await;
                }
                return;
            }
            sent = sink.send(message) => {
                if sent.is_err() {
                    return;
                }
            }
        }
    }
}

/// Client frames allowed per second, with bursts of twice that.
struct TokenBucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    at: Instant,
}

impl TokenBucket {
    fn new(per_sec: u32) -> Self {
        let rate = f64::from(per_sec);
        Self { tokens: rate * 2.0, rate, burst: rate * 2.0, at: Instant::now() }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

struct Connection {
    shared: Arc<Shared>,
    creds: Credentials,
    user_id: String,
    /// By channel.
    subs: HashMap<String, Subscription>,
    by_key: HashMap<SubKey, String>,
    /// Highest seq sent: events leave in seq order, so the second copy of an event on two
    /// subscribed channels is the one equal to it.
    last_sent: i64,
    /// Seqs sent lately, kept once the connection has several subscriptions (a replay from
    /// below `last_sent` may meet them again).
    recent: VecDeque<i64>,
    out: mpsc::Sender<Out>,
    inbox: mpsc::UnboundedSender<Inbound>,
    bucket: TokenBucket,
    awaiting_pong: bool,
    /// When the credential expires: the connection ends then, unless an `auth` frame brought a
    /// fresh one. None: it does not expire (or not authenticated yet).
    expires: Option<Instant>,
}

type Stream = futures::stream::SplitStream<WebSocketStream>;

impl Connection {
    async fn serve(
        &mut self,
        stream: &mut Stream,
        inbox_rx: &mut mpsc::UnboundedReceiver<Inbound>,
        token: Option<SecretString>,
    ) -> End {
        let mut shutdown = self.shared.shutdown.clone();
        if *shutdown.borrow_and_update() {
            return End::Urgent(close::GOING_AWAY, "server shutting down".into());
        }
        let authenticated = match token {
            Some(token) => self.authenticate(None, token).await,
            None => self.await_auth_frame(stream, &mut shutdown).await,
        };
        if let Err(end) = authenticated {
            return end;
        }
        let mut ping = tokio::time::interval_at(
            Instant::now() + self.shared.limits.ping_interval,
            self.shared.limits.ping_interval,
        );
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let out = self.out.clone();
        loop {
            let waiting_for_room = self.out.capacity() == 0 && self.next_releasable().is_some();
            let step = tokio::select! {
                _ = shutdown.changed() => Err(End::Urgent(close::GOING_AWAY, "server shutting down".into())),
                message = stream.next() => match message {
                    None => Err(End::Drop),
                    Some(Ok(message)) => self.on_message(message).await,
                    Some(Err(err)) => Err(read_error(&err)),
                },
                Some(inbound) = inbox_rx.recv() => {
                    // The inbox is unbounded so that the hub never waits on one connection; a
                    // connection that falls this far behind (the edge itself is overloaded) is
                    // closed like a slow client, so memory stays bounded and the client resumes.
                    if inbox_rx.len() > self.shared.limits.send_queue.saturating_mul(4) {
                        Err(self.slow_consumer())
                    } else {
                        self.on_inbound(inbound)
                    }
                }
                permit = out.reserve(), if waiting_for_room => match permit {
                    Ok(permit) => {
                        drop(permit);
                        self.release()
                    }
                    Err(_) => Err(End::Drop),
                },
                _ = ping.tick() => self.on_ping_tick(),
                () = until(self.expires) => self.credential_expired(),
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    /// Waits for the first frame, which must be `auth`, within the configured time.
    async fn await_auth_frame(&mut self, stream: &mut Stream, shutdown: &mut watch::Receiver<bool>) -> Result<(), End> {
        let deadline = Instant::now() + self.shared.limits.auth_timeout;
        loop {
            let message = tokio::select! {
                _ = shutdown.changed() => return Err(End::Urgent(close::GOING_AWAY, "server shutting down".into())),
                () = tokio::time::sleep_until(deadline) => {
                    let secs = self.shared.limits.auth_timeout.as_secs();
                    return self.refuse(None, &format!("no credentials: send {{\"type\":\"auth\",\"token\":\"...\"}} within {secs} s, or connect with an Authorization header or ?access_token="));
                }
                message = stream.next() => message,
            };
            let text = match message {
                None => return Err(End::Drop),
                Some(Err(err)) => return Err(read_error(&err)),
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(_))) => return Err(End::Drop),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Binary(_))) => return self.refuse(None, "authenticate first with an auth text frame"),
            };
            if text.len() > protocol::MAX_FRAME_BYTES {
                return self.too_big();
            }
            return match protocol::parse(&text) {
                Ok(ClientFrame::Auth { id, token }) => self.authenticate(id.as_deref(), token.into()).await,
                Ok(_) => self
                    .refuse(None, "authenticate first: the first frame must be {\"type\":\"auth\",\"token\":\"...\"}"),
                Err(bad) => self.refuse(bad.id.as_deref(), &format!("authenticate first: {}", bad.message)),
            };
        }
    }

    /// Validates `token` with core-svc (`GetMe`); on failure the connection closes with 1008.
    async fn authenticate(&mut self, id: Option<&str>, token: SecretString) -> Result<(), End> {
        match self.whoami(&token).await {
            Ok((user_id, expires)) => {
                self.creds.set_bearer(token);
                self.user_id = user_id;
                self.expires = expires;
                self.send_text(protocol::authenticated(id, &self.user_id))
            }
            Err(err) => {
                let code = ErrorCode::from_core(&err);
                let _ = self.send_text(protocol::error(id, code, &err.message, None));
                if code == ErrorCode::Unavailable {
                    // Not the client's fault: it may retry at once.
                    return Err(End::Close(close::TRY_AGAIN_LATER, "core service unavailable".into()));
                }
                Err(End::Close(close::POLICY_VIOLATION, "unauthenticated".into()))
            }
        }
    }

    fn refuse(&mut self, id: Option<&str>, message: &str) -> Result<(), End> {
        let _ = self.send_text(protocol::error(id, ErrorCode::Unauthenticated, message, None));
        Err(End::Close(close::POLICY_VIOLATION, "unauthenticated".into()))
    }

    fn too_big(&mut self) -> Result<(), End> {
        let message = format!("frames are limited to {} bytes", protocol::MAX_FRAME_BYTES);
        let _ = self.send_text(protocol::error(None, ErrorCode::BadRequest, &message, None));
        Err(End::Close(close::MESSAGE_TOO_BIG, "frame too large".into()))
    }

    /// The user behind `token`, and when the token expires.
    async fn whoami(&self, token: &SecretString) -> Result<(String, Option<Instant>), CoreError> {
        edge_kit::check_credential(token.expose_secret())?;
        let mut ctx = self.creds.snapshot();
        ctx.bearer = Some(token.clone());
        let me = AuthServiceClient::new(self.shared.core.channel())
            .get_me(ctx.request(pb::GetMeRequest {}))
            .await
            .map_err(CoreError::from)?
            .into_inner();
        let expires = me.credential_expire_time.map(|t| {
            let left = chrono::DateTime::<chrono::Utc>::from_timestamp(t.seconds, 0)
                .map_or(Duration::ZERO, |at| (at - chrono::Utc::now()).to_std().unwrap_or_default());
            Instant::now() + left
        });
        Ok((me.user.map(|u| u.id).unwrap_or_default(), expires))
    }

    /// The credential ran out and no `auth` frame replaced it: its subscriptions end with it.
    fn credential_expired(&mut self) -> Result<(), End> {
        let message = "the access token expired: send a fresh one in an auth frame before it expires, \
                       or reconnect with a new one and resume with after";
        let _ = self.send_text(protocol::error(None, ErrorCode::Unauthenticated, message, None));
        Err(End::Close(close::POLICY_VIOLATION, "token expired".into()))
    }

    fn on_ping_tick(&mut self) -> Result<(), End> {
        if self.awaiting_pong {
            tracing::debug!("peer did not answer the last ping; dropping it");
            return Err(End::Drop);
        }
        if self.out.try_send(Out::Ping).is_ok() {
            self.awaiting_pong = true;
        }
        Ok(())
    }

    async fn on_message(&mut self, message: Message) -> Result<(), End> {
        let text = match message {
            Message::Text(text) => text,
            Message::Binary(_) => {
                if !self.bucket.take() {
                    return self.rate_limited();
                }
                let message = "binary frames are not supported: send JSON text frames";
                return self.send_text(protocol::error(None, ErrorCode::BadRequest, message, None));
            }
            Message::Pong(_) => {
                self.awaiting_pong = false;
                return Ok(());
            }
            Message::Ping(_) => return Ok(()),
            Message::Close(_) => return Err(End::Drop),
        };
        if text.len() > protocol::MAX_FRAME_BYTES {
            return self.too_big();
        }
        if !self.bucket.take() {
            return self.rate_limited();
        }
        let frame = match protocol::parse(&text) {
            Ok(frame) => frame,
            Err(bad) => {
                return self.send_text(protocol::error(bad.id.as_deref(), ErrorCode::BadRequest, &bad.message, None));
            }
        };
        match frame {
            ClientFrame::Ping { id } => self.send_text(protocol::pong(id.as_deref())),
            ClientFrame::Auth { id, token } => self.refresh_auth(id.as_deref(), token.into()).await,
            ClientFrame::Subscribe { id, channel, after } => self.subscribe(id, channel, after),
            ClientFrame::Unsubscribe { id, channel } => self.unsubscribe(id.as_deref(), &channel),
        }
    }

    fn rate_limited(&mut self) -> Result<(), End> {
        let message = format!("more than {} frames per second", self.shared.limits.max_frames_per_sec);
        self.send_text(protocol::error(None, ErrorCode::RateLimited, &message, None))
    }

    /// A later `auth` frame: a fresh token for the same user (access tokens last 15 minutes).
    /// A refused token changes nothing: the current one stays in use.
    async fn refresh_auth(&mut self, id: Option<&str>, token: SecretString) -> Result<(), End> {
        match self.whoami(&token).await {
            Ok((user_id, expires)) if user_id == self.user_id => {
                self.creds.set_bearer(token);
                self.expires = expires;
                self.send_text(protocol::authenticated(id, &user_id))
            }
            Ok(_) => {
                let message = "the token belongs to another user; open a new connection to switch users";
                self.send_text(protocol::error(id, ErrorCode::BadRequest, message, None))
            }
            Err(err) => self.send_text(protocol::error(id, ErrorCode::from_core(&err), &err.message, None)),
        }
    }

    fn subscribe(&mut self, id: Option<String>, channel: String, after: Option<i64>) -> Result<(), End> {
        if self.subs.contains_key(&channel) {
            let message = format!("already subscribed to {channel}");
            return self.send_text(protocol::error(id.as_deref(), ErrorCode::BadRequest, &message, Some(&channel)));
        }
        if self.subs.len() >= self.shared.limits.max_subscriptions {
            let message = format!("at most {} subscriptions per connection", self.shared.limits.max_subscriptions);
            return self.send_text(protocol::error(id.as_deref(), ErrorCode::BadRequest, &message, Some(&channel)));
        }
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        let (core, ctx, inbox, name) =
            (self.shared.core.clone(), self.creds.snapshot(), self.inbox.clone(), channel.clone());
        tokio::spawn(async move {
            let result = hub::check_subscription(&core, &ctx, &name, after).await;
            let _ = inbox.send(Inbound::Authorized(key, result));
        });
        self.by_key.insert(key, channel.clone());
        self.subs.insert(
            channel,
            Subscription {
                key,
                id,
                phase: Phase::Authorizing,
                after,
                start: 0,
                watermark: i64::MIN,
                high: i64::MIN,
                queue: VecDeque::new(),
                queued: Arc::new(AtomicUsize::new(0)),
                live_buffer: Vec::new(),
                replay: None,
                counted: false,
            },
        );
        Ok(())
    }

    fn unsubscribe(&mut self, id: Option<&str>, channel: &str) -> Result<(), End> {
        self.remove(channel);
        self.send_text(protocol::unsubscribed(id, channel))?;
        self.release()
    }

    /// Forgets a subscription (and detaches it from its channel).
    fn remove(&mut self, channel: &str) -> Option<Subscription> {
        let sub = self.subs.remove(channel)?;
        self.by_key.remove(&sub.key);
        self.shared.hub.detach(channel, sub.key);
        if let Some(replay) = &sub.replay {
            replay.abort();
        }
        if sub.counted {
            self.shared.metrics.subscriptions.decrement(1.0);
        }
        Some(sub)
    }

    fn leave_all(&mut self) {
        let channels: Vec<String> = self.subs.keys().cloned().collect();
        for channel in channels {
            self.remove(&channel);
        }
    }

    fn on_inbound(&mut self, inbound: Inbound) -> Result<(), End> {
        let key = match &inbound {
            Inbound::Feed(key, _) | Inbound::Authorized(key, _) | Inbound::Replay(key, _) => *key,
        };
        let Some(channel) = self.by_key.get(&key).cloned() else {
            // Unsubscribed meanwhile.
            return Ok(());
        };
        match inbound {
            Inbound::Authorized(_, Ok(answer)) => {
                let sub = Subscriber {
                    key,
                    user_id: answer.user_id,
                    creds: self.creds.clone(),
                    tx: self.inbox.clone(),
                    min_start: answer.latest_seq,
                };
                self.shared.hub.attach(&channel, sub);
                Ok(())
            }
            Inbound::Authorized(_, Err(err)) | Inbound::Replay(_, Err(err)) | Inbound::Feed(_, Feed::Ended(err)) => {
                self.end_subscription(&channel, &err)
            }
            Inbound::Feed(_, Feed::Attached { start }) => self.on_attached(&channel, start),
            Inbound::Feed(_, feed) => {
                let sub = self.subs.get_mut(&channel).unwrap_or_else(|| unreachable!("by_key and subs agree"));
                if sub.phase == Phase::Replaying {
                    sub.live_buffer.push(feed);
                    return self.check_backlog();
                }
                apply(sub, feed);
                self.release()?;
                self.check_backlog()
            }
            Inbound::Replay(_, Ok(page)) => {
                let sub = self.subs.get_mut(&channel).unwrap_or_else(|| unreachable!("by_key and subs agree"));
                let after = sub.after.unwrap_or(0);
                for e in page.events {
                    sub.push(e);
                }
                sub.watermark = sub.watermark.max(after);
                if page.done {
                    sub.watermark = sub.watermark.max(sub.start);
                    sub.high = sub.high.max(sub.start);
                    sub.phase = Phase::Live;
                    sub.replay = None;
                    for feed in std::mem::take(&mut sub.live_buffer) {
                        apply(sub, feed);
                    }
                }
                self.release()?;
                self.check_backlog()
            }
        }
    }

    fn on_attached(&mut self, channel: &str, start: i64) -> Result<(), End> {
        let sub = self.subs.get_mut(channel).unwrap_or_else(|| unreachable!("by_key and subs agree"));
        sub.start = start;
        sub.counted = true;
        self.shared.metrics.subscriptions.increment(1.0);
        match sub.after {
            Some(after) if after < start => {
                sub.phase = Phase::Replaying;
                sub.watermark = after;
                sub.high = after;
                let page_size = self.shared.limits.send_queue.clamp(1, MAX_REPLAY_PAGE);
                let task = tokio::spawn(replay(ReplayJob {
                    core: self.shared.core.clone(),
                    creds: self.creds.clone(),
                    channel: channel.to_owned(),
                    after,
                    until: start,
                    page_size,
                    key: sub.key,
                    queued: sub.queued.clone(),
                    inbox: self.inbox.clone(),
                    out: self.out.downgrade(),
                }));
                sub.replay = Some(task.abort_handle());
            }
            after => {
                sub.phase = Phase::Live;
                let from = after.unwrap_or(start).max(start);
                sub.watermark = from;
                sub.high = from;
            }
        }
        let frame = protocol::subscribed(sub.id.as_deref(), channel, start);
        self.send_text(frame)?;
        self.release()
    }

    fn end_subscription(&mut self, channel: &str, err: &CoreError) -> Result<(), End> {
        let Some(sub) = self.remove(channel) else { return Ok(()) };
        let code = ErrorCode::from_core(err);
        let message = match code {
            ErrorCode::NotFound => format!("{channel} does not exist or is not visible to you"),
            ErrorCode::Forbidden => format!("you may not subscribe to {channel}"),
            _ => err.message.clone(),
        };
        self.send_text(protocol::error_with(sub.id.as_deref(), code, &message, Some(channel), err.oldest_seq()))?;
        self.release()
    }

    /// The subscription whose queue's first event may leave now, if any.
    fn next_releasable(&self) -> Option<&str> {
        let hold = self.subs.values().map(Subscription::hold_point).min()?;
        self.subs
            .iter()
            .filter_map(|(channel, sub)| sub.queue.front().map(|e| (e.seq, channel)))
            .filter(|(seq, _)| *seq <= hold)
            .min()
            .map(|(_, channel)| channel.as_str())
    }

    /// Moves every event that may leave into the outbound queue, while it has room.
    fn release(&mut self) -> Result<(), End> {
        while self.out.capacity() > 0 {
            let Some(channel) = self.next_releasable().map(str::to_owned) else { break };
            let sub = self.subs.get_mut(&channel).unwrap_or_else(|| unreachable!("released from a subscription"));
            let Some(e) = sub.queue.pop_front() else { break };
            sub.queued.store(sub.queue.len(), Ordering::Relaxed);
            if e.seq == self.last_sent || (e.seq < self.last_sent && self.recent.contains(&e.seq)) {
                continue;
            }
            self.last_sent = self.last_sent.max(e.seq);
            if self.subs.len() > 1 || !self.recent.is_empty() {
                if self.recent.len() == RECENT_SEQS {
                    self.recent.pop_front();
                }
                self.recent.push_back(e.seq);
            }
            self.send_text(protocol::event(&channel, e.seq, &e.json))?;
            self.shared.metrics.events_delivered.increment(1);
        }
        Ok(())
    }

    /// Events waiting in this connection beyond its outbound queue; too many → 1013.
    fn check_backlog(&mut self) -> Result<(), End> {
        let waiting: usize = self.subs.values().map(|s| s.queue.len() + s.live_buffer.len()).sum();
        if waiting > self.shared.limits.send_queue.saturating_mul(2) {
            return Err(self.slow_consumer());
        }
        Ok(())
    }

    fn slow_consumer(&self) -> End {
        self.shared.metrics.slow_consumer_closes.increment(1);
        tracing::info!(user_id = %self.user_id, "client too slow; closing with 1013");
        End::Urgent(close::TRY_AGAIN_LATER, "too slow: resume with after".into())
    }

    fn send_text(&mut self, text: String) -> Result<(), End> {
        match self.out.try_send(Out::Text(text)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => Err(self.slow_consumer()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(End::Drop),
        }
    }
}

/// Completes at `at`; never when there is no deadline.
async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Applies a live feed item to a subscription that is not replaying.
fn apply(sub: &mut Subscription, feed: Feed) {
    match feed {
        Feed::Event(e) => sub.push(e),
        Feed::Checkpoint(seq) => sub.watermark = sub.watermark.max(seq),
        Feed::Attached { .. } | Feed::Ended(_) => {}
    }
}

/// What a failed read means for the connection. poem hands tungstenite's errors over as
/// `io::Error`s, so they are told apart by their text.
fn read_error(err: &std::io::Error) -> End {
    let text = err.to_string();
    if text.contains("too long") || text.contains("too big") || text.contains("limit") {
        End::Urgent(close::MESSAGE_TOO_BIG, "frame too large".into())
    } else if text.contains("UTF-8") {
        End::Urgent(close::INVALID_PAYLOAD, "text frames must be UTF-8".into())
    } else {
        tracing::debug!(error = %err, "websocket read failed");
        End::Drop
    }
}

struct ReplayJob {
    core: CoreClient,
    creds: Credentials,
    channel: String,
    after: i64,
    until: i64,
    page_size: usize,
    key: SubKey,
    queued: Arc<AtomicUsize>,
    inbox: mpsc::UnboundedSender<Inbound>,
    out: mpsc::WeakSender<Out>,
}

/// Replays `channel` after `after` up to `until` from the log, with the client's credentials, a
/// page at a time, waiting for the previous page to drain.
async fn replay(job: ReplayJob) {
    // `admin` carries every event, and an admin's unfiltered log is exactly that: no channel filter.
    let range = format!("seq > {} AND seq <= {}", job.after, job.until);
    let filter = match job.channel.as_str() {
        "admin" => range,
        channel => format!("channel = {} AND {range}", protocol::filter_literal(channel)),
    };
    let mut client = EventServiceClient::new(job.core.channel()).max_decoding_message_size(MAX_REPLAY_RESPONSE_BYTES);
    let mut page_token = String::new();
    loop {
        loop {
            let Some(out) = job.out.upgrade() else { return };
            if job.queued.load(Ordering::Relaxed) <= job.page_size / 4 && out.capacity() * 2 >= out.max_capacity() {
                break;
            }
            drop(out);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let request = pb::ListEventsRequest {
            page_size: i32::try_from(job.page_size).unwrap_or(1000),
            page_token: std::mem::take(&mut page_token),
            filter: filter.clone(),
            order_by: "seq".into(),
            skip: 0,
        };
        let page = match client.list_events(job.creds.snapshot().request(request)).await {
            Ok(r) => r.into_inner(),
            Err(status) => {
                let _ = job.inbox.send(Inbound::Replay(job.key, Err(CoreError::from(status))));
                return;
            }
        };
        let done = page.next_page_token.is_empty() || page.events.is_empty();
        let events = page.events.iter().map(|e| Arc::new(SharedEvent::new(e))).collect();
        if job.inbox.send(Inbound::Replay(job.key, Ok(ReplayPage { events, done }))).is_err() || done {
            return;
        }
        page_token = page.next_page_token;
    }
}

#[cfg(test)]
mod tests {
    use edge_kit::{Metrics, RequestId};

    use super::*;

    fn connection(send_queue: usize) -> (Connection, mpsc::Receiver<Out>, mpsc::UnboundedReceiver<Inbound>) {
        let core = CoreClient::connect_lazy(&"http://127.0.0.1:9".parse().unwrap(), Duration::from_secs(1));
        let metrics = RealtimeMetrics::new(&Metrics::new());
        let (_tx, shutdown) = watch::channel(false);
        let shared = Arc::new(Shared {
            hub: Hub::new(core.clone(), metrics.clone()),
            core,
            metrics,
            limits: Limits {
                auth_timeout: Duration::from_secs(10),
                ping_interval: Duration::from_secs(25),
                send_queue,
                max_subscriptions: 100,
                max_frames_per_sec: 50,
            },
            shutdown,
        });
        let (out, out_rx) = mpsc::channel(send_queue);
        let (inbox, inbox_rx) = mpsc::unbounded_channel();
        let ctx = CallContext { bearer: None, request_id: RequestId::generate(), client_addr: None, deadline: None };
        let conn = Connection {
            creds: Credentials::new(ctx),
            user_id: "u".into(),
            subs: HashMap::new(),
            by_key: HashMap::new(),
            last_sent: i64::MIN,
            recent: VecDeque::new(),
            out,
            inbox,
            bucket: TokenBucket::new(50),
            awaiting_pong: false,
            expires: None,
            shared,
        };
        (conn, out_rx, inbox_rx)
    }

    /// Subscribes `channel` as key `key` and attaches it at `start`.
    fn attach(conn: &mut Connection, key: SubKey, channel: &str, after: Option<i64>, start: i64) {
        conn.by_key.insert(key, channel.into());
        conn.subs.insert(
            channel.into(),
            Subscription {
                key,
                id: None,
                phase: Phase::Authorizing,
                after,
                start: 0,
                watermark: i64::MIN,
                high: i64::MIN,
                queue: VecDeque::new(),
                queued: Arc::new(AtomicUsize::new(0)),
                live_buffer: Vec::new(),
                replay: None,
                counted: false,
            },
        );
        conn.on_inbound(Inbound::Feed(key, Feed::Attached { start })).unwrap();
        if let Some(replay) = &conn.subs[channel].replay {
            // Tests feed replay pages by hand.
            replay.abort();
        }
    }

    fn event(seq: i64) -> Feed {
        Feed::Event(Arc::new(SharedEvent { seq, json: "{}".into() }))
    }

    /// The (channel, seq) of every event frame queued so far; other frames are skipped.
    fn sent(out: &mut mpsc::Receiver<Out>) -> Vec<(String, i64)> {
        let mut events = vec![];
        while let Ok(Out::Text(text)) = out.try_recv() {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            if v["type"] == "event" {
                events.push((v["channel"].as_str().unwrap().to_owned(), v["seq"].as_i64().unwrap()));
            }
        }
        events
    }

    #[tokio::test]
    async fn channels_merge_by_checkpoints_into_one_order_without_duplicates() {
        let (mut c, mut out, _inbox) = connection(64);
        attach(&mut c, 1, "a", None, 10);
        attach(&mut c, 2, "b", None, 10);
        // 12 on a: b has only reached 10, so it waits.
        c.on_inbound(Inbound::Feed(1, event(12))).unwrap();
        assert_eq!(sent(&mut out), vec![]);
        // 11 on b releases 11, not yet 12 (b is known up to 11 only).
        c.on_inbound(Inbound::Feed(2, event(11))).unwrap();
        assert_eq!(sent(&mut out), vec![("b".into(), 11)]);
        // 14 on both channels; b's checkpoint 13 releases 12.
        c.on_inbound(Inbound::Feed(1, event(14))).unwrap();
        c.on_inbound(Inbound::Feed(2, Feed::Checkpoint(13))).unwrap();
        assert_eq!(sent(&mut out), vec![("a".into(), 12)]);
        c.on_inbound(Inbound::Feed(2, event(14))).unwrap();
        assert_eq!(sent(&mut out), vec![("a".into(), 14)], "14 goes out once");
        // Unsubscribing b unblocks a at once.
        c.on_inbound(Inbound::Feed(1, event(20))).unwrap();
        assert_eq!(sent(&mut out), vec![]);
        c.unsubscribe(None, "b").unwrap();
        assert_eq!(sent(&mut out), vec![("a".into(), 20)]);
    }

    #[tokio::test]
    async fn a_replay_then_the_buffered_live_feed_without_gap_or_duplicate() {
        let (mut c, mut out, _inbox) = connection(64);
        attach(&mut c, 1, "a", Some(3), 8);
        assert_eq!(c.subs["a"].phase, Phase::Replaying);
        // Live events arrive during the replay: buffered.
        c.on_inbound(Inbound::Feed(1, event(9))).unwrap();
        c.on_inbound(Inbound::Feed(1, event(10))).unwrap();
        assert_eq!(sent(&mut out), vec![]);
        let page = |seqs: &[i64], done| ReplayPage {
            events: seqs.iter().map(|&seq| Arc::new(SharedEvent { seq, json: "{}".into() })).collect(),
            done,
        };
        c.on_inbound(Inbound::Replay(1, Ok(page(&[4, 6], false)))).unwrap();
        assert_eq!(sent(&mut out), vec![("a".into(), 4), ("a".into(), 6)]);
        c.on_inbound(Inbound::Replay(1, Ok(page(&[8], true)))).unwrap();
        assert_eq!(sent(&mut out), vec![("a".into(), 8), ("a".into(), 9), ("a".into(), 10)]);
        assert_eq!(c.subs["a"].phase, Phase::Live);
    }

    #[tokio::test]
    async fn a_backlog_beyond_twice_the_queue_closes_with_1013() {
        let (mut c, _out, _inbox) = connection(4);
        attach(&mut c, 1, "a", None, 0);
        // The outbound queue (4) holds `subscribed` and 3 events; then 8 may wait.
        let mut end = None;
        for seq in 1..=20 {
            if let Err(e) = c.on_inbound(Inbound::Feed(1, event(seq))) {
                end = Some((seq, e));
                break;
            }
        }
        let Some((seq, End::Urgent(code, _))) = end else { panic!("no 1013: {end:?}") };
        assert_eq!((seq, code), (12, close::TRY_AGAIN_LATER));
    }

    /// `len` bytes of frame: a `ping` with this `id`, padded with `fill` (or, when `json` is
    /// false, no JSON at all); the shortest ping when `len` is smaller.
    fn frame_of(len: usize, fill: char, id: &str, json: bool) -> String {
        let fill = if fill.is_control() || fill == '"' || fill == '\\' { 'é' } else { fill };
        let (head, tail) =
            if json { (format!(r#"{{"type":"ping","id":"{id}","pad":""#), "\"}") } else { (String::new(), "") };
        let mut s = head;
        while s.len() + fill.len_utf8() + tail.len() <= len {
            s.push(fill);
        }
        while s.len() + tail.len() < len {
            s.push('a');
        }
        s + tail
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 48,
            failure_persistence: None,
            ..Default::default()
        })]

        /// The size limit holds where PROTOCOL.md puts it, in bytes whatever the characters: a
        /// text frame over MAX_FRAME_BYTES is answered with a `bad_request` error (no id: it is
        /// not parsed) and closed with 1009; one at or under it is parsed and answered, and the
        /// connection goes on.
        #[test]
        fn frames_over_the_size_limit_close_with_1009(
            len in proptest::prop_oneof![
                proptest::strategy::Just(protocol::MAX_FRAME_BYTES),
                proptest::strategy::Just(protocol::MAX_FRAME_BYTES + 1),
                protocol::MAX_FRAME_BYTES - 8..protocol::MAX_FRAME_BYTES + 8,
                0..2 * protocol::MAX_FRAME_BYTES,
            ],
            fill in proptest::prelude::any::<char>(),
            id in "[a-z0-9]{1,8}",
            json in proptest::prelude::any::<bool>(),
        ) {
            let text = frame_of(len, fill, &id, json);
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let (result, answer) = runtime.block_on(async {
                let (mut c, mut out, _inbox) = connection(64);
                let result = c.on_message(Message::Text(text.clone())).await;
                let answer = match out.try_recv() {
                    Ok(Out::Text(answer)) => serde_json::from_str::<serde_json::Value>(&answer).unwrap(),
                    _ => serde_json::Value::Null,
                };
                (result, answer)
            });
            if text.len() > protocol::MAX_FRAME_BYTES {
                proptest::prop_assert!(
                    matches!(result, Err(End::Close(close::MESSAGE_TOO_BIG, _))),
                    "{} bytes: {:?}", text.len(), result
                );
                proptest::prop_assert_eq!(&answer["code"], "bad_request");
                proptest::prop_assert!(answer.get("id").is_none());
            } else {
                proptest::prop_assert!(result.is_ok(), "{} bytes: {:?}", text.len(), result);
                if json {
                    proptest::prop_assert_eq!(answer, serde_json::json!({"type": "pong", "id": id}));
                } else {
                    proptest::prop_assert_eq!(&answer["code"], "bad_request");
                }
            }
        }
    }
}
