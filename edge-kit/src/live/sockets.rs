//! What both push edges do the same with their WebSockets: write to them through a bounded
//! queue with a way to close at once ([`spawn_writer`], [`Closer`]), limit what clients send
//! ([`TokenBucket`]), pace replays by the queue ([`room`]), count the live series in the edge's
//! [`Metrics`] registry (`/metrics`) and the open sockets, so that shutdown waits for their
//! closing frames (an upgraded socket is no longer an HTTP request the server drains).

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures::{SinkExt, stream::SplitSink};
use metrics::{Counter, Gauge, Key, KeyName, Level, Metadata, Recorder, SharedString};
use poem::web::websocket::{CloseCode, Message, WebSocketStream};
use tokio::{
    sync::{Notify, mpsc, oneshot},
    task::JoinHandle,
    time::Instant,
};

use super::Room;
use crate::Metrics;

/// How long a closing socket may take to send what it must (its close frame, or with
/// [`End::Close`] what was queued before it).
pub const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// To a socket's writer task.
#[derive(Debug)]
pub enum Out {
    Text(String),
    Ping,
    /// Send this close frame after everything queued before it, then stop.
    Close(u16, String),
}

/// How a socket ends.
#[derive(Debug)]
pub enum End {
    /// The peer closed or vanished: nothing more to send.
    Drop,
    /// Close after the messages already queued (e.g. after an error message).
    Close(u16, String),
    /// Close now, skipping what is queued (shutdown, slow consumer).
    Urgent(u16, String),
}

/// Starts the task that owns the socket's sending half. The queue holds `queue` messages: a
/// client that lets it fill reads too slowly, and the edge closes it (urgently).
pub fn spawn_writer(sink: SplitSink<WebSocketStream, Message>, queue: usize) -> (mpsc::Sender<Out>, Closer) {
    let (out, rx) = mpsc::channel(queue.max(1));
    let (urgent, urgent_rx) = oneshot::channel();
    let task = tokio::spawn(write_loop(sink, rx, urgent_rx));
    (out, Closer { urgent, task })
}

/// Ends a socket started with [`spawn_writer`].
pub struct Closer {
    urgent: oneshot::Sender<(u16, String)>,
    task: JoinHandle<()>,
}

impl Closer {
    /// Sends `end`'s close frame (after the queue for [`End::Close`], unless it is full) and waits
    /// at most [`CLOSE_GRACE`] for it to leave. `out` must be the socket's last sender: with
    /// [`End::Drop`] the writer stops once it has sent what is queued.
    pub async fn finish(self, out: mpsc::Sender<Out>, end: End) {
        match end {
            End::Drop => {}
            End::Close(code, reason) => {
                if let Err(err) = out.try_send(Out::Close(code, reason)) {
                    let Out::Close(code, reason) = err.into_inner() else { unreachable!("sent a Close") };
                    let _ = self.urgent.send((code, reason));
                }
            }
            End::Urgent(code, reason) => {
                let _ = self.urgent.send((code, reason));
            }
        }
        drop(out);
        let abort = self.task.abort_handle();
        if tokio::time::timeout(CLOSE_GRACE, self.task).await.is_err() {
            abort.abort();
        }
    }
}

/// Writes queued messages; on an urgent close, skips the rest.
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

/// Replays take a page when the socket's queue is at least half empty ([`Room`] for
/// [`super::Merge`]).
pub fn room(out: &mpsc::Sender<Out>) -> Room {
    let weak = out.downgrade();
    Arc::new(move || {
        let out = weak.upgrade()?;
        Some(out.capacity() * 2 >= out.max_capacity())
    })
}

/// Client messages allowed per second, with bursts of twice that.
pub struct TokenBucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    at: Instant,
}

impl TokenBucket {
    pub fn new(per_sec: u32) -> Self {
        let rate = f64::from(per_sec.max(1));
        Self { tokens: rate * 2.0, rate, burst: rate * 2.0, at: Instant::now() }
    }

    /// Takes a token if there is one.
    pub fn take(&mut self) -> bool {
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

static METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, None);

/// Handles to an edge's live series, named `<prefix>_connections`, `<prefix>_subscriptions`,
/// `<prefix>_upstream_streams`, `<prefix>_events_delivered_total` and
/// `<prefix>_slow_consumer_closes_total`; clones share them.
#[derive(Clone)]
pub struct LiveMetrics {
    /// Gauge: open WebSocket connections.
    pub connections: Gauge,
    /// Gauge: active client subscriptions (all connections).
    pub subscriptions: Gauge,
    /// Gauge: upstream `EventService.Subscribe` streams to core-svc (one per channel in use).
    pub upstream_streams: Gauge,
    /// Counter: events queued to clients.
    pub events_delivered: Counter,
    /// Counter: connections closed with 1013 because the client fell behind.
    pub slow_consumer_closes: Counter,
}

impl LiveMetrics {
    /// Registers the series in `metrics` (they show as 0 from the start).
    pub fn new(metrics: &Metrics, prefix: &str) -> Self {
        let r = metrics.recorder();
        let gauge = |name: &str, help: &'static str| {
            let name = format!("{prefix}_{name}");
            r.describe_gauge(KeyName::from(name.clone()), None, SharedString::const_str(help));
            let g = r.register_gauge(&Key::from_name(name), &METADATA);
            g.set(0.0);
            g
        };
        let counter = |name: &str, help: &'static str| {
            let name = format!("{prefix}_{name}");
            r.describe_counter(KeyName::from(name.clone()), None, SharedString::const_str(help));
            let c = r.register_counter(&Key::from_name(name), &METADATA);
            c.increment(0);
            c
        };
        Self {
            connections: gauge("connections", "Open WebSocket connections"),
            subscriptions: gauge("subscriptions", "Active client subscriptions"),
            upstream_streams: gauge("upstream_streams", "Upstream Subscribe streams to core-svc (one per channel)"),
            events_delivered: counter("events_delivered_total", "Events queued to clients"),
            slow_consumer_closes: counter(
                "slow_consumer_closes_total",
                "Connections closed with 1013 (client too slow)",
            ),
        }
    }
}

/// The open sockets of an edge.
#[derive(Clone)]
pub struct OpenSockets {
    open: Arc<(AtomicUsize, Notify)>,
    connections: Gauge,
}

impl OpenSockets {
    /// `connections` follows the count.
    pub fn new(connections: Gauge) -> Self {
        Self { open: Arc::new((AtomicUsize::new(0), Notify::new())), connections }
    }

    /// Counts a socket as open until the guard drops.
    pub fn open(&self) -> SocketGuard {
        self.connections.increment(1.0);
        self.open.0.fetch_add(1, Ordering::SeqCst);
        SocketGuard(self.clone())
    }

    pub fn count(&self) -> usize {
        self.open.0.load(Ordering::SeqCst)
    }

    /// Waits until every socket has closed, at most `grace`; returns how many are still open.
    pub async fn all_closed(&self, grace: Duration) -> usize {
        let all_closed = async {
            loop {
                let notified = self.open.1.notified();
                tokio::pin!(notified);
                // Registered before the count is read: a close in between still wakes us.
                notified.as_mut().enable();
                if self.count() == 0 {
                    break;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(grace, all_closed).await;
        self.count()
    }
}

/// One open socket (see [`OpenSockets::open`]).
pub struct SocketGuard(OpenSockets);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        self.0.connections.decrement(1.0);
        self.0.open.0.fetch_sub(1, Ordering::SeqCst);
        self.0.open.1.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shutdown_waits_for_the_last_socket() {
        let sockets = OpenSockets::new(Gauge::noop());
        let guard = sockets.open();
        let waiter = tokio::spawn({
            let sockets = sockets.clone();
            async move { sockets.all_closed(Duration::from_secs(5)).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        drop(guard);
        assert_eq!(waiter.await.unwrap(), 0);
        let _still = sockets.open();
        assert_eq!(sockets.all_closed(Duration::from_millis(10)).await, 1);
    }

    #[test]
    fn series_are_named_by_the_edge() {
        let metrics = Metrics::new();
        let live = LiveMetrics::new(&metrics, "graphql");
        live.events_delivered.increment(3);
        let text = metrics.render();
        assert!(text.contains("graphql_events_delivered_total 3"), "{text}");
        assert!(text.contains("graphql_connections 0"), "{text}");
    }
}
