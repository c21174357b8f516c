//! graphql-edge's subscription socket, protocol paths a standard client does not take (the npm
//! `graphql-ws` client drives the usual ones in graphql_client.rs): pings, `complete`, ids in
//! use, the init timeout, messages out of turn, the legacy `graphql-ws` protocol, oversized
//! messages, slow consumers, shutdown. Real core-svc, real edge, real WebSocket client.

use proto::Services as _;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use graphql_edge::config::{WS_INIT_TIMEOUT_SECS_VAR, WS_MAX_SUBSCRIPTIONS_VAR, WS_SEND_QUEUE_VAR};
use serde_json::{Value, json};
use tests::{TestCore, api as pb, authed, edges::Edge, spawn_core};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, protocol::frame::coding::CloseCode},
};

const WAIT: Duration = Duration::from_secs(10);

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn edge(core: &TestCore, extra: &[(&str, &str)]) -> Edge {
    tests::edges::graphql(&core.url(), extra).await
}

fn ws_url(edge: &Edge) -> String {
    format!("ws://{}/graphql", edge.addr)
}

struct Client {
    ws: Ws,
}

impl Client {
    async fn connect(edge: &Edge, protocol: &str) -> Client {
        let mut req = ws_url(edge).into_client_request().unwrap();
        req.headers_mut().insert("sec-websocket-protocol", protocol.parse().unwrap());
        let (ws, response) = tokio_tungstenite::connect_async(req).await.expect("websocket connects");
        assert_eq!(response.headers()["sec-websocket-protocol"], protocol);
        Client { ws }
    }

    /// Connected with graphql-transport-ws and acknowledged.
    async fn acked(edge: &Edge, token: &str) -> Client {
        let mut c = Self::connect(edge, "graphql-transport-ws").await;
        c.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}})).await;
        assert_eq!(c.recv().await["type"], "connection_ack");
        c
    }

    async fn send(&mut self, v: Value) {
        self.ws.send(Message::text(v.to_string())).await.unwrap();
    }

    /// The next text message (pings are answered by tungstenite).
    async fn recv(&mut self) -> Value {
        loop {
            let m = tokio::time::timeout(WAIT, self.ws.next()).await.expect("a message in time");
            match m {
                Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).unwrap(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a message, got {other:?}"),
            }
        }
    }

    /// Reads until the server closes; returns the messages before and the close code.
    async fn until_close(&mut self) -> (Vec<Value>, Option<u16>) {
        let mut messages = vec![];
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await.expect("closed in time") {
                Some(Ok(Message::Text(t))) => messages.push(serde_json::from_str(&t).unwrap()),
                Some(Ok(Message::Close(frame))) => return (messages, frame.map(|f| u16::from(f.code))),
                Some(Ok(_)) => {}
                None | Some(Err(_)) => return (messages, None),
            }
        }
    }

    async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({"type": "subscribe", "id": id, "payload": {"query": query, "variables": variables}})).await;
    }
}

const EVENTS: &str = "subscription($c: [String!]!, $after: ID) { events(channels: $c, after: $after) { seq type } }";

async fn metric(edge: &Edge, name: &str) -> f64 {
    let text = reqwest::get(format!("http://{}/metrics", edge.addr)).await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')).map(|v| v.trim().parse().unwrap()))
        .unwrap_or_else(|| panic!("{name} in /metrics"))
}

#[tokio::test]
async fn pings_are_answered_and_complete_stops_a_subscription() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (_u, token) = core.user(&admin, "gws-ping").await;
    let project = core.project(&token, "gws-ping").await;
    let edge = edge(&core, &[]).await;
    let mut c = Client::acked(&edge, &token).await;

    c.send(json!({"type": "ping", "payload": {"n": 1}})).await;
    assert_eq!(c.recv().await["type"], "pong");
    // A pong from the client needs no answer; the next message is the answer to the next ping.
    c.send(json!({"type": "pong"})).await;

    let channel = format!("project:{}", project.id);
    c.subscribe("s1", EVENTS, json!({"c": [channel]})).await;
    // The subscription is live once core-svc authorized it: write until its event arrives.
    let mut first = None;
    for i in 0..50 {
        core.set_config(&token, &project.id, "k", json!(i)).await;
        if let Ok(Some(Ok(Message::Text(t)))) = tokio::time::timeout(Duration::from_millis(200), c.ws.next()).await {
            first = Some(serde_json::from_str::<Value>(&t).unwrap());
            break;
        }
    }
    let first = first.expect("an event");
    assert_eq!(first["type"], "next", "{first}");
    assert_eq!(first["id"], "s1");
    assert_eq!(first["payload"]["data"]["events"]["type"], "config.set", "{first}");

    c.send(json!({"type": "complete", "id": "s1"})).await;
    // Whatever was in flight before the complete may still come; then nothing more for s1.
    c.send(json!({"type": "ping"})).await;
    loop {
        let m = c.recv().await;
        if m["type"] == "pong" {
            break;
        }
        assert_eq!(m["id"], "s1", "{m}");
    }
    core.set_config(&token, &project.id, "k", json!("after complete")).await;
    c.send(json!({"type": "ping"})).await;
    assert_eq!(c.recv().await["type"], "pong", "no event after complete");

    // The id is free again.
    c.subscribe("s1", EVENTS, json!({"c": [channel], "after": "0"})).await;
    let m = c.recv().await;
    assert_eq!((m["type"].as_str(), m["id"].as_str()), (Some("next"), Some("s1")), "{m}");
}

#[tokio::test]
async fn an_id_in_use_closes_with_4409() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let edge = edge(&core, &[]).await;
    let mut c = Client::acked(&edge, &admin).await;
    c.subscribe("same", EVENTS, json!({"c": ["system"]})).await;
    c.subscribe("same", EVENTS, json!({"c": ["system"]})).await;
    let (_, code) = c.until_close().await;
    assert_eq!(code, Some(4409));
}

#[tokio::test]
async fn the_init_must_come_first_and_in_time_and_once() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let edge = edge(&core, &[(WS_INIT_TIMEOUT_SECS_VAR, "1")]).await;

    // Nothing sent: 4408 after the time limit.
    let mut c = Client::connect(&edge, "graphql-transport-ws").await;
    let started = std::time::Instant::now();
    let (_, code) = c.until_close().await;
    assert_eq!(code, Some(4408));
    assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());

    // A subscribe before the ack: 4401.
    let mut c = Client::connect(&edge, "graphql-transport-ws").await;
    c.subscribe("1", EVENTS, json!({"c": ["system"]})).await;
    assert_eq!(c.until_close().await.1, Some(4401));

    // A second connection_init: 4429.
    let mut c = Client::acked(&edge, &admin).await;
    c.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {admin}")}})).await;
    assert_eq!(c.until_close().await.1, Some(4429));

    // No credentials, or refused ones: 4403.
    let mut c = Client::connect(&edge, "graphql-transport-ws").await;
    c.send(json!({"type": "connection_init"})).await;
    assert_eq!(c.until_close().await.1, Some(4403));
    let mut c = Client::connect(&edge, "graphql-transport-ws").await;
    c.send(json!({"type": "connection_init", "payload": {"authorization": "Bearer not-a-token"}})).await;
    assert_eq!(c.until_close().await.1, Some(4403));

    // The upgrade request's Authorization header is enough.
    let mut req = ws_url(&edge).into_client_request().unwrap();
    req.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    req.headers_mut().insert("authorization", format!("Bearer {admin}").parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let mut c = Client { ws };
    c.send(json!({"type": "connection_init"})).await;
    assert_eq!(c.recv().await["type"], "connection_ack");
}

#[tokio::test]
async fn bad_messages_close_with_the_protocols_codes() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let edge = edge(&core, &[]).await;

    for (message, want) in [
        (Message::text("not json"), 4400),
        (Message::text(r#"{"type":"bogus"}"#), 4400),
        (Message::text(r#"{"type":"subscribe","payload":{"query":"{ me { id } }"}}"#), 4400),
        (Message::text(r#"{"type":"subscribe","id":"1","payload":"nope"}"#), 4400),
        (Message::binary(vec![1, 2, 3]), 4400),
        (Message::text(format!(r#"{{"type":"ping","payload":"{}"}}"#, "x".repeat(70 * 1024))), 1009),
    ] {
        let mut c = Client::acked(&edge, &admin).await;
        c.ws.send(message).await.unwrap();
        assert_eq!(c.until_close().await.1, Some(want));
    }

    // An upgrade that asks for no protocol we speak is refused before upgrading.
    let r = reqwest::Client::new()
        .get(format!("http://{}/graphql", edge.addr))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-protocol", "chat")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("graphql-transport-ws"), "{body}");
}

#[tokio::test]
async fn queries_and_request_errors_over_the_socket() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let edge = edge(&core, &[(WS_MAX_SUBSCRIPTIONS_VAR, "2")]).await;
    let mut c = Client::acked(&edge, &admin).await;

    // A query: one `next`, then `complete`.
    c.subscribe("q", "{ me { email } }", json!({})).await;
    let m = c.recv().await;
    assert_eq!(m["type"], "next", "{m}");
    assert_eq!(m["payload"]["data"]["me"]["email"], core.admin_email.as_str());
    assert_eq!(c.recv().await, json!({"type": "complete", "id": "q"}));

    // An unknown field: one `error` with the validation error, no `complete`.
    c.subscribe("bad", "subscription { nope }", json!({})).await;
    let m = c.recv().await;
    assert_eq!(m["type"], "error", "{m}");
    assert_eq!(m["id"], "bad");
    assert!(m["payload"][0]["message"].as_str().unwrap().contains("nope"), "{m}");

    // Bad arguments end the subscription with a coded error.
    c.subscribe("args", EVENTS, json!({"c": []})).await;
    let m = c.recv().await;
    assert_eq!(m["type"], "next", "{m}");
    assert_eq!(m["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{m}");
    assert_eq!(c.recv().await, json!({"type": "complete", "id": "args"}));

    // At most 2 operations at once: the third gets an error, the socket stays.
    c.subscribe("a", EVENTS, json!({"c": ["system"]})).await;
    c.subscribe("b", EVENTS, json!({"c": ["system"]})).await;
    c.subscribe("c", EVENTS, json!({"c": ["system"]})).await;
    let m = c.recv().await;
    assert_eq!((m["type"].as_str(), m["id"].as_str()), (Some("error"), Some("c")), "{m}");
    assert_eq!(m["payload"][0]["extensions"]["code"], "BAD_USER_INPUT", "{m}");
    c.send(json!({"type": "complete", "id": "a"})).await;
    c.subscribe("c", "{ me { id } }", json!({})).await;
    assert_eq!(c.recv().await["type"], "next");
}

#[tokio::test]
async fn the_legacy_graphql_ws_protocol_works() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (_u, token) = core.user(&admin, "gws-legacy").await;
    let project = core.project(&token, "gws-legacy").await;
    let version = core.set_config(&token, &project.id, "legacy", json!(1)).await.version;
    assert_eq!(version, 1);
    let edge = edge(&core, &[]).await;

    let mut c = Client::connect(&edge, "graphql-ws").await;
    c.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}})).await;
    assert_eq!(c.recv().await["type"], "connection_ack");
    let query =
        "subscription($p: ID!) { configChanged(projectId: $p, after: \"0\") { seq config { key version value } } }";
    c.send(json!({"type": "start", "id": "1", "payload": {"query": query, "variables": {"p": project.id}}})).await;
    let m = c.recv().await;
    assert_eq!(m["type"], "data", "{m}");
    assert_eq!(m["payload"]["data"]["configChanged"]["config"], json!({"key": "legacy", "version": 1, "value": 1}));
    c.send(json!({"type": "stop", "id": "1"})).await;
    assert_eq!(c.recv().await, json!({"type": "complete", "id": "1"}));

    // A refused credential: connection_error, then the close.
    let mut c = Client::connect(&edge, "graphql-ws").await;
    c.send(json!({"type": "connection_init", "payload": {"authorization": "Bearer nope"}})).await;
    let (messages, code) = c.until_close().await;
    assert_eq!(messages[0]["type"], "connection_error", "{messages:?}");
    assert_eq!(code, Some(4403));
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_is_closed_with_1013() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (_u, token) = core.user(&admin, "gws-slow").await;
    let project = core.project(&token, "gws-slow").await;
    let edge = edge(&core, &[(WS_SEND_QUEUE_VAR, "8")]).await;

    // A client with a tiny receive buffer that subscribes, then stops reading.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(edge.addr).await.unwrap();
    let mut req = ws_url(&edge).into_client_request().unwrap();
    req.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    let (ws, _) = tokio_tungstenite::client_async(req, MaybeTlsStream::Plain(stream)).await.unwrap();
    let mut slow = Client { ws };
    slow.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}})).await;
    assert_eq!(slow.recv().await["type"], "connection_ack");
    let query = "subscription($p: ID!) { configChanged(projectId: $p) { seq config { value } } }";
    slow.subscribe("1", query, json!({"p": project.id})).await;

    let big = "x".repeat(48 * 1024);
    let mut written = 0;
    while metric(&edge, "graphql_slow_consumer_closes_total").await < 1.0 {
        assert!(written < 2000, "never closed the slow consumer");
        core.set_config(&token, &project.id, &format!("k{}", written % 10), json!(big)).await;
        written += 1;
    }
    let (messages, code) = slow.until_close().await;
    assert_eq!(code, Some(1013), "after {} messages", messages.len());
    assert!(messages.len() < written, "it was closed before everything was sent");
    let deadline = tokio::time::Instant::now() + WAIT;
    while metric(&edge, "graphql_connections").await != 0.0 {
        assert!(tokio::time::Instant::now() < deadline, "the connection is still counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The backlog that closes a subscription counts what waits inside the edge too, not only the
/// socket's queue: a subscription whose events come faster than its selection can be run (here
/// each event costs eight calls to core-svc for its `history` aliases, and 200 writes arrive at
/// once) is closed with 1013 although its client reads everything, instead of queuing in the
/// edge without bound.
#[tokio::test]
async fn a_subscription_that_falls_behind_its_events_is_closed_with_1013() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (_u, token) = core.user(&admin, "gws-behind").await;
    let project = core.project(&token, "gws-behind").await;
    let edge = edge(&core, &[(WS_SEND_QUEUE_VAR, "4")]).await;
    let mut c = Client::acked(&edge, &token).await;
    let history =
        (1..=8).map(|i| format!("h{i}: history(first: 100) {{ edges {{ node {{ version }} }} }}")).collect::<Vec<_>>();
    let query = format!(
        "subscription($p: ID!) {{ configChanged(projectId: $p) {{ seq config {{ key {} }} }} }}",
        history.join(" ")
    );
    c.subscribe("1", &query, json!({"p": project.id})).await;
    // Live once the first write arrives (the protocol does not acknowledge a subscription).
    loop {
        core.set_config(&token, &project.id, "warm-up", json!(1)).await;
        if let Ok(m) = tokio::time::timeout(Duration::from_millis(300), c.recv()).await {
            assert_eq!(m["type"], "next", "{m}");
            break;
        }
    }

    let keys: Vec<String> = (0..200).map(|i| format!("burst.{}", i % 20)).collect();
    let writes = keys.iter().enumerate().map(|(i, key)| core.set_config(&token, &project.id, key, json!(i)));
    let ((messages, code), _) = tokio::join!(c.until_close(), futures::future::join_all(writes));
    assert_eq!(code, Some(1013), "after {} messages", messages.len());
    assert!(messages.len() < 200, "closed before the burst was through: {}", messages.len());
    assert!(metric(&edge, "graphql_slow_consumer_closes_total").await >= 1.0);
}

#[tokio::test]
async fn shutdown_closes_sockets_with_1001() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let edge = edge(&core, &[]).await;
    let mut c = Client::acked(&edge, &admin).await;
    c.subscribe("1", EVENTS, json!({"c": ["system"]})).await;
    c.send(json!({"type": "ping"})).await;
    assert_eq!(c.recv().await["type"], "pong");
    drop(edge);
    assert_eq!(c.until_close().await.1, Some(u16::from(CloseCode::Away)));
}

#[tokio::test]
async fn too_many_messages_get_an_error_and_the_socket_stays() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let edge = edge(&core, &[(graphql_edge::config::WS_MAX_MESSAGES_PER_SEC_VAR, "1")]).await;
    let mut c = Client::acked(&edge, &admin).await;
    // A burst of twice the rate passes; the third message within the second is refused.
    for id in ["1", "2", "3"] {
        c.subscribe(id, "{ me { id } }", json!({})).await;
    }
    let mut refused = vec![];
    let mut completed = 0;
    while completed + refused.len() < 3 {
        let m = c.recv().await;
        match m["type"].as_str() {
            Some("complete") => completed += 1,
            Some("error") => refused.push(m),
            _ => {}
        }
    }
    assert_eq!(completed, 2);
    assert_eq!(refused[0]["id"], "3");
    assert_eq!(refused[0]["payload"][0]["extensions"]["code"], "RATE_LIMITED", "{refused:?}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    c.subscribe("4", "{ me { id } }", json!({})).await;
    assert_eq!(c.recv().await["type"], "next");
}

/// The socket closes with 4403 when its credential expires (the client reconnects with a fresh
/// one and resumes with `after`); logging out ends that session's subscriptions at once.
#[tokio::test]
async fn expiry_closes_the_socket_and_logout_ends_its_subscriptions() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let edge = edge(&core, &[]).await;

    let short = core
        .auth()
        .create_api_token(authed(
            pb::CreateApiTokenRequest {
                name: "2s".into(),
                expire_time: Some((std::time::SystemTime::now() + Duration::from_secs(2)).into()),
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .token;
    let mut c = Client::acked(&edge, &short).await;
    c.subscribe("1", EVENTS, json!({"c": ["system"]})).await;
    let (_, code) = c.until_close().await;
    assert_eq!(code, Some(4403));

    let (user, _) = core.user(&admin, "gws-leaver").await;
    let session = core.login(&user.email, tests::USER_PASSWORD).await.unwrap();
    let mut c = Client::acked(&edge, &tests::access_token(&session)).await;
    c.subscribe("mine", EVENTS, json!({"c": [format!("user:{}", user.id)]})).await;
    // Authorized by core-svc before the logout (then ended by it) or refused after it: either
    // way the subscription ends UNAUTHENTICATED.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refresh_token = session.tokens.unwrap().refresh_token;
    core.auth().logout(pb::LogoutRequest { refresh_token }).await.unwrap();
    loop {
        let m = c.recv().await;
        if m["payload"]["errors"].is_array() {
            assert_eq!(m["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{m}");
            break;
        }
        assert_eq!(m["payload"]["data"]["events"]["type"], "session.revoked", "{m}");
    }
    assert_eq!(c.recv().await, json!({"type": "complete", "id": "mine"}));
}

/// The next message for subscription `id` (others are skipped).
async fn next_of(c: &mut Client, id: &str) -> Value {
    loop {
        let m = c.recv().await;
        if m["id"] == id {
            return m;
        }
    }
}

/// The last message of each subscription before the socket goes quiet (waiting for the first).
async fn last_of_each(c: &mut Client) -> std::collections::HashMap<String, Value> {
    let mut last = std::collections::HashMap::new();
    let first = c.recv().await;
    last.insert(first["id"].as_str().unwrap_or_default().to_owned(), first);
    while let Ok(Some(Ok(Message::Text(t)))) = tokio::time::timeout(Duration::from_millis(500), c.ws.next()).await {
        let v: Value = serde_json::from_str(&t).unwrap();
        last.insert(v["id"].as_str().unwrap_or_default().to_owned(), v);
    }
    last
}

/// Writes config entries until each of `clients` has received an event for subscription `id`
/// (the subscriptions are live once core-svc authorized them); returns the seq of the last write.
async fn until_live(core: &TestCore, token: &str, project_id: &str, clients: &mut [&mut Client], id: &str) -> i64 {
    let mut live = vec![false; clients.len()];
    for i in 0..50 {
        core.set_config(token, project_id, "warm", json!(i)).await;
        for (n, c) in clients.iter_mut().enumerate() {
            while let Ok(Some(Ok(Message::Text(t)))) =
                tokio::time::timeout(Duration::from_millis(100), c.ws.next()).await
            {
                let m: Value = serde_json::from_str(&t).unwrap();
                if m["id"] == id && m["type"] == "next" {
                    live[n] = true;
                }
            }
        }
        if live.iter().all(|l| *l) {
            let events = core.wait_events(token, &format!("channel = \"project:{project_id}\""), 1).await;
            return events.iter().map(|e| e.seq).max().unwrap_or_default();
        }
    }
    panic!("subscriptions not live: {live:?}");
}

const ALL_EVENT_FIELDS: &str = "subscription($c: [String!]!) { events(channels: $c) { seq id type channel channels actorId resourceType resourceId payload occurredAt requestId } }";

#[tokio::test]
async fn sockets_running_the_same_operation_get_the_same_results_and_stay_authorized_each() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (_owner, owner_token) = core.user(&admin, "gws-mux-owner").await;
    let (member, member_token) = core.user(&admin, "gws-mux-member").await;
    let (_outsider, outsider_token) = core.user(&admin, "gws-mux-outsider").await;
    let project = core.project(&owner_token, "gws-mux").await;
    let membership = core.add_member(&owner_token, &project.id, &member.id, pb::MemberRole::Viewer).await;
    let edge = edge(&core, &[]).await;
    let vars = json!({"c": [format!("project:{}", project.id)]});

    let mut a = Client::acked(&edge, &owner_token).await;
    let mut b = Client::acked(&edge, &member_token).await;
    a.subscribe("s", ALL_EVENT_FIELDS, vars.clone()).await;
    b.subscribe("s", ALL_EVENT_FIELDS, vars.clone()).await;
    until_live(&core, &owner_token, &project.id, &mut [&mut a, &mut b], "s").await;

    // A non-member running the very same operation is refused, by core-svc, for itself.
    let mut c = Client::acked(&edge, &outsider_token).await;
    c.subscribe("s", ALL_EVENT_FIELDS, vars.clone()).await;
    let refused = next_of(&mut c, "s").await;
    let code = refused["payload"]["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_owned();
    assert!(code == "NOT_FOUND" || code == "FORBIDDEN", "{refused}");
    assert_eq!(next_of(&mut c, "s").await["type"], "complete");

    // Both members get every event, with the same result.
    for i in 0..3 {
        core.set_config(&owner_token, &project.id, "shared", json!({"n": i})).await;
        let (x, y) = (next_of(&mut a, "s").await, next_of(&mut b, "s").await);
        assert_eq!(x["type"], "next", "{x}");
        assert_eq!(x["payload"], y["payload"]);
        assert_eq!(x["payload"]["data"]["events"]["payload"]["key"], "shared", "{x}");
        assert!(x["payload"].get("errors").is_none(), "{x}");
    }

    // The removed member's subscription ends with NOT_FOUND; the owner's goes on.
    core.members()
        .remove_member(authed(pb::RemoveMemberRequest { id: membership.id, ..Default::default() }, &owner_token))
        .await
        .expect("remove member");
    let mut ended = None;
    for _ in 0..20 {
        let m = next_of(&mut b, "s").await;
        if m["payload"].get("errors").is_some() {
            ended = Some(m);
            break;
        }
    }
    let ended = ended.expect("the removed member's subscription ends");
    assert_eq!(ended["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND", "{ended}");
    assert_eq!(next_of(&mut b, "s").await["type"], "complete");
    let version = core.set_config(&owner_token, &project.id, "after-removal", json!(1)).await.version;
    assert!(version > 0);
    loop {
        let m = next_of(&mut a, "s").await;
        assert_eq!(m["type"], "next", "{m}");
        if m["payload"]["data"]["events"]["payload"]["key"] == "after-removal" {
            break;
        }
    }
}

#[tokio::test]
async fn aliases_fragments_directives_and_variables_give_each_operation_its_own_result() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (_u, token) = core.user(&admin, "gws-mux-ops").await;
    let project = core.project(&token, "gws-mux-ops").await;
    let edge = edge(&core, &[]).await;
    let channel = format!("project:{}", project.id);

    let aliased = "subscription($c: [String!]!) { e: events(channels: $c) { s: seq ...F } } fragment F on Event { kind: type __typename }";
    let directed = "subscription($c: [String!]!, $t: Boolean!) { events(channels: $c) { seq type @include(if: $t) } }";
    let mut a = Client::acked(&edge, &token).await;
    let mut b = Client::acked(&edge, &token).await;
    a.subscribe("aliased", aliased, json!({"c": [channel]})).await;
    a.subscribe("with", directed, json!({"c": [channel], "t": true})).await;
    b.subscribe("without", directed, json!({"c": [channel], "t": false})).await;
    b.subscribe("plain", EVENTS, json!({"c": [channel]})).await;
    until_live(&core, &token, &project.id, &mut [&mut a], "aliased").await;
    until_live(&core, &token, &project.id, &mut [&mut a], "with").await;
    until_live(&core, &token, &project.id, &mut [&mut b], "without").await;
    until_live(&core, &token, &project.id, &mut [&mut b], "plain").await;

    let version = core.set_config(&token, &project.id, "ops", json!(true)).await.version;
    assert!(version > 0);
    let (last_a, last_b) = (last_of_each(&mut a).await, last_of_each(&mut b).await);
    let m = &last_a["aliased"];
    assert_eq!(m["payload"]["data"]["e"]["kind"], "config.set", "{m}");
    assert_eq!(m["payload"]["data"]["e"]["__typename"], "Event", "{m}");
    assert!(m["payload"]["data"]["e"]["s"].as_i64().is_some(), "{m}");
    let m = &last_a["with"];
    assert_eq!(m["payload"]["data"]["events"]["type"], "config.set", "{m}");
    let m = &last_b["without"];
    assert!(m["payload"]["data"]["events"].get("type").is_none(), "{m}");
    assert!(m["payload"]["data"]["events"]["seq"].as_i64().is_some(), "{m}");
    let m = &last_b["plain"];
    assert_eq!(m["payload"]["data"]["events"]["type"], "config.set", "{m}");
}

#[tokio::test]
async fn config_changed_with_history_is_read_per_subscriber_and_without_it_is_shared() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (_u, token) = core.user(&admin, "gws-mux-config").await;
    let project = core.project(&token, "gws-mux-config").await;
    let edge = edge(&core, &[]).await;
    let with_history = "subscription($p: ID!) { configChanged(projectId: $p, key: \"k\") { seq config { key value history(first: 5) { totalCount } } } }";
    let without =
        "subscription($p: ID!) { configChanged(projectId: $p, key: \"k\") { seq type config { key value } } }";
    let mut c = Client::acked(&edge, &token).await;
    c.subscribe("h", with_history, json!({"p": project.id})).await;
    c.subscribe("n", without, json!({"p": project.id})).await;
    // Live once an event arrived on both (writes to other keys give nothing: write "k").
    let mut seen = (false, false);
    for i in 0..50 {
        core.set_config(&token, &project.id, "k", json!(i)).await;
        while let Ok(Some(Ok(Message::Text(t)))) = tokio::time::timeout(Duration::from_millis(100), c.ws.next()).await {
            let m: Value = serde_json::from_str(&t).unwrap();
            assert_eq!(m["type"], "next", "{m}");
            assert!(m["payload"].get("errors").is_none(), "{m}");
            if m["id"] == "h" {
                let history = &m["payload"]["data"]["configChanged"]["config"]["history"]["totalCount"];
                assert!(history.as_i64().is_some_and(|n| n >= 1), "{m}");
                seen.0 = true;
            } else {
                assert_eq!(m["payload"]["data"]["configChanged"]["type"], "config.set", "{m}");
                assert_eq!(m["payload"]["data"]["configChanged"]["config"]["key"], "k", "{m}");
                seen.1 = true;
            }
        }
        if seen == (true, true) {
            break;
        }
    }
    assert_eq!(seen, (true, true));
    // Another key's change gives neither anything.
    core.set_config(&token, &project.id, "other", json!(1)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.send(json!({"type": "ping"})).await;
    let m = c.recv().await;
    assert_eq!(m["type"], "pong", "{m}");
}
