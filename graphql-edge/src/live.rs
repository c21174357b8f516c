//! Subscriptions' events: each GraphQL subscription follows its channels through edge-kit's
//! shared upstreams ([`Hub`], one `EventService.Subscribe` per channel per instance, whatever
//! the number of sockets) and its own [`Merge`] (authorized by core-svc with the socket's
//! credentials, `after` replayed from the log, one seq order, no duplicate).

use std::sync::{Arc, atomic::AtomicBool};

use edge_kit::{
    CoreClient, CoreError,
    live::{Credentials, Hub, Inbound, LiveMetrics, Merge, Outcome, Room, SharedEvent},
};
use futures::Stream;
use tokio::sync::{Notify, mpsc};

/// What every subscription of one WebSocket shares, in its requests' data.
#[derive(Clone)]
pub struct Live {
    pub core: CoreClient,
    pub hub: Hub,
    /// The socket's credentials (from `connection_init` or the upgrade request).
    pub creds: Credentials,
    /// Whether the socket can take a replay page now (its send queue at least half empty).
    pub room: Room,
    /// Events a subscription may hold for a client that reads too slowly before the socket is
    /// closed with 1013.
    pub max_backlog: usize,
    pub metrics: LiveMetrics,
    /// Set (and notified) when a subscription found its client too slow: the socket closes.
    pub too_slow: Arc<(AtomicBool, Notify)>,
}

/// Events of `channels` after `after` (when given, else from now), in seq order, each once. The
/// stream ends with an error when core-svc refuses a channel or access to one ends, and when the
/// client falls too far behind.
pub fn events(
    live: &Live,
    channels: Vec<String>,
    after: Option<i64>,
) -> impl Stream<Item = Result<Arc<SharedEvent>, CoreError>> + use<> {
    let (inbox, inbox_rx) = mpsc::unbounded_channel();
    let mut merge = Merge::new(
        live.core.clone(),
        live.hub.clone(),
        live.creds.clone(),
        inbox,
        live.room.clone(),
        edge_kit::live::merge::MAX_REPLAY_PAGE,
        live.metrics.subscriptions.clone(),
    );
    for channel in channels {
        merge.subscribe(None, channel, after);
    }
    let state = State { merge, inbox: inbox_rx, live: live.clone(), done: false };
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if st.done {
                return None;
            }
            // What waits for this client counts the inbox too: the stream takes from it only when
            // asked for the next event, so when events come faster than the socket's operation
            // runs them (an edge short of CPU, not only a client that reads slowly) they pile up
            // there — without bound, and without the 1013 that lets the client resume elsewhere.
            if st.merge.backlog() + st.inbox.len() > st.live.max_backlog {
                st.done = true;
                st.live.metrics.slow_consumer_closes.increment(1);
                st.live.too_slow.0.store(true, std::sync::atomic::Ordering::Relaxed);
                st.live.too_slow.1.notify_waiters();
                return Some((Err(too_slow()), st));
            }
            if let Some((_, e)) = st.merge.next_event() {
                st.live.metrics.events_delivered.increment(1);
                return Some((Ok(e), st));
            }
            let inbound = st.inbox.recv().await?;
            if let Some(Outcome::Ended { error, .. }) = st.merge.on_inbound(inbound) {
                st.done = true;
                return Some((Err(error), st));
            }
        }
    })
}

struct State {
    merge: Merge,
    inbox: mpsc::UnboundedReceiver<Inbound>,
    live: Live,
    done: bool,
}

impl Drop for State {
    fn drop(&mut self) {
        self.merge.leave_all();
    }
}

fn too_slow() -> CoreError {
    CoreError {
        code: tonic::Code::Unavailable,
        reason: proto::reason::Reason::TooSlow.to_string(),
        message: "the client reads too slowly: reconnect and resume with `after`".into(),
        violations: Vec::new(),
        retry_after: None,
        metadata: Vec::new(),
    }
}
