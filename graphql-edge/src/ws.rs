//! The subscription WebSocket of `/graphql`: a `GET /graphql` that asks to upgrade, speaking
//! [`graphql-transport-ws`](https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md)
//! (Apollo Client, urql, Relay via `graphql-ws`) or the legacy `graphql-ws` of
//! `subscriptions-transport-ws`.
//!
//! - **Credentials**: `connection_init`'s payload (`{"authorization": "Bearer …"}`) or the
//!   upgrade request's `Authorization` header, checked with core-svc (`GetMe`); refused or
//!   missing → close 4403. Nothing but `connection_init` before the ack: a `subscribe` → 4401; a
//!   second `connection_init` → 4429; none within the time limit → 4408.
//! - **Operations**: each `subscribe` runs on the schema with the socket's credentials; a
//!   subscription's events come as `next`, its end as `complete`; a request error (parse,
//!   validation) is one `error` message. An id already running → 4409. Limits: subscriptions
//!   per socket, messages per second (a refused `subscribe` gets an `error`), 64 KiB per message
//!   (1009).
//! - **Multiplexing**: a subscription whose result depends only on the event (`events`,
//!   `configChanged` without `history`) takes each event's result text from the renderings its
//!   operation shares with every socket running it (`crate::mux`), and sends it straight to the
//!   socket's writer; its events, authorization and end stay its own.
//! - **Ends**: the credential's expiry (4403: reconnect with a fresh one and resume with
//!   `after`), a client that reads too slowly (1013, like realtime-edge), shutdown (1001), a
//!   peer that stops answering pings (dropped).

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_graphql::{Request as GqlRequest, Response as GqlResponse};
use edge_kit::{
    CallContext, CoreClient, CoreError, check_credential,
    live::{Credentials, End, Hub, LiveMetrics, OpenSockets, Out, TokenBucket, sockets},
};
use futures::StreamExt;
use poem::web::websocket::{Message, WebSocketStream};
use proto::v1 as pb;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::{
    sync::{Notify, mpsc, watch},
    task::AbortHandle,
    time::Instant,
};

use crate::{
    config::WsLimits,
    context::Core,
    live::{self, Live},
    loaders,
    mux::{Operation, Plan, Renders},
    schema::{AppSchema, subscription::One},
};

/// The protocol names a client may ask for in `Sec-WebSocket-Protocol`.
pub const GRAPHQL_TRANSPORT_WS: &str = "graphql-transport-ws";
pub const LEGACY_GRAPHQL_WS: &str = "graphql-ws";
/// Largest client message.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// WebSocket pings, and the legacy protocol's `ka`.
const PING_INTERVAL: Duration = Duration::from_secs(25);

mod close {
    pub const GOING_AWAY: u16 = 1001;
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    pub const TRY_AGAIN_LATER: u16 = 1013;
    pub const BAD_REQUEST: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    pub const INIT_TIMEOUT: u16 = 4408;
    pub const DUPLICATE_ID: u16 = 4409;
    pub const TOO_MANY_INITS: u16 = 4429;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    TransportWs,
    Legacy,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Self::TransportWs => GRAPHQL_TRANSPORT_WS,
            Self::Legacy => LEGACY_GRAPHQL_WS,
        }
    }

    /// The first protocol the client lists that we speak (as poem selects it).
    pub fn from_header(header: Option<&str>) -> Option<Self> {
        header?.split(',').map(str::trim).find_map(|p| match p {
            GRAPHQL_TRANSPORT_WS => Some(Self::TransportWs),
            LEGACY_GRAPHQL_WS => Some(Self::Legacy),
            _ => None,
        })
    }

    /// The type of the message that carries a result.
    fn next_type(self) -> &'static str {
        match self {
            Self::TransportWs => "next",
            Self::Legacy => "data",
        }
    }
}

/// What every socket of this edge shares.
pub struct WsShared {
    pub schema: AppSchema,
    pub core: CoreClient,
    pub hub: Hub,
    pub limits: WsLimits,
    pub metrics: LiveMetrics,
    /// Open sockets (shutdown waits for them).
    pub sockets: OpenSockets,
    /// Becomes true on shutdown: every socket closes with 1001.
    pub shutdown: watch::Receiver<bool>,
    /// Event results shared by the sockets running the same operation.
    pub renders: Renders,
}

/// What the upgrade request said.
pub struct Handshake {
    pub protocol: Protocol,
    /// `Authorization: Bearer …` of the upgrade request, if any.
    pub header_token: Option<SecretString>,
    pub ctx: CallContext,
}

/// From a running operation.
enum OpEvent {
    Next(String, Box<GqlResponse>),
    /// A request error: the operation never ran.
    Error(String, Vec<async_graphql::ServerError>),
    Complete(String),
}

/// Serves one upgraded socket until it closes.
pub async fn run(socket: WebSocketStream, shared: Arc<WsShared>, handshake: Handshake) {
    let guard = shared.sockets.open();
    let (sink, mut stream) = socket.split();
    let (out, closer) = sockets::spawn_writer(sink, shared.limits.send_queue);
    let (ops_tx, ops_rx) = mpsc::channel(shared.limits.send_queue);
    let mut conn = Socket {
        protocol: handshake.protocol,
        creds: Credentials::new(handshake.ctx),
        header_token: handshake.header_token,
        acked: false,
        ops: HashMap::new(),
        ops_tx,
        out,
        bucket: TokenBucket::new(shared.limits.max_messages_per_sec),
        expires: None,
        too_slow: Arc::new((AtomicBool::new(false), Notify::new())),
        shared,
    };
    let end = conn.serve(&mut stream, ops_rx).await;
    tracing::debug!(?end, "graphql websocket ends");
    for (_, op) in conn.ops.drain() {
        op.abort();
    }
    let out = conn.out.clone();
    drop(conn);
    drop(stream);
    closer.finish(out, end).await;
    drop(guard);
}

struct Socket {
    protocol: Protocol,
    creds: Credentials,
    header_token: Option<SecretString>,
    acked: bool,
    /// Running operations, by the client's id.
    ops: HashMap<String, AbortHandle>,
    ops_tx: mpsc::Sender<OpEvent>,
    out: mpsc::Sender<Out>,
    bucket: TokenBucket,
    /// When the credential expires.
    expires: Option<Instant>,
    too_slow: Arc<(AtomicBool, Notify)>,
    shared: Arc<WsShared>,
}

type Stream = futures::stream::SplitStream<WebSocketStream>;

impl Socket {
    async fn serve(&mut self, stream: &mut Stream, mut ops_rx: mpsc::Receiver<OpEvent>) -> End {
        let mut shutdown = self.shared.shutdown.clone();
        if *shutdown.borrow_and_update() {
            return End::Urgent(close::GOING_AWAY, "server shutting down".into());
        }
        let init_deadline = Instant::now() + self.shared.limits.init_timeout;
        let mut ping = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
        let mut awaiting_pong = false;
        loop {
            let too_slow = self.too_slow.clone();
            let step = tokio::select! {
                _ = shutdown.changed() => Err(End::Urgent(close::GOING_AWAY, "server shutting down".into())),
                () = tokio::time::sleep_until(init_deadline), if !self.acked => {
                    Err(End::Close(close::INIT_TIMEOUT, "Connection initialisation timeout".into()))
                }
                message = stream.next() => match message {
                    None => Err(End::Drop),
                    Some(Ok(Message::Text(text))) => self.on_text(&text).await,
                    Some(Ok(Message::Pong(_))) => { awaiting_pong = false; Ok(()) }
                    Some(Ok(Message::Ping(_))) => Ok(()),
                    Some(Ok(Message::Binary(_))) => Err(End::Close(close::BAD_REQUEST, "send JSON text messages".into())),
                    Some(Ok(Message::Close(_))) => Err(End::Drop),
                    Some(Err(err)) => Err(read_error(&err)),
                },
                Some(event) = ops_rx.recv() => self.on_op(event),
                _ = ping.tick() => {
                    if awaiting_pong {
                        Err(End::Drop)
                    } else {
                        awaiting_pong = self.out.try_send(Out::Ping).is_ok();
                        if self.protocol == Protocol::Legacy && self.acked {
                            let _ = self.out.try_send(Out::Text(json!({"type": "ka"}).to_string()));
                        }
                        Ok(())
                    }
                }
                () = async { too_slow.1.notified().await }, if !self.too_slow.0.load(Ordering::Relaxed) => Ok(()),
                () = until(self.expires) => Err(End::Close(
                    close::FORBIDDEN,
                    "Forbidden: the access token expired; reconnect with a fresh one and resume with after".into(),
                )),
            };
            if self.too_slow.0.load(Ordering::Relaxed) {
                return End::Urgent(close::TRY_AGAIN_LATER, "too slow: reconnect and resume with after".into());
            }
            if let Err(end) = step {
                return end;
            }
        }
    }

    fn send(&mut self, message: Value) -> Result<(), End> {
        self.send_text(message.to_string())
    }

    fn send_text(&mut self, text: String) -> Result<(), End> {
        match self.out.try_send(Out::Text(text)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.shared.metrics.slow_consumer_closes.increment(1);
                Err(End::Urgent(close::TRY_AGAIN_LATER, "too slow: reconnect and resume with after".into()))
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(End::Drop),
        }
    }

    async fn on_text(&mut self, text: &str) -> Result<(), End> {
        if text.len() > MAX_MESSAGE_BYTES {
            return Err(End::Close(close::MESSAGE_TOO_BIG, "message too big".into()));
        }
        let message: Value = serde_json::from_str(text)
            .map_err(|_| End::Close(close::BAD_REQUEST, "Invalid message received: not JSON".into()))?;
        let kind = message.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
        let id = message.get("id").and_then(Value::as_str).map(str::to_owned);
        match (self.protocol, kind.as_str()) {
            (_, "connection_init") => self.init(message.get("payload")).await,
            (Protocol::TransportWs, "ping") => {
                if self.bucket.take() {
                    self.send(json!({"type": "pong"}))?;
                }
                Ok(())
            }
            (Protocol::TransportWs, "pong") => Ok(()),
            (Protocol::TransportWs, "subscribe") | (Protocol::Legacy, "start") => {
                let Some(id) = id else {
                    return Err(End::Close(close::BAD_REQUEST, "Invalid message received: no id".into()));
                };
                self.subscribe(id, message.get("payload")).await
            }
            (Protocol::TransportWs, "complete") | (Protocol::Legacy, "stop") => {
                if let Some(op) = id.as_ref().and_then(|id| self.ops.remove(id)) {
                    op.abort();
                    if self.protocol == Protocol::Legacy {
                        self.send(json!({"type": "complete", "id": id}))?;
                    }
                }
                Ok(())
            }
            (Protocol::Legacy, "connection_terminate") => Err(End::Drop),
            _ => Err(End::Close(close::BAD_REQUEST, format!("Invalid message received: unknown type {kind:?}"))),
        }
    }

    async fn init(&mut self, payload: Option<&Value>) -> Result<(), End> {
        if self.acked {
            return Err(End::Close(close::TOO_MANY_INITS, "Too many initialisation requests".into()));
        }
        let from_payload = payload
            .and_then(|p| p.get("authorization").or_else(|| p.get("Authorization")))
            .and_then(Value::as_str)
            .and_then(|v| CallContext::bearer_from_header(Some(v)))
            .map(SecretString::from);
        let Some(token) = from_payload.or_else(|| self.header_token.take()) else {
            return self.refuse("Forbidden: send connection_init with {\"authorization\": \"Bearer <token>\"}");
        };
        match self.whoami(&token).await {
            Ok(expires) => {
                self.creds.set_bearer(token);
                self.expires = expires;
                self.acked = true;
                self.send(json!({"type": "connection_ack"}))
            }
            Err(err) => self.refuse(&format!("Forbidden: {}", err.message)),
        }
    }

    fn refuse(&mut self, message: &str) -> Result<(), End> {
        if self.protocol == Protocol::Legacy {
            let _ = self.send(json!({"type": "connection_error", "payload": {"message": message}}));
        }
        Err(End::Close(close::FORBIDDEN, message.chars().take(120).collect()))
    }

    /// Checks the credential with core-svc; returns when it expires.
    async fn whoami(&self, token: &SecretString) -> Result<Option<Instant>, CoreError> {
        check_credential(token.expose_secret())?;
        let mut ctx = self.creds.snapshot();
        ctx.bearer = Some(token.clone());
        let me = pb::auth_service_client::AuthServiceClient::new(self.shared.core.channel())
            .get_me(ctx.request(pb::GetMeRequest {}))
            .await
            .map_err(CoreError::from)?
            .into_inner();
        Ok(me.credential_expire_time.map(|t| {
            let left = chrono::DateTime::<chrono::Utc>::from_timestamp(t.seconds, 0)
                .map_or(Duration::ZERO, |at| (at - chrono::Utc::now()).to_std().unwrap_or_default());
            Instant::now() + left
        }))
    }

    async fn subscribe(&mut self, id: String, payload: Option<&Value>) -> Result<(), End> {
        if !self.acked {
            return Err(End::Close(close::UNAUTHORIZED, "Unauthorized".into()));
        }
        if self.ops.contains_key(&id) {
            return Err(End::Close(close::DUPLICATE_ID, format!("Subscriber for {id} already exists")));
        }
        if self.ops.len() >= self.shared.limits.max_subscriptions {
            let message = format!("at most {} operations per connection", self.shared.limits.max_subscriptions);
            return self.send_error(&id, &message, crate::error::BAD_USER_INPUT);
        }
        if !self.bucket.take() {
            let message =
                format!("more than {} messages per second on this connection", self.shared.limits.max_messages_per_sec);
            return self.send_error(&id, &message, crate::error::RATE_LIMITED);
        }
        let Some(payload) = payload.filter(|p| serde_json::from_value::<GqlRequest>((*p).clone()).is_ok()) else {
            return Err(End::Close(close::BAD_REQUEST, "Invalid message received: bad subscribe payload".into()));
        };
        let live = Live {
            core: self.shared.core.clone(),
            hub: self.shared.hub.clone(),
            creds: self.creds.clone(),
            room: sockets::room(&self.out),
            max_backlog: self.shared.limits.send_queue.saturating_mul(2),
            metrics: self.shared.metrics.clone(),
            too_slow: self.too_slow.clone(),
        };
        let task = match self.shared.renders.plan(&self.shared.schema, payload).await {
            Plan::Shared { op, channels, after } => {
                let shared = SharedOp {
                    op,
                    schema: self.shared.schema.clone(),
                    id: id.clone(),
                    protocol: self.protocol,
                    out: self.out.clone(),
                    ops_tx: self.ops_tx.clone(),
                    request_id: self.creds.snapshot().request_id.as_str().to_owned(),
                    live,
                };
                tokio::spawn(shared.run(channels, after))
            }
            Plan::Own => {
                let Ok(request) = serde_json::from_value::<GqlRequest>(payload.clone()) else {
                    return Err(End::Close(
                        close::BAD_REQUEST,
                        "Invalid message received: bad subscribe payload".into(),
                    ));
                };
                let core = Core::new(self.shared.core.channel(), self.creds.snapshot());
                let (users, members) = loaders::for_request(&core);
                let request = request.data(core).data(users).data(members).data(live);
                let (schema, tx, op_id) = (self.shared.schema.clone(), self.ops_tx.clone(), id.clone());
                tokio::spawn(async move {
                    let mut responses = schema.execute_stream(request);
                    let mut first = true;
                    while let Some(response) = responses.next().await {
                        if first && is_request_error(&response) {
                            let _ = tx.send(OpEvent::Error(op_id.clone(), response.errors)).await;
                            return;
                        }
                        first = false;
                        if tx.send(OpEvent::Next(op_id.clone(), Box::new(response))).await.is_err() {
                            return;
                        }
                    }
                    let _ = tx.send(OpEvent::Complete(op_id)).await;
                })
            }
        };
        self.ops.insert(id, task.abort_handle());
        Ok(())
    }

    fn send_error(&mut self, id: &str, message: &str, code: &str) -> Result<(), End> {
        let errors = json!([{ "message": message, "extensions": { "code": code } }]);
        match self.protocol {
            Protocol::TransportWs => self.send(json!({"type": "error", "id": id, "payload": errors})),
            Protocol::Legacy => self.send(json!({"type": "error", "id": id, "payload": errors[0]})),
        }
    }

    fn on_op(&mut self, event: OpEvent) -> Result<(), End> {
        match event {
            OpEvent::Next(id, mut response) => {
                if !self.ops.contains_key(&id) {
                    return Ok(());
                }
                crate::error::finish(&mut response, self.creds.snapshot().request_id.as_str());
                let text = message_text(self.protocol.next_type(), &id, &*response);
                self.send_text(text)
            }
            OpEvent::Error(id, errors) => {
                if self.ops.remove(&id).is_none() {
                    return Ok(());
                }
                let mut response = GqlResponse::from_errors(errors);
                crate::error::finish(&mut response, self.creds.snapshot().request_id.as_str());
                let text = match self.protocol {
                    Protocol::TransportWs => message_text("error", &id, &response.errors),
                    Protocol::Legacy => message_text("error", &id, &response.errors.first()),
                };
                self.send_text(text)
            }
            OpEvent::Complete(id) => {
                if self.ops.remove(&id).is_none() {
                    return Ok(());
                }
                self.send(json!({"type": "complete", "id": id}))
            }
        }
    }
}

/// A multiplexed subscription: this subscriber's own event stream, each event's result taken
/// from its operation's shared renderings and sent straight to the socket's writer.
struct SharedOp {
    op: Arc<Operation>,
    schema: AppSchema,
    id: String,
    protocol: Protocol,
    out: mpsc::Sender<Out>,
    ops_tx: mpsc::Sender<OpEvent>,
    request_id: String,
    live: Live,
}

impl SharedOp {
    async fn run(self, channels: Vec<String>, after: Option<i64>) {
        let mut events = std::pin::pin!(live::events(&self.live, channels, after));
        while let Some(item) = events.next().await {
            let sent = match item {
                Ok(event) => match self.op.rendered(&self.schema, &event).await {
                    Some(payloads) => payloads.iter().all(|payload| self.send_payload(payload)),
                    // Its result carries errors, which name this subscriber's request.
                    None => self.send_own(One::Event(event)).await,
                },
                Err(end) => self.send_own(One::End(end)).await,
            };
            if !sent {
                return;
            }
        }
        let _ = self.ops_tx.send(OpEvent::Complete(self.id.clone())).await;
    }

    async fn send_own(&self, one: One) -> bool {
        self.op.execute(&self.schema, one).await.into_iter().all(|mut response| {
            crate::error::finish(&mut response, &self.request_id);
            self.send_text(message_text(self.protocol.next_type(), &self.id, &response))
        })
    }

    fn send_payload(&self, payload: &str) -> bool {
        let mut text = String::with_capacity(payload.len() + self.id.len() + 48);
        text.push_str(r#"{"type":""#);
        text.push_str(self.protocol.next_type());
        text.push_str(r#"","id":"#);
        text.push_str(&serde_json::to_string(&self.id).unwrap_or_default());
        text.push_str(r#","payload":"#);
        text.push_str(payload);
        text.push('}');
        self.send_text(text)
    }

    /// Like [`Socket::send_text`], from the operation's task: a full queue closes the socket
    /// with 1013 (the socket's loop closes it when told).
    fn send_text(&self, text: String) -> bool {
        match self.out.try_send(Out::Text(text)) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.live.metrics.slow_consumer_closes.increment(1);
                self.live.too_slow.0.store(true, Ordering::Relaxed);
                self.live.too_slow.1.notify_waiters();
                // Wakes the socket's loop even if it was not waiting on the notification yet;
                // it sees the flag first and closes with 1013.
                let _ = self.ops_tx.try_send(OpEvent::Complete(self.id.clone()));
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// A protocol message with a payload, serialised straight to its text (no intermediate tree).
#[derive(serde::Serialize)]
struct WireMessage<'a, P> {
    #[serde(rename = "type")]
    kind: &'a str,
    id: &'a str,
    payload: &'a P,
}

fn message_text<P: serde::Serialize>(kind: &str, id: &str, payload: &P) -> String {
    serde_json::to_string(&WireMessage { kind, id, payload }).unwrap_or_default()
}

/// A request error (the document does not parse or validate, its variables do not coerce, a
/// limit refuses it): errors, none of them at a field's path. The operation never ran, and
/// graphql-transport-ws answers it with one `error` message instead of `next` + `complete`.
fn is_request_error(response: &GqlResponse) -> bool {
    !response.errors.is_empty() && response.errors.iter().all(|e| e.path.is_empty())
}

async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn read_error(err: &std::io::Error) -> End {
    let text = err.to_string();
    if text.contains("too long") || text.contains("too big") || text.contains("limit") {
        End::Close(close::MESSAGE_TOO_BIG, "message too big".into())
    } else {
        End::Drop
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_protocol_we_speak_is_chosen() {
        assert_eq!(Protocol::from_header(Some("graphql-transport-ws")), Some(Protocol::TransportWs));
        assert_eq!(Protocol::from_header(Some("graphql-ws, graphql-transport-ws")), Some(Protocol::Legacy));
        assert_eq!(Protocol::from_header(Some("chat")), None);
        assert_eq!(Protocol::from_header(None), None);
    }
}
