//! realtime-edge end to end: the real core-svc (PostgreSQL, Redis) and the WebSocket edge on
//! loopback, driven by a real WebSocket client (tokio-tungstenite). The rules: docs/PRODUCT.md §9
//! "WebSocket" and realtime-edge/PROTOCOL.md.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::SocketAddr,
    time::Duration,
};

use edge_kit::config::{CORE_GRPC_URL_VAR, Env};
use futures::{SinkExt, StreamExt};
use proto::Services as _;
use proto::v1 as pb;
use realtime_edge::{
    config::{AUTH_TIMEOUT_VAR, Config, LISTEN_ADDR_VAR, MAX_SUBSCRIPTIONS_VAR, PING_INTERVAL_VAR, SEND_QUEUE_VAR},
    startup::App,
};
use serde_json::{Value, json};
use tests::{CoreOptions, TestCore, authed, net::Proxy, spawn_core, spawn_core_with, value};
use tokio::{net::TcpStream, sync::oneshot, task::JoinHandle, time::Instant};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest},
};

/// Upper bound of any single wait; generous for a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Harness: an edge in front of a core, and a WebSocket client.

struct Edge {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Drop for Edge {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn spawn_edge(core: &TestCore, extra: &[(&str, &str)]) -> Edge {
    spawn_edge_to(&core.url(), extra).await
}

/// An edge talking to core-svc at `url` (a core, or a proxy in front of one).
async fn spawn_edge_to(url: &str, extra: &[(&str, &str)]) -> Edge {
    let mut vars = vec![(LISTEN_ADDR_VAR, "127.0.0.1:0"), (CORE_GRPC_URL_VAR, url)];
    vars.extend_from_slice(extra);
    let app = App::build(Config::from_vars(&Env::from_pairs(vars)).unwrap()).await.unwrap();
    let addr = app.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    Edge { addr, stop: Some(stop), task: Some(task) }
}

impl Edge {
    fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    async fn metrics(&self) -> String {
        reqwest::get(format!("http://{}/metrics", self.addr)).await.unwrap().text().await.unwrap()
    }

    async fn metric(&self, name: &str) -> f64 {
        let text = self.metrics().await;
        text.lines()
            .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
            .map_or(0.0, |v| v.trim().parse().unwrap())
    }

    /// Polls `/metrics` until `name` satisfies `ok`.
    async fn wait_metric(&self, name: &str, ok: impl Fn(f64) -> bool) -> f64 {
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self.metric(name).await;
            if ok(v) {
                return v;
            }
            assert!(Instant::now() < deadline, "{name} stuck at {v}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM: closes every socket with 1001 and stops.
    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            tokio::time::timeout(WAIT, t).await.expect("edge stops in time").unwrap().unwrap();
        }
    }
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct Client {
    ws: Ws,
    /// Event frames read while waiting for the answer to a subscribe, returned first by `recv`.
    pending: std::collections::VecDeque<Value>,
}

impl Client {
    /// Connects with `Authorization: Bearer` (or without credentials).
    async fn connect(edge: &Edge, token: Option<&str>) -> Client {
        let mut req = edge.url().into_client_request().unwrap();
        if let Some(token) = token {
            req.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(req).await.expect("websocket connects");
        Client { ws, pending: Default::default() }
    }

    /// Connects with a bearer header and waits for `authenticated`.
    async fn authed(edge: &Edge, token: &str) -> Client {
        let mut c = Self::connect(edge, Some(token)).await;
        let v = c.recv().await;
        assert_eq!(v["type"], "authenticated", "{v}");
        c
    }

    async fn send(&mut self, v: Value) {
        self.ws.send(Message::text(v.to_string())).await.unwrap();
    }

    async fn send_raw(&mut self, m: Message) {
        self.ws.send(m).await.unwrap();
    }

    /// The next text frame as JSON (pings and pongs skipped); panics on close or timeout.
    async fn recv(&mut self) -> Value {
        if let Some(v) = self.pending.pop_front() {
            return v;
        }
        self.read_frame().await
    }

    async fn read_frame(&mut self) -> Value {
        loop {
            let m = tokio::time::timeout(WAIT, self.ws.next()).await.expect("a frame in time");
            match m {
                Some(Ok(Message::Text(t))) => return serde_json::from_str(t.as_str()).unwrap(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Reads until a frame of `kind` (other frames must not be events or errors).
    async fn expect(&mut self, kind: &str) -> Value {
        let v = self.recv().await;
        assert_eq!(v["type"], kind, "{v}");
        v
    }

    /// Reads text frames until the server closes; returns the frames and the close code.
    async fn until_close(&mut self) -> (Vec<Value>, Option<u16>) {
        let mut frames: Vec<Value> = self.pending.drain(..).collect();
        loop {
            let m = tokio::time::timeout(WAIT, self.ws.next()).await.expect("close in time");
            match m {
                Some(Ok(Message::Text(t))) => frames.push(serde_json::from_str(t.as_str()).unwrap()),
                Some(Ok(Message::Close(frame))) => return (frames, frame.map(|f| u16::from(f.code))),
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => return (frames, None),
            }
        }
    }

    /// Reads events until one of type `kind` (earlier events, e.g. set-up writes the relay
    /// numbered late, are skipped).
    async fn event_of(&mut self, kind: &str) -> Value {
        loop {
            let v = self.expect("event").await;
            if v["event"]["type"] == kind {
                return v;
            }
        }
    }

    /// Subscribes and returns the answer to it (`subscribed` or `error`). Events of channels
    /// subscribed before may arrive first (the relay numbers a write made just before shortly
    /// after): they are kept for `recv`, not taken for the answer.
    async fn subscribe(&mut self, id: &str, channel: &str, after: Option<i64>) -> Value {
        let mut frame = json!({"type": "subscribe", "id": id, "channel": channel});
        if let Some(after) = after {
            frame["after"] = json!(after);
        }
        self.send(frame).await;
        loop {
            let v = self.read_frame().await;
            if v["type"] != "event" {
                return v;
            }
            self.pending.push_back(v);
        }
    }

    /// Reads events until one with `seq >= until` arrived; checks strict order.
    async fn events_until(&mut self, until: i64, got: &mut Vec<Value>) {
        while got.last().and_then(|e| e["seq"].as_i64()).is_none_or(|s| s < until) {
            let v = self.recv().await;
            assert_eq!(v["type"], "event", "{v}");
            if let Some(last) = got.last() {
                assert!(v["seq"].as_i64() > last["seq"].as_i64(), "seq must increase: {v} after {last}");
            }
            got.push(v);
        }
    }
}

fn seqs(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["seq"].as_i64().unwrap()).collect()
}

/// The seqs of `channel` after `after` as core's log has them, once the relay numbered `n`.
/// Small pages: events may be large (the slow-consumer test writes 48 KiB values).
async fn log_after(core: &TestCore, token: &str, channel: &str, after: i64, n: usize) -> Vec<i64> {
    let deadline = Instant::now() + WAIT;
    loop {
        let mut seqs = vec![];
        let mut page_token = String::new();
        loop {
            let req = pb::ListEventsRequest {
                filter: format!("channel = \"{channel}\" AND seq > {after}"),
                order_by: "seq".into(),
                page_size: 20,
                page_token,
                ..Default::default()
            };
            let page = core.events().list_events(authed(req, token)).await.expect("list events").into_inner();
            seqs.extend(page.events.iter().map(|e| e.seq));
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        if seqs.len() >= n {
            return seqs;
        }
        assert!(Instant::now() < deadline, "the relay numbered only {} of {n}", seqs.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Writes a marker config and waits until the relay numbered it: every event committed before
/// is numbered too. Returns the latest seq then.
async fn settle(core: &TestCore, token: &str, project_id: &str) -> i64 {
    core.set_config(token, project_id, "settle", json!(true)).await;
    let filter = format!("channel = \"project:{project_id}\" AND type = \"config.set\"");
    assert!(!core.wait_events(token, &filter, 1).await.is_empty(), "the relay numbers the marker");
    latest_seq(core, token).await
}

/// The latest seq core-svc has numbered (as `CheckSubscription` reports it).
async fn latest_seq(core: &TestCore, token: &str) -> i64 {
    core.events()
        .check_subscription(authed(
            pb::CheckSubscriptionRequest { channels: vec!["system".into()], after_seq: None },
            token,
        ))
        .await
        .unwrap()
        .into_inner()
        .latest_seq
}

// ---------------------------------------------------------------------------------------------
// Authentication

#[tokio::test]
async fn three_ways_to_authenticate_and_the_auth_deadline() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (user, token) = core.user(&admin, "ws-auth").await;
    let edge = spawn_edge(&core, &[(AUTH_TIMEOUT_VAR, "1")]).await;

    // 1. Authorization header.
    let mut c = Client::connect(&edge, Some(&token)).await;
    let v = c.expect("authenticated").await;
    assert_eq!(v["user_id"], user.id.as_str());
    let v = c.subscribe("1", &format!("user:{}", user.id), None).await;
    assert_eq!(v["type"], "subscribed", "{v}");

    // 2. ?access_token= (browsers).
    let url = format!("{}?access_token={token}", edge.url());
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut c = Client { ws, pending: Default::default() };
    assert_eq!(c.expect("authenticated").await["user_id"], user.id.as_str());

    // 3. A first auth frame; a later one refreshes the token (same user).
    let mut c = Client::connect(&edge, None).await;
    c.send(json!({"type": "auth", "id": "a", "token": token})).await;
    let v = c.expect("authenticated").await;
    assert_eq!((v["id"].as_str(), v["user_id"].as_str()), (Some("a"), Some(user.id.as_str())));
    let fresh = tests::access_token(&core.login(&user.email, tests::USER_PASSWORD).await.unwrap());
    c.send(json!({"type": "auth", "id": "b", "token": fresh})).await;
    assert_eq!(c.expect("authenticated").await["id"], "b");
    // A bad refresh is refused, and the connection goes on with the current token.
    c.send(json!({"type": "auth", "id": "c", "token": "garbage"})).await;
    let v = c.expect("error").await;
    assert_eq!((v["id"].as_str(), v["code"].as_str()), (Some("c"), Some("unauthenticated")));
    c.send(json!({"type": "ping", "id": "p"})).await;
    assert_eq!(c.expect("pong").await["id"], "p");

    // A bad token: unauthenticated, then 1008.
    let mut c = Client::connect(&edge, Some("not-a-token")).await;
    let (frames, code) = c.until_close().await;
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0]["code"], "unauthenticated");
    assert_eq!(code, Some(1008));

    // Another frame before auth: refused.
    let mut c = Client::connect(&edge, None).await;
    c.send(json!({"type": "subscribe", "id": "1", "channel": "system"})).await;
    let (frames, code) = c.until_close().await;
    assert_eq!((frames[0]["code"].as_str(), code), (Some("unauthenticated"), Some(1008)), "{frames:?}");

    // Silence: after REALTIME_AUTH_TIMEOUT_SECS (1 s here), unauthenticated and 1008.
    let mut c = Client::connect(&edge, None).await;
    let (frames, code) = c.until_close().await;
    assert_eq!((frames[0]["code"].as_str(), code), (Some("unauthenticated"), Some(1008)), "{frames:?}");
}

// ---------------------------------------------------------------------------------------------
// Subscribing

#[tokio::test]
async fn subscribe_receive_unsubscribe_and_ping() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (_owner, token) = core.user(&admin, "ws-owner").await;
    let project = core.project(&token, "ws-basic").await;
    let edge = spawn_edge(&core, &[]).await;
    let channel = format!("project:{}", project.id);

    let mut c = Client::authed(&edge, &token).await;
    c.send(json!({"type": "ping", "id": "3"})).await;
    assert_eq!(c.expect("pong").await, json!({"type": "pong", "id": "3"}));

    let v = c.subscribe("1", &channel, None).await;
    assert_eq!(
        (v["type"].as_str(), v["id"].as_str(), v["channel"].as_str()),
        (Some("subscribed"), Some("1"), Some(channel.as_str()))
    );
    let start = v["seq"].as_i64().unwrap();

    core.set_config(&token, &project.id, "feature.flag", json!({"on": true})).await;
    let e = c.event_of("config.set").await;
    assert_eq!(e["channel"], channel.as_str());
    assert!(e["seq"].as_i64().unwrap() > start);
    assert_eq!(e["event"]["type"], "config.set");
    assert_eq!(e["event"]["resource"]["type"], "config");
    assert_eq!(e["event"]["payload"]["key"], "feature.flag");
    assert!(e["event"]["occurred_at"].as_str().unwrap().ends_with('Z'));
    assert!(!e["event"]["id"].as_str().unwrap().is_empty());

    // Subscribing twice is an error; the first subscription carries on.
    let v = c.subscribe("2", &channel, None).await;
    assert_eq!((v["type"].as_str(), v["code"].as_str()), (Some("error"), Some("bad_request")), "{v}");

    c.send(json!({"type": "unsubscribe", "id": "4", "channel": channel})).await;
    assert_eq!(c.expect("unsubscribed").await["id"], "4");
    // After unsubscribing: a project write is not delivered, a later system event is.
    core.set_config(&token, &project.id, "feature.flag", json!(false)).await;
    let v = c.subscribe("5", "system", None).await;
    assert_eq!(v["type"], "subscribed");
    core.settings()
        .set_setting(authed(
            pb::SetSettingRequest { key: "ws.test".into(), value: Some(value(json!(1))), ..Default::default() },
            &admin,
        ))
        .await
        .unwrap();
    let e = c.expect("event").await;
    assert_eq!((e["channel"].as_str(), e["event"]["type"].as_str()), (Some("system"), Some("setting.changed")), "{e}");
    assert_eq!(e["event"]["payload"]["key"], "ws.test", "{e}");
}

#[tokio::test]
async fn access_is_checked_by_core_for_each_subscribe() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (_owner, owner_token) = core.user(&admin, "ws-owner").await;
    let (stranger, stranger_token) = core.user(&admin, "ws-stranger").await;
    let project = core.project(&owner_token, "ws-acl").await;
    let edge = spawn_edge(&core, &[]).await;

    let mut c = Client::authed(&edge, &stranger_token).await;
    let v = c.subscribe("1", &format!("project:{}", project.id), None).await;
    assert_eq!(
        (v["type"].as_str(), v["id"].as_str(), v["code"].as_str()),
        (Some("error"), Some("1"), Some("not_found")),
        "{v}"
    );
    let v = c.subscribe("2", "admin", None).await;
    assert_eq!((v["type"].as_str(), v["code"].as_str()), (Some("error"), Some("forbidden")), "{v}");
    let v = c.subscribe("3", "nonsense:channel", None).await;
    assert_eq!((v["type"].as_str(), v["code"].as_str()), (Some("error"), Some("bad_request")), "{v}");
    // Own channel and system: fine; the connection survived the refusals.
    let v = c.subscribe("4", &format!("user:{}", stranger.id), None).await;
    assert_eq!(v["type"], "subscribed", "{v}");
    let v = c.subscribe("5", "system", None).await;
    assert_eq!(v["type"], "subscribed", "{v}");

    // The admin may follow `admin`.
    let mut a = Client::authed(&edge, &admin).await;
    assert_eq!(a.subscribe("1", "admin", None).await["type"], "subscribed");
    core.set_config(&owner_token, &project.id, "k", json!(1)).await;
    let e = a.event_of("config.set").await;
    assert_eq!(e["channel"], "admin", "{e}");
}

#[tokio::test]
async fn a_removed_member_is_cut_off_while_others_keep_receiving() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (_owner, owner_token) = core.user(&admin, "ws-owner").await;
    let (viewer, viewer_token) = core.user(&admin, "ws-viewer").await;
    let project = core.project(&owner_token, "ws-removal").await;
    let member = core.add_member(&owner_token, &project.id, &viewer.id, pb::MemberRole::Viewer).await;
    let edge = spawn_edge(&core, &[]).await;
    let channel = format!("project:{}", project.id);

    // The viewer subscribes first, so its credentials carry the shared upstream.
    let mut v = Client::authed(&edge, &viewer_token).await;
    assert_eq!(v.subscribe("v", &channel, None).await["type"], "subscribed");
    let mut o = Client::authed(&edge, &owner_token).await;
    assert_eq!(o.subscribe("o", &channel, None).await["type"], "subscribed");
    edge.wait_metric("realtime_upstream_streams", |v| v == 1.0).await;

    core.set_config(&owner_token, &project.id, "before", json!(1)).await;
    v.event_of("config.set").await;
    o.event_of("config.set").await;

    core.members()
        .remove_member(authed(pb::RemoveMemberRequest { id: member.id.clone(), etag: String::new() }, &owner_token))
        .await
        .unwrap();
    core.set_config(&owner_token, &project.id, "after", json!(2)).await;

    // The viewer's subscription ends with an error naming the channel; nothing written after
    // the removal reaches it.
    loop {
        let f = v.recv().await;
        match f["type"].as_str() {
            Some("event") => assert_ne!(f["event"]["payload"]["key"], "after", "{f}"),
            Some("error") => {
                assert_eq!((f["id"].as_str(), f["channel"].as_str()), (Some("v"), Some(channel.as_str())), "{f}");
                assert_eq!(f["code"], "not_found", "{f}");
                break;
            }
            _ => panic!("unexpected {f}"),
        }
    }
    // The owner sees the removal and the later write.
    let mut got = vec![];
    while got.last().is_none_or(|e: &Value| e["event"]["payload"]["key"] != "after") {
        got.push(o.expect("event").await);
    }
    assert!(got.iter().any(|e| e["event"]["type"] == "member.removed"), "{got:?}");
    // The viewer's connection is still usable.
    v.send(json!({"type": "ping", "id": "p"})).await;
    assert_eq!(v.expect("pong").await["id"], "p");
}

// ---------------------------------------------------------------------------------------------
// Resume and order

#[tokio::test]
async fn resume_with_after_gets_exactly_the_missed_events() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (_owner, token) = core.user(&admin, "ws-resume").await;
    let project = core.project(&token, "ws-resume").await;
    let edge = spawn_edge(&core, &[]).await;
    let channel = format!("project:{}", project.id);

    let mut c = Client::authed(&edge, &token).await;
    c.subscribe("1", &channel, None).await;
    core.set_config(&token, &project.id, "k", json!(0)).await;
    let first = c.event_of("config.set").await;
    let last_seen = first["seq"].as_i64().unwrap();
    drop(c);

    // Missed while disconnected.
    for i in 1..=5 {
        core.set_config(&token, &project.id, "k", json!(i)).await;
    }
    assert_eq!(log_after(&core, &token, &channel, last_seen, 5).await.len(), 5);

    let mut c = Client::authed(&edge, &token).await;
    let v = c.subscribe("2", &channel, Some(last_seen)).await;
    assert_eq!(v["type"], "subscribed", "{v}");
    // And one more while resumed.
    core.set_config(&token, &project.id, "k", json!(6)).await;
    let expected = log_after(&core, &token, &channel, last_seen, 6).await;
    let mut got = vec![];
    c.events_until(*expected.last().unwrap(), &mut got).await;
    assert_eq!(seqs(&got), expected);
}

#[tokio::test]
async fn several_channels_on_one_connection_arrive_in_seq_order_once() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (_owner, token) = core.user(&admin, "ws-multi").await;
    let (guest, _) = core.user(&admin, "ws-guest").await;
    let a = core.project(&token, "ws-multi-a").await;
    let b = core.project(&token, "ws-multi-b").await;
    let edge = spawn_edge(&core, &[]).await;
    let channels = [format!("project:{}", a.id), format!("project:{}", b.id), format!("user:{}", guest.id)];

    // The admin follows both projects and the guest's user channel: `member.added` is on a
    // project channel and on the guest's, and must come once.
    let mut c = Client::authed(&edge, &admin).await;
    let mut starts = vec![];
    for (i, ch) in channels.iter().enumerate() {
        let v = c.subscribe(&i.to_string(), ch, None).await;
        assert_eq!(v["type"], "subscribed", "{v}");
        starts.push(v["seq"].as_i64().unwrap());
    }
    let writers = [a.id.clone(), b.id.clone()].map(|project| {
        let (core_url, token) = (core.channel(), token.clone());
        tokio::spawn(async move {
            let mut client = pb::config_service_client::ConfigServiceClient::new(core_url);
            for i in 0..20 {
                let req = pb::SetConfigRequest {
                    project_id: project.clone(),
                    key: format!("k{}", i % 3),
                    value: Some(value(json!(i))),
                    ..Default::default()
                };
                client.set_config(authed(req, &token)).await.unwrap();
            }
        })
    });
    core.add_member(&token, &a.id, &guest.id, pb::MemberRole::Viewer).await;
    for w in writers {
        w.await.unwrap();
    }
    let mut expected = BTreeSet::new();
    for (ch, start) in channels.iter().zip(starts) {
        let n = if ch.starts_with("user:") { 1 } else { 20 };
        expected.extend(log_after(&core, &admin, ch, start, n).await);
    }
    let expected: Vec<i64> = expected.into_iter().collect();
    let mut got = vec![];
    c.events_until(*expected.last().unwrap(), &mut got).await;
    assert_eq!(seqs(&got), expected, "strictly increasing, each event once");
    let added: Vec<&Value> = got.iter().filter(|e| e["event"]["type"] == "member.added").collect();
    assert_eq!(added.len(), 1, "{added:?}");
}

#[tokio::test]
async fn resuming_several_channels_together_replays_them_in_one_order() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (_owner, token) = core.user(&admin, "ws-multi-resume").await;
    let a = core.project(&token, "ws-mr-a").await;
    let b = core.project(&token, "ws-mr-b").await;
    settle(&core, &token, &a.id).await;
    let base = settle(&core, &token, &b.id).await;
    let edge = spawn_edge(&core, &[]).await;
    for i in 0..15 {
        for p in [&a, &b] {
            core.set_config(&token, &p.id, &format!("k{}", i % 4), json!(i)).await;
        }
    }
    let channels = [format!("project:{}", a.id), format!("project:{}", b.id)];
    let mut expected = BTreeSet::new();
    for ch in &channels {
        expected.extend(log_after(&core, &token, ch, base, 15).await);
    }
    let expected: Vec<i64> = expected.into_iter().collect();

    // Both subscribe frames sent back to back, each with `after`.
    let mut c = Client::authed(&edge, &token).await;
    for (i, ch) in channels.iter().enumerate() {
        c.send(json!({"type": "subscribe", "id": i.to_string(), "channel": ch, "after": base})).await;
    }
    let mut got = vec![];
    let mut subscribed = 0;
    while got.last().and_then(|e: &Value| e["seq"].as_i64()).is_none_or(|s| s < *expected.last().unwrap()) {
        let v = c.recv().await;
        match v["type"].as_str() {
            Some("subscribed") => subscribed += 1,
            Some("event") => got.push(v),
            _ => panic!("{v}"),
        }
    }
    assert_eq!(subscribed, 2);
    assert_eq!(seqs(&got), expected, "one order across both replays");

    // The `admin` channel replays the whole log after `after`.
    let mut c = Client::authed(&edge, &admin).await;
    assert_eq!(c.subscribe("1", "admin", Some(base)).await["type"], "subscribed");
    let mut got = vec![];
    c.events_until(*expected.last().unwrap(), &mut got).await;
    assert_eq!(seqs(&got), expected);
}

// ---------------------------------------------------------------------------------------------
// Abuse and limits

#[tokio::test]
async fn protocol_abuse_gets_error_frames_not_crashes() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (user, token) = core.user(&admin, "ws-abuse").await;
    let p1 = core.project(&token, "ws-abuse-1").await;
    let edge = spawn_edge(&core, &[(MAX_SUBSCRIPTIONS_VAR, "3")]).await;

    let mut c = Client::authed(&edge, &token).await;
    for (frame, needle) in [
        (Message::text("not json"), "not valid JSON"),
        (Message::text("[]"), "JSON object"),
        (Message::text(r#"{"type":"dance","id":"7"}"#), "unknown frame type"),
        (Message::text(r#"{"type":"subscribe","id":"8"}"#), "channel is required"),
        (Message::text(r#"{"type":"subscribe","id":"9","channel":"system","after":"x"}"#), "after must be"),
        (Message::binary(vec![0u8, 159, 146, 150]), "binary frames"),
    ] {
        c.send_raw(frame).await;
        let v = c.expect("error").await;
        assert_eq!(v["code"], "bad_request", "{v}");
        assert!(v["message"].as_str().unwrap().contains(needle), "{v}");
    }
    // Subscription cap (3 here).
    for (i, ch) in ["system".to_string(), format!("user:{}", user.id), format!("project:{}", p1.id)].iter().enumerate()
    {
        assert_eq!(c.subscribe(&i.to_string(), ch, None).await["type"], "subscribed");
    }
    let v = c.subscribe("x", "admin", None).await;
    assert_eq!((v["type"].as_str(), v["code"].as_str()), (Some("error"), Some("bad_request")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("at most 3"), "{v}");

    // A flood of frames: answered (pong or rate_limited), never a crash.
    for i in 0..300 {
        c.send(json!({"type": "ping", "id": i.to_string()})).await;
    }
    let (mut pongs, mut limited) = (0, 0);
    for _ in 0..300 {
        let v = c.recv().await;
        match (v["type"].as_str(), v["code"].as_str()) {
            (Some("pong"), _) => pongs += 1,
            (Some("error"), Some("rate_limited")) => limited += 1,
            _ => panic!("{v}"),
        }
    }
    assert!(pongs >= 1 && limited >= 1, "pongs {pongs}, rate limited {limited}");

    // Oversize frame: error, then 1009.
    c.send(json!({"type": "ping", "id": "x".repeat(70 * 1024)})).await;
    let (frames, code) = c.until_close().await;
    assert!(frames.iter().any(|f| f["code"] == "bad_request"), "{frames:?}");
    assert_eq!(code, Some(1009));

    // A text frame that is not UTF-8: RFC 6455 §7.4.1 says close with 1007.
    let mut c = Client::authed(&edge, &token).await;
    let frame = tokio_tungstenite::tungstenite::protocol::frame::Frame::message(
        vec![b'{', 0xc3, 0x28, b'}'],
        tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode::Data(
            tokio_tungstenite::tungstenite::protocol::frame::coding::Data::Text,
        ),
        true,
    );
    c.send_raw(Message::Frame(frame)).await;
    let (_, code) = c.until_close().await;
    assert_eq!(code, Some(1007));

    // A credential longer than any token: refused like a bad one (not 1013 "unavailable"),
    // whichever way it comes.
    let long = "a".repeat(20_000);
    let mut c = Client::connect(&edge, Some(&long)).await;
    let (frames, code) = c.until_close().await;
    assert_eq!(frames[0]["code"], "unauthenticated", "{frames:?}");
    assert_eq!(code, Some(1008));
    let mut c = Client::connect(&edge, None).await;
    c.send(json!({"type": "auth", "token": long})).await;
    let (frames, code) = c.until_close().await;
    assert_eq!(frames[0]["code"], "unauthenticated", "{frames:?}");
    assert_eq!(code, Some(1008));

    // The edge is fine.
    let mut c = Client::authed(&edge, &token).await;
    c.send(json!({"type": "ping", "id": "ok"})).await;
    assert_eq!(c.expect("pong").await["id"], "ok");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_with_1013_and_can_resume() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (_owner, token) = core.user(&admin, "ws-slow").await;
    let project = core.project(&token, "ws-slow").await;
    let edge = spawn_edge(&core, &[(SEND_QUEUE_VAR, "8")]).await;
    let channel = format!("project:{}", project.id);

    // A client with a tiny receive buffer that subscribes, then stops reading.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(edge.addr).await.unwrap();
    let mut req = edge.url().into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (ws, _) = tokio_tungstenite::client_async(req, MaybeTlsStream::Plain(stream)).await.unwrap();
    let mut slow = Client { ws, pending: Default::default() };
    slow.expect("authenticated").await;
    let start = slow.subscribe("1", &channel, None).await["seq"].as_i64().unwrap();

    // Big events until the edge gives up on it.
    let big = "x".repeat(48 * 1024);
    let mut written = 0;
    while edge.metric("realtime_slow_consumer_closes_total").await < 1.0 {
        assert!(written < 2000, "never closed the slow consumer");
        core.set_config(&token, &project.id, &format!("k{}", written % 10), json!(big)).await;
        written += 1;
    }
    let (frames, code) = slow.until_close().await;
    assert_eq!(code, Some(1013), "after {} frames", frames.len());
    let seen: Vec<i64> = frames.iter().filter(|f| f["type"] == "event").map(|f| f["seq"].as_i64().unwrap()).collect();
    assert!(seen.len() < written, "it was closed before everything was sent");
    edge.wait_metric("realtime_connections", |v| v == 0.0).await;

    // Resume after the last event seen: exactly the rest.
    let after = seen.last().copied().unwrap_or(start);
    let all = log_after(&core, &token, &channel, start, written).await;
    let mut c = Client::authed(&edge, &token).await;
    assert_eq!(c.subscribe("2", &channel, Some(after)).await["type"], "subscribed");
    let mut got = vec![];
    c.events_until(*all.last().unwrap(), &mut got).await;
    assert_eq!(seqs(&got), all.into_iter().filter(|s| *s > after).collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------------------------
// Concurrency, sharing, failover

#[tokio::test]
async fn concurrent_writers_and_churning_subscribers_each_get_exactly_the_log() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (_owner, token) = core.user(&admin, "ws-churn").await;
    let projects = [core.project(&token, "ws-churn-a").await, core.project(&token, "ws-churn-b").await];
    let edge = spawn_edge(&core, &[]).await;
    let url = edge.url();
    settle(&core, &token, &projects[0].id).await;
    let base = settle(&core, &token, &projects[1].id).await;

    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (channel, token, project) = (core.channel(), token.clone(), projects[w % 2].id.clone());
            tokio::spawn(async move {
                let mut client = pb::config_service_client::ConfigServiceClient::new(channel);
                for i in 0..100 {
                    let req = pb::SetConfigRequest {
                        project_id: project.clone(),
                        key: format!("w{w}.k{}", i % 5),
                        value: Some(value(json!(i))),
                        ..Default::default()
                    };
                    client.set_config(authed(req, &token)).await.unwrap();
                }
            })
        })
        .collect();

    // Subscribers that connect, read a little, disconnect, and resume with `after`, until they
    // have seen the whole run.
    let subscribers: Vec<_> = (0..6u64)
        .map(|s| {
            let (url, token) = (url.clone(), token.clone());
            let channel = format!("project:{}", projects[usize::try_from(s % 2).unwrap()].id);
            tokio::spawn(async move {
                let mut got: Vec<i64> = vec![];
                let mut round = 0u64;
                while got.len() < 200 {
                    let mut req = url.as_str().into_client_request().unwrap();
                    req.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
                    let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
                    let mut c = Client { ws, pending: Default::default() };
                    c.expect("authenticated").await;
                    let after = got.last().copied().unwrap_or(base);
                    assert_eq!(c.subscribe("s", &channel, Some(after)).await["type"], "subscribed");
                    // A pseudo-random number of events per connection: 1 to 40.
                    let quota = 1 + (s * 7919 + round * 104_729) % 40;
                    for _ in 0..quota {
                        if got.len() == 200 {
                            break;
                        }
                        let v = c.expect("event").await;
                        let seq = v["seq"].as_i64().unwrap();
                        assert!(got.last().is_none_or(|l| seq > *l), "seq {seq} after {got:?}");
                        got.push(seq);
                    }
                    round += 1;
                }
                (channel, got)
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let mut logs = BTreeMap::new();
    for p in &projects {
        let ch = format!("project:{}", p.id);
        let all = log_after(&core, &token, &ch, base, 200).await;
        assert_eq!(all.len(), 200);
        logs.insert(ch, all);
    }
    for s in subscribers {
        let (channel, got) = s.await.unwrap();
        assert_eq!(got, logs[&channel], "{channel}");
    }
}

#[tokio::test]
async fn many_clients_on_one_channel_share_one_upstream() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (owner, token) = core.user(&admin, "ws-share").await;
    let project = core.project(&token, "ws-share").await;
    let edge = spawn_edge(&core, &[]).await;
    let channel = format!("project:{}", project.id);
    let mut viewers = vec![];
    for i in 0..4 {
        let (u, t) = core.user(&admin, &format!("ws-share-{i}")).await;
        core.add_member(&token, &project.id, &u.id, pb::MemberRole::Viewer).await;
        viewers.push(t);
    }
    assert_eq!(edge.metric("realtime_upstream_streams").await, 0.0);

    let mut clients = vec![];
    for i in 0..20 {
        let t = if i % 5 == 0 { token.clone() } else { viewers[i % 4].clone() };
        let mut c = Client::authed(&edge, &t).await;
        assert_eq!(c.subscribe("1", &channel, None).await["type"], "subscribed");
        clients.push(c);
    }
    edge.wait_metric("realtime_upstream_streams", |v| v != 0.0).await;
    assert_eq!(edge.metric("realtime_upstream_streams").await, 1.0);
    assert_eq!(edge.metric("realtime_subscriptions").await, 20.0);
    assert_eq!(edge.metric("realtime_connections").await, 20.0);

    core.set_config(&token, &project.id, "shared", json!(owner.id)).await;
    for c in &mut clients {
        assert_eq!(c.event_of("config.set").await["event"]["payload"]["key"], "shared");
    }
    assert!(edge.metric("realtime_events_delivered_total").await >= 20.0);
    assert_eq!(edge.metric("realtime_upstream_streams").await, 1.0);

    // The last client leaving closes the upstream.
    drop(clients);
    edge.wait_metric("realtime_subscriptions", |v| v == 0.0).await;
    edge.wait_metric("realtime_upstream_streams", |v| v == 0.0).await;
}

#[tokio::test]
async fn a_client_of_a_stopped_edge_resumes_on_another_without_loss() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (_owner, token) = core.user(&admin, "ws-failover").await;
    let project = core.project(&token, "ws-failover").await;
    let edge1 = spawn_edge(&core, &[]).await;
    let edge2 = spawn_edge(&core, &[]).await;
    let channel = format!("project:{}", project.id);

    let mut c = Client::authed(&edge1, &token).await;
    let start = c.subscribe("1", &channel, None).await["seq"].as_i64().unwrap();
    let writer = {
        let (ch, token, project) = (core.channel(), token.clone(), project.id.clone());
        tokio::spawn(async move {
            let mut client = pb::config_service_client::ConfigServiceClient::new(ch);
            for i in 0..60 {
                let req = pb::SetConfigRequest {
                    project_id: project.clone(),
                    key: "k".into(),
                    value: Some(value(json!(i))),
                    ..Default::default()
                };
                client.set_config(authed(req, &token)).await.unwrap();
            }
        })
    };
    let mut got = vec![];
    c.events_until(start + 1, &mut got).await;
    // SIGTERM to edge 1, mid-stream: the socket closes with 1001.
    let stopping = tokio::spawn(edge1.stop());
    let (frames, code) = c.until_close().await;
    assert_eq!(code, Some(1001));
    for f in frames.into_iter().filter(|f| f["type"] == "event") {
        assert!(f["seq"].as_i64() > got.last().and_then(|e: &Value| e["seq"].as_i64()), "{f}");
        got.push(f);
    }
    stopping.await.unwrap();

    let mut c = Client::authed(&edge2, &token).await;
    let after = got.last().unwrap()["seq"].as_i64().unwrap();
    assert_eq!(c.subscribe("1", &channel, Some(after)).await["type"], "subscribed");
    writer.await.unwrap();
    let all = log_after(&core, &token, &channel, start, 60).await;
    c.events_until(*all.last().unwrap(), &mut got).await;
    assert_eq!(seqs(&got), all);
}

#[tokio::test]
async fn a_write_through_one_core_reaches_subscribers_of_an_edge_on_another() {
    let core1 = spawn_core().await;
    let core2 =
        spawn_core_with(CoreOptions { database_url: Some(core1.database_url.clone()), ..Default::default() }).await;
    let admin = core1.admin_token().await;
    let (_owner, token) = core1.user(&admin, "ws-replicas").await;
    let project = core1.project(&token, "ws-replicas").await;
    let edge1 = spawn_edge(&core1, &[]).await;
    let edge2 = spawn_edge(&core2, &[]).await;
    let channel = format!("project:{}", project.id);

    let mut c1 = Client::authed(&edge1, &token).await;
    let mut c2 = Client::authed(&edge2, &token).await;
    assert_eq!(c1.subscribe("1", &channel, None).await["type"], "subscribed");
    assert_eq!(c2.subscribe("1", &channel, None).await["type"], "subscribed");
    core1.set_config(&token, &project.id, "via", json!("core1")).await;
    core2.set_config(&token, &project.id, "via", json!("core2")).await;
    for c in [&mut c1, &mut c2] {
        let a = c.event_of("config.set").await;
        let b = c.event_of("config.set").await;
        assert_eq!(a["event"]["payload"]["value"], "core1", "{a}");
        assert_eq!(b["event"]["payload"]["value"], "core2", "{b}");
        assert!(b["seq"].as_i64() > a["seq"].as_i64());
    }
}

/// A TCP proxy in front of core-svc whose connections can all be cut at once (core-svc
/// restarting, as the edge sees it).
#[tokio::test]
async fn losing_core_mid_stream_is_invisible_to_clients() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (_owner, token) = core.user(&admin, "ws-core-loss").await;
    let project = core.project(&token, "ws-core-loss").await;
    let proxy = Proxy::spawn(core.addr).await;
    let edge = spawn_edge_to(&format!("http://{}", proxy.addr), &[]).await;
    let channel = format!("project:{}", project.id);

    let mut c = Client::authed(&edge, &token).await;
    let start = c.subscribe("1", &channel, None).await["seq"].as_i64().unwrap();
    let writer = {
        let (ch, token, project) = (core.channel(), token.clone(), project.id.clone());
        tokio::spawn(async move {
            let mut client = pb::config_service_client::ConfigServiceClient::new(ch);
            for i in 0..60 {
                let req = pb::SetConfigRequest {
                    project_id: project.clone(),
                    key: "k".into(),
                    value: Some(value(json!(i))),
                    ..Default::default()
                };
                client.set_config(authed(req, &token)).await.unwrap();
            }
        })
    };
    let mut got = vec![];
    c.events_until(start + 5, &mut got).await;
    let before = proxy.accepted();
    proxy.cut_all();
    writer.await.unwrap();
    let all = log_after(&core, &token, &channel, start, 60).await;
    // Same socket, no gap, no duplicate: the edge reopened its upstream after the last seq.
    c.events_until(*all.last().unwrap(), &mut got).await;
    assert_eq!(seqs(&got), all);
    assert!(proxy.accepted() > before, "the edge reconnected to core-svc");
    assert_eq!(edge.metric("realtime_upstream_streams").await, 1.0);
}

#[tokio::test]
async fn a_peer_that_stops_answering_pings_is_dropped() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let edge = spawn_edge(&core, &[(PING_INTERVAL_VAR, "2")]).await;

    // `dead` never reads again, so its client library never answers the server's pings.
    let _dead = Client::authed(&edge, &admin).await;
    let mut alive = Client::authed(&edge, &admin).await;
    assert_eq!(edge.metric("realtime_connections").await, 2.0);
    let mut pings = 0;
    let deadline = Instant::now() + WAIT;
    while edge.metric("realtime_connections").await != 1.0 {
        assert!(Instant::now() < deadline, "the silent peer was never dropped");
        // Reading lets tokio-tungstenite answer pings.
        if let Ok(Some(Ok(Message::Ping(_)))) = tokio::time::timeout(Duration::from_millis(100), alive.ws.next()).await
        {
            pings += 1;
        }
    }
    assert!(pings >= 1, "the server pings");
    alive.send(json!({"type": "ping", "id": "still-here"})).await;
    assert_eq!(alive.expect("pong").await["id"], "still-here");
}

/// `after` older than the retained log: an `out_of_range` error frame naming `oldest_seq`, so
/// the client knows to reload rather than believe it resumed.
#[tokio::test]
async fn resuming_before_the_retained_log_is_out_of_range() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let project = core.project(&admin, "ws-expired").await;
    let channel = format!("project:{}", project.id);
    for i in 0..4 {
        core.set_config(&admin, &project.id, &format!("k{i}"), json!(i)).await;
    }
    let seqs = log_after(&core, &admin, &channel, 0, 5).await;
    sqlx::query("DELETE FROM events WHERE seq < $1").bind(seqs[3]).execute(&mut core.db().await).await.unwrap();
    let edge = spawn_edge(&core, &[]).await;
    let mut c = Client::authed(&edge, &admin).await;
    let v = c.subscribe("1", &channel, Some(seqs[1])).await;
    assert_eq!((v["type"].as_str(), v["code"].as_str()), (Some("error"), Some("out_of_range")), "{v}");
    assert_eq!((v["id"].as_str(), v["oldest_seq"].as_i64()), (Some("1"), Some(seqs[3])), "{v}");
    // From the oldest retained event on, it works.
    let v = c.subscribe("2", &channel, Some(seqs[3] - 1)).await;
    assert_eq!(v["type"], "subscribed", "{v}");
}

/// A connection ends when its token expires — unless an `auth` frame brought a fresh one.
#[tokio::test]
async fn a_connection_ends_when_its_token_expires_unless_refreshed() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let token = |secs: u64| {
        let mut auth = core.auth();
        let req = authed(
            pb::CreateApiTokenRequest {
                name: format!("{secs}s"),
                expire_time: Some((std::time::SystemTime::now() + Duration::from_secs(secs)).into()),
            },
            &admin,
        );
        async move { auth.create_api_token(req).await.unwrap().into_inner().token }
    };
    let edge = spawn_edge(&core, &[]).await;

    let short = token(2).await;
    let mut expiring = Client::authed(&edge, &short).await;
    assert_eq!(expiring.subscribe("1", "system", None).await["type"], "subscribed");
    let mut refreshed = Client::authed(&edge, &short).await;
    assert_eq!(refreshed.subscribe("1", "system", None).await["type"], "subscribed");
    refreshed.send(json!({"type": "auth", "id": "a", "token": token(3600).await})).await;
    assert_eq!(refreshed.expect("authenticated").await["id"], "a");

    let (frames, code) = expiring.until_close().await;
    assert_eq!(frames.last().map(|f| f["code"].clone()), Some(json!("unauthenticated")), "{frames:?}");
    assert!(frames.last().unwrap()["message"].as_str().unwrap().contains("expired"), "{frames:?}");
    assert_eq!(code, Some(1008));
    tokio::time::sleep(Duration::from_millis(500)).await;
    refreshed.send(json!({"type": "ping", "id": "still-here"})).await;
    assert_eq!(refreshed.expect("pong").await["id"], "still-here");
}

/// Logging out ends that session's subscriptions within moments (not at the next unrelated
/// access change); the same user's other session keeps going.
#[tokio::test]
async fn logout_ends_the_sessions_subscriptions_at_once() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (user, _) = core.user(&admin, "ws-leaver").await;
    let leaving = core.login(&user.email, tests::USER_PASSWORD).await.unwrap();
    let staying = tests::access_token(&core.login(&user.email, tests::USER_PASSWORD).await.unwrap());
    let channel = format!("user:{}", user.id);
    let edge = spawn_edge(&core, &[]).await;
    let mut gone = Client::authed(&edge, &tests::access_token(&leaving)).await;
    assert_eq!(gone.subscribe("1", &channel, None).await["type"], "subscribed");
    let mut kept = Client::authed(&edge, &staying).await;
    assert_eq!(kept.subscribe("1", &channel, None).await["type"], "subscribed");

    let refresh_token = leaving.tokens.unwrap().refresh_token;
    core.auth().logout(pb::LogoutRequest { refresh_token }).await.unwrap();
    let logged_out = Instant::now();
    let v = loop {
        let v = gone.recv().await;
        if v["type"] == "error" {
            break v;
        }
    };
    let took = logged_out.elapsed();
    assert_eq!((v["code"].as_str(), v["channel"].as_str()), (Some("unauthenticated"), Some(channel.as_str())), "{v}");
    assert!(took < Duration::from_secs(2), "the subscription ended {took:?} after the logout");
    // The other session still gets the channel's events, the logout among them.
    assert_eq!(kept.event_of("session.revoked").await["channel"], channel.as_str());
}
