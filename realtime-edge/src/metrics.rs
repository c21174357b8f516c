//! realtime-edge's own series in the edge's [`Metrics`] registry (`/metrics`).

use edge_kit::Metrics;
use metrics::{Counter, Gauge, Key, KeyName, Level, Metadata, Recorder, SharedString};

/// Gauge: open WebSocket connections.
pub const CONNECTIONS: &str = "realtime_connections";
/// Gauge: active client subscriptions (all connections).
pub const SUBSCRIPTIONS: &str = "realtime_subscriptions";
/// Gauge: upstream `EventService.Subscribe` streams to core-svc (one per channel in use).
pub const UPSTREAM_STREAMS: &str = "realtime_upstream_streams";
/// Counter: event frames queued to clients.
pub const EVENTS_DELIVERED: &str = "realtime_events_delivered_total";
/// Counter: connections closed with 1013 because the client fell behind.
pub const SLOW_CONSUMER_CLOSES: &str = "realtime_slow_consumer_closes_total";

static METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, None);

/// Handles to realtime-edge's series; clones share them.
#[derive(Clone)]
pub struct RealtimeMetrics {
    pub connections: Gauge,
    pub subscriptions: Gauge,
    pub upstream_streams: Gauge,
    pub events_delivered: Counter,
    pub slow_consumer_closes: Counter,
}

impl RealtimeMetrics {
    /// Registers the series in `metrics` (they show as 0 from the start).
    pub fn new(metrics: &Metrics) -> Self {
        let r = metrics.recorder();
        let gauge = |name: &'static str, help: &'static str| {
            r.describe_gauge(KeyName::from_const_str(name), None, SharedString::const_str(help));
            let g = r.register_gauge(&Key::from_static_name(name), &METADATA);
            g.set(0.0);
            g
        };
        let counter = |name: &'static str, help: &'static str| {
            r.describe_counter(KeyName::from_const_str(name), None, SharedString::const_str(help));
            let c = r.register_counter(&Key::from_static_name(name), &METADATA);
            c.increment(0);
            c
        };
        Self {
            connections: gauge(CONNECTIONS, "Open WebSocket connections"),
            subscriptions: gauge(SUBSCRIPTIONS, "Active client subscriptions"),
            upstream_streams: gauge(UPSTREAM_STREAMS, "Upstream Subscribe streams to core-svc (one per channel)"),
            events_delivered: counter(EVENTS_DELIVERED, "Event frames queued to clients"),
            slow_consumer_closes: counter(SLOW_CONSUMER_CLOSES, "Connections closed with 1013 (client too slow)"),
        }
    }
}
