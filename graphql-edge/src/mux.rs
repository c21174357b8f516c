//! Multiplexed subscriptions: an operation whose result depends only on the event (`events`,
//! `configChanged` without `history`) is rendered once per event for every socket running it —
//! the same operation text, operation name and variables — instead of once per subscriber.
//!
//! Each subscriber keeps its own stream (its own `Merge`, authorized by core-svc with its own
//! credentials, `after` replayed, one seq order, its end on access loss, 1013 when it falls
//! behind); only the GraphQL result of an event is shared. It is made by executing the same
//! request on the real schema with the event in its data ([`One`]), so the result is exactly
//! what the subscriber's own execution would have given.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, PoisonError, Weak},
};

use async_graphql::{Request as GqlRequest, Response as GqlResponse, parser::types::OperationType};
use edge_kit::live::SharedEvent;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::schema::{
    AppSchema,
    subscription::{One, Probe, Probed},
};

/// Renders kept per operation: the newest seqs (a subscriber further behind is closed with 1013
/// long before; one replaying older seqs renders them itself).
pub const RENDERS_PER_OPERATION: usize = 1024;

/// The operations running on the sockets of this edge, by their text, name and variables.
#[derive(Default)]
pub struct Renders {
    ops: Mutex<HashMap<String, Weak<Operation>>>,
}

/// One operation shared by the subscriptions that run it (they hold it; it goes with the last).
pub struct Operation {
    /// The subscribe payload (query, operationName, variables, extensions).
    request: Value,
    by_seq: Mutex<BTreeMap<i64, Arc<OnceCell<Rendered>>>>,
}

/// An event's result(s) for an operation: the `payload` texts of its `next` messages (an event
/// may give none, or several: `configChanged` yields each changed entry). `None`: a result
/// carries errors, which name the subscriber's request id, so each subscriber renders its own.
pub type Rendered = Option<Arc<[Arc<str>]>>;

/// How a subscribe request runs.
pub enum Plan {
    /// Its result depends only on the event: the events of `channels` after `after`, rendered
    /// through the shared operation.
    Shared { op: Arc<Operation>, channels: Vec<String>, after: Option<i64> },
    /// Anything else (several fields, a field reading core-svc per subscriber, a request
    /// error, a persisted query sent by hash): the subscriber's own execution.
    Own,
}

impl Renders {
    /// Which plan `payload` (a valid subscribe payload) runs on.
    pub async fn plan(&self, schema: &AppSchema, payload: &Value) -> Plan {
        let Some(key) = key(payload) else { return Plan::Own };
        // The probe executes the document: only ever a subscription's (never a mutation twice).
        if !only_subscriptions(payload) {
            return Plan::Own;
        }
        let Some(request) = request(payload) else { return Plan::Own };
        let probe = Probe::default();
        let responses: Vec<GqlResponse> = schema.execute_stream(request.data(probe.clone())).collect().await;
        if !responses.is_empty() {
            return Plan::Own;
        }
        let fields = probe.fields();
        let [Probed { channels, after, shareable: true }] = fields.as_slice() else {
            return Plan::Own;
        };
        let op = self.operation(key, payload);
        Plan::Shared { op, channels: channels.clone(), after: *after }
    }

    fn operation(&self, key: String, payload: &Value) -> Arc<Operation> {
        let mut ops = self.ops.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(op) = ops.get(&key).and_then(Weak::upgrade) {
            return op;
        }
        ops.retain(|_, op| op.strong_count() > 0);
        let op = Arc::new(Operation { request: payload.clone(), by_seq: Mutex::new(BTreeMap::new()) });
        ops.insert(key, Arc::downgrade(&op));
        op
    }

    /// Operations currently shared (for tests and metrics).
    pub fn len(&self) -> usize {
        self.ops.lock().unwrap_or_else(PoisonError::into_inner).values().filter(|op| op.strong_count() > 0).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Operation {
    /// The event's result for this operation, rendered by the first subscriber that asks while
    /// the others wait for it.
    pub async fn rendered(&self, schema: &AppSchema, event: &Arc<SharedEvent>) -> Rendered {
        let cell = {
            let mut by_seq = self.by_seq.lock().unwrap_or_else(PoisonError::into_inner);
            let cell = by_seq.entry(event.seq).or_default().clone();
            while by_seq.len() > RENDERS_PER_OPERATION {
                by_seq.pop_first();
            }
            cell
        };
        cell.get_or_init(|| async {
            let responses = self.execute(schema, One::Event(event.clone())).await;
            if responses.iter().any(|r| !r.errors.is_empty()) {
                return None;
            }
            Some(responses.iter().map(|r| Arc::from(serde_json::to_string(r).unwrap_or_default())).collect())
        })
        .await
        .clone()
    }

    /// What the operation yields for `one`, for one subscriber (an end, or an event whose result
    /// carries errors).
    pub async fn execute(&self, schema: &AppSchema, one: One) -> Vec<GqlResponse> {
        let Some(request) = request(&self.request) else { return Vec::new() };
        schema.execute_stream(request.data(one)).collect().await
    }
}

/// The sharing key: the operation's text, name and variables. None for a persisted query sent
/// by its hash alone.
fn key(payload: &Value) -> Option<String> {
    let query = payload.get("query").and_then(Value::as_str).filter(|q| !q.trim().is_empty())?;
    let name = payload.get("operationName").filter(|v| !v.is_null());
    let variables = payload.get("variables").filter(|v| !v.is_null());
    serde_json::to_string(&(query, name, variables)).ok()
}

/// Whether the document parses and all its operations are subscriptions.
fn only_subscriptions(payload: &Value) -> bool {
    let Some(query) = payload.get("query").and_then(Value::as_str) else { return false };
    let Ok(document) = async_graphql::parser::parse_query(query) else { return false };
    let mut operations = document.operations.iter().peekable();
    operations.peek().is_some() && operations.all(|(_, op)| op.node.ty == OperationType::Subscription)
}

fn request(payload: &Value) -> Option<GqlRequest> {
    serde_json::from_value(payload.clone()).ok()
}

#[cfg(test)]
mod tests {
    use proto::v1 as pb;
    use serde_json::json;

    use super::*;

    const EVENTS: &str = "subscription($c: [String!]!) { events(channels: $c) { seq type payload } }";

    fn shared(plan: Plan) -> (Arc<Operation>, Vec<String>, Option<i64>) {
        match plan {
            Plan::Shared { op, channels, after } => (op, channels, after),
            Plan::Own => panic!("expected a shared plan"),
        }
    }

    #[tokio::test]
    async fn the_same_operation_is_shared_and_rendered_once_per_event() {
        let (schema, _) = crate::schema::build();
        let renders = Renders::default();
        let payload = json!({"query": EVENTS, "variables": {"c": ["project:p1"]}});
        let (a, channels, after) = shared(renders.plan(&schema, &payload).await);
        assert_eq!((channels, after), (vec!["project:p1".to_owned()], None));
        let (b, _, _) = shared(renders.plan(&schema, &payload).await);
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(renders.len(), 1);

        // Other variables: another operation, with its own arguments.
        let other = json!({"query": EVENTS, "variables": {"c": ["project:p2"]}});
        let (c, channels, _) = shared(renders.plan(&schema, &other).await);
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(channels, vec!["project:p2".to_owned()]);
        assert_eq!(renders.len(), 2);
        drop(c);
        assert_eq!(renders.len(), 1);

        let event = Arc::new(SharedEvent::new(pb::Event { seq: 7, r#type: "config.set".into(), ..Default::default() }));
        let first = a.rendered(&schema, &event).await.expect("no errors");
        let again = b.rendered(&schema, &event).await.expect("no errors");
        assert!(Arc::ptr_eq(&first, &again), "rendered once");
        assert_eq!(first.len(), 1);
        let body: Value = serde_json::from_str(&first[0]).unwrap();
        assert_eq!(body, json!({"data": {"events": {"seq": 7, "type": "config.set", "payload": null}}}));
    }

    #[tokio::test]
    async fn operations_that_read_per_subscriber_or_are_not_subscriptions_run_on_their_own() {
        let (schema, _) = crate::schema::build();
        let renders = Renders::default();
        let own = [
            json!({"query": "subscription { configChanged(projectId: \"p\") { seq config { key history { totalCount } } } }"}),
            json!({"query": "subscription { configChanged(projectId: \"p\") { seq ...H } } fragment H on ConfigChange { config { history { totalCount } } }"}),
            json!({"query": "subscription { projectChanged(id: \"p\") { seq } }"}),
            json!({"query": "{ me { id } }"}),
            json!({"query": "subscription { events(channels: []) { seq } }"}),
            json!({"query": "subscription { nope }"}),
            json!({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "00"}}}),
        ];
        for payload in own {
            assert!(matches!(renders.plan(&schema, &payload).await, Plan::Own), "{payload}");
        }
        let shareable = json!({"query": "subscription { configChanged(projectId: \"p\", key: \"k\", after: \"5\") { seq config { key value } } }"});
        let (_, channels, after) = shared(renders.plan(&schema, &shareable).await);
        assert_eq!((channels, after), (vec!["project:p".to_owned()], Some(5)));
    }
}
