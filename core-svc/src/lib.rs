//! core-svc: the gRPC service that owns PostgreSQL, Redis and every domain rule of Platform SM.
//!
//! Module map (outside in):
//!
//! - [`startup`] — `App::build` (connect, migrate, bootstrap, bind) and `run_until` (serve, drain).
//! - [`config`] — `Config::from_env`.
//! - [`grpc`] — the `platform.v1` service implementations; translation only.
//! - [`service`] — the use cases; authorization, transactions and events live here.
//! - [`domain`] — types and validation rules; no IO.
//! - [`store`] — all SQL.
//! - [`list`] — AIP filter / order_by / paging shared by every List.
//! - [`events`] — writing events, the relay that assigns the gapless `seq`, and the per-replica
//!   feed that `Subscribe` streams follow.
//! - [`cache`] — the read-through Redis cache (generation counters, single flight).
//! - [`redis`] — the Redis connection (with a circuit breaker) and the rate limits.
//! - [`tasks`] — the task queue (PostgreSQL records, Redis dispatch), workers, the leader's
//!   sweeper, webhook deliveries, exports and maintenance.
//! - [`security`] — password hashing, JWTs, opaque tokens.
//! - [`error`] — the one error type and its one mapping to `tonic::Status`.
//! - [`telemetry`] — the metrics recorder and the bounded gRPC method label.

pub mod cache;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod list;
pub mod redis;
pub mod security;
pub mod service;
pub mod startup;
pub mod store;
pub mod tasks;
pub mod telemetry;

pub use config::Config;
pub use startup::App;
