//! Builds realtime-edge from its [`Config`] and runs it.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use edge_kit::{
    CoreClient, Metrics,
    live::{Hub, LiveMetrics, OpenSockets, sockets::CLOSE_GRACE},
};
use poem::{EndpointExt, Route, endpoint::BoxEndpoint, get};
use tokio::sync::watch;

use crate::{
    config::{Config, LISTEN_ADDR_VAR},
    connection::{Limits, Shared},
    ws::{self, WsState},
};

/// realtime-edge, bound and ready to serve.
pub struct App {
    acceptor: edge_kit::server::EdgeAcceptor,
    local_addr: SocketAddr,
    endpoint: BoxEndpoint<'static>,
    shutdown: watch::Sender<bool>,
    sockets: OpenSockets,
}

impl App {
    /// Binds the listener and wires the app. core-svc need not be up: the channel connects on
    /// first use and `/readyz` reports it until then.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let core = CoreClient::connect_lazy(&config.core_grpc_url, config.core_call_timeout.0);
        let metrics = Metrics::global_or_new();
        let realtime_metrics = LiveMetrics::new(&metrics, crate::METRICS_PREFIX);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let sockets = OpenSockets::new(realtime_metrics.connections.clone());
        let shared = Arc::new(Shared {
            core: core.clone(),
            hub: Hub::new(core.clone(), realtime_metrics.upstream_streams.clone()),
            metrics: realtime_metrics,
            limits: Limits {
                auth_timeout: config.auth_timeout,
                ping_interval: config.ping_interval,
                send_queue: config.send_queue,
                max_subscriptions: config.max_subscriptions,
                max_frames_per_sec: config.max_frames_per_sec,
            },
            shutdown: shutdown_rx,
        });
        let api = Route::new().at("/ws", get(ws::upgrade.data(WsState { shared, sockets: sockets.clone() })));
        let endpoint = edge_kit::http::app(api, core, metrics);
        let acceptor = edge_kit::server::bind(config.listen_addr)
            .await
            .with_context(|| format!("cannot listen on {LISTEN_ADDR_VAR}={}", config.listen_addr))?;
        Ok(Self { local_addr: edge_kit::server::local_addr(&acceptor), acceptor, endpoint, shutdown, sockets })
    }

    /// The bound address, with the real port when configured with port 0.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes; then closes every WebSocket with 1001 (clients
    /// reconnect, to another instance, and resume with `after`), drains in-flight HTTP requests,
    /// and returns once every socket is closed (or after a grace period).
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let Self { acceptor, endpoint, shutdown: signal, sockets, .. } = self;
        let stop = async move {
            shutdown.await;
            let _ = signal.send(true);
        };
        let served = edge_kit::serve(acceptor, endpoint, stop).await;
        let open = sockets.all_closed(CLOSE_GRACE + Duration::from_secs(1)).await;
        if open > 0 {
            tracing::warn!(open, "websockets still open after the grace period");
        }
        served.context("realtime-edge server failed")
    }
}
