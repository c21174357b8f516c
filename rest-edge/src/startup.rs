//! Builds rest-edge from its [`Config`] and runs it.

use std::{future::Future, net::SocketAddr};

use anyhow::Context;
use edge_kit::{CoreClient, Metrics, config::CallTimeout};
use poem::{EndpointExt, Route, endpoint::BoxEndpoint, http::Method, middleware::Cors};

use crate::{
    api,
    config::{Config, CorsOrigins, LISTEN_ADDR_VAR},
    problem::Problems,
};

/// Where the API lives.
pub const BASE_PATH: &str = "/api/v1";
/// Where the admin panel is served when [`Config::admin_static_dir`] is set.
pub const ADMIN_PATH: &str = "/admin";

/// rest-edge, bound and ready to serve.
pub struct App {
    acceptor: edge_kit::server::EdgeAcceptor,
    local_addr: SocketAddr,
    endpoint: BoxEndpoint<'static>,
}

/// CORS per docs/PRODUCT.md §9 "REST": what React Admin sends and what it must be able to read.
fn cors(origins: &CorsOrigins) -> Cors {
    let cors = Cors::new()
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS])
        .allow_headers(["authorization", "content-type", "range", "if-match", "if-none-match", "x-request-id"])
        .expose_headers(["content-range", "x-total-count", "etag", "x-request-id", "retry-after"])
        .max_age(600);
    origins.apply(cors)
}

/// The `/api/v1` routes: the operations, the OpenAPI document (JSON and YAML) and Swagger UI.
pub fn api_routes(core: CoreClient, origins: &CorsOrigins) -> Route {
    // Handlers find the deadline of their calls to core-svc here (`api::Ctx`).
    let deadline = CallTimeout(core.call_timeout());
    let service = api::service(core);
    let problems = Problems::new(BASE_PATH, &service.spec());
    let api = Route::new()
        .at("/openapi.json", service.spec_endpoint())
        .at("/openapi.yaml", service.spec_endpoint_yaml())
        .nest("/docs", service.swagger_ui())
        .nest("/", service)
        // CORS inside: its headers land on every answer, problems included, and its own
        // refusals (origin not allowed) become problems too.
        .with(cors(origins))
        .with(problems)
        .data(deadline);
    Route::new().nest(BASE_PATH, api)
}

/// The built admin panel as static files. It routes with URL fragments (`/admin/#/projects`), so
/// every page is `index.html` and no fallback is needed: a missing file is a plain 404 (which the
/// panel reads as "no runtime config.json" and uses same-origin defaults). `index.html` is
/// revalidated on every load (the panel fetches `config.json` with `no-store`), so a new build or
/// config shows at once; the content-hashed assets may be cached.
fn admin_files(dir: &std::path::Path) -> impl poem::Endpoint + 'static {
    poem::endpoint::StaticFilesEndpoint::new(dir)
        .index_file("index.html")
        .no_cache_index()
        .redirect_to_slash_directory()
}

impl App {
    /// Binds the listener and wires the app. core-svc need not be up: the channel connects on
    /// first use and `/readyz` reports it until then.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let core = CoreClient::connect_lazy(&config.core_grpc_url, config.core_call_timeout.0);
        let mut routes = api_routes(core.clone(), &config.cors_allowed_origins);
        if let Some(dir) = &config.admin_static_dir {
            routes = routes.nest(ADMIN_PATH, admin_files(dir));
        }
        let endpoint = edge_kit::http::app(routes, core, Metrics::global_or_new());
        let acceptor = edge_kit::server::bind(config.listen_addr)
            .await
            .with_context(|| format!("cannot listen on {LISTEN_ADDR_VAR}={}", config.listen_addr))?;
        Ok(Self { local_addr: edge_kit::server::local_addr(&acceptor), acceptor, endpoint })
    }

    /// The bound address, with the real port when configured with port 0.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes, then drains in-flight requests.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        edge_kit::serve(self.acceptor, self.endpoint, shutdown).await.context("rest-edge server failed")
    }
}
