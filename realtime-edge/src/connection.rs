//! One WebSocket connection: authentication, the client's frames, its subscriptions (merged into
//! one seq order by edge-kit's [`Merge`]), and its bounded outbound queue.
//!
//! Tasks per connection: this one (reads frames, handles the inbox, decides what to send) and a
//! writer that owns the socket's sending half. They talk through a bounded queue of
//! [`Config::send_queue`](crate::config::Config) frames, so a client that stops reading costs
//! bounded memory: once the queue is full, events wait in the per-channel queues; when more than
//! twice the queue's size waits there too, the client is closed with 1013 and resumes with `after`.

use std::{sync::Arc, time::Duration};

use edge_kit::{
    CallContext, CoreClient, CoreError,
    live::{Credentials, End, Hub, Inbound, LiveMetrics, Merge, Out, Outcome, SocketGuard, TokenBucket, sockets},
};
use futures::StreamExt;
use poem::web::websocket::{Message, WebSocketStream};
use proto::v1::{self as pb, auth_service_client::AuthServiceClient};
use secrecy::{ExposeSecret, SecretString};
use tokio::{
    sync::{mpsc, watch},
    time::Instant,
};

use crate::protocol::{self, ClientFrame, ErrorCode, close};

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
    pub metrics: LiveMetrics,
    pub limits: Limits,
    /// Becomes `true` on shutdown: every connection closes with 1001.
    pub shutdown: watch::Receiver<bool>,
}

/// Credentials presented at the upgrade (`Authorization: Bearer`, then `?access_token=`).
pub struct Handshake {
    pub token: Option<SecretString>,
    /// Request id and client address; the bearer is set once validated.
    pub ctx: CallContext,
}

/// Serves one upgraded WebSocket until it closes.
pub async fn run(socket: WebSocketStream, shared: Arc<Shared>, handshake: Handshake, guard: SocketGuard) {
    let (sink, mut stream) = socket.split();
    let (out, closer) = sockets::spawn_writer(sink, shared.limits.send_queue);
    let (inbox, mut inbox_rx) = mpsc::unbounded_channel();
    let creds = Credentials::new(handshake.ctx);
    let merge = merge_for(&shared, &creds, inbox, &out);
    let mut conn = Connection {
        creds,
        user_id: String::new(),
        merge,
        out,
        bucket: TokenBucket::new(shared.limits.max_frames_per_sec),
        awaiting_pong: false,
        expires: None,
        shared,
    };
    let end = conn.serve(&mut stream, &mut inbox_rx, handshake.token).await;
    conn.merge.leave_all();
    tracing::debug!(?end, "websocket connection ends");
    let out = conn.out.clone();
    drop(conn);
    drop(stream);
    closer.finish(out, end).await;
    drop(guard);
}

/// The connection's merge of its subscriptions: replays take a page when the outbound queue is at
/// least half empty.
fn merge_for(
    shared: &Shared,
    creds: &Credentials,
    inbox: mpsc::UnboundedSender<Inbound>,
    out: &mpsc::Sender<Out>,
) -> Merge {
    Merge::new(
        shared.core.clone(),
        shared.hub.clone(),
        creds.clone(),
        inbox,
        sockets::room(out),
        shared.limits.send_queue,
        shared.metrics.subscriptions.clone(),
    )
}

struct Connection {
    shared: Arc<Shared>,
    creds: Credentials,
    user_id: String,
    /// The subscriptions, merged into one order.
    merge: Merge,
    out: mpsc::Sender<Out>,
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
            let waiting_for_room = self.out.capacity() == 0 && self.merge.has_ready();
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
        if self.merge.contains(&channel) {
            let message = format!("already subscribed to {channel}");
            return self.send_text(protocol::error(id.as_deref(), ErrorCode::BadRequest, &message, Some(&channel)));
        }
        if self.merge.len() >= self.shared.limits.max_subscriptions {
            let message = format!("at most {} subscriptions per connection", self.shared.limits.max_subscriptions);
            return self.send_text(protocol::error(id.as_deref(), ErrorCode::BadRequest, &message, Some(&channel)));
        }
        self.merge.subscribe(id, channel, after);
        Ok(())
    }

    fn unsubscribe(&mut self, id: Option<&str>, channel: &str) -> Result<(), End> {
        self.merge.unsubscribe(channel);
        self.send_text(protocol::unsubscribed(id, channel))?;
        self.release()
    }

    fn on_inbound(&mut self, inbound: Inbound) -> Result<(), End> {
        match self.merge.on_inbound(inbound) {
            Some(Outcome::Subscribed { channel, id, start }) => {
                self.send_text(protocol::subscribed(id.as_deref(), &channel, start))?;
            }
            Some(Outcome::Ended { channel, id, error }) => self.end_subscription(&channel, id.as_deref(), &error)?,
            None => {}
        }
        self.release()?;
        self.check_backlog()
    }

    fn end_subscription(&mut self, channel: &str, id: Option<&str>, err: &CoreError) -> Result<(), End> {
        let code = ErrorCode::from_core(err);
        let message = match code {
            ErrorCode::NotFound => format!("{channel} does not exist or is not visible to you"),
            ErrorCode::Forbidden => format!("you may not subscribe to {channel}"),
            _ => err.message.clone(),
        };
        self.send_text(protocol::error_with(id, code, &message, Some(channel), err.oldest_seq()))
    }

    /// Moves every event that may leave into the outbound queue, while it has room.
    fn release(&mut self) -> Result<(), End> {
        while self.out.capacity() > 0 {
            let Some((channel, e)) = self.merge.next_event() else { break };
            let frame = protocol::event(&channel, e.seq, e.rendered(protocol::event_json));
            self.send_text(frame)?;
            self.shared.metrics.events_delivered.increment(1);
        }
        Ok(())
    }

    /// Events waiting in this connection beyond its outbound queue; too many → 1013.
    fn check_backlog(&mut self) -> Result<(), End> {
        if self.merge.backlog() > self.shared.limits.send_queue.saturating_mul(2) {
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

#[cfg(test)]
mod tests {
    use edge_kit::{
        Metrics, RequestId,
        live::{Feed, SharedEvent},
    };

    use super::*;

    fn connection(send_queue: usize) -> (Connection, mpsc::Receiver<Out>, mpsc::UnboundedReceiver<Inbound>) {
        let core = CoreClient::connect_lazy(&"http://127.0.0.1:9".parse().unwrap(), Duration::from_secs(1));
        let metrics = LiveMetrics::new(&Metrics::new(), crate::METRICS_PREFIX);
        let (_tx, shutdown) = watch::channel(false);
        let shared = Arc::new(Shared {
            hub: Hub::new(core.clone(), metrics.upstream_streams.clone()),
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
        let creds = Credentials::new(ctx);
        let merge = merge_for(&shared, &creds, inbox, &out);
        let conn = Connection {
            creds,
            user_id: "u".into(),
            merge,
            out,
            bucket: TokenBucket::new(50),
            awaiting_pong: false,
            expires: None,
            shared,
        };
        (conn, out_rx, inbox_rx)
    }

    #[tokio::test]
    async fn a_backlog_beyond_twice_the_queue_closes_with_1013() {
        let (mut c, _out, mut inbox) = connection(4);
        c.subscribe(None, "a".into(), None).unwrap();
        // core-svc is unreachable here: its refusal names the subscription's key, which is
        // attached by hand instead.
        let Some(Inbound::Authorized(key, Err(_))) = inbox.recv().await else { panic!("an answer") };
        c.on_inbound(Inbound::Feed(key, Feed::Attached { start: 0 })).unwrap();
        // The outbound queue (4) holds `subscribed` and 3 events; then 8 may wait.
        let mut end = None;
        for seq in 1..=20 {
            let event = Arc::new(SharedEvent::new(pb::Event { seq, ..Default::default() }));
            if let Err(e) = c.on_inbound(Inbound::Feed(key, Feed::Event(event))) {
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
