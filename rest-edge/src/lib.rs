//! rest-edge: the REST/OpenAPI edge the React Admin panel talks to, a stateless translator to
//! core-svc over gRPC.
//!
//! Module map:
//! - [`config`]: [`config::Config::from_env`]: `REST_LISTEN_ADDR`, `CORE_GRPC_URL`,
//!   `CORS_ALLOWED_ORIGINS`.
//! - [`startup`]: [`startup::App::build`] binds (port 0 allowed) → `local_addr()` →
//!   `run_until(shutdown)`; mounts the API under `/api/v1` with CORS and [`problem::Problems`].
//! - [`api`]: one module per resource (poem-openapi operations), each a thin translation to one
//!   core-svc RPC; the OpenAPI document is generated from them.
//! - [`list`]: React Admin list queries (`filter`/`range`/`sort` and json-server's `_start`…)
//!   → AIP `filter`, `order_by`, `page_size`, `skip`.
//! - [`problem`]: the one mapping of errors to `application/problem+json`.
//!
//! Architecture invariant: no SQL, no Redis client, no business rule. The caller's credentials
//! go to core-svc, which decides. This crate never depends on core-svc, sqlx or redis.

// `ApiError` is the problem+json response itself (about 200 bytes), built at most once per
// request; boxing it would only add an allocation to every error path.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod config;
pub mod list;
pub mod problem;
pub mod startup;
pub mod types;
