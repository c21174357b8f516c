//! Shared by the graphql_*.rs tests: a core-svc and a graphql-edge in-process, and a plain JSON
//! client.

#![allow(dead_code)]

use proto::Services as _;
use std::net::SocketAddr;

use edge_kit::config::{CORE_GRPC_URL_VAR, Env};
use graphql_edge::{
    config::{Config, LISTEN_ADDR_VAR},
    startup::App,
};
use serde_json::{Value, json};
use tests::{ADMIN_PASSWORD, TestCore, USER_PASSWORD, api as pb, authed};

pub struct Stack {
    pub core: TestCore,
    /// The client address this test's direct logins claim (see [`Stack::login`]).
    pub client_addr: String,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub async fn spawn() -> Stack {
    spawn_with(&[]).await
}

/// [`spawn`] with more graphql-edge variables.
pub async fn spawn_with(vars: &[(&str, &str)]) -> Stack {
    let core = tests::spawn_core().await;
    let url = core.url();
    let mut pairs = vec![(LISTEN_ADDR_VAR, "127.0.0.1:0"), (CORE_GRPC_URL_VAR, url.as_str())];
    pairs.extend_from_slice(vars);
    let config = Config::from_vars(&Env::from_pairs(pairs)).unwrap();
    let app = App::build(config).await.unwrap();
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    // An address from the documentation range (RFC 3849), unique per test.
    let id = uuid::Uuid::now_v7().as_u128();
    let client_addr = format!("2001:db8::{:x}:{:x}", (id >> 16) & 0xffff, id & 0xffff);
    Stack { core, client_addr, addr, http: reqwest::Client::new(), _stop: stop }
}

impl Stack {
    /// Logs in over gRPC as if from this test's own client address. The login rate limiter
    /// counts per address in the Redis every test shares, so logging in from 127.0.0.1 would
    /// eat into the budget of whatever runs next from there (the README check after the suite).
    pub async fn login(&self, email: &str, password: &str) -> String {
        let mut req = tonic::Request::new(pb::LoginRequest { email: email.into(), password: password.into() });
        req.metadata_mut().insert("x-forwarded-for", self.client_addr.parse().unwrap());
        let r = self.core.auth().login(req).await.expect("login").into_inner();
        tests::access_token(&r)
    }

    /// An access token of the bootstrap admin.
    pub async fn admin_token(&self) -> String {
        self.login(&self.core.admin_email, ADMIN_PASSWORD).await
    }

    /// Creates a user (as admin) with a unique email and returns it with an access token.
    pub async fn user(&self, admin_token: &str, name: &str) -> (pb::User, String) {
        let email = format!("{name}-{}@platform.test", uuid::Uuid::now_v7().simple());
        let user = self
            .core
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
        let token = self.login(&email, USER_PASSWORD).await;
        (user, token)
    }

    pub fn url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    /// POSTs a body; returns status and JSON. Never a 5xx.
    pub async fn post(&self, token: Option<&str>, body: Vec<u8>) -> (u16, Value) {
        let mut req = self.http.post(self.url()).header("content-type", "application/json").body(body);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert!(status < 500, "5xx {status}: {text}");
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
    }

    /// Runs an operation; returns the whole response body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = json!({ "query": query, "variables": variables });
        self.post(token, serde_json::to_vec(&body).unwrap()).await.1
    }

    /// Runs an operation that must succeed; returns `data`.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let r = self.gql(token, query, variables).await;
        assert!(r.get("errors").is_none(), "unexpected errors: {r}");
        r["data"].clone()
    }

    /// Runs an operation that must fail with `code`; returns the first error.
    pub async fn err(&self, token: Option<&str>, query: &str, variables: Value, code: &str) -> Value {
        let r = self.gql(token, query, variables).await;
        error_with_code(&r, code)
    }

    /// core-svc's `core_grpc_requests_total` lines, for diagnostics.
    pub async fn core_call_lines(&self) -> Vec<String> {
        let text =
            reqwest::get(format!("http://{}/metrics", self.core.metrics_addr)).await.unwrap().text().await.unwrap();
        text.lines().filter(|l| l.starts_with("core_grpc_requests_total{")).map(str::to_string).collect()
    }

    /// Sum of core-svc's `core_grpc_requests_total` over every method and code.
    pub async fn core_calls(&self) -> f64 {
        let text =
            reqwest::get(format!("http://{}/metrics", self.core.metrics_addr)).await.unwrap().text().await.unwrap();
        text.lines()
            .filter(|l| l.starts_with("core_grpc_requests_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

/// The first error of a response, asserted to carry `code` and a request id.
#[track_caller]
pub fn error_with_code(r: &Value, code: &str) -> Value {
    let e = r["errors"].get(0).unwrap_or_else(|| panic!("expected an error {code}, got {r}")).clone();
    assert_eq!(e["extensions"]["code"], code, "{r}");
    assert!(e["extensions"]["requestId"].as_str().is_some_and(|s| !s.is_empty()), "{r}");
    e
}
