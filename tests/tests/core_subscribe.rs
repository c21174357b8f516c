//! `EventService.Subscribe` and `CheckSubscription` against a real core-svc: replay then live
//! with no gap and no duplicate at the seam, resumption under concurrent writers, access
//! checks at subscribe time and when access is taken away, several replicas, shutdown.

use proto::Services as _;
use std::{collections::BTreeSet, time::Duration};

use proto::v1::{self as pb, subscribe_response::Message};
use tests::{CoreOptions, TestCore, authed, expect_code, spawn_core, spawn_core_with, value, violation_fields};
use tokio::time::{Instant, timeout};
use tonic::{Code, Status, Streaming};

const WAIT: Duration = Duration::from_secs(20);

/// A subscription and what it has delivered so far.
struct Sub {
    stream: Streaming<pb::SubscribeResponse>,
    latest_seq: i64,
    events: Vec<pb::Event>,
    checkpoint: i64,
    access_changes: Vec<pb::AccessChange>,
}

impl Sub {
    async fn open(core: &TestCore, token: &str, channels: &[&str], after_seq: Option<i64>) -> Result<Sub, Status> {
        let req = pb::SubscribeRequest { channels: channels.iter().map(|c| c.to_string()).collect(), after_seq };
        let mut stream = core.events().subscribe(authed(req, token)).await?.into_inner();
        let first = timeout(WAIT, stream.message()).await.expect("ready in time")?;
        let Some(pb::SubscribeResponse { message: Some(Message::Ready(ready)) }) = first else {
            panic!("the first message must be `ready`, got {first:?}");
        };
        Ok(Sub { stream, latest_seq: ready.latest_seq, events: vec![], checkpoint: 0, access_changes: vec![] })
    }

    /// Reads one message; Err when the stream ended with a status, Ok(false) when it ended cleanly.
    async fn next(&mut self) -> Result<bool, Status> {
        match self.stream.message().await? {
            None => Ok(false),
            Some(pb::SubscribeResponse { message }) => {
                match message.expect("a message") {
                    Message::Event(e) => {
                        if let Some(last) = self.events.last() {
                            assert!(e.seq > last.seq, "seq must increase: {} after {}", e.seq, last.seq);
                        }
                        self.events.push(e);
                    }
                    Message::Checkpoint(c) => {
                        assert!(c.seq >= self.checkpoint, "checkpoints never go back");
                        self.checkpoint = c.seq;
                    }
                    Message::AccessChange(a) => self.access_changes.push(a),
                    Message::Ready(_) => panic!("`ready` comes once, first"),
                }
                Ok(true)
            }
        }
    }

    /// Reads until the stream has reported progress up to `seq` (an event or checkpoint).
    async fn until_seq(&mut self, seq: i64) {
        let deadline = Instant::now() + WAIT;
        while self.checkpoint < seq && self.events.last().is_none_or(|e| e.seq < seq) {
            let left = deadline.saturating_duration_since(Instant::now());
            match timeout(left, self.next()).await {
                Ok(Ok(true)) => {}
                other => panic!("stream stopped before seq {seq} (at {}): {other:?}", self.checkpoint),
            }
        }
    }

    /// Reads until the stream ends with an error status, and returns it.
    async fn until_error(&mut self) -> Status {
        loop {
            match timeout(WAIT, self.next()).await.expect("the stream ends in time") {
                Ok(true) => {}
                Ok(false) => panic!("the stream ended without a status"),
                Err(s) => return s,
            }
        }
    }

    fn seqs(&self) -> Vec<i64> {
        self.events.iter().map(|e| e.seq).collect()
    }
}

async fn set(core: &TestCore, token: &str, project_id: &str, key: &str, v: serde_json::Value) {
    core.configs()
        .set_config(authed(
            pb::SetConfigRequest {
                project_id: project_id.into(),
                key: key.into(),
                value: Some(value(v)),
                ..Default::default()
            },
            token,
        ))
        .await
        .expect("set config");
}

/// Every sequenced event on `channel` after `after`, from the log (admin view), in seq order.
async fn log(core: &TestCore, admin: &str, channel: &str, after: i64) -> Vec<pb::Event> {
    let mut out = vec![];
    let mut page_token = String::new();
    loop {
        let r = core
            .events()
            .list_events(authed(
                pb::ListEventsRequest {
                    filter: format!("channel = \"{channel}\" AND seq > {after}"),
                    page_size: 200,
                    page_token,
                    order_by: "seq".into(),
                    ..Default::default()
                },
                admin,
            ))
            .await
            .expect("list events")
            .into_inner();
        out.extend(r.events);
        if r.next_page_token.is_empty() {
            return out;
        }
        page_token = r.next_page_token;
    }
}

/// The latest sequenced seq, waiting until the relay has numbered everything written so far.
async fn settled_head(core: &TestCore) -> i64 {
    let mut db = core.db().await;
    let deadline = Instant::now() + WAIT;
    loop {
        let (unsequenced, head): (i64, Option<i64>) =
            sqlx::query_as("SELECT count(*) FILTER (WHERE seq IS NULL), max(seq) FROM events")
                .fetch_one(&mut db)
                .await
                .unwrap();
        if unsequenced == 0 {
            return head.unwrap_or(0);
        }
        assert!(Instant::now() < deadline, "the relay did not sequence the events");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn replay_then_live_without_gap_or_duplicate_at_the_seam() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let project = core.project(&admin, "feed").await;
    let channel = format!("project:{}", project.id);
    for i in 0..30 {
        set(&core, &admin, &project.id, &format!("before.{i}"), serde_json::json!(i)).await;
    }
    // Writers keep going while the subscription replays, so the seam is crossed under load.
    let writer = {
        let (core_url, admin, pid) = (core.url(), admin.clone(), project.id.clone());
        tokio::spawn(async move {
            let channel = tonic::transport::Channel::from_shared(core_url).unwrap().connect_lazy();
            let mut configs = pb::config_service_client::ConfigServiceClient::new(channel);
            for i in 0..60 {
                configs
                    .set_config(authed(
                        pb::SetConfigRequest {
                            project_id: pid.clone(),
                            key: format!("during.{i}"),
                            value: Some(value(serde_json::json!(i))),
                            ..Default::default()
                        },
                        &admin,
                    ))
                    .await
                    .expect("set config");
            }
        })
    };
    let mut sub = Sub::open(&core, &admin, &[&channel], Some(0)).await.unwrap();
    writer.await.unwrap();
    let head = settled_head(&core).await;
    sub.until_seq(head).await;
    let expected: Vec<i64> = log(&core, &admin, &channel, 0).await.iter().map(|e| e.seq).collect();
    assert_eq!(expected.len(), 91, "project.created + 30 + 60 config.set");
    assert_eq!(sub.seqs(), expected, "exactly the log, in order");

    // Resuming after a seq in the middle gives exactly the rest.
    let middle = expected[40];
    let mut resumed = Sub::open(&core, &admin, &[&channel], Some(middle)).await.unwrap();
    resumed.until_seq(head).await;
    assert_eq!(resumed.seqs(), expected[41..].to_vec());

    // Without `after`, a subscription starts at the latest seq and gets only what follows.
    let mut live = Sub::open(&core, &admin, &[&channel], None).await.unwrap();
    assert_eq!(live.latest_seq, head);
    set(&core, &admin, &project.id, "after", serde_json::json!(true)).await;
    let head = settled_head(&core).await;
    live.until_seq(head).await;
    assert_eq!(live.events.len(), 1);
    assert_eq!(live.events[0].r#type, "config.set");
    assert_eq!(live.events[0].channel, channel);
}

/// Config writes per writer task (8 writers, half of them on the followed project).
const WRITES: usize = 500;

#[tokio::test]
async fn resuming_subscribers_under_concurrent_writers_see_exactly_the_log() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let projects = [core.project(&admin, "hot-a").await, core.project(&admin, "hot-b").await];
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (url, admin, pid) = (core.url(), admin.clone(), projects[w % 2].id.clone());
            tokio::spawn(async move {
                let channel = tonic::transport::Channel::from_shared(url).unwrap().connect_lazy();
                let mut configs = pb::config_service_client::ConfigServiceClient::new(channel);
                for i in 0..WRITES {
                    configs
                        .set_config(authed(
                            pb::SetConfigRequest {
                                project_id: pid.clone(),
                                key: format!("w{w}.k{}", i % 7),
                                value: Some(value(serde_json::json!(i))),
                                ..Default::default()
                            },
                            &admin,
                        ))
                        .await
                        .expect("set config");
                }
            })
        })
        .collect();
    // Subscribers follow project A, drop their stream every few events and resume from the
    // last seq they saw, while the writers run; once the final head is known they read up to it.
    let channel = format!("project:{}", projects[0].id);
    let (final_tx, final_rx) = tokio::sync::watch::channel(None::<i64>);
    let subscribers: Vec<_> = (0..4usize)
        .map(|s| {
            let (url, admin, channel, final_head) = (core.url(), admin.clone(), channel.clone(), final_rx.clone());
            tokio::spawn(async move {
                let client = tonic::transport::Channel::from_shared(url).unwrap().connect_lazy();
                let mut events = pb::event_service_client::EventServiceClient::new(client);
                let mut seen: Vec<i64> = vec![];
                let mut reconnects = 0usize;
                let deadline = Instant::now() + Duration::from_secs(90);
                loop {
                    assert!(Instant::now() < deadline, "subscriber {s} did not reach the end");
                    let after = seen.last().copied().unwrap_or(0);
                    let req = pb::SubscribeRequest { channels: vec![channel.clone()], after_seq: Some(after) };
                    let mut stream = events.subscribe(authed(req, &admin)).await.unwrap().into_inner();
                    reconnects += 1;
                    let budget = 3 + (s + reconnects) % 5;
                    let mut got = 0;
                    let mut position = after;
                    while let Ok(Ok(Some(m))) = timeout(Duration::from_millis(500), stream.message()).await {
                        match m.message.unwrap() {
                            Message::Event(e) => {
                                assert!(seen.last().is_none_or(|l| e.seq > *l), "in order, no duplicate");
                                seen.push(e.seq);
                                position = e.seq;
                                got += 1;
                            }
                            Message::Checkpoint(c) => position = c.seq,
                            _ => {}
                        }
                        if let Some(end) = *final_head.borrow()
                            && position >= end
                        {
                            return (seen, reconnects);
                        }
                        if got == budget {
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let head = settled_head(&core).await;
    final_tx.send_replace(Some(head));
    let expected: Vec<i64> = log(&core, &admin, &channel, 0).await.iter().map(|e| e.seq).collect();
    assert_eq!(expected.len(), 1 + 4 * WRITES);
    for s in subscribers {
        let (seen, reconnects) = s.await.unwrap();
        assert!(reconnects > 10, "the subscriber resumed many times ({reconnects})");
        assert_eq!(seen, expected, "a resuming subscriber ends with exactly the log");
    }
}

#[tokio::test]
async fn an_event_on_several_subscribed_channels_comes_once() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (member, _) = core.user(&admin, "member").await;
    let project = core.project(&admin, "both").await;
    let channels = [format!("project:{}", project.id), format!("user:{}", member.id), "admin".to_string()];
    let channels: Vec<&str> = channels.iter().map(String::as_str).collect();
    // A subscription without `after` starts at the latest *sequenced* event: wait for the
    // relay, or project.created (committed but not numbered yet) would count as new.
    settled_head(&core).await;
    let mut sub = Sub::open(&core, &admin, &channels, None).await.unwrap();
    core.add_member(&admin, &project.id, &member.id, pb::MemberRole::Viewer).await;
    let head = settled_head(&core).await;
    sub.until_seq(head).await;
    assert_eq!(sub.events.len(), 1, "member.added is on all three channels, delivered once: {:?}", sub.events);
    assert_eq!(sub.events[0].r#type, "member.added");
}

#[tokio::test]
async fn access_is_checked_at_subscribe_and_when_a_member_is_removed() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (owner, owner_token) = core.user(&admin, "owner").await;
    let (viewer, viewer_token) = core.user(&admin, "viewer").await;
    let (stranger, stranger_token) = core.user(&admin, "stranger").await;
    let project = core.project(&owner_token, "private").await;
    let channel = format!("project:{}", project.id);
    let membership = core.add_member(&owner_token, &project.id, &viewer.id, pb::MemberRole::Viewer).await;

    expect_code(Sub::open(&core, &stranger_token, &[&channel], None).await.map(|_| ()), Code::NotFound, None);
    expect_code(Sub::open(&core, &viewer_token, &["admin"], None).await.map(|_| ()), Code::PermissionDenied, None);
    let other_user = format!("user:{}", owner.id);
    expect_code(Sub::open(&core, &viewer_token, &[&other_user], None).await.map(|_| ()), Code::PermissionDenied, None);
    expect_code(Sub::open(&core, "not-a-token", &["system"], None).await.map(|_| ()), Code::Unauthenticated, None);
    let check = core
        .events()
        .check_subscription(authed(
            pb::CheckSubscriptionRequest { channels: vec![channel.clone()], after_seq: None },
            &viewer_token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(check.user_id, viewer.id);
    expect_code(
        core.events()
            .check_subscription(authed(
                pb::CheckSubscriptionRequest { channels: vec![channel.clone()], after_seq: None },
                &stranger_token,
            ))
            .await,
        Code::NotFound,
        None,
    );
    let _ = stranger;

    settled_head(&core).await;
    let mut viewer_sub = Sub::open(&core, &viewer_token, &[&channel], None).await.unwrap();
    let mut owner_sub = Sub::open(&core, &owner_token, &[&channel], None).await.unwrap();
    // An unrelated stream sees the access change too (so an edge can re-check its clients).
    let mut system_sub = Sub::open(&core, &admin, &["system"], None).await.unwrap();
    core.members()
        .remove_member(authed(
            pb::RemoveMemberRequest { id: membership.id.clone(), ..Default::default() },
            &owner_token,
        ))
        .await
        .expect("remove member");
    let status = viewer_sub.until_error().await;
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert_eq!(viewer_sub.events.last().map(|e| e.r#type.as_str()), Some("member.removed"));

    set(&core, &owner_token, &project.id, "still", serde_json::json!("here")).await;
    let head = settled_head(&core).await;
    owner_sub.until_seq(head).await;
    let types: Vec<&str> = owner_sub.events.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(types, ["member.removed", "config.set"], "the owner keeps receiving");
    system_sub.until_seq(head).await;
    assert!(system_sub.events.is_empty());
    assert!(
        system_sub.access_changes.iter().any(|a| a.channel == channel && a.user_id == viewer.id),
        "{:?}",
        system_sub.access_changes
    );

    // Disabling a user ends their streams.
    let mut owner_system = Sub::open(&core, &owner_token, &["system"], None).await.unwrap();
    core.users()
        .update_user(authed(
            pb::UpdateUserRequest {
                user: Some(pb::User {
                    id: owner.id.clone(),
                    status: pb::UserStatus::Disabled as i32,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["status".into()] }),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("disable user");
    assert_eq!(owner_system.until_error().await.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn bad_subscriptions_are_invalid_argument() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let cases: [(Vec<String>, Option<i64>, &str); 5] = [
        (vec![], None, "channels"),
        (vec!["project:not-a-uuid".into()], None, "channels[0]"),
        (vec!["system".into(), "everything".into()], None, "channels[1]"),
        ((0..101).map(|_| "system".to_string()).collect(), None, "channels"),
        (vec!["system".into()], Some(-1), "after_seq"),
    ];
    for (channels, after_seq, field) in cases {
        let r = core.events().subscribe(authed(pb::SubscribeRequest { channels, after_seq }, &admin)).await;
        let status = expect_code(r.map(|_| ()), Code::InvalidArgument, None);
        assert!(violation_fields(&status).contains(&field.to_string()), "{field}: {status:?}");
    }
}

#[tokio::test]
async fn a_write_through_one_replica_reaches_subscribers_of_another() {
    let a = spawn_core().await;
    let b = spawn_core_with(CoreOptions { database_url: Some(a.database_url.clone()), ..Default::default() }).await;
    let admin = a.admin_token().await;
    let project = a.project(&admin, "replicas").await;
    let channel = format!("project:{}", project.id);
    settled_head(&a).await;
    let mut on_b = Sub::open(&b, &admin, &[&channel], None).await.unwrap();
    let mut on_a = Sub::open(&a, &admin, &[&channel], None).await.unwrap();
    for i in 0..20 {
        let via = if i % 2 == 0 { &a } else { &b };
        set(via, &admin, &project.id, &format!("k{i}"), serde_json::json!(i)).await;
    }
    let head = settled_head(&a).await;
    on_a.until_seq(head).await;
    on_b.until_seq(head).await;
    assert_eq!(on_a.events.len(), 20);
    assert_eq!(on_a.seqs(), on_b.seqs(), "both replicas deliver the same events in the same order");
    b.stop().await;
}

#[tokio::test]
async fn delivery_does_not_need_redis() {
    // Redis is for caches and queues; the feed is PostgreSQL only, so an unreachable Redis
    // loses nothing.
    let core =
        spawn_core_with(CoreOptions { redis_url: Some("redis://127.0.0.1:1".into()), ..Default::default() }).await;
    let admin = core.admin_token().await;
    let project = core.project(&admin, "no-redis").await;
    let channel = format!("project:{}", project.id);
    let mut sub = Sub::open(&core, &admin, &[&channel], Some(0)).await.unwrap();
    set(&core, &admin, &project.id, "k", serde_json::json!(1)).await;
    let head = settled_head(&core).await;
    sub.until_seq(head).await;
    let types: BTreeSet<&str> = sub.events.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(types, BTreeSet::from(["project.created", "config.set"]));
}

#[tokio::test]
async fn shutdown_ends_streams_with_unavailable_promptly() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let mut sub = Sub::open(&core, &admin, &["system"], None).await.unwrap();
    let started = Instant::now();
    let stopping = tokio::spawn(core.stop());
    let status = sub.until_error().await;
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    stopping.await.unwrap();
    // Well under the 5 s grace period: the drain did not wait for the stream to time out.
    assert!(started.elapsed() < Duration::from_secs(4), "drained in {:?}", started.elapsed());
}

#[tokio::test]
async fn a_stalled_subscriber_loses_nothing() {
    // The client stops reading while 1,000 events are written: core-svc must neither buffer
    // without bound nor drop events. The stream falls behind the broadcast and later catches
    // up from the log.
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let project = core.project(&admin, "stalled").await;
    let channel = format!("project:{}", project.id);
    settled_head(&core).await;
    let mut sub = Sub::open(&core, &admin, &[&channel], None).await.unwrap();
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (url, admin, pid) = (core.url(), admin.clone(), project.id.clone());
            tokio::spawn(async move {
                let channel = tonic::transport::Channel::from_shared(url).unwrap().connect_lazy();
                let mut configs = pb::config_service_client::ConfigServiceClient::new(channel);
                for i in 0..500 {
                    configs
                        .set_config(authed(
                            pb::SetConfigRequest {
                                project_id: pid.clone(),
                                key: format!("w{w}.k{i}"),
                                // ~8 KiB per event: 8 MB of backlog, more than the HTTP/2 windows hold.
                                value: Some(value(serde_json::json!("x".repeat(8000)))),
                                ..Default::default()
                            },
                            &admin,
                        ))
                        .await
                        .expect("set config");
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let head = settled_head(&core).await;
    sub.until_seq(head).await;
    let expected: Vec<i64> = log(&core, &admin, &channel, sub.latest_seq).await.iter().map(|e| e.seq).collect();
    assert_eq!(expected.len(), 1000);
    assert_eq!(sub.seqs(), expected);
    let metrics = reqwest::get(format!("http://{}/metrics", core.metrics_addr)).await.unwrap().text().await.unwrap();
    // Two writers commit one or two events per relay batch: far more batches than the
    // broadcast holds (256), so the stalled stream must have taken the catch-up path.
    let catch_ups: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("core_subscription_catch_ups_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    assert!(catch_ups >= 1.0, "the stream fell behind the broadcast and caught up from the log");
}

/// Resuming after a seq whose successors the log no longer holds (trimmed past retention) is a
/// distinct OUT_OF_RANGE naming the oldest retained seq, not a replay that silently starts later.
#[tokio::test]
async fn resuming_before_the_retained_log_is_out_of_range() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let project = core.project(&admin, "expired").await;
    let channel = format!("project:{}", project.id);
    for i in 0..6 {
        set(&core, &admin, &project.id, &format!("k{i}"), serde_json::json!(i)).await;
    }
    // project.created and the six config.set.
    let events = log_until(&core, &admin, &channel, 7).await;
    let (old, cut) = (events[1].seq, events[3].seq);
    // What retention does to old events.
    sqlx::query("DELETE FROM events WHERE seq < $1").bind(cut).execute(&mut core.db().await).await.unwrap();

    for r in [
        Sub::open(&core, &admin, &[&channel], Some(old)).await.map(|_| ()),
        core.events()
            .check_subscription(authed(
                pb::CheckSubscriptionRequest { channels: vec![channel.clone()], after_seq: Some(old) },
                &admin,
            ))
            .await
            .map(|_| ()),
    ] {
        let status = expect_code(r, Code::OutOfRange, Some("EVENTS_EXPIRED"));
        let info = tonic_types::StatusExt::get_error_details(&status).error_info().cloned().unwrap();
        assert_eq!(info.metadata["oldest_seq"], cut.to_string(), "{status:?}");
    }
    // Right at the edge of the retained log, and from the beginning of what is retained: fine.
    let mut sub = Sub::open(&core, &admin, &[&channel], Some(cut - 1)).await.unwrap();
    sub.until_seq(events.last().unwrap().seq).await;
    assert_eq!(sub.seqs(), events[3..].iter().map(|e| e.seq).collect::<Vec<_>>());
    Sub::open(&core, &admin, &[&channel], Some(0)).await.unwrap();
}

/// A stream ends when its credential expires (here an API token that lives two seconds), with
/// UNAUTHENTICATED TOKEN_EXPIRED; the client subscribes again with a fresh one and `after`.
#[tokio::test]
async fn a_stream_ends_when_its_credential_expires() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let expires = std::time::SystemTime::now() + Duration::from_secs(2);
    let expire_time = prost_types::Timestamp::from(expires);
    let token = core
        .auth()
        .create_api_token(authed(
            pb::CreateApiTokenRequest { name: "short".into(), expire_time: Some(expire_time) },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .token;
    let mut sub = Sub::open(&core, &token, &["system"], None).await.unwrap();
    let status = sub.until_error().await;
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let reason = tonic_types::StatusExt::get_error_details(&status).error_info().map(|i| i.reason.clone());
    assert_eq!(reason.as_deref(), Some("TOKEN_EXPIRED"));
    assert!(std::time::SystemTime::now() >= expires - Duration::from_millis(50), "not before the expiry");
}

/// Logging out ends that session's streams within moments, on every replica; another session of
/// the same user keeps its stream.
#[tokio::test]
async fn logout_ends_the_sessions_streams_at_once() {
    let core = spawn_core().await;
    let other_replica =
        spawn_core_with(CoreOptions { database_url: Some(core.database_url.clone()), ..Default::default() }).await;
    let admin = core.admin_token().await;
    let (user, _) = core.user(&admin, "leaver").await;
    let leaving = core.login(&user.email, tests::USER_PASSWORD).await.unwrap();
    let staying = core.login(&user.email, tests::USER_PASSWORD).await.unwrap();
    let channel = format!("user:{}", user.id);
    let mut on_this = Sub::open(&core, &tests::access_token(&leaving), &[&channel], None).await.unwrap();
    let mut on_other = Sub::open(&other_replica, &tests::access_token(&leaving), &[&channel], None).await.unwrap();
    let mut kept = Sub::open(&core, &tests::access_token(&staying), &[&channel], None).await.unwrap();

    let refresh = leaving.tokens.as_ref().unwrap().refresh_token.clone();
    core.auth().logout(pb::LogoutRequest { refresh_token: refresh }).await.unwrap();
    let logged_out = Instant::now();
    for sub in [&mut on_this, &mut on_other] {
        let status = sub.until_error().await;
        let reason = tonic_types::StatusExt::get_error_details(&status).error_info().map(|i| i.reason.clone());
        assert_eq!((status.code(), reason.as_deref()), (Code::Unauthenticated, Some("SESSION_REVOKED")));
    }
    let took = logged_out.elapsed();
    assert!(took < Duration::from_secs(2), "streams ended {took:?} after the logout");
    // The other session still follows the channel: it sees its own user's next event.
    core.users()
        .update_user(authed(
            pb::UpdateUserRequest {
                user: Some(pb::User { id: user.id.clone(), name: "Still here".into(), ..Default::default() }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["name".into()] }),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .unwrap();
    let deadline = Instant::now() + WAIT;
    while !kept.events.iter().any(|e| e.r#type == "user.updated") {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(matches!(timeout(left, kept.next()).await, Ok(Ok(true))), "the other session's stream ended");
    }
    assert!(kept.events.iter().any(|e| e.r#type == "session.revoked"), "the logout is in the user's log");
    other_replica.stop().await;
}

/// The log of `channel` once it holds at least `n` events.
async fn log_until(core: &TestCore, admin: &str, channel: &str, n: usize) -> Vec<pb::Event> {
    let deadline = Instant::now() + WAIT;
    loop {
        let events = log(core, admin, channel, 0).await;
        if events.len() >= n.max(1) {
            return events;
        }
        assert!(Instant::now() < deadline, "{channel} has {} events, not {n}", events.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
