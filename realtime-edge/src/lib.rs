//! realtime-edge: the WebSocket edge that pushes events to subscribed clients, bridging
//! core-svc's event stream; a stateless translator.
//!
//! Module map:
//! - [`config`]: [`config::Config::from_env`]: `REALTIME_LISTEN_ADDR`, `CORE_GRPC_URL`.
//! - [`startup`]: [`startup::App::build`] binds (port 0 allowed) → `local_addr()` →
//!   `run_until(shutdown)`.
//!
//! For now it serves only what every edge serves (`/healthz`, `/readyz`, `/metrics`, from
//! `edge-kit`); the WebSocket endpoint `/ws` comes later.
//!
//! Architecture invariant: no SQL, no Redis client, no business rule. The caller's credentials
//! go to core-svc, which decides. This crate never depends on core-svc, sqlx or redis.

pub mod config;
pub mod startup;
