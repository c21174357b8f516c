//! The task queue, webhooks and exports against real PostgreSQL, Redis and HTTP: signed
//! deliveries retried with growing delays until dead and retried by hand; the SSRF guard; an
//! export of 1,000 configs with progress events; tasks surviving a Redis that lost its queue and a
//! core-svc killed with SIGKILL in the middle of 1,000 deliveries; maintenance on one replica.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use hmac::{Hmac, Mac};
use poem::{
    EndpointExt, Request as HttpRequest, Response as HttpResponse, handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
};
use proto::Services as _;
use proto::v1 as pb;
use sha2::Sha256;
use tests::{CoreOptions, TestCore, authed, expect_code, fresh_database, spawn_core, spawn_core_with, value};
use tonic::Code;

const SECRET: &str = "test-webhook-secret-0123456789";
const WAIT: Duration = Duration::from_secs(60);

// ------------------------------------------------------------------------------------------------
// A webhook receiver on loopback
// ------------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Received {
    delivery: String,
    event_type: String,
    at: Instant,
    body: serde_json::Value,
    /// The signature matched HMAC-SHA256(secret, timestamp + "." + body).
    signature_ok: bool,
    /// The timestamp was within five minutes of now.
    fresh: bool,
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    /// Answer 500 to the first N requests (of any delivery).
    fail_first: usize,
    /// How long each answer takes.
    delay: Duration,
}

#[derive(Clone, Default)]
struct Receiver {
    state: Arc<Mutex<State>>,
}

impl Receiver {
    async fn start(fail_first: usize, delay: Duration) -> (Receiver, SocketAddr) {
        let receiver = Receiver::default();
        {
            let mut s = receiver.state.lock().unwrap();
            s.fail_first = fail_first;
            s.delay = delay;
        }
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
        let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
        let app = poem::Route::new().at("/hook", poem::post(receive)).data(receiver.clone());
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
        (receiver, addr)
    }

    fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    fn set_fail_first(&self, n: usize) {
        self.state.lock().unwrap().fail_first = n;
    }
}

#[handler]
async fn receive(req: &HttpRequest, body: poem::Body, Data(r): Data<&Receiver>) -> HttpResponse {
    let body = body.into_vec().await.unwrap_or_default();
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let timestamp: i64 = header("x-platform-timestamp").parse().unwrap_or(0);
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let received = Received {
        delivery: header("x-platform-delivery"),
        event_type: header("x-platform-event"),
        at: Instant::now(),
        body: serde_json::from_slice(&body).unwrap_or_default(),
        signature_ok: header("x-platform-signature") == expected,
        fresh: (chrono::Utc::now().timestamp() - timestamp).abs() <= 300,
    };
    let (fail, delay) = {
        let mut s = r.state.lock().unwrap();
        s.received.push(received);
        (s.received.len() <= s.fail_first, s.delay)
    };
    tokio::time::sleep(delay).await;
    let status = if fail { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK };
    HttpResponse::builder().status(status).body(if fail { "boom" } else { "ok" })
}

// ------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------

fn options(f: impl FnOnce(&mut core_svc::tasks::TaskConfig)) -> CoreOptions {
    let mut o = CoreOptions::default();
    f(&mut o.tasks);
    o
}

async fn create_webhook(core: &TestCore, token: &str, project_id: &str, url: String, types: &[&str]) -> pb::Webhook {
    core.webhooks()
        .create_webhook(authed(
            pb::CreateWebhookRequest {
                project_id: project_id.into(),
                webhook: Some(pb::Webhook {
                    url,
                    event_types: types.iter().map(|t| t.to_string()).collect(),
                    secret: SECRET.into(),
                    ..Default::default()
                }),
            },
            token,
        ))
        .await
        .expect("create webhook")
        .into_inner()
        .webhook
        .unwrap()
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

async fn deliveries(core: &TestCore, token: &str, webhook_id: &str) -> Vec<pb::WebhookDelivery> {
    core.webhooks()
        .list_webhook_deliveries(authed(
            pb::ListWebhookDeliveriesRequest { webhook_id: webhook_id.into(), page_size: 1000, ..Default::default() },
            token,
        ))
        .await
        .expect("list deliveries")
        .into_inner()
        .deliveries
}

async fn task(core: &TestCore, token: &str, id: &str) -> pb::Task {
    core.tasks()
        .get_task(authed(pb::GetTaskRequest { id: id.into() }, token))
        .await
        .expect("get task")
        .into_inner()
        .task
        .unwrap()
}

/// The task once it has reached `status`.
async fn task_in(core: &TestCore, token: &str, id: &str, status: pb::TaskStatus) -> pb::Task {
    eventually(&format!("task {id} to be {status:?}"), || async {
        let t = task(core, token, id).await;
        (t.status == status as i32).then_some(t)
    })
    .await
}

/// Polls `check` every 50 ms until it returns Some, or fails after [`WAIT`].
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A task's attempts as core recorded them (number, outcome, error): what a failure message needs.
async fn attempts(core: &TestCore, task_id: &str) -> Vec<(i32, Option<String>, Option<String>)> {
    sqlx::query_as("SELECT attempt, outcome, error FROM task_attempts WHERE task_id = $1::uuid ORDER BY id")
        .bind(task_id)
        .fetch_all(&mut core.db().await)
        .await
        .unwrap()
}

async fn count(core: &TestCore, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&mut core.db().await).await.unwrap()
}

// ------------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_owner_gets_signed_deliveries_retried_with_backoff_then_dead_then_retried_by_hand() {
    let core = spawn_core_with(options(|t| {
        t.retry_base = Duration::from_millis(200);
        t.retry_max = Duration::from_secs(5);
        t.webhook_max_attempts = 3;
    }))
    .await;
    let admin = core.admin_token().await;
    let (_, owner) = core.user(&admin, "owner").await;
    let project = core.project(&owner, "hooks").await;
    // Every attempt fails until the test says otherwise.
    let (receiver, addr) = Receiver::start(usize::MAX, Duration::ZERO).await;
    let hook = create_webhook(&core, &owner, &project.id, format!("http://{addr}/hook"), &["config.*"]).await;
    assert!(!hook.secret.is_empty(), "the secret is shown at creation");
    set(&core, &owner, &project.id, "feature.flag", serde_json::json!(true)).await;

    let dead = eventually("the delivery to die", || async {
        deliveries(&core, &owner, &hook.id).await.into_iter().find(|d| d.status == pb::DeliveryStatus::Dead as i32)
    })
    .await;
    assert_eq!(dead.attempts, 3);
    assert_eq!(dead.response_status, 500);
    assert_eq!(dead.response_body, "boom");
    let got = receiver.received();
    assert_eq!(
        got.len(),
        3,
        "three attempts reached the receiver; attempts: {:?}",
        attempts(&core, &dead.task_id).await
    );
    for r in &got {
        assert!(r.signature_ok && r.fresh, "signed with the secret and a current timestamp: {r:?}");
        assert_eq!(r.event_type, "config.set");
        assert_eq!(r.delivery, dead.id);
        assert_eq!(r.body["type"], "config.set");
        assert_eq!(r.body["payload"]["key"], "feature.flag");
    }
    // Backoff: attempt n+1 waits at least half of base·2^(n-1) after attempt n fails.
    let gaps: Vec<Duration> = got.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(gaps[0] >= Duration::from_millis(100), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(200), "{gaps:?}");
    // The attempt writes the delivery log; the task runner records the task's own outcome just
    // after it returns, so the task may still read `running` for a moment.
    let t = task_in(&core, &owner, &dead.task_id, pb::TaskStatus::Dead).await;
    assert_eq!(t.kind, "webhook.deliver");

    // The receiver recovers; the owner retries the dead delivery by hand.
    receiver.set_fail_first(0);
    core.tasks().retry_task(authed(pb::RetryTaskRequest { id: dead.task_id.clone() }, &owner)).await.unwrap();
    let delivered = eventually("the retried delivery", || async {
        deliveries(&core, &owner, &hook.id).await.into_iter().find(|d| d.status == pb::DeliveryStatus::Delivered as i32)
    })
    .await;
    assert_eq!(delivered.id, dead.id);
    assert_eq!(delivered.response_status, 200);
    assert!(delivered.deliver_time.is_some());
    assert_eq!(receiver.received().len(), 4);
    task_in(&core, &owner, &dead.task_id, pb::TaskStatus::Succeeded).await;

    // Only matching events are delivered: a member change is not config.*.
    let (other, _) = core.user(&admin, "other").await;
    core.add_member(&owner, &project.id, &other.id, pb::MemberRole::Viewer).await;
    set(&core, &owner, &project.id, "second", serde_json::json!(2)).await;
    eventually("the second delivery", || async { (receiver.received().len() == 5).then_some(()) }).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(receiver.received().iter().all(|r| r.event_type.starts_with("config.")));
}

#[tokio::test]
async fn webhooks_cannot_target_private_addresses_unless_allowed() {
    let core = spawn_core_with(options(|t| {
        t.webhook_allow_private = false;
        t.webhook_max_attempts = 1;
    }))
    .await;
    let admin = core.admin_token().await;
    let project = core.project(&admin, "ssrf").await;
    let (receiver, addr) = Receiver::start(0, Duration::ZERO).await;
    let try_create = |url: String| {
        let core = &core;
        let admin = &admin;
        let project_id = project.id.clone();
        async move {
            core.webhooks()
                .create_webhook(authed(
                    pb::CreateWebhookRequest {
                        project_id,
                        webhook: Some(pb::Webhook { url, event_types: vec!["*".into()], ..Default::default() }),
                    },
                    admin,
                ))
                .await
        }
    };

    // An IP literal is judged at creation, in every spelling that leads to a private address:
    // IPv4-mapped and -compatible IPv6, NAT64, 6to4, and the numeric forms URL parsers accept.
    let port = addr.port();
    for url in [
        format!("http://{addr}/hook"),
        "http://169.254.169.254/latest/meta-data".to_string(),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://[::127.0.0.1]:{port}/"),
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data".to_string(),
        format!("http://[2002:7f00:1::]:{port}/"),
        format!("http://[::1]:{port}/"),
        format!("http://0x7f.1:{port}/"),
        format!("http://2130706433:{port}/"),
        "http://[fd00::1]/".to_string(),
    ] {
        let status = expect_code(try_create(url.clone()).await, Code::InvalidArgument, None);
        assert_eq!(tests::violation_fields(&status), ["webhook.url"], "{url}: {status:?}");
    }

    // A name is judged at each delivery, against every address it resolves to then: a name
    // that resolves (or rebinds) to a private address is refused when it is sent.
    let by_name = create_webhook(&core, &admin, &project.id, format!("http://localhost:{port}/hook"), &["*"]).await;
    set(&core, &admin, &project.id, "k", serde_json::json!(1)).await;
    let d = eventually("the refused delivery", || async {
        deliveries(&core, &admin, &by_name.id).await.into_iter().find(|d| d.status == pb::DeliveryStatus::Dead as i32)
    })
    .await;
    assert!(d.last_error.contains("refused: localhost resolves to"), "{}", d.last_error);
    assert_eq!(d.response_status, 0);
    assert!(receiver.received().is_empty(), "nothing reached the private address");

    // Bad URLs never get in.
    for url in ["ftp://example.com/x", "not a url", "http://user:pass@example.com/", ""] {
        let r = core
            .webhooks()
            .create_webhook(authed(
                pb::CreateWebhookRequest {
                    project_id: project.id.clone(),
                    webhook: Some(pb::Webhook { url: url.into(), event_types: vec!["*".into()], ..Default::default() }),
                },
                &admin,
            ))
            .await;
        expect_code(r, Code::InvalidArgument, None);
    }
    let r = core
        .webhooks()
        .create_webhook(authed(
            pb::CreateWebhookRequest {
                project_id: project.id.clone(),
                webhook: Some(pb::Webhook {
                    url: "https://example.com/x".into(),
                    event_types: vec!["Config Set".into()],
                    ..Default::default()
                }),
            },
            &admin,
        ))
        .await;
    assert_eq!(tests::violation_fields(&expect_code(r, Code::InvalidArgument, None)), ["webhook.event_types[0]"]);
}

/// The dispatcher may lag behind the log (here: no replica may lead until the test lets one). A
/// webhook created meanwhile must get only what happened after it was created, while it was
/// active, judged by the settings it had then — not everything the dispatcher has yet to read.
#[tokio::test]
async fn a_lagging_dispatcher_delivers_only_what_happened_while_a_webhook_was_active() {
    use sqlx::Connection;
    let database_url = fresh_database().await;
    let mut leader_lock = sqlx::PgConnection::connect(&database_url).await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(core_svc::tasks::LEADER_LOCK_KEY)
        .execute(&mut leader_lock)
        .await
        .unwrap();
    let core = spawn_core_with(CoreOptions { database_url: Some(database_url), ..CoreOptions::default() }).await;
    // The dispatcher has read nothing of the log yet (its cursor starts at the beginning).
    sqlx::query("INSERT INTO log_cursors (name, seq) VALUES ('webhooks', 0)")
        .execute(&mut core.db().await)
        .await
        .unwrap();
    let admin = core.admin_token().await;
    let project = core.project(&admin, "lagging").await;
    let (receiver, addr) = Receiver::start(0, Duration::ZERO).await;

    set(&core, &admin, &project.id, "before", serde_json::json!(1)).await;
    let hook = create_webhook(&core, &admin, &project.id, format!("http://{addr}/hook"), &["config.*"]).await;
    set(&core, &admin, &project.id, "while-active", serde_json::json!(2)).await;
    let set_active = |active: bool| {
        let core = &core;
        let admin = &admin;
        let id = hook.id.clone();
        async move {
            core.webhooks()
                .update_webhook(authed(
                    pb::UpdateWebhookRequest {
                        webhook: Some(pb::Webhook { id, active, ..Default::default() }),
                        update_mask: Some(prost_types::FieldMask { paths: vec!["active".into()] }),
                        etag: String::new(),
                    },
                    admin,
                ))
                .await
                .expect("update webhook");
        }
    };
    set_active(false).await;
    set(&core, &admin, &project.id, "while-inactive", serde_json::json!(3)).await;
    set_active(true).await;
    set(&core, &admin, &project.id, "active-again", serde_json::json!(4)).await;
    let configs =
        core.wait_events(&admin, &format!("channel = \"project:{}\" AND type = \"config.set\"", project.id), 4).await;
    assert_eq!(configs.len(), 4);

    // Now a replica may lead, and the dispatcher reads the whole backlog at once.
    drop(leader_lock);
    let got =
        eventually("two deliveries", || async { (receiver.received().len() >= 2).then(|| receiver.received()) }).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut keys: Vec<String> =
        receiver.received().iter().map(|r| r.body["payload"]["key"].as_str().unwrap_or_default().to_string()).collect();
    keys.sort();
    assert_eq!(keys, ["active-again", "while-active"], "{got:?}");
    let logged = deliveries(&core, &admin, &hook.id).await;
    assert_eq!(logged.len(), 2, "{logged:?}");
}

#[tokio::test]
async fn an_export_of_1000_configs_reports_progress_and_downloads() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (owner_user, owner) = core.user(&admin, "owner").await;
    let project = core.project(&owner, "export").await;
    let entries: Vec<pb::import_configs_request::Entry> = (0..1000)
        .map(|i| pb::import_configs_request::Entry {
            key: format!("key.{i:04}"),
            value: Some(value(serde_json::json!({ "n": i }))),
            ..Default::default()
        })
        .collect();
    core.configs()
        .import_configs(authed(pb::ImportConfigsRequest { project_id: project.id.clone(), entries }, &owner))
        .await
        .expect("import 1000 configs");
    // Some history beyond version 1.
    for i in 0..10 {
        set(&core, &owner, &project.id, &format!("key.{i:04}"), serde_json::json!({ "n": i, "v": 2 })).await;
    }
    let queued = core
        .projects()
        .export_project(authed(pb::ExportProjectRequest { id: project.id.clone() }, &owner))
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_eq!(queued.kind, "project.export");
    let done = eventually("the export", || async {
        let t = task(&core, &owner, &queued.id).await;
        (t.status == pb::TaskStatus::Succeeded as i32).then_some(t)
    })
    .await;
    assert_eq!(done.progress, 100);
    let result = done.result.unwrap().fields;
    assert_eq!(result["configs"].kind, Some(prost_types::value::Kind::NumberValue(1000.0)));
    assert_eq!(result["revisions"].kind, Some(prost_types::value::Kind::NumberValue(1010.0)));

    // Progress came as task.progress events on the owner's channel, increasing.
    let progress = core
        .wait_events(
            &owner,
            &format!(
                "channel = \"user:{}\" AND type = \"task.progress\" AND resource_id = \"{}\"",
                owner_user.id, queued.id
            ),
            3,
        )
        .await;
    assert!(progress.len() >= 3, "{} progress events", progress.len());
    let values: Vec<f64> = progress
        .iter()
        .map(|e| match e.payload.as_ref().unwrap().fields["progress"].kind {
            Some(prost_types::value::Kind::NumberValue(n)) => n,
            _ => panic!("progress is a number"),
        })
        .collect();
    assert!(values.windows(2).all(|w| w[0] < w[1]), "{values:?}");
    let types: Vec<String> = core
        .wait_events(&owner, &format!("resource_id = \"{}\" AND type = \"task.succeeded\"", queued.id), 1)
        .await
        .into_iter()
        .map(|e| e.r#type)
        .collect();
    assert_eq!(types, ["task.succeeded"]);

    let doc = core
        .projects()
        .get_project_export(authed(pb::GetProjectExportRequest { task_id: queued.id.clone() }, &owner))
        .await
        .unwrap()
        .into_inner()
        .document
        .unwrap();
    let doc = serde_json::to_value(struct_json(doc)).unwrap();
    assert_eq!(doc["format"], "platform-sm.export/v1");
    assert_eq!(doc["project"]["id"], project.id.as_str());
    assert_eq!(doc["members"].as_array().unwrap().len(), 1);
    let configs = doc["configs"].as_array().unwrap();
    assert_eq!(configs.len(), 1000);
    let first = configs.iter().find(|c| c["key"] == "key.0000").unwrap();
    assert_eq!(first["revisions"].as_array().unwrap().len(), 2, "the history comes with the config");

    // Not downloadable by a viewer of the project (the task is the owner's).
    let (viewer, viewer_token) = core.user(&admin, "viewer").await;
    core.add_member(&owner, &project.id, &viewer.id, pb::MemberRole::Viewer).await;
    expect_code(
        core.projects()
            .get_project_export(authed(pb::GetProjectExportRequest { task_id: queued.id.clone() }, &viewer_token))
            .await,
        Code::NotFound,
        None,
    );
}

fn struct_json(s: prost_types::Struct) -> serde_json::Value {
    use prost_types::value::Kind;
    fn v(x: prost_types::Value) -> serde_json::Value {
        match x.kind {
            Some(Kind::NullValue(_)) | None => serde_json::Value::Null,
            Some(Kind::BoolValue(b)) => b.into(),
            Some(Kind::NumberValue(n)) => serde_json::json!(n),
            Some(Kind::StringValue(s)) => s.into(),
            Some(Kind::ListValue(l)) => l.values.into_iter().map(v).collect(),
            Some(Kind::StructValue(s)) => struct_json(s),
        }
    }
    s.fields.into_iter().map(|(k, x)| (k, v(x))).collect::<serde_json::Map<_, _>>().into()
}

#[tokio::test]
async fn queued_tasks_run_after_redis_lost_the_queue_and_can_be_cancelled() {
    let db = fresh_database().await;
    // No workers: the tasks stay queued, their ids in Redis.
    let a = spawn_core_with(CoreOptions { database_url: Some(db.clone()), ..options(|t| t.workers = 0) }).await;
    let admin = a.admin_token().await;
    let project = a.project(&admin, "flush").await;
    let mut ids = Vec::new();
    for _ in 0..20 {
        let t = a
            .projects()
            .export_project(authed(pb::ExportProjectRequest { id: project.id.clone() }, &admin))
            .await
            .unwrap()
            .into_inner()
            .task
            .unwrap();
        ids.push(t.id);
    }
    // Cancel one while it is queued; it must never run.
    let cancelled = a
        .tasks()
        .cancel_task(authed(pb::CancelTaskRequest { id: ids[0].clone() }, &admin))
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_eq!(cancelled.status, pb::TaskStatus::Cancelled as i32);

    // Redis loses the queue (as after FLUSHALL or a restart without persistence).
    let redis = redis::Client::open(std::env::var("REDIS_URL").unwrap()).unwrap();
    let mut conn = redis.get_multiplexed_async_connection().await.unwrap();
    let key = core_svc::tasks::queue_key(db.rsplit('/').next().unwrap());
    let queued: i64 = redis::cmd("LLEN").arg(&key).query_async(&mut conn).await.unwrap();
    assert!(queued >= 20, "the ids were dispatched through Redis ({queued})");
    let _: () = redis::cmd("DEL").arg(&key).query_async(&mut conn).await.unwrap();

    // A replica with workers starts: every task still runs, exactly once.
    let b = spawn_core_with(CoreOptions { database_url: Some(db.clone()), ..Default::default() }).await;
    for id in &ids[1..] {
        let id = id.clone();
        let t = eventually("a queued export", || async {
            let t = task(&b, &admin, &id).await;
            (t.status == pb::TaskStatus::Succeeded as i32).then_some(t)
        })
        .await;
        assert_eq!(t.attempts, 1);
    }
    assert_eq!(task(&b, &admin, &ids[0]).await.status, pb::TaskStatus::Cancelled as i32);
    // Cancelling or retrying in the wrong state is refused.
    expect_code(
        b.tasks().cancel_task(authed(pb::CancelTaskRequest { id: ids[1].clone() }, &admin)).await,
        Code::FailedPrecondition,
        Some("TASK_NOT_CANCELLABLE"),
    );
    expect_code(
        b.tasks().retry_task(authed(pb::RetryTaskRequest { id: ids[1].clone() }, &admin)).await,
        Code::FailedPrecondition,
        Some("TASK_NOT_RETRYABLE"),
    );
    // A cancelled task can be retried; it then runs.
    b.tasks().retry_task(authed(pb::RetryTaskRequest { id: ids[0].clone() }, &admin)).await.unwrap();
    eventually("the retried export", || async {
        (task(&b, &admin, &ids[0]).await.status == pb::TaskStatus::Succeeded as i32).then_some(())
    })
    .await;
    b.stop().await;
}

/// A child process that is killed (SIGKILL) when dropped, also when the test fails.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn killing_core_svc_in_the_middle_of_1000_deliveries_loses_none() {
    let bin = std::env::var("PLATFORM_CORE_BIN")
        .expect("PLATFORM_CORE_BIN must name a built core-svc binary: run the tests through ./scripts/test");
    let db = fresh_database().await;
    // The in-process replica writes and leads, but runs no task itself.
    let a = spawn_core_with(CoreOptions { database_url: Some(db.clone()), ..options(|t| t.workers = 0) }).await;
    let admin = a.admin_token().await;
    let project = a.project(&admin, "kill").await;
    let (receiver, addr) = Receiver::start(0, Duration::from_millis(5)).await;
    let hook = create_webhook(&a, &admin, &project.id, format!("http://{addr}/hook"), &["config.set"]).await;
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (url, admin, pid) = (a.url(), admin.clone(), project.id.clone());
            tokio::spawn(async move {
                let channel = tonic::transport::Channel::from_shared(url).unwrap().connect_lazy();
                let mut configs = pb::config_service_client::ConfigServiceClient::new(channel);
                for i in 0..125 {
                    configs
                        .set_config(authed(
                            pb::SetConfigRequest {
                                project_id: pid.clone(),
                                key: format!("w{w}.k{i}"),
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
    for w in writers {
        w.await.unwrap();
    }
    eventually("1000 queued deliveries", || async {
        (count(&a, "SELECT count(*) FROM webhook_deliveries").await == 1000).then_some(())
    })
    .await;

    // A real core-svc process runs them... and is killed with SIGKILL mid-way.
    let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut child = Killed(
        std::process::Command::new(&bin)
            .env("DATABASE_URL", &db)
            .env("REDIS_URL", std::env::var("REDIS_URL").unwrap())
            .env("JWT_SECRET", "kill-test-jwt-secret-kill-test-jwt-secret")
            .env("CORE_LISTEN_ADDR", free().to_string())
            .env("CORE_METRICS_ADDR", free().to_string())
            .env("TASK_WORKERS", "4")
            .env("TASK_LEASE_SECS", "2")
            .env("WEBHOOK_ALLOW_PRIVATE", "true")
            .env("MAINTENANCE_INTERVAL_SECS", "0")
            .env("RUST_LOG", "warn")
            .spawn()
            .expect("start core-svc"),
    );
    eventually("the process to deliver some", || async { (receiver.received().len() >= 200).then_some(()) }).await;
    child.0.kill().expect("SIGKILL core-svc");
    child.0.wait().expect("core-svc exits");
    let at_kill = receiver.received().len();
    let running: i64 = count(&a, "SELECT count(*) FROM tasks WHERE status = 'running'").await;
    assert!(at_kill < 1000, "killed in the middle ({at_kill} received)");

    // Another replica picks up what was queued and, once the leases lapse, what was running.
    let b = spawn_core_with(CoreOptions { database_url: Some(db.clone()), ..Default::default() }).await;
    eventually("every delivery delivered", || async {
        (count(&b, "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'").await == 1000).then_some(())
    })
    .await;
    let got = receiver.received();
    let mut per_delivery: HashMap<&str, usize> = HashMap::new();
    for r in &got {
        assert!(r.signature_ok);
        *per_delivery.entry(r.delivery.as_str()).or_default() += 1;
    }
    assert_eq!(per_delivery.len(), 1000, "every delivery reached the receiver");
    let duplicates = got.len() - 1000;
    let lost = count(&b, "SELECT count(*) FROM task_attempts WHERE outcome = 'lost'").await;
    assert!(lost >= 1 || running == 0, "the attempts cut by SIGKILL are recorded as lost ({running} were running)");
    eprintln!(
        "killed after {at_kill} receipts; {running} running at the kill; {lost} lost attempts; {duplicates} repeats"
    );
    assert!(duplicates as i64 <= lost, "at least once: {duplicates} repeats, {lost} lost attempts");
    assert_eq!(count(&b, "SELECT count(*) FROM tasks WHERE status <> 'succeeded'").await, 0);
    let _ = hook;
    b.stop().await;
}

#[tokio::test]
async fn maintenance_is_scheduled_once_across_replicas() {
    let db = fresh_database().await;
    let with_maintenance = |db: &str| CoreOptions {
        database_url: Some(db.to_string()),
        ..options(|t| t.maintenance_every = Duration::from_secs(3600))
    };
    let a = spawn_core_with(with_maintenance(&db)).await;
    let b = spawn_core_with(with_maintenance(&db)).await;
    let admin = a.admin_token().await;
    eventually("both maintenance tasks to succeed", || async {
        let n = count(&a, "SELECT count(*) FROM tasks WHERE kind LIKE 'maintenance.%' AND status = 'succeeded'").await;
        (n == 2).then_some(())
    })
    .await;
    // Two replicas, one leader: each job was scheduled once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(count(&a, "SELECT count(*) FROM tasks WHERE kind LIKE 'maintenance.%'").await, 2);
    let list = a
        .tasks()
        .list_tasks(authed(
            pb::ListTasksRequest { filter: "kind = \"maintenance.*\"".into(), ..Default::default() },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.total_size, 2);
    b.stop().await;
}

#[tokio::test]
async fn the_backoff_grows_and_is_jittered_within_bounds() {
    let config = core_svc::tasks::TaskConfig {
        retry_base: Duration::from_millis(100),
        retry_max: Duration::from_secs(2),
        ..Default::default()
    };
    for attempt in 1..=8 {
        let full = (Duration::from_millis(100) * 2u32.pow(attempt as u32 - 1)).min(Duration::from_secs(2));
        for _ in 0..50 {
            let d = config.backoff(attempt);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?} not in [{:?}, {full:?}]", full / 2);
        }
    }
}
