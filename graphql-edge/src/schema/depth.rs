//! The depth limit, with room for introspection.
//!
//! async-graphql's own `limit_depth` counts introspection like data, and the standard
//! introspection query of graphql-js — what GraphiQL, Apollo tooling and codegen send — is 15
//! deep (its `ofType` chains). A data query that deep is a mistake or an attack; an introspection
//! query that deep is every tool's first request. So operations that select only `__schema`,
//! `__type` or `__typename` get a higher bound; their cost is bounded by the schema and, like
//! everything else, by the complexity limit.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use async_graphql::{
    ServerError, ServerResult, ValidationResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation},
    parser::types::{ExecutableDocument, Selection},
};

/// Deeper data selections are refused before anything runs (the deepest useful query,
/// `projects → edges → node → members → edges → node → user → field`, is 8).
pub const MAX_DEPTH: usize = 12;
/// Deeper introspection is refused (graphql-js's introspection query is 15).
pub const MAX_INTROSPECTION_DEPTH: usize = 20;

/// The extension (part of the schema, see `schema::build`).
pub struct DepthLimit;

impl ExtensionFactory for DepthLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PerRequest { introspection_only: AtomicBool::new(false) })
    }
}

struct PerRequest {
    introspection_only: AtomicBool,
}

#[async_graphql::async_trait::async_trait]
impl Extension for PerRequest {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        self.introspection_only.store(introspection_only(&document), Ordering::Relaxed);
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let limit = if self.introspection_only.load(Ordering::Relaxed) { MAX_INTROSPECTION_DEPTH } else { MAX_DEPTH };
        if result.depth > limit {
            return Err(vec![ServerError::new("Query is nested too deep.", None)]);
        }
        Ok(result)
    }
}

/// Whether every operation of `document` selects only introspection fields at its top level
/// (fragments spread there included).
fn introspection_only(document: &ExecutableDocument) -> bool {
    fn only(document: &ExecutableDocument, selections: &[async_graphql::Positioned<Selection>], seen: usize) -> bool {
        // Fragment cycles are refused by validation; `seen` only keeps this walk finite until then.
        seen < 16
            && selections.iter().all(|s| match &s.node {
                Selection::Field(f) => f.node.name.node.starts_with("__"),
                Selection::InlineFragment(i) => only(document, &i.node.selection_set.node.items, seen + 1),
                Selection::FragmentSpread(spread) => document
                    .fragments
                    .get(&spread.node.fragment_name.node)
                    .is_some_and(|f| only(document, &f.node.selection_set.node.items, seen + 1)),
            })
    }
    document.operations.iter().all(|(_, op)| only(document, &op.node.selection_set.node.items, 0))
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::introspection_only;

    #[test]
    fn only_introspection_fields_at_the_top_count_as_introspection() {
        for (query, expected) in [
            ("{ __schema { types { name } } }", true),
            ("query { __typename __type(name: \"Query\") { name } }", true),
            ("query Q { ...F } fragment F on Query { __schema { queryType { name } } }", true),
            ("{ __schema { types { name } } me { id } }", false),
            ("{ me { __typename } }", false),
            ("query A { __typename } query B { me { id } }", false),
            ("query Q { ... on Query { me { id } } }", false),
            ("query Q { ...Missing }", false),
        ] {
            assert_eq!(introspection_only(&parse_query(query).unwrap()), expected, "{query}");
        }
    }
}
