//! One client's subscriptions, merged into one seq order: the engine behind a realtime-edge
//! connection and behind a GraphQL `events` subscription.
//!
//! A subscription is authorized by core-svc with the client's own credentials
//! (`CheckSubscription`, which also refuses an `after` older than the retained log), attached to
//! its channel's shared upstream ([`Hub`]), and — when the client resumes with `after` — first
//! replayed from the log (`ListEvents`, with the client's credentials, a page at a time as the
//! client makes room) while the live feed is held back.
//!
//! **Order across channels.** Each subscription has a queue of events not yet handed over and a
//! watermark: every event of its channel up to the watermark is known (queued or handed over),
//! from events and core-svc's checkpoints. An event is handed over once its seq is at or below
//! every subscription's watermark, smallest seq first, and an event on two subscribed channels
//! goes once. A subscription still being authorized holds the others back (briefly); one
//! replaying `after` holds them at its replay's progress, so several channels resumed together
//! still merge into one order.
//!
//! The engine sends nothing itself: the edge feeds it its [`Inbound`] messages, turns each
//! [`Outcome`] into its protocol, takes events with [`Merge::next_event`] while its client has
//! room, and watches [`Merge::backlog`] to close a client that falls too far behind.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use metrics::Gauge;
use proto::v1::{self as pb, event_service_client::EventServiceClient};
use tokio::{sync::mpsc, task::AbortHandle};

use super::hub::{self, Credentials, Feed, FeedSink, Hub, SharedEvent, SubKey, Subscriber};
use crate::{CoreClient, CoreError};

/// Largest `ListEvents` page asked for when replaying `after`: events carry their resource's
/// before/after state (configs up to 64 KiB each), so pages stay well under
/// [`MAX_REPLAY_RESPONSE_BYTES`].
pub const MAX_REPLAY_PAGE: usize = 100;
/// Largest `ListEvents` answer decoded (tonic's default, 4 MiB, is 30 large events).
const MAX_REPLAY_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// Seqs remembered, by a client with several subscriptions, to hand over an event on several of
/// its channels only once even when a later subscription replays from before what was sent.
const RECENT_SEQS: usize = 512;

/// What a client's engine receives besides what the client itself says.
#[derive(Debug)]
pub enum Inbound {
    /// From the subscription's channel (see [`Feed`]).
    Feed(SubKey, Feed),
    /// core-svc's answer to `CheckSubscription` for a new subscription.
    Authorized(SubKey, Result<pb::CheckSubscriptionResponse, CoreError>),
    /// A page of an `after` replay.
    Replay(SubKey, Result<ReplayPage, CoreError>),
}

#[derive(Debug)]
pub struct ReplayPage {
    pub events: Vec<Arc<SharedEvent>>,
    pub done: bool,
}

/// The client's inbox, as its channels see it.
struct InboxSink(mpsc::UnboundedSender<Inbound>);

impl FeedSink for InboxSink {
    fn feed(&self, key: SubKey, feed: Feed) -> bool {
        self.0.send(Inbound::Feed(key, feed)).is_ok()
    }
}

/// Whether the client can take a replay page now: `Some(true)` yes, `Some(false)` not yet,
/// `None` it is gone (the replay stops).
pub type Room = Arc<dyn Fn() -> Option<bool> + Send + Sync>;

/// What became of a subscription.
#[derive(Debug)]
pub enum Outcome {
    /// Authorized and attached: live from `start` (after the replay of `after`, if given).
    Subscribed { channel: String, id: Option<String>, start: i64 },
    /// Refused, or access lost since: over, nothing more comes.
    Ended { channel: String, id: Option<String>, error: CoreError },
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Phase {
    /// Waiting for core-svc's `CheckSubscription`, then for the channel to attach it.
    Authorizing,
    /// Fetching `after` from the log; live feed buffered meanwhile.
    Replaying,
    Live,
}

struct Subscription {
    key: SubKey,
    id: Option<String>,
    phase: Phase,
    after: Option<i64>,
    /// Where the live feed starts (the answer's seq).
    start: i64,
    /// Every event of the channel up to here is known (queued or handed over).
    watermark: i64,
    /// Highest seq queued or handed over on this subscription.
    high: i64,
    queue: VecDeque<Arc<SharedEvent>>,
    /// This subscription's queue length, read by its replay task for back-pressure.
    queued: Arc<AtomicUsize>,
    live_buffer: Vec<Feed>,
    replay: Option<AbortHandle>,
    counted: bool,
}

impl Subscription {
    fn push(&mut self, e: Arc<SharedEvent>) {
        if e.seq > self.high {
            self.high = e.seq;
            self.watermark = self.watermark.max(e.seq);
            self.queue.push_back(e);
            self.queued.store(self.queue.len(), Ordering::Relaxed);
        }
    }

    /// Where this subscription holds the others back.
    fn hold_point(&self) -> i64 {
        match (&self.phase, self.after) {
            (Phase::Authorizing, Some(after)) => after,
            (Phase::Authorizing, None) => i64::MIN,
            _ => self.watermark,
        }
    }
}

/// One client's subscriptions, by channel.
pub struct Merge {
    core: CoreClient,
    hub: Hub,
    creds: Credentials,
    inbox: mpsc::UnboundedSender<Inbound>,
    room: Room,
    /// Replay page size: the client's outbound queue, at most [`MAX_REPLAY_PAGE`].
    replay_page: usize,
    /// Active subscriptions of the edge (its own metric).
    subscriptions: Gauge,
    subs: HashMap<String, Subscription>,
    by_key: HashMap<SubKey, String>,
    /// Highest seq handed over: events leave in seq order, so the second copy of an event on
    /// two subscribed channels is the one equal to it.
    last_sent: i64,
    /// Seqs handed over lately, kept once the client has several subscriptions (a replay from
    /// below `last_sent` may meet them again).
    recent: VecDeque<i64>,
}

impl Merge {
    /// `inbox` is where the edge receives this client's [`Inbound`]s; `room` tells replays when
    /// the client can take more; `replay_page` is how many events a replay page holds.
    pub fn new(
        core: CoreClient,
        hub: Hub,
        creds: Credentials,
        inbox: mpsc::UnboundedSender<Inbound>,
        room: Room,
        replay_page: usize,
        subscriptions: Gauge,
    ) -> Self {
        Self {
            core,
            hub,
            creds,
            inbox,
            room,
            replay_page: replay_page.clamp(1, MAX_REPLAY_PAGE),
            subscriptions,
            subs: HashMap::new(),
            by_key: HashMap::new(),
            last_sent: i64::MIN,
            recent: VecDeque::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.subs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.subs.is_empty()
    }

    pub fn contains(&self, channel: &str) -> bool {
        self.subs.contains_key(channel)
    }

    /// Starts a subscription: core-svc is asked with the client's credentials (the answer
    /// arrives as [`Inbound::Authorized`]). The caller checks its own limits first.
    pub fn subscribe(&mut self, id: Option<String>, channel: String, after: Option<i64>) {
        let key = hub::next_key();
        let (core, ctx, inbox, name) = (self.core.clone(), self.creds.snapshot(), self.inbox.clone(), channel.clone());
        tokio::spawn(async move {
            let result = hub::check_subscription(&core, &ctx, &name, after).await;
            let _ = inbox.send(Inbound::Authorized(key, result));
        });
        self.insert(key, id, channel, after);
    }

    fn insert(&mut self, key: SubKey, id: Option<String>, channel: String, after: Option<i64>) {
        self.by_key.insert(key, channel.clone());
        self.subs.insert(
            channel,
            Subscription {
                key,
                id,
                phase: Phase::Authorizing,
                after,
                start: 0,
                watermark: i64::MIN,
                high: i64::MIN,
                queue: VecDeque::new(),
                queued: Arc::new(AtomicUsize::new(0)),
                live_buffer: Vec::new(),
                replay: None,
                counted: false,
            },
        );
    }

    /// Forgets a subscription (and detaches it from its channel). False when there was none.
    pub fn unsubscribe(&mut self, channel: &str) -> bool {
        let Some(sub) = self.subs.remove(channel) else { return false };
        self.by_key.remove(&sub.key);
        self.hub.detach(channel, sub.key);
        if let Some(replay) = &sub.replay {
            replay.abort();
        }
        if sub.counted {
            self.subscriptions.decrement(1.0);
        }
        true
    }

    /// Ends every subscription (the client left).
    pub fn leave_all(&mut self) {
        let channels: Vec<String> = self.subs.keys().cloned().collect();
        for channel in channels {
            self.unsubscribe(&channel);
        }
    }

    /// Applies one inbound message. The caller then hands over what [`Merge::next_event`]
    /// releases and checks [`Merge::backlog`].
    pub fn on_inbound(&mut self, inbound: Inbound) -> Option<Outcome> {
        let key = match &inbound {
            Inbound::Feed(key, _) | Inbound::Authorized(key, _) | Inbound::Replay(key, _) => *key,
        };
        // None: unsubscribed meanwhile.
        let channel = self.by_key.get(&key).cloned()?;
        match inbound {
            Inbound::Authorized(_, Ok(answer)) => {
                let sub = Subscriber {
                    key,
                    user_id: answer.user_id,
                    creds: self.creds.clone(),
                    tx: Arc::new(InboxSink(self.inbox.clone())),
                    min_start: answer.latest_seq,
                };
                self.hub.attach(&channel, sub);
                None
            }
            Inbound::Authorized(_, Err(error))
            | Inbound::Replay(_, Err(error))
            | Inbound::Feed(_, Feed::Ended(error)) => {
                let id = self.subs.get(&channel).and_then(|s| s.id.clone());
                self.unsubscribe(&channel);
                Some(Outcome::Ended { channel, id, error })
            }
            Inbound::Feed(_, Feed::Attached { start }) => Some(self.on_attached(channel, start)),
            Inbound::Feed(_, feed) => {
                let sub = self.subs.get_mut(&channel).unwrap_or_else(|| unreachable!("by_key and subs agree"));
                if sub.phase == Phase::Replaying {
                    sub.live_buffer.push(feed);
                } else {
                    apply(sub, feed);
                }
                None
            }
            Inbound::Replay(_, Ok(page)) => {
                let sub = self.subs.get_mut(&channel).unwrap_or_else(|| unreachable!("by_key and subs agree"));
                let after = sub.after.unwrap_or(0);
                for e in page.events {
                    sub.push(e);
                }
                sub.watermark = sub.watermark.max(after);
                if page.done {
                    sub.watermark = sub.watermark.max(sub.start);
                    sub.high = sub.high.max(sub.start);
                    sub.phase = Phase::Live;
                    sub.replay = None;
                    for feed in std::mem::take(&mut sub.live_buffer) {
                        apply(sub, feed);
                    }
                }
                None
            }
        }
    }

    fn on_attached(&mut self, channel: String, start: i64) -> Outcome {
        let sub = self.subs.get_mut(&channel).unwrap_or_else(|| unreachable!("by_key and subs agree"));
        sub.start = start;
        sub.counted = true;
        self.subscriptions.increment(1.0);
        match sub.after {
            Some(after) if after < start => {
                sub.phase = Phase::Replaying;
                sub.watermark = after;
                sub.high = after;
                let task = tokio::spawn(replay(ReplayJob {
                    core: self.core.clone(),
                    creds: self.creds.clone(),
                    channel: channel.clone(),
                    after,
                    until: start,
                    page_size: self.replay_page,
                    key: sub.key,
                    queued: sub.queued.clone(),
                    inbox: self.inbox.clone(),
                    room: self.room.clone(),
                }));
                sub.replay = Some(task.abort_handle());
            }
            after => {
                sub.phase = Phase::Live;
                let from = after.unwrap_or(start).max(start);
                sub.watermark = from;
                sub.high = from;
            }
        }
        Outcome::Subscribed { id: sub.id.clone(), channel, start }
    }

    /// The next event that may leave (smallest seq first, each once), with its channel.
    pub fn next_event(&mut self) -> Option<(String, Arc<SharedEvent>)> {
        loop {
            let channel = self.next_releasable()?.to_owned();
            let sub = self.subs.get_mut(&channel).unwrap_or_else(|| unreachable!("released from a subscription"));
            let e = sub.queue.pop_front()?;
            sub.queued.store(sub.queue.len(), Ordering::Relaxed);
            if e.seq == self.last_sent || (e.seq < self.last_sent && self.recent.contains(&e.seq)) {
                continue;
            }
            self.last_sent = self.last_sent.max(e.seq);
            if self.subs.len() > 1 || !self.recent.is_empty() {
                if self.recent.len() == RECENT_SEQS {
                    self.recent.pop_front();
                }
                self.recent.push_back(e.seq);
            }
            return Some((channel, e));
        }
    }

    /// The subscription whose queue's first event may leave now, if any.
    fn next_releasable(&self) -> Option<&str> {
        let hold = self.subs.values().map(Subscription::hold_point).min()?;
        self.subs
            .iter()
            .filter_map(|(channel, sub)| sub.queue.front().map(|e| (e.seq, channel)))
            .filter(|(seq, _)| *seq <= hold)
            .min()
            .map(|(_, channel)| channel.as_str())
    }

    /// Events waiting here, not yet handed over: the edge closes a client whose backlog passes
    /// its limit (it resumes with `after`).
    pub fn backlog(&self) -> usize {
        self.subs.values().map(|s| s.queue.len() + s.live_buffer.len()).sum()
    }

    /// Whether an event may leave now (the edge waits for room in its outbound queue then).
    pub fn has_ready(&self) -> bool {
        self.next_releasable().is_some()
    }

    /// The phase of the subscription to `channel` (tests).
    pub fn phase(&self, channel: &str) -> Option<Phase> {
        self.subs.get(channel).map(|s| s.phase)
    }
}

/// Applies a live feed item to a subscription that is not replaying.
fn apply(sub: &mut Subscription, feed: Feed) {
    match feed {
        Feed::Event(e) => sub.push(e),
        Feed::Checkpoint(seq) => sub.watermark = sub.watermark.max(seq),
        Feed::Attached { .. } | Feed::Ended(_) => {}
    }
}

struct ReplayJob {
    core: CoreClient,
    creds: Credentials,
    channel: String,
    after: i64,
    until: i64,
    page_size: usize,
    key: SubKey,
    queued: Arc<AtomicUsize>,
    inbox: mpsc::UnboundedSender<Inbound>,
    room: Room,
}

/// Replays `channel` after `after` up to `until` from the log, with the client's credentials, a
/// page at a time, waiting for the previous page to drain.
async fn replay(job: ReplayJob) {
    // `admin` carries every event, and an admin's unfiltered log is exactly that: no channel filter.
    let range = format!("seq > {} AND seq <= {}", job.after, job.until);
    let filter = match job.channel.as_str() {
        "admin" => range,
        channel => format!("channel = {} AND {range}", filter_literal(channel)),
    };
    let mut client = EventServiceClient::new(job.core.channel()).max_decoding_message_size(MAX_REPLAY_RESPONSE_BYTES);
    let mut page_token = String::new();
    loop {
        loop {
            match (job.room)() {
                None => return,
                Some(true) if job.queued.load(Ordering::Relaxed) <= job.page_size / 4 => break,
                Some(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
        let request = pb::ListEventsRequest {
            page_size: i32::try_from(job.page_size).unwrap_or(1000),
            page_token: std::mem::take(&mut page_token),
            filter: filter.clone(),
            order_by: "seq".into(),
            skip: 0,
        };
        let page = match client.list_events(job.creds.snapshot().request(request)).await {
            Ok(r) => r.into_inner(),
            Err(status) => {
                let _ = job.inbox.send(Inbound::Replay(job.key, Err(CoreError::from(status))));
                return;
            }
        };
        let done = page.next_page_token.is_empty() || page.events.is_empty();
        let events = page.events.into_iter().map(|e| Arc::new(SharedEvent::new(e))).collect();
        if job.inbox.send(Inbound::Replay(job.key, Ok(ReplayPage { events, done }))).is_err() || done {
            return;
        }
        page_token = page.next_page_token;
    }
}

/// A string literal of core-svc's filter language: `"…"` with `\` and `"` escaped.
pub use proto::filter::literal as filter_literal;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{CallContext, RequestId};

    fn merge() -> (Merge, mpsc::UnboundedReceiver<Inbound>) {
        let core = CoreClient::connect_lazy(&"http://127.0.0.1:9".parse().unwrap(), Duration::from_secs(1));
        let (inbox, inbox_rx) = mpsc::unbounded_channel();
        let ctx = CallContext { bearer: None, request_id: RequestId::generate(), client_addr: None, deadline: None };
        let hub = Hub::new(core.clone(), Gauge::noop());
        let room: Room = Arc::new(|| Some(true));
        (Merge::new(core, hub, Credentials::new(ctx), inbox, room, 64, Gauge::noop()), inbox_rx)
    }

    /// Subscribes `channel` as key `key` and attaches it at `start` (no core-svc involved).
    pub(crate) fn attach(m: &mut Merge, key: SubKey, channel: &str, after: Option<i64>, start: i64) {
        m.insert(key, None, channel.into(), after);
        assert!(matches!(m.on_inbound(Inbound::Feed(key, Feed::Attached { start })), Some(Outcome::Subscribed { .. })));
        if let Some(replay) = &m.subs[channel].replay {
            // Tests feed replay pages by hand.
            replay.abort();
        }
    }

    fn event(seq: i64) -> Feed {
        Feed::Event(Arc::new(SharedEvent::new(pb::Event { seq, ..Default::default() })))
    }

    fn drain(m: &mut Merge) -> Vec<(String, i64)> {
        std::iter::from_fn(|| m.next_event()).map(|(c, e)| (c, e.seq)).collect()
    }

    #[tokio::test]
    async fn channels_merge_by_checkpoints_into_one_order_without_duplicates() {
        let (mut m, _inbox) = merge();
        attach(&mut m, 1, "a", None, 10);
        attach(&mut m, 2, "b", None, 10);
        // 12 on a: b has only reached 10, so it waits.
        m.on_inbound(Inbound::Feed(1, event(12)));
        assert_eq!(drain(&mut m), vec![]);
        // 11 on b releases 11, not yet 12 (b is known up to 11 only).
        m.on_inbound(Inbound::Feed(2, event(11)));
        assert_eq!(drain(&mut m), vec![("b".into(), 11)]);
        // 14 on both channels; b's checkpoint 13 releases 12.
        m.on_inbound(Inbound::Feed(1, event(14)));
        m.on_inbound(Inbound::Feed(2, Feed::Checkpoint(13)));
        assert_eq!(drain(&mut m), vec![("a".into(), 12)]);
        m.on_inbound(Inbound::Feed(2, event(14)));
        assert_eq!(drain(&mut m), vec![("a".into(), 14)], "14 goes out once");
        // Unsubscribing b unblocks a at once.
        m.on_inbound(Inbound::Feed(1, event(20)));
        assert_eq!(drain(&mut m), vec![]);
        assert!(m.unsubscribe("b"));
        assert_eq!(drain(&mut m), vec![("a".into(), 20)]);
    }

    #[tokio::test]
    async fn a_replay_then_the_buffered_live_feed_without_gap_or_duplicate() {
        let (mut m, _inbox) = merge();
        attach(&mut m, 1, "a", Some(3), 8);
        assert_eq!(m.phase("a"), Some(Phase::Replaying));
        // Live events arrive during the replay: buffered.
        m.on_inbound(Inbound::Feed(1, event(9)));
        m.on_inbound(Inbound::Feed(1, event(10)));
        assert_eq!(drain(&mut m), vec![]);
        let page = |seqs: &[i64], done| ReplayPage {
            events: seqs
                .iter()
                .map(|&seq| Arc::new(SharedEvent::new(pb::Event { seq, ..Default::default() })))
                .collect(),
            done,
        };
        m.on_inbound(Inbound::Replay(1, Ok(page(&[4, 6], false))));
        assert_eq!(drain(&mut m), vec![("a".into(), 4), ("a".into(), 6)]);
        m.on_inbound(Inbound::Replay(1, Ok(page(&[8], true))));
        assert_eq!(drain(&mut m), vec![("a".into(), 8), ("a".into(), 9), ("a".into(), 10)]);
        assert_eq!(m.phase("a"), Some(Phase::Live));
    }

    #[test]
    fn filter_literals_escape_quotes_and_backslashes() {
        assert_eq!(filter_literal(r#"project:a"b\c"#), r#""project:a\"b\\c""#);
    }
}
