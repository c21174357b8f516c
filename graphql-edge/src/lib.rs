//! graphql-edge: the GraphQL edge web and mobile apps talk to, a stateless translator to
//! core-svc over gRPC.
//!
//! Module map:
//! - [`config`]: [`config::Config::from_env`]: `GRAPHQL_LISTEN_ADDR`, `CORE_GRPC_URL`.
//! - [`startup`]: [`startup::App::build`] binds (port 0 allowed) → `local_addr()` →
//!   `run_until(shutdown)`.
//!
//! For now it serves only what every edge serves (`/healthz`, `/readyz`, `/metrics`, from
//! `edge-kit`); `POST /graphql` and GraphiQL come later.
//!
//! Architecture invariant: no SQL, no Redis client, no business rule. The caller's credentials
//! go to core-svc, which decides. This crate never depends on core-svc, sqlx or redis.

pub mod config;
pub mod startup;
