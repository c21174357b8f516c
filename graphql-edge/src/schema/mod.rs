//! The GraphQL schema. It knows nothing of HTTP: the handler (`crate::http`) puts a
//! [`crate::context::Core`] and the request's DataLoaders into each request's data.

pub mod depth;
pub mod mutation;
pub mod query;
pub mod subscription;
pub mod types;

use async_graphql::{
    Schema,
    extensions::apollo_persisted_queries::{ApolloPersistedQueries, LruCacheStorage},
};

pub use self::{mutation::Mutation, query::Query, subscription::Subscription};

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// The automatic persisted queries of this process, shared with the HTTP layer (which looks a
/// hash up to refuse a persisted mutation over GET).
pub type PersistedQueries = LruCacheStorage;

pub use self::depth::{MAX_DEPTH, MAX_INTROSPECTION_DEPTH};
/// Each field costs 1, a list field its page size times its selection.
/// `projects(first: 50)` with owners and 20 members each costs about 5 000.
pub const MAX_COMPLEXITY: usize = 10_000;
/// Limits the recursion of the parser on hostile documents.
pub const MAX_RECURSIVE_DEPTH: usize = 32;
/// Automatic persisted queries kept per edge process.
pub const PERSISTED_QUERIES: usize = 1024;

/// Builds the schema with its limits and extensions, and its persisted-query store.
pub fn build() -> (AppSchema, PersistedQueries) {
    let persisted = LruCacheStorage::new(PERSISTED_QUERIES);
    let schema = Schema::build(Query, Mutation, Subscription)
        // Not async-graphql's limit_depth: introspection needs more room (see `depth`).
        .extension(depth::DepthLimit)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(MAX_RECURSIVE_DEPTH)
        .extension(ApolloPersistedQueries::new(persisted.clone()))
        .extension(crate::http::ExecutionMarker)
        .finish();
    (schema, persisted)
}

/// The schema in SDL, as committed in `graphql-edge/schema.graphql`.
pub fn sdl() -> String {
    build().0.sdl()
}
