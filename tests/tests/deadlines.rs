//! Deadlines: a dependency that stops answering — core-svc behind an edge, PostgreSQL behind
//! core-svc, a row lock that is never released — ends each request with a clean UNAVAILABLE or
//! DEADLINE_EXCEEDED on every protocol, within its deadline, and never leaves a client hanging.

use proto::Services as _;
use std::time::{Duration, Instant};

use futures::StreamExt;
use proto::v1 as pb;
use serde_json::{Value, json};
use sqlx::Connection;
use tests::{CoreOptions, authed, edges, expect_code, fresh_database, net::Proxy, spawn_core_with, value};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
use tonic::Code;

/// Far above the deadlines set here, far below "hangs".
const PROMPTLY: Duration = Duration::from_secs(5);

/// A TCP server that accepts connections and never says a word (a hung process, a black hole).
async fn black_hole() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    addr
}

#[tokio::test]
async fn a_core_that_never_answers_gives_clean_timeouts_on_every_protocol() {
    let core_url = format!("http://{}", black_hole().await);
    let timeout = [("CORE_CALL_TIMEOUT_MS", "500")];
    let http = reqwest::Client::new();

    // REST: 504 problem+json, DEADLINE_EXCEEDED.
    let rest = edges::rest(&core_url, &timeout).await;
    let started = Instant::now();
    let r = http.get(format!("{}/api/v1/projects", rest.http())).bearer_auth("some-token").send().await.unwrap();
    assert!(started.elapsed() < PROMPTLY, "{:?}", started.elapsed());
    assert_eq!(r.status(), 504);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/problem+json"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["reason"], "DEADLINE_EXCEEDED", "{body}");

    // GraphQL: an error with extensions.code UNAVAILABLE.
    let graphql = edges::graphql(&core_url, &timeout).await;
    let started = Instant::now();
    let r = http
        .post(format!("{}/graphql", graphql.http()))
        .bearer_auth("some-token")
        .json(&json!({"query": "{ me { id } }"}))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() < PROMPTLY, "{:?}", started.elapsed());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAVAILABLE", "{body}");

    // WebSocket: an `unavailable` error frame, then close 1013 (try again later).
    let realtime = edges::realtime(&core_url, &timeout).await;
    let mut req = realtime.ws().into_client_request().unwrap();
    req.headers_mut().insert("authorization", "Bearer some-token".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let started = Instant::now();
    let mut frames = Vec::new();
    let code = loop {
        match tokio::time::timeout(PROMPTLY, ws.next()).await.expect("an answer in time") {
            Some(Ok(Message::Text(t))) => frames.push(serde_json::from_str::<Value>(t.as_str()).unwrap()),
            Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    };
    assert!(started.elapsed() < PROMPTLY);
    assert_eq!(frames[0]["code"], "unavailable", "{frames:?}");
    assert_eq!(code, Some(1013));
    drop(ws);
}

/// core-svc's database connection freezes (packets stop, nothing closes): calls end at core's
/// request deadline, readiness says so, and everything works again once the network does.
#[tokio::test]
async fn a_core_whose_database_hangs_ends_calls_at_its_deadline() {
    let database_url = fresh_database().await;
    let pg: std::net::SocketAddr = {
        let rest = database_url.split_once('@').unwrap().1;
        rest.split('/').next().unwrap().parse().unwrap()
    };
    let proxy = Proxy::spawn(pg).await;
    let core = spawn_core_with(CoreOptions {
        database_url: Some(database_url.replace(&pg.to_string(), &proxy.addr.to_string())),
        request_timeout: Duration::from_secs(1),
        ..CoreOptions::default()
    })
    .await;
    let admin = core.admin_token().await;
    let rest = edges::rest(&core.url(), &[]).await;
    let http = reqwest::Client::new();
    let list = || {
        let mut projects = core.projects();
        let req = authed(pb::ListProjectsRequest { page_size: 5, ..Default::default() }, &admin);
        async move { projects.list_projects(req).await }
    };
    list().await.expect("works before the freeze");

    proxy.freeze();
    let started = Instant::now();
    let status = list().await.unwrap_err();
    assert!(started.elapsed() < PROMPTLY, "{:?}", started.elapsed());
    assert_eq!(status.code(), Code::Cancelled, "tonic's deadline: {status:?}");
    let started = Instant::now();
    let r = http.get(format!("{}/api/v1/projects", rest.http())).bearer_auth(&admin).send().await.unwrap();
    assert!(started.elapsed() < PROMPTLY, "{:?}", started.elapsed());
    assert_eq!(r.status(), 504, "{}", r.text().await.unwrap());
    let ready = http.get(format!("http://{}/readyz", core.metrics_addr)).send().await.unwrap();
    assert_eq!(ready.status(), 503);

    proxy.thaw();
    let deadline = Instant::now() + Duration::from_secs(30);
    while list().await.is_err() {
        assert!(Instant::now() < deadline, "core-svc did not recover after the database came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A statement that waits on a lock nobody releases is cancelled by PostgreSQL's
/// statement_timeout: UNAVAILABLE, nothing written, and the connection goes back to work.
#[tokio::test]
async fn a_write_stuck_behind_a_lock_ends_with_unavailable() {
    let core =
        spawn_core_with(CoreOptions { statement_timeout: Duration::from_millis(500), ..CoreOptions::default() }).await;
    let admin = core.admin_token().await;
    let project = core.project(&admin, "locked").await;
    let set = |key: &str| {
        let mut configs = core.configs();
        let req = authed(
            pb::SetConfigRequest {
                project_id: project.id.clone(),
                key: key.into(),
                value: Some(value(json!(1))),
                ..Default::default()
            },
            &admin,
        );
        async move { configs.set_config(req).await }
    };
    let mut holder = sqlx::PgConnection::connect(&core.database_url).await.unwrap();
    let mut tx = holder.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM projects WHERE id = $1::uuid FOR UPDATE")
        .bind(&project.id)
        .execute(&mut *tx)
        .await
        .unwrap();
    let started = Instant::now();
    let status = expect_code(set("blocked").await, Code::Unavailable, Some("UNAVAILABLE"));
    assert!(started.elapsed() < PROMPTLY, "{:?}", started.elapsed());
    assert!(status.message().contains("did not answer in time"), "{status:?}");
    tx.rollback().await.unwrap();

    set("after").await.expect("works once the lock is gone");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM configs WHERE key = 'blocked'")
        .fetch_one(&mut core.db().await)
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing of the cancelled write remains");
}
