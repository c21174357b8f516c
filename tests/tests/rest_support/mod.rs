//! Shared by the rest_*.rs tests: a core-svc and a rest-edge in-process, and a plain HTTP client
//! that speaks React Admin's list dialect.

#![allow(dead_code)]

use edge_kit::config::{CORE_GRPC_URL_VAR, Env};
use reqwest::{Method, StatusCode};
use rest_edge::{
    config::{CORS_ALLOWED_ORIGINS_VAR, Config, LISTEN_ADDR_VAR},
    startup::App,
};
use serde_json::{Value, json};
use tests::{TestCore, spawn_core};

/// A running REST edge in front of a running core.
pub struct Rest {
    pub core: TestCore,
    pub base: String,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Rest {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub async fn spawn_rest() -> Rest {
    let core = spawn_core().await;
    let url = core.url();
    let env = Env::from_pairs([
        (LISTEN_ADDR_VAR, "127.0.0.1:0"),
        (CORE_GRPC_URL_VAR, url.as_str()),
        (CORS_ALLOWED_ORIGINS_VAR, "http://admin.example"),
    ]);
    let app = App::build(Config::from_vars(&env).unwrap()).await.unwrap();
    let base = format!("http://{}/api/v1", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    Rest { core, base, http: reqwest::Client::new(), stop: Some(stop) }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
    }

    #[track_caller]
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert!(self.header("content-type").starts_with("application/problem+json"), "{:?}", self.headers);
        for field in ["type", "title", "status", "detail", "instance", "message"] {
            assert!(self.body.get(field).is_some(), "problem without {field}: {}", self.body);
        }
        assert_eq!(self.body["status"], status);
        assert_eq!(self.body["instance"].as_str(), Some(self.header("x-request-id")));
        &self.body
    }
}

impl Rest {
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        self.raw(method, path, token, body.map(|b| b.to_string()), &[]).await
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.header("content-type", "application/json").body(b);
        }
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Answer { status, headers, body }
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }
}

pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn ra_list(filter: Value, range: Option<(i64, i64)>, sort: Option<(&str, &str)>) -> String {
    let mut q = format!("filter={}", enc(&filter.to_string()));
    if let Some((s, e)) = range {
        q.push_str(&format!("&range={}", enc(&format!("[{s},{e}]"))));
    }
    if let Some((f, d)) = sort {
        q.push_str(&format!("&sort={}", enc(&json!([f, d]).to_string())));
    }
    q
}
