//! graphql-edge: the GraphQL edge web and mobile apps talk to, a stateless translator to
//! core-svc over gRPC.
//!
//! Module map:
//! - [`config`]: [`config::Config::from_env`]: `GRAPHQL_LISTEN_ADDR`, `CORE_GRPC_URL`, the
//!   subscription socket's limits (`GRAPHQL_WS_*`).
//! - [`startup`]: [`startup::App::build`] binds (port 0 allowed) → `local_addr()` →
//!   `run_until(shutdown)`, which closes every subscription socket with 1001.
//! - [`http`]: `/graphql` over HTTP to the GraphQL-over-HTTP specification (GET and POST, media
//!   types, 1 MiB body limit, credentials → [`edge_kit::CallContext`]), GraphiQL for browsers,
//!   and the upgrade of a `GET` to the subscription socket.
//! - [`ws`]: the subscription socket (`graphql-transport-ws` and the legacy `graphql-ws`):
//!   `connection_init` credentials, operations, limits, close codes.
//! - [`live`]: a subscription's events through edge-kit's `live::Hub` (one upstream per channel
//!   per instance) and `live::Merge` (authorized by core-svc, `after` replay, one seq order).
//! - [`schema`]: `Query`, `Mutation`, `Subscription` and the object types (depth, complexity and
//!   page-size limits; automatic persisted queries). The SDL is committed as `schema.graphql`.
//! - [`loaders`]: per-request DataLoaders (BatchGetUsers; members of many projects in one
//!   ListMembers).
//! - [`error`]: the one mapping of core-svc errors to GraphQL `extensions.code`.
//! - [`convert`]: JSON ↔ protobuf values, timestamps, filter literals, cursors.
//!
//! Architecture invariant: no SQL, no Redis client, no business rule. The caller's credentials
//! go to core-svc, which decides. This crate never depends on core-svc, sqlx or redis.

pub mod config;
pub mod context;
pub mod convert;
pub mod error;
pub mod http;
pub mod live;
pub mod loaders;
pub mod mux;
pub mod schema;
pub mod startup;
pub mod ws;
