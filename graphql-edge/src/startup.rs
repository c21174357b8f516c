//! Builds graphql-edge from its [`Config`] and runs it.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use edge_kit::{
    CoreClient, Metrics,
    cors::CorsOrigins,
    live::{Hub, LiveMetrics, OpenSockets, sockets::CLOSE_GRACE},
};
use poem::{EndpointExt, Route, endpoint::BoxEndpoint, http::Method, middleware::Cors};
use tokio::sync::watch;

use crate::{
    config::{Config, LISTEN_ADDR_VAR},
    ws::WsShared,
};

/// The prefix of the subscription series in `/metrics` (`graphql_connections`, …).
pub const METRICS_PREFIX: &str = "graphql";

/// CORS for browser apps on other origins: what a GraphQL client sends, and the request id it may
/// read back.
fn cors(origins: &CorsOrigins) -> Cors {
    origins.apply(
        Cors::new()
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers(["authorization", "content-type", "x-request-id"])
            .expose_headers(["x-request-id", "retry-after"])
            .max_age(600),
    )
}

/// A built app as static files: the web app at `/`, GraphiQL's files at `/graphiql/`. The web app
/// routes with URL fragments (`/#/projects/…`), so every page is `index.html` and no fallback is
/// needed. `index.html` is revalidated on every load (the web app fetches `config.json` with
/// `no-store`), so a new build or config shows at once; the content-hashed assets may be cached.
fn web_files(dir: &std::path::Path) -> impl poem::Endpoint + 'static {
    poem::endpoint::StaticFilesEndpoint::new(dir).index_file("index.html").no_cache_index()
}

/// graphql-edge, bound and ready to serve.
pub struct App {
    acceptor: edge_kit::server::EdgeAcceptor,
    local_addr: SocketAddr,
    endpoint: BoxEndpoint<'static>,
    /// Flipped on shutdown: every subscription socket closes with 1001.
    shutdown: watch::Sender<bool>,
    sockets: OpenSockets,
}

impl App {
    /// Binds the listener and wires the app. core-svc need not be up: the channel connects on
    /// first use and `/readyz` reports it until then.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let core = CoreClient::connect_lazy(&config.core_grpc_url, config.core_call_timeout.0);
        let metrics = Metrics::global_or_new();
        let live_metrics = LiveMetrics::new(&metrics, METRICS_PREFIX);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let sockets = OpenSockets::new(live_metrics.connections.clone());
        let (schema, persisted) = crate::schema::build();
        let shared = Arc::new(WsShared {
            schema: schema.clone(),
            core: core.clone(),
            hub: Hub::new(core.clone(), live_metrics.upstream_streams.clone()),
            limits: config.ws.clone(),
            metrics: live_metrics,
            sockets: sockets.clone(),
            shutdown: shutdown_rx,
            renders: Default::default(),
        });
        let graphiql = crate::http::Graphiql(config.graphiql_dir.clone().map(Arc::new));
        let graphql = crate::http::endpoint(schema, persisted, core.clone(), shared, graphiql)
            .with(cors(&config.cors_allowed_origins));
        let mut api = Route::new().at("/graphql", graphql);
        if let Some(dir) = &config.graphiql_dir {
            api = api.nest("/graphiql", web_files(dir));
        }
        if let Some(dir) = &config.web_static_dir {
            api = api.nest("/", web_files(dir));
        }
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

    /// Serves until `shutdown` completes; then closes every subscription socket with 1001
    /// (clients reconnect, to another instance, and resume with `after`), drains in-flight
    /// requests, and returns once every socket is closed (or after a grace period).
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
        served.context("graphql-edge server failed")
    }
}
