//! What every Platform SM edge (rest-edge, graphql-edge, realtime-edge) shares, written once.
//!
//! An edge's `startup.rs` reads like this:
//!
//! ```no_run
//! # async fn build() -> std::io::Result<()> {
//! use edge_kit::{CoreClient, Metrics, config::CoreGrpcUrl};
//!
//! let core = CoreClient::connect_lazy(&"http://127.0.0.1:50051".parse::<CoreGrpcUrl>().unwrap(), std::time::Duration::from_secs(10));
//! let endpoint = edge_kit::http::app(poem::Route::new(), core, Metrics::global_or_new());
//! let acceptor = edge_kit::server::bind("127.0.0.1:0".parse().unwrap()).await?;
//! edge_kit::serve(acceptor, endpoint, std::future::pending()).await
//! # }
//! ```
//!
//! Module map:
//! - [`config`]: reading environment variables with clear errors; `CORE_GRPC_URL`.
//! - [`cors`]: [`cors::CorsOrigins`], the browser origins an edge answers (`CORS_ALLOWED_ORIGINS`).
//! - [`core_client`]: [`CoreClient`], the lazily connecting channel to core-svc and its health check.
//! - [`forward`]: [`CallContext`] (credentials, request id, client address on every call to
//!   core-svc) and [`CoreError`] (a failed call, decoded once for every edge's error mapping).
//! - [`live`]: live events: the shared upstream per channel ([`live::Hub`]) and the per-client
//!   merge of channels into one seq order with `after` replay ([`live::Merge`]), for
//!   realtime-edge's WebSocket and graphql-edge's subscriptions.
//! - [`http`]: the poem plumbing: `/healthz`, `/readyz`, `/metrics`, the request-id and
//!   HTTP-metrics middleware, and [`http::app`] that puts them around an edge's API routes.
//! - [`metrics`]: [`Metrics`], the Prometheus registry that `/metrics` renders.
//! - [`server`]: binding and [`serve`] with graceful drain.
//! - [`telemetry`]: logging and metrics set-up for `main.rs`.
//! - [`shutdown_signal`]: SIGTERM or Ctrl-C, for `main.rs` (service-kit's, shared with core-svc).
//!
//! Architecture invariants: no dependency on core-svc, sqlx or redis (edges are stateless
//! translators; `tests/tests/architecture.rs` checks it). Nothing here installs a signal handler,
//! a global tracing subscriber or a global metrics recorder unless `main.rs` calls
//! [`telemetry::init`] or awaits [`shutdown_signal`]: libraries and tests run several apps in one
//! process and must not fight over process-wide state.

pub mod config;
pub mod core_client;
pub mod cors;
pub mod forward;
pub mod http;
pub mod live;
pub mod metrics;
pub mod server;
pub mod telemetry;

pub use core_client::CoreClient;
pub use forward::{CallContext, CoreError, MAX_CREDENTIAL_BYTES, check_credential};
pub use http::RequestId;
pub use metrics::Metrics;
pub use server::serve;
pub use service_kit::shutdown_signal;
