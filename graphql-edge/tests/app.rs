//! graphql-edge started the way `main.rs` starts it, on a free port, with core-svc down.

use edge_kit::config::{CORE_GRPC_URL_VAR, Env};
use graphql_edge::{
    config::{Config, LISTEN_ADDR_VAR},
    startup::App,
};

#[tokio::test]
async fn starts_on_a_free_port_without_core() {
    // Nothing listens on a port that was just freed: core-svc is "down".
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let core_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let config =
        Config::from_vars(&Env::from_pairs([(LISTEN_ADDR_VAR, "127.0.0.1:0"), (CORE_GRPC_URL_VAR, core_url.as_str())]))
            .unwrap();

    let app = App::build(config).await.unwrap();
    let addr = app.local_addr();
    assert_ne!(addr.port(), 0);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));

    let get = |path: &str| reqwest::get(format!("http://{addr}{path}"));
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 503);
    assert_eq!(get("/no-such-route").await.unwrap().status(), 404);
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("http_requests_total{"), "{metrics}");

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// The web app's files at `/` beside `/graphql` and the health routes, and CORS for the listed
/// origins only.
#[tokio::test]
async fn serves_the_web_app_and_answers_cors_for_listed_origins() {
    use graphql_edge::config::WEB_STATIC_DIR_VAR;

    let dir = std::env::temp_dir().join(format!("graphql-edge-web-app-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>web</title>").unwrap();
    std::fs::write(dir.join("config.json"), r#"{"graphqlUrl":"/graphql"}"#).unwrap();
    std::fs::write(dir.join("assets/app.js"), "console.log(1)").unwrap();
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let core_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let config = Config::from_vars(&Env::from_pairs([
        (LISTEN_ADDR_VAR, "127.0.0.1:0"),
        (CORE_GRPC_URL_VAR, core_url.as_str()),
        (WEB_STATIC_DIR_VAR, dir.to_str().unwrap()),
        ("CORS_ALLOWED_ORIGINS", "https://app.example"),
    ]))
    .unwrap();
    let app = App::build(config).await.unwrap();
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://{addr}{path}");

    let index = http.get(url("/")).send().await.unwrap();
    assert_eq!(index.status(), 200);
    assert!(index.headers()["cache-control"].to_str().unwrap().contains("no-cache"));
    assert!(index.text().await.unwrap().contains("<title>web</title>"));
    assert_eq!(http.get(url("/config.json")).send().await.unwrap().status(), 200);
    assert_eq!(http.get(url("/assets/app.js")).send().await.unwrap().status(), 200);
    assert_eq!(http.get(url("/assets/missing.js")).send().await.unwrap().status(), 404);
    assert_eq!(http.get(url("/healthz")).send().await.unwrap().status(), 200);
    // GraphQL still answers (here: core-svc is down, so the query's error is UNAVAILABLE).
    let gql = http.post(url("/graphql")).json(&serde_json::json!({"query": "{ me { id } }"})).send().await.unwrap();
    assert_eq!(gql.status(), 200);

    let preflight = |origin: &str| {
        http.request(reqwest::Method::OPTIONS, url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type,x-request-id")
            .send()
    };
    let ok = preflight("https://app.example").await.unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://app.example");
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(refused.headers().get("access-control-allow-origin").is_none());

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
