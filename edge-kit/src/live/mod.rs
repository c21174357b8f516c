//! Live events for the edges that push them (realtime-edge's WebSocket, graphql-edge's
//! subscriptions), written once:
//!
//! - [`hub`]: one shared upstream `EventService.Subscribe` per channel per edge instance, fanned
//!   out to every local subscriber; carrier credentials, reopening with `after_seq`, re-checks
//!   of the affected subscribers on `access_change`.
//! - [`merge`]: one client's subscriptions merged into one seq order without duplicates, with
//!   `after` replayed from the log first.
//! - [`sockets`]: the socket's writer task with its bounded queue and urgent close, the client's
//!   token bucket, replay pacing, the live series and the count of open sockets.
//!
//! Invariant: the edge never decides access. core-svc authorizes every client with its own
//! credentials (`CheckSubscription`), and re-checks it when access may have changed; the shared
//! upstream only saves streams.

pub mod hub;
pub mod merge;
pub mod sockets;

pub use hub::{Credentials, Feed, FeedSink, Hub, SharedEvent, SubKey, Subscriber, check_subscription};
pub use merge::{Inbound, Merge, Outcome, Phase, ReplayPage, Room, filter_literal};
pub use sockets::{End, LiveMetrics, OpenSockets, Out, SocketGuard, TokenBucket};
