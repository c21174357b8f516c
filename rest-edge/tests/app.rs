//! rest-edge started the way `main.rs` starts it, on a free port, with core-svc down.

use edge_kit::config::{CORE_GRPC_URL_VAR, Env};
use rest_edge::{
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

#[tokio::test]
async fn serves_the_admin_panel_when_configured() {
    let dir = std::env::temp_dir().join(format!("rest-edge-admin-serve-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>panel</title>").unwrap();
    std::fs::write(dir.join("assets/app-1234.js"), "console.log(1)").unwrap();
    let config = Config::from_vars(&Env::from_pairs([
        (LISTEN_ADDR_VAR, "127.0.0.1:0"),
        (rest_edge::config::ADMIN_STATIC_DIR_VAR, dir.to_str().unwrap()),
    ]))
    .unwrap();
    let app = App::build(config).await.unwrap();
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let get = |path: &str| client.get(format!("http://{addr}{path}")).send();

    let r = get("/admin").await.unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "/admin/");
    let r = get("/admin/").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-cache");
    assert!(r.text().await.unwrap().contains("<title>panel</title>"));
    let r = get("/admin/assets/app-1234.js").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().contains("javascript"));
    // No runtime config deployed: a plain 404, which the panel reads as "use same-origin defaults".
    assert_eq!(get("/admin/config.json").await.unwrap().status(), 404);
    // Nothing outside the directory.
    let outside = get("/admin/%2e%2e/%2e%2e/%2e%2e/etc/passwd").await.unwrap().status();
    assert!(outside == 403 || outside == 404, "{outside}");
    // The API is unaffected.
    assert_eq!(get("/api/v1/openapi.json").await.unwrap().status(), 200);

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
