//! The load client of `bench/run-realtime` (issue 5): N WebSocket connections to a separately
//! started realtime-edge, all subscribed to one `project:<id>` channel, while this process drives
//! `SetConfig` writes into that project through core-svc's gRPC API at a controlled rate.
//!
//! Every write carries `x-request-id: rtb-<n>`; core-svc stores it on the event, so each event
//! frame names the write it comes from. The client records, per write, when the request was sent
//! and when its response (the acknowledgment) arrived, and for each event a connection receives
//! the time from that acknowledgment to the receipt (same process, same monotonic clock).
//!
//! Baseline, in the same run and on the same writes: one `EventService.Subscribe` stream straight
//! from core-svc (the stream the edge itself consumes upstream), timed the same way.
//!
//! Sequence (one realtime-edge process, fresh when this starts):
//!
//! 1. VmRSS of the edge, fresh; one connection, then the latency at `--latency-rate` with 1
//!    subscriber; VmRSS again (channel and upstream now exist: the base for per-connection cost);
//! 2. grows to the small N (default 1,000) then the large N (default 10,000) subscribed
//!    connections, reading VmRSS after each once idle (per connection = growth / connections);
//! 3. at the large N: writes at each of `--rates-large` (deliveries/s, latency, 1013 closes);
//! 4. shrinks to the small N: latency at `--latency-rate`, then each of `--rates-small`.
//!
//! Connections closed by the edge (e.g. 1013 for a slow consumer) reconnect and are counted.

use std::{
    fmt::Write as _,
    path::PathBuf,
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bench::{cpu_model, git, loadavg};

use anyhow::{Context as _, bail};
use futures::{SinkExt as _, StreamExt as _};
use proto::v1 as pb;
use tokio::{sync::Semaphore, task::JoinHandle};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest as _, protocol::WebSocketConfig};
use tonic::{metadata::MetadataValue, transport::Channel};

const USAGE: &str = "\
usage: realtime [--connections SMALL,LARGE] [--latency-rate W] [--latency-duration SECS]
                [--rates-large W,W…] [--rates-small W,W…] [--duration SECS] [--out FILE]

  --connections SMALL,LARGE  subscribed WebSocket connections (default 1000,10000)
  --latency-rate W           writes/s of the latency measurements (default 50)
  --latency-duration SECS    length of each latency measurement (default 15)
  --rates-large W,…          writes/s steps at LARGE connections (default 5,10,20)
  --rates-small W,…          writes/s steps at SMALL connections (default 100,200)
  --duration SECS            length of each throughput step (default 10)
  --out FILE                 where to write the Markdown report (default: print only)

usage: realtime --compare [--subscribers N] [--rounds R] [--latency-rate W] [--latency-duration SECS]
                          [--rates-small W,W…] [--duration SECS] [--out FILE]
  realtime-edge against graphql-edge (graphql-transport-ws) in the same run, on the same writes:
  per round and edge, N subscribers (default 1000) of one project's events, the latency step at
  --latency-rate, then each of --rates-small; the edges alternate (A B, B A, …; default 3 rounds)
  and the report gives medians and the ratio graphql/realtime. Needs BENCH_GQL_WS_URL too.

usage: realtime --probe-read-buffer BYTES [N]
  the memory baseline: VmRSS per idle WebSocket of a bare tungstenite server with that read buffer
  (N connections, default 2000)

Environment (set by bench/run-realtime): BENCH_WS_URL (ws://…/ws), CORE_GRPC_URL,
BENCH_ADMIN_EMAIL, BENCH_ADMIN_PASSWORD, BENCH_PIDS (name=pid,…; realtime-edge required,
postgres = the postmaster).";

/// Writes one run can make (indexes of the per-write arrays).
const MAX_WRITES: usize = 1 << 20;
/// Measurement steps one run can hold.
const MAX_STEPS: usize = 64;
/// Handshakes (upgrade + `authenticated` + `subscribed`) in flight at once.
const CONNECT_CONCURRENCY: usize = 64;
/// Writes in flight at once; a tick finding them all busy is skipped (and counted).
const MAX_WRITES_IN_FLIGHT: usize = 256;
/// Keys the writes rotate over (one row each; fewer rows would serialise on row locks).
const KEYS: u64 = 16;
/// The request-id prefix that ties an event to its write.
const RID_PREFIX: &str = "rtb-";

// --- latency histogram ----------------------------------------------------------------------------

/// Log-linear histogram of microseconds: exact below 256 µs, then 128 buckets per power of two
/// (under 0.8 % error). Lock-free, shared by every connection task.
struct Hist {
    buckets: Vec<AtomicU64>,
}

const HIST_BUCKETS: usize = 256 + 40 * 128;

impl Hist {
    fn new() -> Self {
        Self { buckets: (0..HIST_BUCKETS).map(|_| AtomicU64::new(0)).collect() }
    }

    fn index(v: u64) -> usize {
        let v = v.min((1 << 40) - 1);
        if v < 256 {
            return v as usize;
        }
        let shift = 63 - v.leading_zeros() - 7;
        256 + (shift as usize - 1) * 128 + ((v >> shift) as usize - 128)
    }

    /// Midpoint of a bucket, in µs.
    fn value(index: usize) -> f64 {
        if index < 256 {
            return index as f64;
        }
        let k = index - 256;
        let shift = k / 128 + 1;
        let low = ((k % 128 + 128) as u64) << shift;
        low as f64 + (1u64 << shift) as f64 / 2.0
    }

    fn record(&self, micros: u64) {
        self.buckets[Self::index(micros)].fetch_add(1, Ordering::Relaxed);
    }

    fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// The `q` quantile in milliseconds (NaN when empty).
    fn quantile_ms(&self, q: f64) -> f64 {
        let total = self.count();
        if total == 0 {
            return f64::NAN;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= rank {
                return Self::value(i) / 1000.0;
            }
        }
        f64::NAN
    }
}

// --- shared state ---------------------------------------------------------------------------------

#[derive(Default)]
struct StepCounters {
    receipts: AtomicU64,
    /// Receipts whose write was not yet acknowledged when they arrived (counted as 0 µs).
    early: AtomicU64,
    last_receipt_ns: AtomicU64,
}

struct Step {
    ws_ack: Hist,
    ws_send: Hist,
    grpc_ack: Hist,
    grpc_send: Hist,
    ws: StepCounters,
    grpc: StepCounters,
}

struct Shared {
    t0: Instant,
    sent_ns: Vec<AtomicU64>,
    ack_ns: Vec<AtomicU64>,
    /// Step of each write, plus one (0: not a write of this run).
    write_step: Vec<AtomicU32>,
    next_write: AtomicU64,
    steps: Vec<Step>,
    /// Every event frame received by any WebSocket connection.
    delivered: AtomicU64,
    /// Connections currently subscribed (after `subscribed`, until closed).
    subscribed: AtomicI64,
    closes_1013: AtomicU64,
    closes_other: AtomicU64,
    reconnects: AtomicU64,
    connect_errors: AtomicU64,
    unmatched: AtomicU64,
    /// Event frames whose seq equals the previous one of the same connection (a repeat).
    duplicates: AtomicU64,
    /// Event frames whose seq is below the previous one of the same connection.
    out_of_order: AtomicU64,
    first_error: std::sync::Mutex<Option<String>>,
}

impl Shared {
    fn new() -> Self {
        Self {
            t0: Instant::now(),
            sent_ns: (0..MAX_WRITES).map(|_| AtomicU64::new(0)).collect(),
            ack_ns: (0..MAX_WRITES).map(|_| AtomicU64::new(0)).collect(),
            write_step: (0..MAX_WRITES).map(|_| AtomicU32::new(0)).collect(),
            next_write: AtomicU64::new(0),
            steps: (0..MAX_STEPS)
                .map(|_| Step {
                    ws_ack: Hist::new(),
                    ws_send: Hist::new(),
                    grpc_ack: Hist::new(),
                    grpc_send: Hist::new(),
                    ws: StepCounters::default(),
                    grpc: StepCounters::default(),
                })
                .collect(),
            delivered: AtomicU64::new(0),
            subscribed: AtomicI64::new(0),
            closes_1013: AtomicU64::new(0),
            closes_other: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            connect_errors: AtomicU64::new(0),
            unmatched: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            out_of_order: AtomicU64::new(0),
            first_error: std::sync::Mutex::new(None),
        }
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(self.t0.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn note_error(&self, err: String) {
        let mut first = self.first_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if first.is_none() {
            *first = Some(err);
        }
    }

    /// An event of write `index` arrived (on a WebSocket, or on the gRPC baseline stream);
    /// returns the step of that write.
    fn on_receipt(&self, index: usize, grpc: bool) -> Option<usize> {
        let now = self.now_ns();
        if !grpc {
            self.delivered.fetch_add(1, Ordering::Relaxed);
        }
        let step_index = match self.write_step.get(index).map(|s| s.load(Ordering::Relaxed)) {
            Some(s) if s > 0 => s as usize - 1,
            _ => {
                self.unmatched.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        };
        let step = &self.steps[step_index];
        let ack = self.ack_ns[index].load(Ordering::Acquire);
        let counters = if grpc { &step.grpc } else { &step.ws };
        let from_ack = if ack == 0 || ack > now {
            counters.early.fetch_add(1, Ordering::Relaxed);
            0
        } else {
            (now - ack) / 1000
        };
        let from_send = now.saturating_sub(self.sent_ns[index].load(Ordering::Relaxed)) / 1000;
        if grpc {
            step.grpc_ack.record(from_ack);
            step.grpc_send.record(from_send);
        } else {
            step.ws_ack.record(from_ack);
            step.ws_send.record(from_send);
        }
        counters.receipts.fetch_add(1, Ordering::Relaxed);
        counters.last_receipt_ns.fetch_max(now, Ordering::Relaxed);
        Some(step_index)
    }
}

/// The number after `needle` up to the next `"` or `,` or `}` in `frame`.
fn number_after<T: std::str::FromStr>(frame: &str, needle: &str) -> Option<T> {
    let at = frame.find(needle)? + needle.len();
    let digits = &frame[at..];
    let end = digits.find(['"', ',', '}'])?;
    digits[..end].parse().ok()
}

/// What a load-client connection makes of a text frame. Event frames are recognised and their
/// write index and seq read without a JSON parser, the same way for both edges, so that the
/// client's cost per frame does not favour one edge.
#[derive(Debug, PartialEq, Eq)]
enum Frame {
    /// An event: the index of its write (`request_id` `rtb-<n>`) and its seq.
    Event {
        index: Option<usize>,
        seq: Option<i64>,
    },
    /// The subscription ended (GraphQL `complete`, `error`, or a `next` carrying errors).
    End,
    Other,
}

impl Edge {
    fn frame(self, text: &str) -> Frame {
        match self {
            // `{"type":"event","channel":…,"seq":…,"event":{…,"request_id":"rtb-<n>",…}}`
            Edge::Realtime if text.starts_with(r#"{"type":"event""#) => Frame::Event {
                index: number_after(text, r#""request_id":"rtb-"#),
                seq: number_after(text, r#""seq":"#),
            },
            Edge::Realtime => Frame::Other,
            // `{"type":"next","id":"1","payload":{"data":{"events":{"seq":…,…,"requestId":"rtb-<n>"}}}}`
            // (in some key order: the seq looked for is the first, which `events` selects first).
            Edge::Graphql if text.contains(r#""type":"next""#) && !text.contains(r#""errors":"#) => {
                Frame::Event { index: number_after(text, r#""requestId":"rtb-"#), seq: number_after(text, r#""seq":"#) }
            }
            Edge::Graphql if text.contains(r#""type":"pong""#) || text.contains(r#""type":"ping""#) => Frame::Other,
            Edge::Graphql => Frame::End,
        }
    }
}

// --- WebSocket connections ------------------------------------------------------------------------

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Which edge a connection speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    /// realtime-edge's `/ws`: `subscribe` to a channel, `event` frames.
    Realtime,
    /// graphql-edge's `/graphql` over `graphql-transport-ws`: [`GQL_SUBSCRIPTION`], `next` frames.
    Graphql,
}

impl Edge {
    fn name(self) -> &'static str {
        match self {
            Edge::Realtime => "realtime-edge",
            Edge::Graphql => "graphql-edge",
        }
    }
}

/// The GraphQL subscription: the same event stream as realtime-edge's channel, every field of
/// the event that realtime-edge's `event` frame carries (`seq` first: the client reads it).
const GQL_SUBSCRIPTION: &str = "subscription Bench($channels: [String!]!) { events(channels: $channels) { \
     seq id type actorId resourceType resourceId payload occurredAt requestId channels } }";

struct Target {
    edge: Edge,
    url: String,
    token: String,
    channel: String,
}

/// What one load-client connection saw, read by the step that checks every subscriber got every
/// event exactly once.
struct ConnStats {
    /// An event arrived since the connection last (re)opened: its subscription is live.
    ready: AtomicBool,
    /// Events received, by the step of their write.
    per_step: Vec<AtomicU32>,
}

impl ConnStats {
    fn new() -> Self {
        Self { ready: AtomicBool::new(false), per_step: (0..MAX_STEPS).map(|_| AtomicU32::new(0)).collect() }
    }
}

/// Counts a subscribed connection until dropped (also when its task is aborted).
struct Live(Arc<Shared>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.subscribed.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn open(target: &Target) -> anyhow::Result<Ws> {
    match target.edge {
        Edge::Realtime => open_realtime(target).await,
        Edge::Graphql => open_graphql(target).await,
    }
}

/// graphql-transport-ws: upgrade with the subprotocol, `connection_init` with the bearer token,
/// wait for `connection_ack`, `subscribe`. The protocol has no acknowledgment of a subscription:
/// it is live once its first event arrives (see [`Bench::barrier`]).
async fn open_graphql(target: &Target) -> anyhow::Result<Ws> {
    let mut req = target.url.as_str().into_client_request()?;
    req.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    let config = WebSocketConfig::default().read_buffer_size(16 * 1024);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(req, Some(config), true).await?;
    let init = serde_json::json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", target.token)}});
    ws.send(Message::text(init.to_string())).await?;
    while let Some(message) = ws.next().await {
        let Message::Text(text) = message? else { continue };
        let v: serde_json::Value = serde_json::from_str(text.as_str())?;
        match v["type"].as_str() {
            Some("connection_ack") => {
                let frame = serde_json::json!({
                    "type": "subscribe",
                    "id": "1",
                    "payload": {"query": GQL_SUBSCRIPTION, "variables": {"channels": [target.channel]}},
                });
                ws.send(Message::text(frame.to_string())).await?;
                return Ok(ws);
            }
            Some("ping") => ws.send(Message::text(r#"{"type":"pong"}"#)).await?,
            _ => bail!("unexpected frame while initialising: {text}"),
        }
    }
    bail!("closed while initialising")
}

/// Upgrade with `Authorization: Bearer`, wait for `authenticated`, subscribe, wait for `subscribed`.
async fn open_realtime(target: &Target) -> anyhow::Result<Ws> {
    let mut req = target.url.as_str().into_client_request()?;
    req.headers_mut().insert("authorization", format!("Bearer {}", target.token).parse()?);
    // A small read buffer: tungstenite zero-fills its whole read buffer (default 128 KiB) before
    // every read, which would make the load client, not the edge, the bottleneck.
    let config = WebSocketConfig::default().read_buffer_size(16 * 1024);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(req, Some(config), true).await?;
    let mut subscribe_sent = false;
    while let Some(message) = ws.next().await {
        let Message::Text(text) = message? else { continue };
        let v: serde_json::Value = serde_json::from_str(text.as_str())?;
        match v["type"].as_str() {
            Some("authenticated") if !subscribe_sent => {
                let frame = serde_json::json!({"type": "subscribe", "id": "1", "channel": target.channel});
                ws.send(Message::text(frame.to_string())).await?;
                subscribe_sent = true;
            }
            Some("subscribed") => return Ok(ws),
            _ => bail!("unexpected frame while subscribing: {text}"),
        }
    }
    bail!("closed while subscribing")
}

/// One connection: opens, reads events until closed, reopens (counted) until aborted.
async fn connection(shared: Arc<Shared>, target: Arc<Target>, gate: Arc<Semaphore>, stats: Arc<ConnStats>) {
    let mut first = true;
    loop {
        let ws = {
            let Ok(_permit) = gate.acquire().await else { return };
            tokio::time::timeout(Duration::from_secs(60), open(&target)).await
        };
        let mut ws = match ws {
            Ok(Ok(ws)) => ws,
            Ok(Err(err)) => {
                shared.connect_errors.fetch_add(1, Ordering::Relaxed);
                shared.note_error(format!("connect: {err}"));
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            Err(_) => {
                shared.connect_errors.fetch_add(1, Ordering::Relaxed);
                shared.note_error("connect: no `subscribed` within 60 s".into());
                continue;
            }
        };
        if !first {
            shared.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        first = false;
        shared.subscribed.fetch_add(1, Ordering::Relaxed);
        let live = Live(shared.clone());
        stats.ready.store(false, Ordering::Relaxed);
        let mut code = None;
        let mut last_seq: Option<i64> = None;
        while let Some(message) = ws.next().await {
            match message {
                Ok(Message::Text(text)) => match target.edge.frame(text.as_str()) {
                    Frame::Event { index, seq } => {
                        match (last_seq, seq) {
                            (Some(last), Some(seq)) if seq == last => {
                                shared.duplicates.fetch_add(1, Ordering::Relaxed);
                            }
                            (Some(last), Some(seq)) if seq < last => {
                                shared.out_of_order.fetch_add(1, Ordering::Relaxed);
                            }
                            (_, None) => shared.note_error(format!("event frame without a seq: {text}")),
                            _ => {}
                        }
                        last_seq = last_seq.max(seq);
                        if let Some(step) = index.and_then(|index| shared.on_receipt(index, false)) {
                            stats.per_step[step].fetch_add(1, Ordering::Relaxed);
                        }
                        stats.ready.store(true, Ordering::Relaxed);
                    }
                    Frame::End => {
                        shared.note_error(format!("subscription ended: {text}"));
                        break;
                    }
                    Frame::Other => {}
                },
                Ok(Message::Close(frame)) => {
                    code = frame.map(|f| u16::from(f.code));
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        drop(live);
        if code == Some(1013) {
            shared.closes_1013.fetch_add(1, Ordering::Relaxed);
        } else {
            shared.closes_other.fetch_add(1, Ordering::Relaxed);
            shared.note_error(format!("connection closed: {code:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Pool {
    shared: Arc<Shared>,
    target: Arc<Target>,
    gate: Arc<Semaphore>,
    handles: Vec<(JoinHandle<()>, Arc<ConnStats>)>,
}

impl Pool {
    /// Opens connections up to `n` and waits until `n` are subscribed, or no progress for 30 s.
    async fn grow(&mut self, n: usize) -> f64 {
        let start = Instant::now();
        while self.handles.len() < n {
            let stats = Arc::new(ConnStats::new());
            let task = connection(self.shared.clone(), self.target.clone(), self.gate.clone(), stats.clone());
            self.handles.push((tokio::spawn(task), stats));
        }
        let mut best = self.subscribed();
        let mut progress_at = Instant::now();
        while self.subscribed() < n {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = self.subscribed();
            if now > best {
                best = now;
                progress_at = Instant::now();
            } else if progress_at.elapsed() > Duration::from_secs(30) {
                eprintln!("[realtime] stuck at {now} subscribed connections of {n}");
                break;
            }
        }
        start.elapsed().as_secs_f64()
    }

    /// Closes connections beyond `n` (their sockets drop).
    async fn shrink(&mut self, n: usize) {
        for (h, _) in self.handles.drain(n.min(self.handles.len())..) {
            h.abort();
            let _ = h.await;
        }
    }

    fn subscribed(&self) -> usize {
        usize::try_from(self.shared.subscribed.load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// Connections whose subscription delivered an event since they (re)opened.
    fn ready(&self) -> usize {
        self.handles.iter().filter(|(_, s)| s.ready.load(Ordering::Relaxed)).count()
    }

    /// Connections that received exactly `expected` events of `step`, fewer, more.
    fn exactly(&self, step: usize, expected: u64) -> (usize, usize, usize) {
        let mut out = (0, 0, 0);
        for (_, s) in &self.handles {
            match u64::from(s.per_step[step].load(Ordering::Relaxed)).cmp(&expected) {
                std::cmp::Ordering::Equal => out.0 += 1,
                std::cmp::Ordering::Less => out.1 += 1,
                std::cmp::Ordering::Greater => out.2 += 1,
            }
        }
        out
    }
}

// --- gRPC: writes and the baseline subscriber -----------------------------------------------------

fn authed<T>(msg: T, token: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if let Ok(v) = format!("Bearer {token}").parse() {
        r.metadata_mut().insert("authorization", v);
    }
    r
}

/// The baseline: one `EventService.Subscribe` stream straight from core-svc, reopened after the
/// last seq it saw if it ends.
async fn grpc_subscriber(shared: Arc<Shared>, channel: Channel, token: String, project_channel: String) {
    let mut after = None;
    loop {
        let mut client = pb::event_service_client::EventServiceClient::new(channel.clone());
        let request = pb::SubscribeRequest { channels: vec![project_channel.clone()], after_seq: after };
        match client.subscribe(authed(request, &token)).await {
            Ok(response) => {
                let mut stream = response.into_inner();
                while let Ok(Some(m)) = stream.message().await {
                    match m.message {
                        Some(pb::subscribe_response::Message::Event(e)) => {
                            after = Some(e.seq);
                            if let Some(index) = e.request_id.strip_prefix(RID_PREFIX).and_then(|n| n.parse().ok()) {
                                shared.on_receipt(index, true);
                            }
                        }
                        Some(pb::subscribe_response::Message::Ready(r)) if after.is_none() => {
                            after = Some(r.latest_seq);
                        }
                        _ => {}
                    }
                }
            }
            Err(status) => shared.note_error(format!("gRPC Subscribe: {status}")),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[derive(Default)]
struct Writes {
    sent: u64,
    acked: u64,
    failed: u64,
    skipped: u64,
    first_error: Option<String>,
}

/// `SetConfig` at `rate` writes/s for `duration` (open loop), each write tagged with its index.
async fn drive_writes(
    shared: &Arc<Shared>,
    grpc: &Channel,
    token: &str,
    project_id: &str,
    step: usize,
    rate: f64,
    duration: Duration,
) -> Writes {
    let gate = Arc::new(Semaphore::new(MAX_WRITES_IN_FLIGHT));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Result<(), String>>();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let end = tokio::time::Instant::now() + duration;
    let mut out = Writes::default();
    loop {
        let tick = ticker.tick().await;
        if tick >= end {
            break;
        }
        let Ok(permit) = gate.clone().try_acquire_owned() else {
            out.skipped += 1;
            continue;
        };
        let index = shared.next_write.fetch_add(1, Ordering::Relaxed) as usize;
        if index >= MAX_WRITES {
            out.skipped += 1;
            continue;
        }
        out.sent += 1;
        shared.write_step[index].store(u32::try_from(step + 1).unwrap_or(0), Ordering::Relaxed);
        let mut request = authed(
            pb::SetConfigRequest {
                project_id: project_id.to_owned(),
                key: format!("rtb.k{}", index as u64 % KEYS),
                value: Some(prost_types::Value { kind: Some(prost_types::value::Kind::NumberValue(index as f64)) }),
                description: String::new(),
                etag: String::new(),
            },
            token,
        );
        if let Ok(rid) = MetadataValue::try_from(format!("{RID_PREFIX}{index}")) {
            request.metadata_mut().insert(proto::metadata::REQUEST_ID, rid);
        }
        let mut client = pb::config_service_client::ConfigServiceClient::new(grpc.clone());
        let (shared, tx) = (shared.clone(), tx.clone());
        shared.sent_ns[index].store(shared.now_ns(), Ordering::Relaxed);
        tokio::spawn(async move {
            let result = client.set_config(request).await;
            if result.is_ok() {
                shared.ack_ns[index].store(shared.now_ns(), Ordering::Release);
            }
            drop(permit);
            let _ = tx.send(result.map(|_| ()).map_err(|s| s.to_string()));
        });
    }
    drop(tx);
    while let Some(result) = rx.recv().await {
        match result {
            Ok(()) => out.acked += 1,
            Err(err) => {
                out.failed += 1;
                out.first_error.get_or_insert(err);
            }
        }
    }
    out
}

// --- processes ------------------------------------------------------------------------------------

/// (utime + stime, cutime + cstime, ppid) of a process, in clock ticks.
fn stat(pid: u32) -> Option<(u64, u64, u32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok());
    Some((n(11)? + n(12)?, n(13)? + n(14)?, u32::try_from(n(1)?).ok()?))
}

struct Procs {
    /// (name, pid, whole tree: the process, its reaped and its live children).
    list: Vec<(String, u32, bool)>,
    tick: f64,
}

impl Procs {
    fn from_env() -> anyhow::Result<Self> {
        let mut list = Vec::new();
        for item in env("BENCH_PIDS")?.split(',').filter(|s| !s.is_empty()) {
            let (name, pid) = item.split_once('=').with_context(|| format!("BENCH_PIDS item {item}"))?;
            list.push((name.to_owned(), pid.parse()?, name == "postgres"));
        }
        list.push(("load client".to_owned(), std::process::id(), false));
        let tick = Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<f64>().ok())
            .unwrap_or(100.0);
        Ok(Self { list, tick })
    }

    fn pid(&self, name: &str) -> Option<u32> {
        self.list.iter().find(|(n, _, _)| n == name).map(|(_, pid, _)| *pid)
    }

    /// CPU seconds used so far by each process of the list.
    fn sample(&self) -> Vec<f64> {
        let children = |parent: u32| -> u64 {
            let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .filter_map(stat)
                .filter(|(_, _, ppid)| *ppid == parent)
                .map(|(own, _, _)| own)
                .sum()
        };
        self.list
            .iter()
            .map(|(_, pid, tree)| {
                let ticks = match stat(*pid) {
                    None => 0,
                    Some((own, reaped, _)) if *tree => own + reaped + children(*pid),
                    Some((own, _, _)) => own,
                };
                ticks as f64 / self.tick
            })
            .collect()
    }
}

/// VmRSS of `pid`, in KiB.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS")
}

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("{name} is not set (run bench/run-realtime)"))
}

// --- arguments ------------------------------------------------------------------------------------

struct Args {
    small: usize,
    large: usize,
    latency_rate: f64,
    latency_secs: f64,
    rates_large: Vec<f64>,
    rates_small: Vec<f64>,
    step_secs: f64,
    out: Option<PathBuf>,
    /// `--compare`: realtime-edge against graphql-edge, alternating, `rounds` times.
    compare: bool,
    rounds: usize,
}

fn list<T: std::str::FromStr>(s: &str) -> anyhow::Result<Vec<T>> {
    s.split(',').map(|x| x.trim().parse::<T>().map_err(|_| anyhow::anyhow!("bad number {x:?} in {s:?}"))).collect()
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        small: 1000,
        large: 10_000,
        latency_rate: 50.0,
        latency_secs: 15.0,
        rates_large: vec![5.0, 10.0, 20.0],
        rates_small: vec![100.0, 200.0],
        step_secs: 10.0,
        out: None,
        compare: false,
        rounds: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        if flag == "--compare" {
            a.compare = true;
            continue;
        }
        let value = it.next().with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--connections" => {
                let n: Vec<usize> = list(&value)?;
                let [small, large] = n[..] else { bail!("--connections takes SMALL,LARGE") };
                anyhow::ensure!(0 < small && small <= large, "--connections: need 0 < SMALL <= LARGE");
                (a.small, a.large) = (small, large);
            }
            "--latency-rate" => a.latency_rate = value.parse()?,
            "--latency-duration" => a.latency_secs = value.parse()?,
            "--rates-large" => a.rates_large = list(&value)?,
            "--rates-small" => a.rates_small = list(&value)?,
            "--duration" => a.step_secs = value.parse()?,
            "--out" => a.out = Some(value.into()),
            "--subscribers" => {
                a.small = value.parse()?;
                anyhow::ensure!(a.small > 0, "--subscribers must be positive");
            }
            "--rounds" => {
                a.rounds = value.parse()?;
                anyhow::ensure!(a.rounds > 0, "--rounds must be positive");
            }
            _ => bail!("unknown option {flag}\n{USAGE}"),
        }
    }
    let positive = a.rates_large.iter().chain(&a.rates_small).chain([&a.latency_rate]).all(|r| *r > 0.0);
    anyhow::ensure!(positive, "write rates must be positive");
    anyhow::ensure!(a.step_secs >= 2.0 && a.latency_secs >= 2.0, "durations must be at least 2 s");
    Ok(a)
}

// --- measurement ----------------------------------------------------------------------------------

struct Row {
    what: String,
    subscribers: usize,
    rate: f64,
    writes: Writes,
    /// WebSocket event frames per second, all connections, over the write window after 1 s.
    deliveries_per_sec: f64,
    /// Received / (acknowledged writes × subscribers), after draining.
    completeness: f64,
    /// Seconds from the end of the writes until the last receipt.
    drain_secs: f64,
    ws_p50: f64,
    ws_p99: f64,
    ws_max: f64,
    ws_send_p50: f64,
    ws_send_p99: f64,
    grpc_send_p50: f64,
    grpc_send_p99: f64,
    ws_receipts: u64,
    ws_early: u64,
    grpc_p50: f64,
    grpc_p99: f64,
    closes_1013: u64,
    reconnects: u64,
    /// Connections that received every acknowledged write's event exactly once, fewer, more.
    exactly_once: (usize, usize, usize),
    /// Repeated and out-of-order seqs over the step (all connections, whatever the write).
    duplicates: u64,
    out_of_order: u64,
    /// CPU use of each process over the write window, in % of one core.
    cpu: Vec<f64>,
}

struct Bench {
    shared: Arc<Shared>,
    grpc: Channel,
    token: String,
    project_id: String,
    procs: Procs,
    steps_used: usize,
}

impl Bench {
    /// Writes at `rate` for `secs` with the current connections; then waits for every expected
    /// event (or 10 s without progress).
    async fn step(&mut self, pool: &Pool, what: &str, rate: f64, secs: f64) -> anyhow::Result<Row> {
        let step = self.steps_used;
        anyhow::ensure!(step < MAX_STEPS, "too many steps");
        self.steps_used += 1;
        let subscribers = pool.subscribed();
        let (closes_before, reconnects_before) =
            (self.shared.closes_1013.load(Ordering::Relaxed), self.shared.reconnects.load(Ordering::Relaxed));
        let (dups_before, ooo_before) =
            (self.shared.duplicates.load(Ordering::Relaxed), self.shared.out_of_order.load(Ordering::Relaxed));
        eprintln!("[realtime] {what}: {subscribers} subscribers, {rate} writes/s for {secs} s");
        let shared = self.shared.clone();
        let (grpc, token, project) = (self.grpc.clone(), self.token.clone(), self.project_id.clone());
        let writes = tokio::spawn(async move {
            drive_writes(&shared, &grpc, &token, &project, step, rate, Duration::from_secs_f64(secs)).await
        });
        // The throughput window: from 1 s after the first write to the end of the writes.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (d0, cpu0, w0) = (self.shared.delivered.load(Ordering::Relaxed), self.procs.sample(), Instant::now());
        tokio::time::sleep(Duration::from_secs_f64(secs - 1.0)).await;
        let (d1, cpu1, window) =
            (self.shared.delivered.load(Ordering::Relaxed), self.procs.sample(), w0.elapsed().as_secs_f64());
        let writes = writes.await?;
        let writes_end = self.shared.now_ns();
        let s = &self.shared.steps[step];
        let expected = writes.acked * subscribers as u64;
        let mut last = (s.ws.receipts.load(Ordering::Relaxed), Instant::now());
        while s.ws.receipts.load(Ordering::Relaxed) < expected && last.1.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = s.ws.receipts.load(Ordering::Relaxed);
            if now != last.0 {
                last = (now, Instant::now());
            }
        }
        let received = s.ws.receipts.load(Ordering::Relaxed);
        let last_receipt = s.ws.last_receipt_ns.load(Ordering::Relaxed);
        let exactly_once = pool.exactly(step, writes.acked);
        Ok(Row {
            exactly_once,
            duplicates: self.shared.duplicates.load(Ordering::Relaxed) - dups_before,
            out_of_order: self.shared.out_of_order.load(Ordering::Relaxed) - ooo_before,
            what: what.to_owned(),
            subscribers,
            rate,
            deliveries_per_sec: (d1 - d0) as f64 / window,
            completeness: if expected == 0 { f64::NAN } else { received as f64 / expected as f64 },
            drain_secs: last_receipt.saturating_sub(writes_end) as f64 / 1e9,
            ws_p50: s.ws_ack.quantile_ms(0.50),
            ws_p99: s.ws_ack.quantile_ms(0.99),
            ws_max: s.ws_ack.quantile_ms(1.0),
            ws_send_p50: s.ws_send.quantile_ms(0.50),
            ws_send_p99: s.ws_send.quantile_ms(0.99),
            grpc_send_p50: s.grpc_send.quantile_ms(0.50),
            grpc_send_p99: s.grpc_send.quantile_ms(0.99),
            ws_receipts: received,
            ws_early: s.ws.early.load(Ordering::Relaxed),
            grpc_p50: s.grpc_ack.quantile_ms(0.50),
            grpc_p99: s.grpc_ack.quantile_ms(0.99),
            closes_1013: self.shared.closes_1013.load(Ordering::Relaxed) - closes_before,
            reconnects: self.shared.reconnects.load(Ordering::Relaxed) - reconnects_before,
            cpu: cpu0.iter().zip(&cpu1).map(|(a, b)| (b - a) / window * 100.0).collect(),
            writes,
        })
    }
}

impl Bench {
    /// Until every connection of `pool` has received an event: writes a few events at a time
    /// (their step is not reported). realtime-edge acknowledges a subscription (`subscribed`),
    /// graphql-transport-ws does not, so both edges go through this same barrier before a step.
    async fn barrier(&mut self, pool: &Pool) -> anyhow::Result<f64> {
        let step = self.steps_used;
        anyhow::ensure!(step < MAX_STEPS, "too many steps");
        self.steps_used += 1;
        let start = Instant::now();
        let n = pool.handles.len();
        while pool.ready() < n {
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(60),
                "only {} of {n} subscriptions delivered an event within 60 s",
                pool.ready()
            );
            drive_writes(
                &self.shared,
                &self.grpc,
                &self.token,
                &self.project_id,
                step,
                10.0,
                Duration::from_millis(300),
            )
            .await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let secs = start.elapsed().as_secs_f64();
        // Let the barrier's last events reach everyone before the next step's writes.
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok(secs)
    }
}

struct Memory {
    connections: usize,
    rss_kib: u64,
    connect_secs: f64,
}

/// `realtime --probe-read-buffer BYTES [N]`: what one idle WebSocket costs a tungstenite server
/// (the library under poem's and so realtime-edge's `/ws`) with that read buffer size. Opens N
/// (default 2,000) connections to an in-process server, each sending one small frame (as a
/// client sends `subscribe`), and prints the growth of this process's VmRSS per connection. The
/// clients (4 KiB read buffers, never read) cost the same whatever BYTES is, so the difference
/// between two runs is the server's read buffer.
async fn probe(read_buffer: usize, n: usize) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server_config = WebSocketConfig::default().read_buffer_size(read_buffer);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(socket, Some(server_config)).await {
                    while let Some(Ok(_)) = ws.next().await {}
                }
            });
        }
    });
    let client_config = WebSocketConfig::default().read_buffer_size(4096);
    let connect = || async {
        let (mut ws, _) =
            tokio_tungstenite::connect_async_with_config(format!("ws://{addr}/"), Some(client_config), true).await?;
        ws.send(Message::text(r#"{"type":"subscribe","id":"1","channel":"project:x"}"#)).await?;
        anyhow::Ok(ws)
    };
    // Warm-up: runtime, allocator arenas.
    let mut clients = vec![connect().await?];
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(std::process::id())?;
    for _ in 0..n {
        clients.push(connect().await?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(std::process::id())?;
    println!("| {read_buffer} | {n} | {:.1} KiB |", after.saturating_sub(before) as f64 / n as f64);
    drop(clients);
    Ok(())
}

// --- realtime-edge against graphql-edge (`--compare`) --------------------------------------------

/// One measured step of one edge in one round.
struct Measured {
    round: usize,
    edge: Edge,
    row: Row,
}

/// VmRSS of an edge around opening its subscribers.
struct EdgeMemory {
    round: usize,
    edge: Edge,
    before_kib: u64,
    after_kib: u64,
    connections: usize,
    connect_secs: f64,
    /// From all connected to every subscription having delivered an event.
    barrier_secs: f64,
}

struct Comparison {
    measured: Vec<Measured>,
    memory: Vec<EdgeMemory>,
}

/// Rounds of: for each edge in turn (realtime first in odd rounds, graphql first in even ones),
/// N subscribers, the barrier, the latency step, the throughput steps, then all closed — so only
/// one edge has subscribers at a time and both see the same stack, writes and machine.
async fn compare(args: &Args, bench: &mut Bench, pool: &mut Pool, gql_url: String) -> anyhow::Result<Comparison> {
    let rt_url = pool.target.url.clone();
    let channel = pool.target.channel.clone();
    let n = args.small;
    let mut out = Comparison { measured: Vec::new(), memory: Vec::new() };
    for round in 0..args.rounds {
        let order = if round % 2 == 0 { [Edge::Realtime, Edge::Graphql] } else { [Edge::Graphql, Edge::Realtime] };
        for edge in order {
            let pid = bench.procs.pid(edge.name()).with_context(|| format!("BENCH_PIDS has no {}", edge.name()))?;
            let url = if edge == Edge::Realtime { rt_url.clone() } else { gql_url.clone() };
            pool.target = Arc::new(Target { edge, url, token: bench.token.clone(), channel: channel.clone() });
            let before_kib = rss_kib(pid)?;
            eprintln!("[realtime] round {}: {}, {n} subscribers", round + 1, edge.name());
            let connect_secs = pool.grow(n).await;
            let barrier_secs = bench.barrier(pool).await?;
            tokio::time::sleep(Duration::from_secs(2)).await;
            out.memory.push(EdgeMemory {
                round,
                edge,
                before_kib,
                after_kib: rss_kib(pid)?,
                connections: pool.subscribed(),
                connect_secs,
                barrier_secs,
            });
            let row = bench.step(pool, "latency", args.latency_rate, args.latency_secs).await?;
            out.measured.push(Measured { round, edge, row });
            for &rate in &args.rates_small {
                let row = bench.step(pool, "throughput", rate, args.step_secs).await?;
                out.measured.push(Measured { round, edge, row });
            }
            pool.shrink(0).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    Ok(out)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| !x.is_nan());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 { v[mid] } else { f64::midpoint(v[mid - 1], v[mid]) }
}

/// `12345.6` → `12,346`.
fn thousands(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 { format!("-{out}") } else { out }
}

fn compare_report(
    args: &Args,
    bench: &Bench,
    c: &Comparison,
    load_before: &str,
    started: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<String> {
    let shared = &bench.shared;
    let names: Vec<&str> = bench.procs.list.iter().map(|(n, _, _)| n.as_str()).collect();
    let cpu_of = |row: &Row, name: &str| names.iter().position(|n| *n == name).map_or(f64::NAN, |i| row.cpu[i]);
    let mut r = String::new();
    writeln!(r, "# Subscription fan-out: realtime-edge against graphql-edge, same run\n")?;
    writeln!(r, "- date: {} UTC", started.format("%Y-%m-%d %H:%M"))?;
    let dirty = git(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty());
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    writeln!(r, "- commit: {commit}{}", if dirty { " (with uncommitted changes)" } else { "" })?;
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    writeln!(r, "- machine: {cpus} CPUs, {}", cpu_model())?;
    if let Ok(note) = std::env::var("BENCH_EDGE_NOTE")
        && !note.is_empty()
    {
        writeln!(r, "- **{note}**")?;
    }
    writeln!(r, "- load average (1/5/15 min): before {load_before}, after {}", loadavg())?;
    writeln!(
        r,
        "- release builds; core-svc, realtime-edge, graphql-edge and this load client are separate processes (default configuration); PostgreSQL and Redis on the same machine"
    )?;
    writeln!(
        r,
        "- {} subscribers of one fresh project's events per edge, each its own WebSocket with the admin's access token: realtime-edge `/ws` (`subscribe` to `project:<id>`, `event` frames); graphql-edge `/graphql` over `graphql-transport-ws` (`connection_init` with `{{\"authorization\": \"Bearer …\"}}`, then `subscribe` with `{}` for `[\"project:<id>\"]`, `next` frames) — the same events with the same fields",
        args.small,
        GQL_SUBSCRIPTION.split_whitespace().collect::<Vec<_>>().join(" ")
    )?;
    writeln!(
        r,
        "- {} rounds; in each, one edge then the other (realtime-edge first in rounds 1, 3, …, graphql-edge first in 2, 4, …), only one edge with subscribers at a time: connect, write until every subscription has delivered an event (graphql-transport-ws acknowledges no subscription), then the latency step ({} writes/s, {} s) and the throughput steps ({} writes/s, {} s each), then close all",
        args.rounds,
        args.latency_rate,
        args.latency_secs,
        args.rates_small.iter().map(f64::to_string).collect::<Vec<_>>().join(", "),
        args.step_secs
    )?;
    writeln!(
        r,
        "- writes: gRPC `SetConfig` as the admin over one HTTP/2 connection, open loop at the given rate (≤ {MAX_WRITES_IN_FLIGHT} in flight), {KEYS} keys in rotation; each tagged `x-request-id: rtb-<n>`, which its event carries (`request_id` / `requestId`)"
    )?;
    writeln!(
        r,
        "- latency: from the `SetConfig` response (acknowledgment) to the receipt of the event frame, per receipt; baseline: one gRPC `EventService.Subscribe` stream straight from core-svc, same writes, same clock"
    )?;
    writeln!(
        r,
        "- correctness, per step: every connection's events counted by the step of their write (exactly once = as many as acknowledged writes), and every connection's seqs checked to increase strictly (a repeat or a step back is counted)"
    )?;
    writeln!(r)?;

    // Summary: medians over rounds, per step.
    writeln!(r, "## Summary: medians over the rounds\n")?;
    writeln!(
        r,
        "| step | writes/s | realtime deliveries/s | graphql deliveries/s | graphql ÷ realtime (per round) | realtime p50 / p99 ms | graphql p50 / p99 ms | CPU realtime-edge | CPU graphql-edge | edge CPU µs per delivery, realtime / graphql |"
    )?;
    writeln!(r, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    let mut steps: Vec<(String, f64)> = Vec::new();
    for m in &c.measured {
        if !steps.iter().any(|(w, rate)| *w == m.row.what && *rate == m.row.rate) {
            steps.push((m.row.what.clone(), m.row.rate));
        }
    }
    for (what, rate) in &steps {
        let of = |edge: Edge| -> Vec<&Measured> {
            c.measured.iter().filter(|m| m.edge == edge && m.row.what == *what && m.row.rate == *rate).collect()
        };
        let (rt, gql) = (of(Edge::Realtime), of(Edge::Graphql));
        let med = |ms: &[&Measured], f: &dyn Fn(&Row) -> f64| median(ms.iter().map(|m| f(&m.row)).collect());
        let per_round: Vec<f64> = (0..args.rounds)
            .filter_map(|round| {
                let a = rt.iter().find(|m| m.round == round)?;
                let b = gql.iter().find(|m| m.round == round)?;
                Some(b.row.deliveries_per_sec / a.row.deliveries_per_sec)
            })
            .collect();
        writeln!(
            r,
            "| {what} | {rate} | {} | {} | **{:.2}** ({}) | {:.1} / {:.1} | {:.1} / {:.1} | {:.0} % | {:.0} % | {:.1} / {:.1} |",
            thousands(med(&rt, &|row| row.deliveries_per_sec)),
            thousands(med(&gql, &|row| row.deliveries_per_sec)),
            median(per_round.clone()),
            per_round.iter().map(|x| format!("{x:.2}")).collect::<Vec<_>>().join(", "),
            med(&rt, &|row| row.ws_p50),
            med(&rt, &|row| row.ws_p99),
            med(&gql, &|row| row.ws_p50),
            med(&gql, &|row| row.ws_p99),
            med(&rt, &|row| cpu_of(row, "realtime-edge")),
            med(&gql, &|row| cpu_of(row, "graphql-edge")),
            med(&rt, &|row| cpu_of(row, "realtime-edge") * 1e4 / row.deliveries_per_sec),
            med(&gql, &|row| cpu_of(row, "graphql-edge") * 1e4 / row.deliveries_per_sec),
        )?;
    }
    let all_exact = c
        .measured
        .iter()
        .all(|m| m.row.exactly_once.0 == m.row.subscribers && m.row.duplicates == 0 && m.row.out_of_order == 0);
    writeln!(
        r,
        "\ngraphql ÷ realtime: the ratio of deliveries/s within each round (in brackets, rounds 1, 2, …) and, bold, their median. Every subscriber received every event exactly once, in seq order, at every step: **{}**. CPU µs per delivery: the edge's CPU time over the window ÷ its deliveries (what a delivery costs, whatever share of the machine the edge got).\n",
        if all_exact { "yes" } else { "no (see the table below)" }
    )?;

    writeln!(r, "## Every step\n")?;
    writeln!(
        r,
        "deliveries/s: event frames received by all connections per second, over the write window after its first second; complete: received ÷ (acknowledged writes × subscribers) once drained; drain: from the last write to the last receipt; exactly once: connections that received every acknowledged write's event once (of all); dup / back: repeated / decreasing seqs; latency in ms, ack → receipt (early: receipts before the acknowledgment, counted as 0); CPU: % of one core over the write window.\n"
    )?;
    writeln!(
        r,
        "| round | edge | step | subscribers | writes/s (acked/s) | offered deliveries/s | deliveries/s | complete | drain s | p50 | p99 | max | early | gRPC p50 | gRPC p99 | exactly once | dup / back | 1013 / reconnects | CPU edge | CPU core-svc | CPU postgres | CPU client |"
    )?;
    writeln!(
        r,
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )?;
    for m in &c.measured {
        let row = &m.row;
        let secs = if row.what == "latency" { args.latency_secs } else { args.step_secs };
        let acked_per_sec = row.writes.acked as f64 / secs;
        writeln!(
            r,
            "| {} | {} | {} | {} | {} ({acked_per_sec:.0}) | {} | {} | {:.4} | {:.2} | {:.2} | {:.2} | {:.1} | {:.0} % | {:.2} | {:.2} | {} of {} | {} / {} | {} / {} | {:.0} % | {:.0} % | {:.0} % | {:.0} % |",
            m.round + 1,
            m.edge.name(),
            row.what,
            row.subscribers,
            row.rate,
            thousands(acked_per_sec * row.subscribers as f64),
            thousands(row.deliveries_per_sec),
            row.completeness,
            row.drain_secs,
            row.ws_p50,
            row.ws_p99,
            row.ws_max,
            row.ws_early as f64 * 100.0 / row.ws_receipts.max(1) as f64,
            row.grpc_p50,
            row.grpc_p99,
            row.exactly_once.0,
            row.subscribers,
            row.duplicates,
            row.out_of_order,
            row.closes_1013,
            row.reconnects,
            cpu_of(row, m.edge.name()),
            cpu_of(row, "core-svc"),
            cpu_of(row, "postgres"),
            cpu_of(row, "load client"),
        )?;
    }
    writeln!(r)?;
    for m in &c.measured {
        let (row, w) = (&m.row, &m.row.writes);
        if w.failed > 0 || w.skipped > 0 || row.exactly_once.1 > 0 || row.exactly_once.2 > 0 {
            writeln!(
                r,
                "- round {} {} {} at {} writes/s: {} sent, {} acked, {} failed{}, {} skipped; connections with fewer events than writes: {}, with more: {}",
                m.round + 1,
                m.edge.name(),
                row.what,
                row.rate,
                w.sent,
                w.acked,
                w.failed,
                w.first_error.as_deref().map(|e| format!(" (first: `{e}`)")).unwrap_or_default(),
                w.skipped,
                row.exactly_once.1,
                row.exactly_once.2,
            )?;
        }
    }

    writeln!(r, "\n## Memory and connecting\n")?;
    writeln!(
        r,
        "VmRSS of the edge before its subscribers connect and 2 s after every subscription delivered an event; per connection = growth ÷ connections. Only round 1 starts from a fresh process: later rounds reuse memory the allocator kept from the earlier one, so their growth is smaller.\n"
    )?;
    writeln!(
        r,
        "| round | edge | subscribers | VmRSS before | after | per connection | connect s | until all live s |"
    )?;
    writeln!(r, "|---:|---|---:|---:|---:|---:|---:|---:|")?;
    for m in &c.memory {
        writeln!(
            r,
            "| {} | {} | {} | {:.1} MiB | {:.1} MiB | {:.1} KiB | {:.1} | {:.1} |",
            m.round + 1,
            m.edge.name(),
            m.connections,
            m.before_kib as f64 / 1024.0,
            m.after_kib as f64 / 1024.0,
            m.after_kib.saturating_sub(m.before_kib) as f64 / m.connections.max(1) as f64,
            m.connect_secs,
            m.barrier_secs,
        )?;
    }
    writeln!(
        r,
        "\nConnect errors: {}; closes by the edges: {} with 1013 (slow consumer), {} other; reconnects: {}; events not matched to a write: {}; repeated seqs: {}; decreasing seqs: {}.",
        shared.connect_errors.load(Ordering::Relaxed),
        shared.closes_1013.load(Ordering::Relaxed),
        shared.closes_other.load(Ordering::Relaxed),
        shared.reconnects.load(Ordering::Relaxed),
        shared.unmatched.load(Ordering::Relaxed),
        shared.duplicates.load(Ordering::Relaxed),
        shared.out_of_order.load(Ordering::Relaxed),
    )?;
    if let Some(err) = shared.first_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref() {
        writeln!(r, "First connection error: `{err}`.")?;
    }
    Ok(r)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut argv = std::env::args().skip(1);
    if argv.next().as_deref() == Some("--probe-read-buffer") {
        let bytes = argv.next().context("--probe-read-buffer BYTES [N]")?.parse()?;
        let n = argv.next().map_or(Ok(2000), |n| n.parse())?;
        return probe(bytes, n).await;
    }
    let args = parse_args()?;
    let ws_url = env("BENCH_WS_URL")?;
    let gql_url = if args.compare { Some(env("BENCH_GQL_WS_URL")?) } else { None };
    let procs = Procs::from_env()?;
    let edge_pid = procs.pid("realtime-edge").context("BENCH_PIDS has no realtime-edge")?;
    let load_before = loadavg();
    let started = chrono::Utc::now();

    let grpc_url = env("CORE_GRPC_URL")?;
    let grpc = Channel::from_shared(grpc_url.clone())?.connect().await.context("connecting to core-svc")?;
    let login = pb::auth_service_client::AuthServiceClient::new(grpc.clone())
        .login(pb::LoginRequest { email: env("BENCH_ADMIN_EMAIL")?, password: env("BENCH_ADMIN_PASSWORD")? })
        .await
        .context("admin login")?
        .into_inner();
    let token = login.tokens.context("login without tokens")?.access_token;
    let slug = format!("rtbench-{}", uuid::Uuid::now_v7().simple());
    let project = pb::project_service_client::ProjectServiceClient::new(grpc.clone())
        .create_project(authed(
            pb::CreateProjectRequest { slug, name: "realtime bench".into(), description: String::new() },
            &token,
        ))
        .await
        .context("CreateProject")?
        .into_inner()
        .project
        .context("no project")?;
    let channel = format!("project:{}", project.id);
    eprintln!("[realtime] project {} ({channel})", project.slug);

    let shared = Arc::new(Shared::new());
    let grpc_sub = tokio::spawn(grpc_subscriber(shared.clone(), grpc.clone(), token.clone(), channel.clone()));
    let mut pool = Pool {
        shared: shared.clone(),
        target: Arc::new(Target { edge: Edge::Realtime, url: ws_url, token: token.clone(), channel }),
        gate: Arc::new(Semaphore::new(CONNECT_CONCURRENCY)),
        handles: Vec::new(),
    };
    let mut bench = Bench { shared: shared.clone(), grpc, token, project_id: project.id.clone(), procs, steps_used: 0 };
    if let Some(gql_url) = gql_url {
        let report = compare(&args, &mut bench, &mut pool, gql_url).await?;
        grpc_sub.abort();
        let r = compare_report(&args, &bench, &report, &load_before, started)?;
        println!("{r}");
        if let Some(out) = &args.out {
            std::fs::write(out, &r).with_context(|| format!("writing {}", out.display()))?;
            eprintln!("[realtime] report written to {}", out.display());
        }
        return Ok(());
    }
    let mut rows = Vec::new();

    // 1. Fresh edge; one subscriber; its latency.
    let rss_fresh = rss_kib(edge_pid)?;
    pool.grow(1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    rows.push(bench.step(&pool, "latency, 1 subscriber", args.latency_rate, args.latency_secs).await?);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_base = rss_kib(edge_pid)?;

    // 2. Idle connections: memory.
    let mut memory = Vec::new();
    for n in [args.small, args.large] {
        let connect_secs = pool.grow(n).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        memory.push(Memory { connections: pool.subscribed(), rss_kib: rss_kib(edge_pid)?, connect_secs });
        eprintln!(
            "[realtime] {} subscribed; edge VmRSS {} KiB",
            pool.subscribed(),
            memory.last().map_or(0, |m| m.rss_kib)
        );
    }
    let held = pool.subscribed();

    // 3. Throughput at the large N.
    for &rate in &args.rates_large {
        rows.push(bench.step(&pool, "throughput", rate, args.step_secs).await?);
    }
    let rss_after_load = rss_kib(edge_pid)?;

    // 4. The small N: latency, then throughput.
    pool.shrink(args.small).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    rows.push(bench.step(&pool, "latency", args.latency_rate, args.latency_secs).await?);
    for &rate in &args.rates_small {
        rows.push(bench.step(&pool, "throughput", rate, args.step_secs).await?);
    }
    pool.shrink(0).await;
    grpc_sub.abort();

    // --- report ---
    let names: Vec<String> = bench.procs.list.iter().map(|(n, _, _)| n.clone()).collect();
    let mut r = String::new();
    writeln!(r, "# realtime-edge fan-out benchmark\n")?;
    writeln!(r, "- date: {} UTC", started.format("%Y-%m-%d %H:%M"))?;
    let dirty = git(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty());
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    writeln!(r, "- commit: {commit}{}", if dirty { " (with uncommitted changes)" } else { "" })?;
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    writeln!(r, "- machine: {cpus} CPUs, {}", cpu_model())?;
    if let Ok(note) = std::env::var("BENCH_EDGE_NOTE")
        && !note.is_empty()
    {
        writeln!(r, "- **{note}**")?;
    }
    writeln!(r, "- load average (1/5/15 min): before {load_before}, after {}", loadavg())?;
    writeln!(
        r,
        "- release builds; core-svc, realtime-edge and this load client are separate processes (default configuration); PostgreSQL and Redis on the same machine"
    )?;
    writeln!(
        r,
        "- channel `project:<id>` of a fresh project; every connection authenticates with the admin's access token (Authorization header) and subscribes to it"
    )?;
    writeln!(
        r,
        "- writes: gRPC `SetConfig` as the admin over one HTTP/2 connection, open loop at the given rate (≤ {MAX_WRITES_IN_FLIGHT} in flight), {KEYS} keys in rotation; each tagged `x-request-id: rtb-<n>`, which its event carries"
    )?;
    writeln!(
        r,
        "- latency: from the `SetConfig` response (acknowledgment) to the receipt of the event frame, per receipt; baseline: one gRPC `EventService.Subscribe` stream straight from core-svc, same writes, same clock"
    )?;
    writeln!(r)?;

    writeln!(r, "## Connections and memory (realtime-edge VmRSS)\n")?;
    writeln!(
        r,
        "| subscribed connections | edge VmRSS | growth over 1 connection | per connection | time to connect + subscribe |"
    )?;
    writeln!(r, "|---:|---:|---:|---:|---:|")?;
    writeln!(r, "| 0 (fresh process) | {:.1} MiB | — | — | — |", rss_fresh as f64 / 1024.0)?;
    writeln!(r, "| 1 (after the 1-subscriber latency run) | {:.1} MiB | — | — | — |", rss_base as f64 / 1024.0)?;
    for m in &memory {
        let growth = m.rss_kib.saturating_sub(rss_base);
        let per = growth as f64 / m.connections.saturating_sub(1).max(1) as f64;
        writeln!(
            r,
            "| {} | {:.1} MiB | {:.1} MiB | {per:.1} KiB | {:.1} s |",
            m.connections,
            m.rss_kib as f64 / 1024.0,
            growth as f64 / 1024.0,
            m.connect_secs
        )?;
    }
    writeln!(
        r,
        "\nHeld at the large N: {held} of {} subscribed (`subscribed` acks). Edge VmRSS after the throughput steps at that N: {:.1} MiB.",
        args.large,
        rss_after_load as f64 / 1024.0
    )?;
    writeln!(
        r,
        "Connect errors: {}; closes by the edge: {} with 1013 (slow consumer), {} other; reconnects: {}; events not matched to a write: {}.",
        shared.connect_errors.load(Ordering::Relaxed),
        shared.closes_1013.load(Ordering::Relaxed),
        shared.closes_other.load(Ordering::Relaxed),
        shared.reconnects.load(Ordering::Relaxed),
        shared.unmatched.load(Ordering::Relaxed),
    )?;
    if let Some(err) = shared.first_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref() {
        writeln!(r, "First connection error: `{err}`.")?;
    }
    writeln!(r)?;

    writeln!(r, "## Deliveries\n")?;
    writeln!(
        r,
        "deliveries/s: event frames received by all connections per second, over the write window after its first second; complete: received ÷ (acknowledged writes × subscribers) once drained; drain: from the last write to the last receipt; 1013: slow-consumer closes by the edge (the connection reconnects). CPU: % of one core over the same window.\n"
    )?;
    write!(
        r,
        "| step | subscribers | writes/s target (acked/s) | offered deliveries/s | deliveries/s | complete | drain s | 1013 |"
    )?;
    for n in &names {
        write!(r, " CPU {n} |")?;
    }
    writeln!(r)?;
    write!(r, "|---|---:|---:|---:|---:|---:|---:|---:|")?;
    for _ in &names {
        write!(r, "---:|")?;
    }
    writeln!(r)?;
    let step_secs = |row: &Row| if row.what.starts_with("latency") { args.latency_secs } else { args.step_secs };
    for row in &rows {
        let acked_per_sec = row.writes.acked as f64 / step_secs(row);
        write!(
            r,
            "| {} | {} | {} ({acked_per_sec:.0}) | {:.0} | {:.0} | {:.4} | {:.2} | {} |",
            row.what,
            row.subscribers,
            row.rate,
            acked_per_sec * row.subscribers as f64,
            row.deliveries_per_sec,
            row.completeness,
            row.drain_secs,
            row.closes_1013,
        )?;
        for c in &row.cpu {
            write!(r, " {c:.0} % |")?;
        }
        writeln!(r)?;
    }
    writeln!(r, "\n## Latency\n")?;
    writeln!(
        r,
        "Per receipt, over every receipt of the step, in ms. ack → receipt: from the `SetConfig` response to the event's arrival; early: receipts that arrived before the response (counted as 0 ms: core-svc answers after its post-commit cache bump in Redis, while the event is already on its way). send → receipt: from sending the `SetConfig` request. Baseline: the gRPC `Subscribe` stream straight from core-svc (one subscriber, the same writes).\n"
    )?;
    writeln!(
        r,
        "| step | subscribers | writes/s | WS ack→rcv p50 | WS p99 | WS max | early | WS send→rcv p50 | WS p99 | gRPC ack→rcv p50 | gRPC p99 | gRPC send→rcv p50 | gRPC p99 | WS/gRPC send→rcv p50 | p99 |"
    )?;
    writeln!(r, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for row in &rows {
        writeln!(
            r,
            "| {} | {} | {} | {:.2} | {:.2} | {:.1} | {:.0} % | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            row.what,
            row.subscribers,
            row.rate,
            row.ws_p50,
            row.ws_p99,
            row.ws_max,
            row.ws_early as f64 * 100.0 / row.ws_receipts.max(1) as f64,
            row.ws_send_p50,
            row.ws_send_p99,
            row.grpc_p50,
            row.grpc_p99,
            row.grpc_send_p50,
            row.grpc_send_p99,
            row.ws_send_p50 / row.grpc_send_p50,
            row.ws_send_p99 / row.grpc_send_p99,
        )?;
    }
    writeln!(r)?;
    for row in &rows {
        let w = &row.writes;
        if w.failed > 0 || w.skipped > 0 || row.reconnects > 0 {
            writeln!(
                r,
                "- {} at {} writes/s: {} sent, {} acked, {} failed{}, {} skipped (all {MAX_WRITES_IN_FLIGHT} in flight); {} reconnects",
                row.what,
                row.rate,
                w.sent,
                w.acked,
                w.failed,
                w.first_error.as_deref().map(|e| format!(" (first: `{e}`)")).unwrap_or_default(),
                w.skipped,
                row.reconnects
            )?;
        }
    }

    println!("{r}");
    if let Some(out) = &args.out {
        std::fs::write(out, &r).with_context(|| format!("writing {}", out.display()))?;
        eprintln!("[realtime] report written to {}", out.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_frames_of_both_edges_name_their_write_and_seq() {
        let rt = r#"{"type":"event","channel":"project:p","seq":42,"event":{"id":"e","type":"config.set","request_id":"rtb-7","channels":["project:p"]}}"#;
        assert_eq!(Edge::Realtime.frame(rt), Frame::Event { index: Some(7), seq: Some(42) });
        assert_eq!(Edge::Realtime.frame(r#"{"type":"subscribed","id":"1"}"#), Frame::Other);
        let gql = r#"{"id":"1","payload":{"data":{"events":{"seq":42,"id":"e","type":"config.set","requestId":"rtb-7"}}},"type":"next"}"#;
        assert_eq!(Edge::Graphql.frame(gql), Frame::Event { index: Some(7), seq: Some(42) });
        let failed = r#"{"type":"next","id":"1","payload":{"data":null,"errors":[{"message":"gone"}]}}"#;
        assert_eq!(Edge::Graphql.frame(failed), Frame::End);
        assert_eq!(Edge::Graphql.frame(r#"{"type":"complete","id":"1"}"#), Frame::End);
        assert_eq!(Edge::Graphql.frame(r#"{"type":"pong"}"#), Frame::Other);
    }

    #[test]
    fn medians_and_thousands() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, f64::NAN, 2.0, 3.0]), 2.5);
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
    }
}
