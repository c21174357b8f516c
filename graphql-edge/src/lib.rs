//! graphql-edge: the GraphQL edge web and mobile apps talk to, a stateless translator to
//! core-svc over gRPC.
//!
//! Module map:
//! - [`config`]: [`config::Config::from_env`]: `GRAPHQL_LISTEN_ADDR`, `CORE_GRPC_URL`.
//! - [`startup`]: [`startup::App::build`] binds (port 0 allowed) → `local_addr()` →
//!   `run_until(shutdown)`.
//! - [`http`]: `POST /graphql` (1 MiB body limit, credentials → [`edge_kit::CallContext`]) and
//!   GraphiQL at `GET /graphql`.
//! - [`schema`]: `Query`, `Mutation` and the object types (depth, complexity and page-size
//!   limits; automatic persisted queries). The SDL is committed as `schema.graphql`.
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
pub mod loaders;
pub mod schema;
pub mod startup;
