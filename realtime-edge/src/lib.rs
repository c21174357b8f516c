//! realtime-edge: the WebSocket edge that pushes events to subscribed clients, bridging
//! core-svc's event stream; a stateless translator.
//!
//! It serves `GET /ws` (the protocol: `PROTOCOL.md`, SPEC §4) next to what every edge serves
//! (`/healthz`, `/readyz`, `/metrics`, from `edge-kit`).
//!
//! Module map:
//! - [`config`]: [`config::Config::from_env`]: `REALTIME_LISTEN_ADDR`, `CORE_GRPC_URL`, and the
//!   `REALTIME_*` limits (auth timeout, ping interval, send queue, subscriptions, frame rate).
//! - [`startup`]: [`startup::App::build`] binds (port 0 allowed) → `local_addr()` →
//!   `run_until(shutdown)`, which closes every socket with 1001 on shutdown.
//! - [`ws`]: the `/ws` upgrade: credentials from the header or `?access_token=`.
//! - [`connection`]: one socket: authentication, frames, subscriptions, the per-connection merge
//!   of channels into one seq order, `after` replay (`ListEvents`), bounded outbound queue (1013),
//!   pings.
//! - [`hub`]: one shared upstream `EventService.Subscribe` per channel, fanned out to local
//!   subscribers; carrier credentials, reopening after failures with `after_seq`, re-checks on
//!   `access_change`.
//! - [`protocol`]: frame parsing and writing, error codes (the one mapping of core-svc statuses),
//!   close codes.
//! - [`metrics`]: `realtime_*` series (connections, subscriptions, upstream streams, events
//!   delivered, slow-consumer closes).
//!
//! Architecture invariant: no SQL, no Redis client, no business rule. The caller's credentials
//! go to core-svc, which decides. This crate never depends on core-svc, sqlx or redis.

pub mod config;
pub mod connection;
pub mod hub;
pub mod metrics;
pub mod protocol;
pub mod startup;
pub mod ws;
