//! realtime-edge: the WebSocket edge that pushes events to subscribed clients, bridging
//! core-svc's event stream; a stateless translator.
//!
//! It serves `GET /ws` (the protocol: `PROTOCOL.md`, docs/PRODUCT.md §9 "WebSocket") next to what every edge serves
//! (`/healthz`, `/readyz`, `/metrics`, from `edge-kit`).
//!
//! Module map:
//! - [`config`]: [`config::Config::from_env`]: `REALTIME_LISTEN_ADDR`, `CORE_GRPC_URL`, and the
//!   `REALTIME_*` limits (auth timeout, ping interval, send queue, subscriptions, frame rate).
//! - [`startup`]: [`startup::App::build`] binds (port 0 allowed) → `local_addr()` →
//!   `run_until(shutdown)`, which closes every socket with 1001 on shutdown.
//! - [`ws`]: the `/ws` upgrade: credentials from the header or `?access_token=`.
//! - [`connection`]: one socket: authentication, frames, its subscriptions (edge-kit's
//!   `live::Merge`: one seq order, `after` replay), bounded outbound queue (1013), pings. The
//!   shared upstream per channel is edge-kit's `live::Hub`, shared with graphql-edge.
//! - [`protocol`]: frame parsing and writing, error codes (the one mapping of core-svc statuses),
//!   close codes.
//!
//! Its `/metrics` series are edge-kit's live series named `realtime_*` (connections,
//! subscriptions, upstream streams, events delivered, slow-consumer closes).
//!
//! Architecture invariant: no SQL, no Redis client, no business rule. The caller's credentials
//! go to core-svc, which decides. This crate never depends on core-svc, sqlx or redis.

pub mod config;
pub mod connection;
pub mod protocol;
pub mod startup;
pub mod ws;

/// The prefix of the live series in `/metrics`.
pub const METRICS_PREFIX: &str = "realtime";
