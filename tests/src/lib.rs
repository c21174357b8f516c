//! The end-to-end harness: starts a real core-svc on port 0 against a fresh PostgreSQL
//! database (one per test) and the shared test Redis, and hands out gRPC clients and tokens.
//!
//! The test command (`scripts/test`) starts PostgreSQL and Redis and exports `DATABASE_URL`
//! (a role allowed to create databases) and `REDIS_URL`.

pub mod edges;
pub mod net;
pub mod procs;

use std::{net::SocketAddr, time::Duration};

use core_svc::{App, Config, redis::LoginLimits, tasks::TaskConfig};
use proto::{Services as _, v1 as pb};
use sqlx::{Connection, Executor, PgConnection};
use tokio::{sync::oneshot, task::JoinHandle};
use tonic::{Code, Request, Status, transport::Channel};
use tonic_types::StatusExt;

pub use proto::v1 as api;

pub const ADMIN_PASSWORD: &str = "admin-password-1234";
pub const USER_PASSWORD: &str = "user-password-1234";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set: run the tests through ./scripts/test"))
}

/// Options for [`spawn_core_with`].
#[derive(Clone)]
pub struct CoreOptions {
    pub login_limits: LoginLimits,
    /// Use this database instead of creating a fresh one (several replicas of one deployment).
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    pub token_limit: Option<core_svc::redis::TokenLimit>,
    pub tasks: TaskConfig,
    /// Peers whose `x-forwarded-for` core-svc believes: loopback, where the tests' edges run.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub statement_timeout: Duration,
    pub request_timeout: Duration,
}

impl Default for CoreOptions {
    fn default() -> Self {
        // Every test logs in from 127.0.0.1; a realistic per-address limit would make the
        // suite rate-limit itself. The rate-limit tests set their own.
        Self {
            login_limits: LoginLimits { per_email: 1000, per_addr: 100_000, window: Duration::from_secs(60) },
            database_url: None,
            redis_url: None,
            token_limit: None,
            // Fast retries, and webhooks may target the tests' loopback receivers.
            tasks: TaskConfig {
                retry_base: Duration::from_millis(50),
                retry_max: Duration::from_millis(400),
                webhook_allow_private: true,
                // Maintenance writes task events; tests that count events turn it on themselves.
                maintenance_every: Duration::ZERO,
                ..TaskConfig::default()
            },
            trusted_proxies: core_svc::config::trusted_proxies("127.0.0.0/8, ::1").unwrap(),
            statement_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// A running core-svc.
pub struct TestCore {
    pub addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    pub database_url: String,
    pub admin_email: String,
    channel: Channel,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// Creates an empty database named after a fresh UUID and returns its URL.
pub async fn fresh_database() -> String {
    let base = env("DATABASE_URL");
    let name = format!("psm_test_{}", uuid::Uuid::now_v7().simple());
    let mut conn = PgConnection::connect(&base).await.expect("connect to DATABASE_URL");
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).await.expect("create test database");
    let mut url = url_without_db(&base);
    url.push('/');
    url.push_str(&name);
    url
}

fn url_without_db(url: &str) -> String {
    // postgres://user:pass@host:port/db?params → postgres://user:pass@host:port
    let (head, _) = url.split_once('?').unwrap_or((url, ""));
    let scheme_end = head.find("://").map_or(0, |i| i + 3);
    match head[scheme_end..].find('/') {
        Some(i) => head[..scheme_end + i].to_string(),
        None => head.to_string(),
    }
}

pub async fn spawn_core() -> TestCore {
    spawn_core_with(CoreOptions::default()).await
}

pub async fn spawn_core_with(opts: CoreOptions) -> TestCore {
    let database_url = match opts.database_url {
        Some(u) => u,
        None => fresh_database().await,
    };
    let admin_email = "admin@platform.test".to_string();
    let config = Config {
        database_url: database_url.clone(),
        database_max_connections: 10,
        statement_timeout: opts.statement_timeout,
        request_timeout: opts.request_timeout,
        redis_url: opts.redis_url.unwrap_or_else(|| env("REDIS_URL")),
        listen_addr: "127.0.0.1:0".parse().unwrap(),
        metrics_addr: "127.0.0.1:0".parse().unwrap(),
        jwt_secret: b"test-jwt-secret-test-jwt-secret-0123".to_vec().into(),
        access_token_ttl: Duration::from_secs(900),
        admin: Some((admin_email.clone(), ADMIN_PASSWORD.into())),
        login_limits: opts.login_limits,
        token_limit: opts.token_limit,
        tasks: opts.tasks,
        shutdown_grace: Duration::from_secs(5),
        trusted_proxies: opts.trusted_proxies,
    };
    let app = App::build(config).await.expect("core-svc builds");
    let addr = app.local_addr();
    let metrics_addr = app.metrics_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect_lazy();
    TestCore { addr, metrics_addr, database_url, admin_email, channel, stop: Some(stop), task: Some(task) }
}

/// A client of each platform.v1 service (`core.users()`, …).
impl proto::Services for TestCore {
    fn channel(&self) -> Channel {
        self.channel.clone()
    }
}

impl TestCore {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// Logs in and returns the full response.
    pub async fn login(&self, email: &str, password: &str) -> Result<pb::LoginResponse, Status> {
        self.auth()
            .login(pb::LoginRequest { email: email.into(), password: password.into() })
            .await
            .map(|r| r.into_inner())
    }

    /// An access token of the bootstrap admin.
    pub async fn admin_token(&self) -> String {
        access_token(&self.login(&self.admin_email, ADMIN_PASSWORD).await.expect("admin login"))
    }

    /// Creates a user (as admin) with a unique email and returns it with an access token.
    pub async fn user(&self, admin_token: &str, name: &str) -> (pb::User, String) {
        let email = format!("{name}-{}@platform.test", uuid::Uuid::now_v7().simple());
        let user = self
            .users()
            .create_user(authed(
                pb::CreateUserRequest {
                    email: email.clone(),
                    name: name.into(),
                    password: USER_PASSWORD.into(),
                    role: 0,
                },
                admin_token,
            ))
            .await
            .expect("create user")
            .into_inner()
            .user
            .unwrap();
        let token = access_token(&self.login(&email, USER_PASSWORD).await.expect("user login"));
        (user, token)
    }

    /// Creates a project as `token`'s user.
    /// Sets config `key` of a project as `token`'s user; panics with the status if refused.
    pub async fn set_config(&self, token: &str, project_id: &str, key: &str, v: serde_json::Value) -> pb::Config {
        self.configs()
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
            .unwrap_or_else(|e| panic!("set {key}: {e:?}"))
            .into_inner()
            .config
            .unwrap()
    }

    pub async fn project(&self, token: &str, slug_prefix: &str) -> pb::Project {
        let slug = format!("{slug_prefix}-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
        self.projects()
            .create_project(authed(
                pb::CreateProjectRequest { slug, name: slug_prefix.into(), description: String::new() },
                token,
            ))
            .await
            .expect("create project")
            .into_inner()
            .project
            .unwrap()
    }

    /// Adds `user_id` to a project with a role, as `owner_token`.
    pub async fn add_member(
        &self,
        owner_token: &str,
        project_id: &str,
        user_id: &str,
        role: pb::MemberRole,
    ) -> pb::Member {
        self.members()
            .add_member(authed(
                pb::AddMemberRequest {
                    project_id: project_id.into(),
                    user_id: user_id.into(),
                    email: String::new(),
                    role: role as i32,
                },
                owner_token,
            ))
            .await
            .expect("add member")
            .into_inner()
            .member
            .unwrap()
    }

    /// Waits until the event relay has sequenced at least `n` events visible to `token`
    /// matching `filter`, and returns them.
    pub async fn wait_events(&self, token: &str, filter: &str, n: usize) -> Vec<pb::Event> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let events = self
                .events()
                .list_events(authed(
                    pb::ListEventsRequest { filter: filter.into(), page_size: 1000, ..Default::default() },
                    token,
                ))
                .await
                .expect("list events")
                .into_inner()
                .events;
            if events.len() >= n || tokio::time::Instant::now() > deadline {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A direct connection to this core's database, for assertions about what was written.
    pub async fn db(&self) -> PgConnection {
        PgConnection::connect(&self.database_url).await.expect("connect to test database")
    }

    /// Stops the core (as SIGTERM would) and waits for it to drain.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("core task").expect("core drained cleanly");
        }
    }
}

impl Drop for TestCore {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub fn access_token(r: &pb::LoginResponse) -> String {
    r.tokens.as_ref().expect("tokens").access_token.clone()
}

/// Wraps a message with `authorization: Bearer <token>`.
pub fn authed<T>(msg: T, token: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("ascii token"));
    r
}

/// Asserts a call failed with `code` (and, if given, ErrorInfo `reason`); returns the status.
#[track_caller]
pub fn expect_code<T: std::fmt::Debug>(r: Result<T, Status>, code: Code, reason: Option<&str>) -> Status {
    let status = match r {
        Ok(v) => panic!("expected {code:?}, got Ok({v:?})"),
        Err(s) => s,
    };
    assert_eq!(status.code(), code, "unexpected status: {status:?}");
    if let Some(reason) = reason {
        let info = status.get_error_details().error_info().cloned().expect("ErrorInfo detail");
        assert_eq!(info.reason, reason, "{status:?}");
    }
    status
}

/// The fields named by a status's BadRequest violations.
pub fn violation_fields(status: &Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// JSON → protobuf Value, for config values in requests.
pub use proto::json::to_value as value;
